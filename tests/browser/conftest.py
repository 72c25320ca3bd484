"""Browser fixtures live in tests/conftest.py; re-exported for modules that import them here."""

from __future__ import annotations

from tests.conftest import BrowserProblems, browser_problems

__all__ = ["BrowserProblems", "browser_problems"]
