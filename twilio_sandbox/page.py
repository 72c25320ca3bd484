"""GET /_sandbox/: a plain page showing live conferences and recent calls."""

from __future__ import annotations

from html import escape
from typing import Final

from twilio_sandbox.state import Conference, ConferenceStatus, Store

REFRESH_SECONDS: Final = 2
RECENT_CALLS: Final = 25
RECENT_ENDED_CONFERENCES: Final = 5

STYLE: Final = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #1b1b1b; }
table { border-collapse: collapse; margin-bottom: 1.5rem; }
th, td { border: 1px solid #bbb; padding: .25rem .5rem; text-align: left; }
th { background: #eee; }
caption { text-align: left; font-weight: bold; padding: .25rem 0; }
code { font-size: .9em; }
"""


def render(store: Store, base_url: str) -> str:
    with store.lock:
        conferences = sorted(store.conferences.values(), key=lambda c: c.date_created, reverse=True)
        live = [c for c in conferences if c.status is not ConferenceStatus.COMPLETED]
        ended = [c for c in conferences if c.status is ConferenceStatus.COMPLETED]
        calls = sorted(store.calls.values(), key=lambda c: c.date_created, reverse=True)
        sections = [_conference_table(c) for c in live + ended[:RECENT_ENDED_CONFERENCES]]
        call_rows = "".join(
            "<tr>"
            + "".join(
                f"<td>{escape(str(value))}</td>"
                for value in (
                    call.sid,
                    call.to,
                    call.status.value,
                    call.answered_by or "",
                    "" if call.duration is None else call.duration,
                    store.conferences[call.conference_sid].friendly_name,
                )
            )
            + "</tr>"
            for call in calls[:RECENT_CALLS]
        )
    conference_html = "".join(sections) or "<p>No conferences yet.</p>"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>Twilio sandbox</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<h1>Twilio sandbox</h1>
<p>API base URL: <code>{escape(base_url)}</code>. This page refreshes every
{REFRESH_SECONDS} seconds. JSON: <a href="/_sandbox/requests">requests</a>,
<a href="/_sandbox/callbacks">callbacks</a>, <a href="/_sandbox/faults">faults</a>.</p>
<h2>Conferences</h2>
{conference_html}
<h2>Recent calls</h2>
<table>
<caption>Last {RECENT_CALLS} calls, newest first</caption>
<thead><tr><th scope="col">Call SID</th><th scope="col">To</th><th scope="col">Status</th>
<th scope="col">Answered by</th><th scope="col">Duration (s)</th>
<th scope="col">Conference</th></tr></thead>
<tbody>{call_rows}</tbody>
</table>
</main>
</body>
</html>
"""


def _conference_table(conference: Conference) -> str:
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{escape(str(value))}</td>"
            for value in (
                participant.label or "",
                participant.call_sid,
                participant.status.value,
                "yes" if participant.muted else "no",
                "yes" if participant.hold else "no",
                "yes" if participant.coaching else "no",
            )
        )
        + "</tr>"
        for participant in conference.participants.values()
    )
    ended = f", ended: {conference.reason_ended}" if conference.reason_ended else ""
    return f"""<table>
<caption>{escape(conference.friendly_name)} ({escape(conference.sid)}):
{escape(conference.status.value)}{escape(ended)}</caption>
<thead><tr><th scope="col">Label</th><th scope="col">Call SID</th><th scope="col">Status</th>
<th scope="col">Muted</th><th scope="col">Hold</th><th scope="col">Coaching</th></tr></thead>
<tbody>{rows}</tbody>
</table>
"""
