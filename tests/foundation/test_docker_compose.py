from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

BASE = Path(__file__).resolve().parents[2]


def test_compose_file_is_valid_and_runs_the_whole_stack():
    # Not a skip: `make test` installs it (scripts/test-deps), so its absence is a fault.
    assert shutil.which("docker-compose"), "docker-compose missing: run make test-deps"
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config"],
        cwd=BASE,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for service in ("web:", "worker:", "callbacks:", "beat:", "postgres:", "redis:", "sandbox:"):
        assert f"  {service}" in result.stdout
    assert "healthcheck" in result.stdout
    assert "DATABASE_URL" in result.stdout and "REDIS_URL" in result.stdout
