"""Where tests leave screenshots and process logs for a person to look at after a run."""

from __future__ import annotations

import os
from pathlib import Path

ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "test-artifacts")).resolve()
