"""Recent dials as the operator's cockpit, and a label used again: each row links to its
call and conference and offers hang up or redial in place; a taken label is refused in the
form with a free one filled in (bob-2), never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conferences.models import DialRequest, DialStatus
from tests.support.users import make_user

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
BOB = {
    "conference": "Board call",
    "to": "+15005550006",
    "from": "+15005550006",
    "label": "bob",
    "action": "dial",
}


@pytest.fixture
def signed_in(client, operator):
    client.force_login(operator)
    return client


def test_a_label_used_before_in_the_conference_is_refused_with_a_free_one_filled_in(signed_in):
    signed_in.post(reverse("conferences:dial-submit"), BOB)
    DialRequest.objects.update(status=DialStatus.COMPLETED)  # bob's call ended

    again = signed_in.post(reverse("conferences:dial-submit"), BOB, **HX)

    assert again.status_code == 200
    html = again.content.decode()
    assert "“bob” is already used in this conference" in html
    assert 'name="label" value="bob-2"' in html
    assert 'value="Board call"' in html and 'value="+15005550006"' in html  # kept
    assert DialRequest.objects.count() == 1
    # Pressing Dial again, as the message says, dials bob under the free label.
    signed_in.post(reverse("conferences:dial-submit"), {**BOB, "label": "bob-2"}, **HX)
    assert sorted(DialRequest.objects.values_list("label", flat=True)) == ["bob", "bob-2"]


def test_each_recent_dial_links_to_its_call_and_its_conference(signed_in):
    signed_in.post(reverse("conferences:dial-submit"), BOB)
    dial = DialRequest.objects.get()
    html = signed_in.get(reverse("conferences:recent-dials"), **HX).content.decode()
    assert reverse("conferences:history-detail", args=[dial.pk]) in html
    assert reverse("conferences:conference-detail", args=[dial.conference_id]) in html
    assert "<strong>bob</strong>" in html  # the label first, then the number
    assert "Status</th>" in html


def test_a_call_under_way_offers_hang_up_and_an_ended_one_redial(signed_in):
    signed_in.post(reverse("conferences:dial-submit"), BOB)
    DialRequest.objects.update(status=DialStatus.IN_PROGRESS, call_sid="CA" + "1" * 32)
    html = signed_in.get(reverse("conferences:recent-dials"), **HX).content.decode()
    assert "Hang up" in html and "Redial" not in html
    DialRequest.objects.update(status=DialStatus.COMPLETED)
    html = signed_in.get(reverse("conferences:recent-dials"), **HX).content.decode()
    assert "Redial" in html and "Hang up" not in html


def test_redial_dials_the_caller_again_with_the_same_options_and_the_next_free_label(
    signed_in,
):
    signed_in.post(reverse("conferences:dial-submit"), {**BOB, "timeout": "17"})
    first = DialRequest.objects.get()
    first.status = DialStatus.NO_ANSWER
    first.save()

    answer = signed_in.post(reverse("conferences:redial", args=[first.pk]), **HX)

    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'id="recent-dials"' in html and "<html" not in html
    assert "again as “bob-2”" in html
    second = DialRequest.objects.exclude(pk=first.pk).get()
    assert (second.label, second.to_number, second.conference_id) == (
        "bob-2",
        first.to_number,
        first.conference_id,
    )
    assert second.params["Timeout"] == "17"
    # Redialing the redial numbers on: bob-3, not bob-2-2.
    second.status = DialStatus.BUSY
    second.save()
    signed_in.post(reverse("conferences:redial", args=[second.pk]), **HX)
    assert DialRequest.objects.filter(label="bob-3").exists()


def test_redial_without_javascript_goes_back_to_the_dial_page_with_a_message(signed_in):
    signed_in.post(reverse("conferences:dial-submit"), BOB)
    first = DialRequest.objects.get()
    answer = signed_in.post(reverse("conferences:redial", args=[first.pk]), follow=True)
    assert answer.redirect_chain[-1][0] == reverse("conferences:dial")
    assert "again as “bob-2”" in answer.content.decode()


def test_someone_elses_dial_is_not_redialed_by_an_operator(client, operator):
    other = make_user("otto", "operator")
    client.force_login(other)
    client.post(reverse("conferences:dial-submit"), BOB)
    theirs = DialRequest.objects.get()
    client.force_login(operator)
    answer = client.post(reverse("conferences:redial", args=[theirs.pk]))
    assert answer.status_code == 404
    assert DialRequest.objects.count() == 1


def test_hang_up_from_recent_dials_answers_with_recent_dials_and_its_outcome(signed_in):
    signed_in.post(reverse("conferences:dial-submit"), BOB)
    dial = DialRequest.objects.get()
    call_sid = "CA" + "2" * 32
    DialRequest.objects.update(status=DialStatus.RINGING, call_sid=call_sid)
    url = reverse("conferences:participant-action", args=[dial.conference_id, call_sid])

    # The conference has no SID yet (Twilio never started it): refused, said in place.
    answer = signed_in.post(url, {"action": "remove", "next": "recent-dials"}, **HX)

    html = answer.content.decode()
    assert answer.status_code == 200
    assert 'id="recent-dials"' in html and 'class="message error"' in html
    assert "Twilio has not started this conference yet" in html
