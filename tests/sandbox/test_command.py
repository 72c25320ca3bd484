"""`manage.py twilio_sandbox` serves, logs one safe line per request, and stops on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from twilio.rest import Client

from tests.support.waiting import wait_for

BASE = Path(__file__).resolve().parents[2]
SID = "AC" + "d" * 32
TOKEN = "command-token"


def test_command_serves_logs_safely_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "twilio_sandbox",
            "--port",
            "0",
            "--speed",
            "100",
            "--account",
            f"{SID}:{TOKEN}",
            "--api-key",
            f"{SID}:SK{'f' * 32}:key-secret",
            "--cps",
            "50",
            "--callback-drop-rate",
            "1",
            "--fault-label-prefix",
            "lost-",
        ],
        cwd=BASE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    lines: list[str] = []

    def collect() -> None:
        assert process.stderr is not None
        lines.extend(iter(process.stderr.readline, ""))

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    try:
        started = wait_for(
            lambda: next((m for line in lines if (m := re.search(r"http://[\d.:]+", line))), None),
            timeout=30,
            interval=0.01,
        )
        client = Client(f"SK{'f' * 32}", "key-secret", account_sid=SID)
        client.api.base_url = started.group(0)
        client.conferences("cli").participants.create(
            from_="alice",
            to="sip:bob@example.com",
            sip_auth_username="bob",
            sip_auth_password="hunter2",
        )
        faults = client.http_client.request("GET", f"{started.group(0)}/_sandbox/faults").text
        assert '"cps": 50.0' in faults and '"label_prefix": "lost-"' in faults
        wait_for(
            lambda: any("Participants.json" in line for line in lines), timeout=10, interval=0.01
        )
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
        reader.join(timeout=5)
    log = "".join(lines)
    assert re.search(
        r'"POST /2010-04-01/Accounts/AC\w+/Conferences/cli/Participants.json" 201', log
    )
    assert "hunter2" not in log and "key-secret" not in log and TOKEN not in log
    assert "Twilio sandbox stopped" in log
