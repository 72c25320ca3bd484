"""Invite lists: every row is checked first, bad rows are listed with their reasons, and
nothing is stored (let alone dialed) until the operator confirms."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conferences.accounts.twilio_accounts import default_account
from conferences.live import invite_import
from conferences.models import Conference, DialPreset, DialRequest, Invitee, User
from conferences.schema import parameter
from tests.live.helpers import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(operator: User) -> Conference:
    return Conference.objects.create(
        account=default_account(), friendly_name="board", created_by=operator
    )


def check(text: str, room: Conference, user: User) -> invite_import.InvitePreview:
    return invite_import.read_invite_list(text, conference=room, user=user)


def test_numbers_are_read_in_the_default_region_and_stored_as_e164(room, operator, settings):
    settings.PHONE_DEFAULT_REGION = "US"
    preview = check("(415) 555-0100, Alice Smith\n+44 20 7946 0958, Bob Jones, bob", room, operator)
    assert [(r.number, r.name, r.label) for r in preview.good] == [
        ("+14155550100", "Alice Smith", ""),
        ("+442079460958", "Bob Jones", "bob"),
    ]
    assert preview.bad == []


def test_each_bad_row_is_listed_with_its_reasons(room, operator):
    Invitee.objects.create(conference=room, number="+14155550199", name="Zoe", added_by=operator)
    DialRequest.objects.create(
        account=room.account, conference=room, operator=operator, to_number="+1", label="taken"
    )
    text = "\n".join(
        [
            "+14155550100, Alice, alice",
            "not a number, Bob",
            "+14155550101",
            "+1 415 555 0100, Alice again",
            "+14155550199, Zoe again",
            "+14155550102, Carl, a/b",
            "+14155550103, Dora, CA0123456789abcdef0123456789abcdef",
            "+14155550104, Eve, alice",
            "+14155550105, Finn, taken",
            "+14155550106, Gus, invite-7",
            f"+14155550107, Hal, {'x' * 101}",
            "+14155550108, Ida, a%2Fb",
        ]
    )
    preview = check(text, room, operator)
    reasons = {row.line: row.problems for row in preview.rows}
    assert reasons[1] == []
    assert reasons[2] == ["“not a number” is not a phone number."]
    assert reasons[3] == ["No name."]
    assert reasons[4] == ["Same number as line 1."]
    assert reasons[5] == ["Already on the invite list (as Zoe)."]
    # The schema's Label rule, word for word as the dial form says it.
    label_rule = parameter("Label").pattern_message
    assert reasons[6] == [label_rule]
    assert reasons[7] == [label_rule]
    assert reasons[8] == ["Same label as line 1."]
    assert reasons[9] == ["The label is already used in this conference."]
    assert reasons[10] == ["Labels starting with “invite-” are the app's own."]
    assert reasons[11] == ["The label is longer than 100 characters."]
    assert reasons[12] == [label_rule]  # an encoded slash is a slash in Twilio's URL
    assert len(preview.good) == 1


def test_unknown_presets_are_accepted_with_a_warning_and_known_ones_checked(room, operator):
    DialPreset.objects.create(owner=operator, name="short ring", values={"timeout": "20"})
    DialPreset.objects.create(owner=operator, name="broken", values={"timeout": "9999"})
    text = (
        "number,name,label,preset\n"
        "+14155550100,Alice,,board-call\n"
        "+14155550101,Bob,,short ring\n"
        "+14155550102,Carl,,broken\n"
    )
    rows = check(text, room, operator).rows
    assert rows[0].ok and rows[0].warnings == [
        "No preset named “board-call” (yet): this invitee is dialed with the standard options."
    ]
    assert rows[1].ok and rows[1].warnings == []
    assert not rows[2].ok and rows[2].problems[0].startswith("Preset “broken” does not fit")


def test_a_header_row_names_the_columns_in_any_order_and_tabs_or_semicolons_work(room, operator):
    by_header = check("name;label;phone\nAlice;al;+14155550100\n", room, operator)
    assert [(r.number, r.name, r.label) for r in by_header.good] == [
        ("+14155550100", "Alice", "al")
    ]
    tabs = check("+14155550100\tAlice\n+14155550101\tBob\n", room, operator)
    assert [r.name for r in tabs.good] == ["Alice", "Bob"]


def test_empty_and_oversized_lists_are_refused_as_a_whole(room, operator):
    assert check("\n  \n", room, operator).problems == ["The list is empty: one row per invitee."]
    huge = "\n".join(
        f"+1415555{i:04d}, Person {i}" for i in range(invite_import.MAX_INVITE_ROWS + 1)
    )
    assert check(huge, room, operator).problems == ["An invite list holds at most 1000 rows."]


def test_nothing_is_stored_until_the_operator_confirms(room, operator):
    client = client_for(operator)
    url = reverse("conferences:invitees-import", args=[room.pk])
    checked = client.post(
        url, {"step": "check", "text": "+14155550100, Alice\nnope, Bob"}, HTTP_HX_REQUEST="true"
    )
    html = checked.content.decode()
    assert checked.status_code == 200
    assert html.lstrip().startswith('<div id="invite-import"')
    assert "1</strong> rows can be added; <strong>1</strong> cannot" in html
    assert "“nope” is not a phone number." in html
    assert Invitee.objects.count() == 0

    confirm_text = html.split('<textarea name="text" hidden>')[1].split("</textarea>")[0]
    confirm = {"step": "confirm", "text": confirm_text.replace("&quot;", '"')}
    confirmed = client.post(url, confirm, HTTP_HX_REQUEST="true")
    assert "1 invitees added." in confirmed.content.decode()
    assert list(room.invitees.values_list("number", "name", "added_by")) == [
        ("+14155550100", "Alice", operator.pk)
    ]
    assert DialRequest.objects.count() == 0  # added is not dialed


def test_an_uploaded_csv_file_is_checked_like_pasted_text(room, operator):
    upload = SimpleUploadedFile(
        "invitees.csv", "\ufeffnumber,name\n+14155550100,Alice\n".encode(), "text/csv"
    )
    client = client_for(operator)
    url = reverse("conferences:invitees-import", args=[room.pk])
    page = client.post(url, {"step": "check", "file": upload})  # without htmx: the whole page
    assert "<html" in page.content.decode()
    assert "Add 1 invitee" in page.content.decode()
    empty = client.post(url, {"step": "check", "text": ""}, HTTP_HX_REQUEST="true")
    assert empty.status_code == 422
    assert "Type, paste or upload the invite list." in empty.content.decode()


def test_supervisors_see_numbers_others_added_but_operators_see_them_masked(
    room, operator, supervisor
):
    from tests.support.users import make_user

    other = make_user("otto", "operator")
    Invitee.objects.create(conference=room, number="+14155550177", name="Alice", added_by=other)
    page = client_for(supervisor).get(reverse("conferences:conference-detail", args=[room.pk]))
    assert "+14155550177" in page.content.decode()
    masked = client_for(operator).get(reverse("conferences:conference-detail", args=[room.pk]))
    assert "+14155550177" not in masked.content.decode()
    assert "+1 415 ••• 0177" in masked.content.decode()
