"""Correlation for a batch of callbacks: the rows every event may name, read in four
queries for the whole batch instead of up to four per event.

The answers are those `reading.Lookups` would give at the start of the batch, kept true
while the batch applies: the only columns correlation reads that applying changes are a
dial's CallSid (stored by its first callback) and a conference's SID (likewise), and
`after_apply` reads those back whenever an event may have set them. A key not read at the
start (a conference's label met only later) is asked of the database as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import F

from conferences.callbacks.reading import Lookups, Reading
from conferences.models import CallbackEvent, CallbackKind, Conference, DialRequest

_ACCOUNT = "account__account_sid"


class BatchLookups(Lookups):
    def __init__(self, batch: Sequence[tuple[CallbackEvent, Reading]]) -> None:
        self._dials: dict[int, DialRequest] = {}
        self._conferences: dict[int, Conference] = {}
        self._dial_accounts: dict[int, str] = {}
        url_ids = {e.dial_id_in_url for e, _ in batch if e.dial_id_in_url}
        call_sids = {r.call_sid for _, r in batch if r.call_sid}
        self._url_ids = {pk for pk in url_ids if pk is not None}
        self._known_call_sids = call_sids
        self._by_call_sid: dict[tuple[str, str], DialRequest] = {}
        dials = DialRequest.objects.select_related("conference").annotate(
            account_sid_of=F(_ACCOUNT)
        )
        for found in dials.filter(pk__in=self._url_ids):
            self._keep_dial(found)
        for found in dials.filter(call_sid__in=call_sids).order_by("-pk"):
            dial = self._keep_dial(found)
            self._by_call_sid[(self._dial_accounts[dial.pk], dial.call_sid)] = dial
        conference_sids = {r.conference_sid for _, r in batch if r.conference_sid}
        self._known_conference_sids = conference_sids
        self._by_sid: dict[tuple[str, str], Conference] = {}
        conferences = Conference.objects.annotate(account_sid_of=F(_ACCOUNT))
        for found_conference in conferences.filter(sid__in=conference_sids):
            conference = self._keep_conference(found_conference)
            account_sid = str(getattr(conference, "account_sid_of", ""))
            self._by_sid[(account_sid, str(conference.sid))] = conference
        labels = {r.label for _, r in batch if r.kind == CallbackKind.CONFERENCE and r.label}
        self._label_conferences = set(self._conferences)
        self._by_label: dict[tuple[int, str], DialRequest] = {}
        if labels:
            in_conferences = dials.filter(
                conference_id__in=self._label_conferences, label__in=labels
            )
            for found in in_conferences.order_by("-pk"):
                dial = self._keep_dial(found)
                self._by_label[(dial.conference_id, dial.label)] = dial

    # One Python object per row, so what `after_apply` reads back is seen everywhere.
    def _keep_conference(self, conference: Conference) -> Conference:
        return self._conferences.setdefault(conference.pk, conference)

    def _keep_dial(self, dial: DialRequest) -> DialRequest:
        kept = self._dials.setdefault(dial.pk, dial)
        self._dial_accounts[dial.pk] = str(getattr(dial, "account_sid_of", ""))
        kept.conference = self._keep_conference(dial.conference)
        return kept

    def url_dial(self, dial_id: int, account_sid: str) -> DialRequest | None:
        if dial_id not in self._url_ids:
            return super().url_dial(dial_id, account_sid)
        dial = self._dials.get(dial_id)
        if dial is None or self._dial_accounts.get(dial_id) != account_sid:
            return None
        return dial

    def conference_by_sid(self, account_sid: str, sid: str) -> Conference | None:
        if sid not in self._known_conference_sids:
            return super().conference_by_sid(account_sid, sid)
        return self._by_sid.get((account_sid, sid))

    def dial_by_call_sid(self, account_sid: str, call_sid: str) -> DialRequest | None:
        if call_sid not in self._known_call_sids:
            return super().dial_by_call_sid(account_sid, call_sid)
        return self._by_call_sid.get((account_sid, call_sid))

    def dial_by_label(self, conference: Conference, label: str) -> DialRequest | None:
        if conference.pk not in self._label_conferences:
            return super().dial_by_label(conference, label)
        return self._by_label.get((conference.pk, label))

    def after_apply(self, event: CallbackEvent, reading: Reading) -> None:
        """Read back the CallSid or conference SID the event may just have stored."""
        dial = event.dial if event.dial_id is not None else None
        if dial is not None and not dial.call_sid and reading.call_sid:
            self._read_back_call_sids([dial])
        conference = event.conference if event.conference_id is not None else None
        if conference is not None and conference.sid is None and reading.conference_sid:
            stored = Conference.objects.filter(pk=conference.pk).values_list("sid", flat=True)
            conference.sid = stored.first()
            if conference.sid is not None and conference.pk in self._conferences:
                account_sid = str(getattr(conference, "account_sid_of", reading.account_sid))
                self._by_sid.setdefault((account_sid, conference.sid), conference)

    def _read_back_call_sids(self, dials: Iterable[DialRequest]) -> None:
        for dial in dials:
            stored = DialRequest.objects.filter(pk=dial.pk).values_list("call_sid", flat=True)
            dial.call_sid = stored.first() or ""
            if dial.call_sid and dial.pk in self._dial_accounts:
                key = (self._dial_accounts[dial.pk], dial.call_sid)
                known = self._by_call_sid.get(key)
                if known is None or dial.pk < known.pk:  # `.first()`: the lowest id
                    self._by_call_sid[key] = dial
