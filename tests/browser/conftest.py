from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page


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
