from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BASE = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_pages_carry_a_csp_with_a_nonce_that_the_htmx_script_uses(client):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce, policy
    assert "script-src 'self' 'nonce-" in policy
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    html = response.content.decode()
    assert f'nonce="{nonce.group(1)}"' in html
    assert "htmx-2" in html
    assert '"allowEval": false' in html and '"includeIndicatorStyles": false' in html


@pytest.mark.django_db
def test_each_response_gets_its_own_nonce(client):
    first = client.get("/accounts/login/")["Content-Security-Policy"]
    second = client.get("/accounts/login/")["Content-Security-Policy"]
    assert first != second


@pytest.mark.django_db
def test_responses_carry_a_request_id(client):
    assert len(client.get("/healthz")["X-Request-ID"]) >= 16
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-abc.123")["X-Request-ID"] == "lb-abc.123"


def test_deploy_check_is_clean_apart_from_what_the_reverse_proxy_provides():
    # A test-only switch (async-unsafe DB access for Playwright tests) must not leak into it.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PYTEST") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update(
        DEBUG="false",
        SECRET_KEY="x" * 20 + "Q9v!k2#Lm8@pR4$tZ7^wY1&hN5*bC3(dF6)gJ0",
        ALLOWED_HOSTS="dial.example.com",
        TESTING="false",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=BASE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = set(re.findall(r"\(([a-z_.]+\.[WE]\d+)\)", result.stdout + result.stderr))
    # TLS redirect (W008) and HSTS (W004) are the reverse proxy's job; both can be turned on
    # with SECURE_SSL_REDIRECT / SECURE_HSTS_SECONDS when there is no proxy.
    assert found <= {"security.W004", "security.W008"}, result.stdout + result.stderr
