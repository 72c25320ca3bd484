"""Fixtures shared by every test area."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from playwright.sync_api import ConsoleMessage, Page

from conferences.accounts import roles
from conferences.models import User
from tests.support.artifacts import ARTIFACTS

# Every test hashes passwords with MD5: the real hasher costs ~0.5 s a password, and most
# tests make users. (tests/journey overrides it: its app runs in processes of its own.)
from tests.support.fixtures import fast_password_hashing  # noqa: F401
from tests.support.users import make_user

# Property tests draw the same examples on every run of `make test`, so a red run is never
# luck and the same run reproduces it; HYPOTHESIS_PROFILE=explore searches afresh, with
# more examples, for bugs the fixed draw does not reach.
hypothesis_settings.register_profile("repeatable", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False, max_examples=500)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Debian's Chromium, never a browser Playwright would download."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": CHROMIUM_FLAGS,
    }


@pytest.fixture(autouse=True)
def _fresh_signing_tokens() -> Iterator[None]:
    """Each test sees its own accounts' tokens, not ones cached by an earlier test."""
    from conferences.accounts.twilio_accounts import forget_signing_tokens

    forget_signing_tokens()
    yield
    forget_signing_tokens()


@pytest.fixture
def artifacts_dir(request: pytest.FixtureRequest) -> Path:
    path = ARTIFACTS / request.node.name
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def operator(db: None) -> User:
    return make_user("olivia", roles.OPERATOR)


@pytest.fixture
def supervisor(db: None) -> User:
    return make_user("sam", roles.SUPERVISOR, is_staff=True)


@pytest.fixture
def redis_db() -> Iterator[Any]:
    """This test process's own Redis database, emptied before and after."""
    from conferences.core.redis_connection import redis_client

    client = redis_client()
    client.flushdb()
    yield client
    client.flushdb()


class BrowserProblems:
    """Console errors, CSP violations and failed requests seen by one page."""

    def __init__(self, page: Page) -> None:
        self.messages: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.messages.append(f"page error: {error}"))
        page.on("requestfailed", self._request_failed)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            self.messages.append(f"console {message.type}: {message.text}")

    def _request_failed(self, request: Any) -> None:
        failure = request.failure or ""
        # A navigation aborts the requests of the page it leaves; that is not a fault.
        if "ERR_ABORTED" not in failure:
            self.messages.append(f"request failed: {request.url} {failure}")


@pytest.fixture
def browser_problems(page: Page) -> Iterator[BrowserProblems]:
    problems = BrowserProblems(page)
    yield problems
    assert problems.messages == [], problems.messages
