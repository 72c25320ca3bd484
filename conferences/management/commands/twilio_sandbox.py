"""`manage.py twilio_sandbox`: serve the local Twilio sandbox until Ctrl-C or SIGTERM."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from twilio_sandbox import FaultMatch, FaultRule, Faults, Sandbox, SandboxAccount


class Command(BaseCommand):
    help = "Serve the Twilio sandbox: Twilio's REST API for conferences, with callbacks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8010)
        parser.add_argument("--speed", type=float, default=1.0, help="call time acceleration")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--account", action="append", default=[], metavar="SID:TOKEN")
        parser.add_argument(
            "--api-key", action="append", default=[], metavar="ACCOUNT_SID:KEY_SID:SECRET"
        )
        parser.add_argument("--callback-timeout", type=float, default=10.0)
        faults = parser.add_argument_group("faults (see docs/sandbox.md)")
        faults.add_argument("--faults-file", type=Path, help="JSON file in the faults shape")
        faults.add_argument("--cps", type=float, help="calls per second per account")
        faults.add_argument("--queue-cap-seconds", type=float)
        faults.add_argument("--max-concurrent", type=int, help="API requests per account")
        faults.add_argument("--latency-ms", type=int, default=0)
        faults.add_argument("--jitter-ms", type=int, default=0)
        faults.add_argument("--error-rate", type=float, default=0.0, help="share of 500/503")
        faults.add_argument("--hang-after-create", type=float, default=0.0, metavar="SECONDS")
        faults.add_argument("--callback-duplicate-rate", type=float, default=0.0)
        faults.add_argument("--callback-reorder-rate", type=float, default=0.0)
        faults.add_argument("--callback-delay-ms", type=int, default=0)
        faults.add_argument("--callback-drop-rate", type=float, default=0.0)
        faults.add_argument("--callback-endpoint-down", action="store_true")
        faults.add_argument("--fault-to", help="apply the flags above only to this To")
        faults.add_argument("--fault-label", help="... only to this participant label")
        faults.add_argument("--fault-label-prefix", help="... only to labels with this prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        sandbox = Sandbox(
            host=options["host"],
            port=options["port"],
            accounts=_accounts(options["account"], options["api_key"]),
            speed=options["speed"],
            seed=options["seed"],
            faults=_faults(options),
            callback_timeout=options["callback_timeout"],
            log_stream=sys.stderr,
        )

        def stop(signum: int, frame: FrameType | None) -> None:
            sandbox.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        sandbox.start()
        accounts = ", ".join(sandbox.store.accounts)
        self.stderr.write(f"Twilio sandbox on {sandbox.url} (accounts: {accounts})")
        sandbox.wait()
        sandbox.stop()
        self.stderr.write("Twilio sandbox stopped")


def _accounts(accounts: list[str], api_keys: list[str]) -> list[SandboxAccount] | None:
    tokens: dict[str, str] = {}
    for item in accounts:
        sid, _, token = item.partition(":")
        if not sid or not token:
            raise CommandError(f"--account takes SID:TOKEN, got {item!r}")
        tokens[sid] = token
    keys: dict[str, dict[str, str]] = {}
    for item in api_keys:
        parts = item.split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise CommandError("--api-key takes ACCOUNT_SID:KEY_SID:SECRET")
        account_sid, key_sid, secret = parts
        if account_sid not in tokens:
            raise CommandError(f"--api-key names {account_sid}, which no --account defines")
        keys.setdefault(account_sid, {})[key_sid] = secret
    if not tokens:
        return None
    return [SandboxAccount(sid, token, keys.get(sid, {})) for sid, token in tokens.items()]


def _faults(options: dict[str, Any]) -> Faults:
    base = Faults()
    if options["faults_file"] is not None:
        try:
            base = Faults.from_json(json.loads(options["faults_file"].read_text()))
        except (OSError, ValueError) as exc:
            raise CommandError(f"--faults-file: {exc}") from exc
    try:
        rule = FaultRule(
            match=FaultMatch(
                to=options["fault_to"],
                label=options["fault_label"],
                label_prefix=options["fault_label_prefix"],
            ),
            latency_ms=options["latency_ms"],
            jitter_ms=options["jitter_ms"],
            error_rate=options["error_rate"],
            hang_after_create_seconds=options["hang_after_create"],
            callback_duplicate_rate=options["callback_duplicate_rate"],
            callback_reorder_rate=options["callback_reorder_rate"],
            callback_delay_ms=options["callback_delay_ms"],
            callback_drop_rate=options["callback_drop_rate"],
            callback_endpoint_down=options["callback_endpoint_down"],
        )
        # Round-trip through the JSON parser so flags get the same checks as the endpoint.
        extra = [] if rule.is_noop() else Faults(rules=(rule,)).to_json()["rules"]
        rules = [*base.to_json()["rules"], *extra]
        return Faults.from_json(
            {
                "cps": options["cps"] if options["cps"] is not None else base.cps,
                "queue_cap_seconds": options["queue_cap_seconds"] or base.queue_cap_seconds,
                "max_concurrent_requests": options["max_concurrent"]
                or base.max_concurrent_requests,
                "rules": rules,
            }
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
