"""A client as a CRM would write it: HTTP and JSON against /api/v1/ with one token, nothing
of the app imported. The end-to-end test runs it against a live server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from tests.support.waiting import wait_for

# Invitee states after which nothing changes by itself (GET …/invitees `state`).
SETTLED = {
    "in-conference",
    "left",
    "removed",
    "dropped",
    "busy",
    "no-answer",
    "voicemail",
    "failed",
}


@dataclass(frozen=True)
class Outcome:
    conference_id: int
    checked_ok: bool
    states: dict[str, str]  # invitee name -> state
    dial_statuses: dict[str, str]  # label -> dial status, from GET /dials


class Api:
    def __init__(self, base_url: str, token: str) -> None:
        self.base = base_url.rstrip("/") + "/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = self.session.request(method, self.base + path, timeout=30, **kwargs)
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        assert response.headers.get("X-Request-ID")
        return response.json()


def plan_and_dial(
    base_url: str, token: str, *, conference: str, invitees_csv: str, caller_id: str
) -> Outcome:
    """Plan a conference, check and store its invitees (CSV), dial them all, and wait until
    every invitee's call has settled; then read the dials' final statuses."""
    api = Api(base_url, token)
    room = api.call("POST", "/conferences", 201, json={"name": conference})
    path = f"/conferences/{room['id']}"
    csv_headers = {"Content-Type": "text/csv"}
    checked = api.call(
        "POST", f"{path}/invitees/check", 200, data=invitees_csv, headers=csv_headers
    )
    stored = api.call("PUT", f"{path}/invitees", 200, data=invitees_csv, headers=csv_headers)
    assert stored["added"] == len(checked["rows"])
    run = api.call("POST", f"{path}/dial-all", 202, json={"caller_id": caller_id})
    wait_for(lambda: api.call("GET", f"{path}/runs/{run['run_id']}", 200)["finished"], timeout=30)

    def settled() -> dict[str, str] | None:
        listing = api.call("GET", f"{path}/invitees", 200)
        states = {row["name"]: row["state"] for row in listing["invitees"]}
        return states if set(states.values()) <= SETTLED else None

    states = wait_for(settled, timeout=60, interval=0.2)
    dials = api.call("GET", "/dials", 200, params={"conference_id": room["id"], "limit": 100})
    return Outcome(
        conference_id=room["id"],
        checked_ok=checked["ok"],
        states=states,
        dial_statuses={item["label"]: item["status"] for item in dials["items"]},
    )
