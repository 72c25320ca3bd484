"""Sign-in limits count the client's own address: behind a trusted reverse proxy from
X-Forwarded-For, from anyone else by the connection's address whatever header it sends;
and one address trying many usernames is refused too (issue 18, finding 4)."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from conferences.models import User
from tests.support.users import PASSWORD

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.7"
ATTACKER = "203.0.113.5"
SUPERVISOR_AT_HOME = "198.51.100.9"
STRANGER = "192.0.2.50"


@pytest.fixture(autouse=True)
def _behind_a_proxy(settings):
    settings.TRUSTED_PROXIES = [f"{PROXY}/32"]


def sign_in(username: str, password: str, *, peer: str, forwarded_for: str = "") -> int:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = Client(REMOTE_ADDR=peer).post(
        reverse("login"), {"username": username, "password": password}, headers=headers
    )
    return response.status_code


def test_two_clients_behind_a_trusted_proxy_do_not_lock_each_other_out(supervisor: User, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in("sam", "wrong", peer=PROXY, forwarded_for=ATTACKER)
    assert sign_in("sam", PASSWORD, peer=PROXY, forwarded_for=ATTACKER) == 429
    assert sign_in("sam", PASSWORD, peer=PROXY, forwarded_for=SUPERVISOR_AT_HOME) == 302


def test_an_untrusted_peers_forwarded_for_is_ignored(supervisor: User, settings):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in("sam", "wrong", peer=STRANGER, forwarded_for=f"198.51.100.{attempt}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {STRANGER}
    assert sign_in("sam", PASSWORD, peer=STRANGER, forwarded_for=SUPERVISOR_AT_HOME) == 429


def test_what_a_client_writes_left_of_the_proxys_entry_is_not_believed(supervisor: User, settings):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in("sam", "wrong", peer=PROXY, forwarded_for=f"192.0.2.{attempt}, {ATTACKER}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}
    assert sign_in("sam", PASSWORD, peer=PROXY, forwarded_for=f"10.9.9.9, {ATTACKER}") == 429


def test_without_trusted_proxies_the_header_is_never_believed(supervisor: User, settings):
    settings.TRUSTED_PROXIES = []
    sign_in("sam", "wrong", peer=PROXY, forwarded_for=ATTACKER)
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {PROXY}


def test_spraying_many_usernames_from_one_address_is_refused(supervisor: User, settings):
    tries_per_username = settings.AXES_FAILURE_LIMIT - 1  # never enough to lock a username
    limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
    usernames = [f"user{n // tries_per_username}" for n in range(limit)]
    for username in usernames[:-1]:
        assert sign_in(username, "wrong", peer=PROXY, forwarded_for=ATTACKER) == 200
    # The try that reaches the limit is refused, like a username's last allowed one.
    assert sign_in(usernames[-1], "wrong", peer=PROXY, forwarded_for=ATTACKER) == 429
    # Even the right password for a username never tried is refused from that address …
    assert sign_in("sam", PASSWORD, peer=PROXY, forwarded_for=ATTACKER) == 429
    assert sign_in("fresh-name", "guess", peer=PROXY, forwarded_for=ATTACKER) == 429
    # … and from anywhere else it still works.
    assert sign_in("sam", PASSWORD, peer=PROXY, forwarded_for=SUPERVISOR_AT_HOME) == 302


def test_a_few_failures_over_several_usernames_lock_nothing(supervisor: User, settings):
    for username in ("sam", "olivia", "otto"):
        sign_in(username, "wrong", peer=PROXY, forwarded_for=ATTACKER)
    assert sign_in("sam", PASSWORD, peer=PROXY, forwarded_for=ATTACKER) == 302
