"""The dial page's first screen: help one click away instead of inline, From filled in
with the configured caller ID, and Conference suggesting only conferences the operator may
dial into (issue 20)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from conferences.accounts import roles
from conferences.accounts.twilio_accounts import default_account
from conferences.models import Conference, TwilioAccount
from tests.support.users import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_html(client, operator):
    def read() -> str:
        client.force_login(operator)
        return client.get(reverse("conferences:dial")).content.decode()

    return read


def test_each_fields_help_is_behind_a_toggle_not_printed_inline(page_html):
    html = page_html()
    help_texts = re.findall(r'<span class="help" id="id_\w+_helptext">', html)
    toggles = re.findall(r'<details class="field-help"><summary>Help', html)
    assert help_texts and len(help_texts) == len(toggles)


def test_from_starts_with_the_accounts_first_caller_id(page_html):
    TwilioAccount.objects.filter(pk=default_account().pk).update(
        caller_ids=["+14155550111", "+14155550122"]
    )
    html = page_html()
    assert re.search(r'<input[^>]*name="from"[^>]*value="\+14155550111"', html)


def test_conference_suggests_only_open_conferences_the_operator_may_use(page_html, operator):
    account = default_account()
    Conference.objects.create(account=account, friendly_name="Mine", created_by=operator)
    otto = make_user("otto", roles.OPERATOR)
    Conference.objects.create(account=account, friendly_name="Ottos", created_by=otto)
    html = page_html()
    assert re.search(r'<input[^>]*name="conference"[^>]*list="conference-names"', html)
    (suggestions,) = re.findall(r'<datalist id="conference-names">(.*?)</datalist>', html)
    assert '<option value="Mine">' in suggestions
    assert "Ottos" not in suggestions
