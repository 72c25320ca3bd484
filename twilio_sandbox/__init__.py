"""A local Twilio: REST API v2010 for conferences, participants and calls, with callbacks.

The app talks to it with the real twilio SDK; only the base URL differs. Nothing here
imports the dashboard app or `twilio`. User documentation: docs/sandbox.md.

Python API (stable; used by other test suites)::

    from twilio_sandbox import Sandbox, SandboxAccount, Faults

    sb = Sandbox(
        host="127.0.0.1",
        port=0,                      # 0: a free port
        accounts=[SandboxAccount(sid="AC…", auth_token="…", api_keys={"SK…": "secret"})],
        speed=50.0,                  # call time runs 50x faster than real time
        seed=1,                      # same seed, same call fates and fault decisions
        faults=Faults(cps=1.0),      # optional; see twilio_sandbox.faults
        callback_timeout=10.0,       # seconds to wait for a callback endpoint
        log_stream=None,             # e.g. sys.stderr: one line per request
    )
    sb.start()                       # serves in a background thread; also a context manager
    sb.url                           # "http://127.0.0.1:PORT"; client.api.base_url = sb.url
    sb.callbacks(call_sid="CA…")     # what was sent, same as GET /_sandbox/callbacks
    sb.requests()                    # what was received, same as GET /_sandbox/requests
    sb.set_faults(Faults.from_json({...}))
    sb.reset()                       # forget everything, restore the starting faults
    sb.stop()

Without `accounts`, the one account is TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN from the
environment, else DEFAULT_ACCOUNT_SID / DEFAULT_AUTH_TOKEN.
"""

from __future__ import annotations

from twilio_sandbox.faults import FaultMatch, FaultRule, Faults
from twilio_sandbox.service import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, Sandbox
from twilio_sandbox.state import SandboxAccount

__all__ = [
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "FaultMatch",
    "FaultRule",
    "Faults",
    "Sandbox",
    "SandboxAccount",
]
