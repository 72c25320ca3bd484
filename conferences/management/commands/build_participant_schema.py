"""Derive conferences/schema/create_participant.json from the seed page and Twilio's
vendored OpenAPI description, or check it; optionally refresh the vendored description."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from conferences.schema import SCHEMA_PATH
from conferences.schema.build import SchemaBuildError, build_schema_file
from conferences.schema.twilio_oai import (
    TWILIO_OAI_PATH,
    TwilioOaiError,
    render_vendored,
    vendor_operation,
)


def default_seed_path() -> Path:
    # The seed is shared with the other projects: ../shared/seed/ next to the repository.
    return Path(settings.BASE_DIR).parent / "shared" / "seed" / "CreateParticipant.html"


class Command(BaseCommand):
    help = (
        "Write the Create Participant schema derived from the seed page; with --check, "
        "exit non-zero if the committed file differs from what the seed gives."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=Path, help="Seed HTML (default: ../shared/seed/).")
        parser.add_argument("--check", action="store_true", help="Only compare; write nothing.")
        parser.add_argument(
            "--output", type=Path, default=SCHEMA_PATH, help="Where the JSON lives."
        )
        parser.add_argument(
            "--vendor-twilio-oai",
            type=Path,
            metavar="TWILIO_API_V2010_JSON",
            help="First replace the vendored Create Participant operation with the one in "
            "this copy of twilio-oai's spec/json/twilio_api_v2010.json (needs --commit).",
        )
        parser.add_argument("--commit", help="The twilio-oai commit that file comes from.")

    def handle(self, *args: Any, **options: Any) -> None:
        seed: Path = options["seed"] or default_seed_path()
        output: Path = options["output"]
        if not seed.is_file():
            raise CommandError(f"Seed page not found: {seed}")
        if options["vendor_twilio_oai"] is not None:
            self._vendor(options["vendor_twilio_oai"], options["commit"])
        try:
            rendered = build_schema_file(seed)
        except SchemaBuildError as error:
            raise CommandError(f"Cannot derive the schema from {seed}: {error}") from error

        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if options["check"]:
            if current != rendered:
                diff = difflib.unified_diff(
                    current.splitlines(keepends=True),
                    rendered.splitlines(keepends=True),
                    fromfile=f"{output} (committed)",
                    tofile=f"{output} (from {seed.name})",
                    n=2,
                )
                self.stderr.write("".join(list(diff)[:80]))
                raise CommandError(
                    f"{output.name} is out of date; run `manage.py build_participant_schema`."
                )
            self.stdout.write(f"{output.name} matches {seed.name}.")
            return
        if current == rendered:
            self.stdout.write(f"{output.name} already up to date.")
            return
        output.write_text(rendered, encoding="utf-8")
        self.stdout.write(self.style.SUCCESS(f"Wrote {output}."))

    def _vendor(self, full_description: Path, commit: str | None) -> None:
        if not commit:
            raise CommandError("--vendor-twilio-oai needs --commit (the twilio-oai commit).")
        try:
            document = json.loads(full_description.read_text(encoding="utf-8"))
            vendored = vendor_operation(document, commit=commit)
        except (OSError, json.JSONDecodeError, TwilioOaiError) as error:
            raise CommandError(f"Cannot vendor {full_description}: {error}") from error
        TWILIO_OAI_PATH.write_text(render_vendored(vendored), encoding="utf-8")
        self.stdout.write(f"Vendored Create Participant from {commit[:12]} into {TWILIO_OAI_PATH}.")
