"""The Twilio sandbox as the tests run it: on a free local port, always stopped again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from twilio.rest import Client

from twilio_sandbox import Sandbox


@contextmanager
def running_sandbox(**options: Any) -> Iterator[Sandbox]:
    """A started `Sandbox(**options)`, stopped on the way out even if the test failed.

    It binds 127.0.0.1 on a port the OS picks (unless `options` say otherwise), so xdist
    workers and package-scoped sandboxes never collide.
    """
    box = Sandbox(**{"host": "127.0.0.1", "port": 0, **options})
    box.start()
    try:
        yield box
    finally:
        box.stop()


def sandbox_client(sandbox: Sandbox) -> Client:
    """The real twilio SDK with the app's account, talking to the sandbox instead of Twilio."""
    client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)
    client.api.base_url = sandbox.url
    return client
