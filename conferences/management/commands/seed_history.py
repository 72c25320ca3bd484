"""`manage.py seed_history --dials N`: synthetic call history for measuring at scale."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from conferences.history import seeding


class Command(BaseCommand):
    help = (
        "Make sure N seeded dials (with 4-8 callbacks each) exist: a second run with the same "
        "N does nothing, a larger N adds the difference. PostgreSQL only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dials", type=int, required=True, help="seeded dials wanted")
        parser.add_argument("--operators", type=int, default=seeding.DEFAULT_OPERATORS)
        parser.add_argument(
            "--days", type=int, default=seeding.DEFAULT_DAYS, help="history reaches this far back"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["dials"] < 0 or options["operators"] < 1 or options["days"] < 1:
            raise CommandError("--dials must be >= 0, --operators and --days >= 1")
        try:
            report = seeding.seed_history(
                options["dials"],
                operators=options["operators"],
                days=options["days"],
                progress=self.stdout.write,
            )
        except RuntimeError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"{report.existing:,} seeded dials existed; added {report.added:,} dials and "
            f"{report.events_added:,} callbacks in {report.seconds:.1f} s."
        )
