"""Fixtures for the dial form tests (their data helpers live in tests/dialform/helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conferences.schema.build import DEFAULT_SEED_PATH


@pytest.fixture
def seed_html() -> str:
    path = Path(DEFAULT_SEED_PATH)
    if not path.is_file():
        pytest.skip(f"the seed page is not here ({path}); the committed JSON cannot be re-derived")
    return path.read_text(encoding="utf-8")
