from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

BASE = Path(__file__).resolve().parents[2]


def test_compose_file_is_valid_and_runs_the_whole_stack():
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose (Debian package docker-compose) is not installed")
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config"],
        cwd=BASE,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for service in ("web:", "worker:", "beat:", "postgres:", "redis:", "sandbox:"):
        assert f"  {service}" in result.stdout
    assert "healthcheck" in result.stdout
    assert "DATABASE_URL" in result.stdout and "REDIS_URL" in result.stdout
