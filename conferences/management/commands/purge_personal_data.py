"""manage.py purge_personal_data [--dry-run] [--days N]: the retention purge, by hand."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from conferences.operations import retention


class Command(BaseCommand):
    help = (
        "Purge personal data (numbers, labels, names, recording URLs) recorded more than "
        "RETENTION_DAYS days ago, and delete those recordings at Twilio. Statuses, times, "
        "durations and the audit trail stay. --dry-run only reports what would be purged."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would be purged; change nothing."
        )
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Purge data older than this many days (default: RETENTION_DAYS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"] if options["days"] is not None else settings.RETENTION_DAYS
        if days < 0:
            raise CommandError("--days must be 0 or more")
        if days == 0:
            self.stdout.write(
                "RETENTION_DAYS is 0: personal data is kept forever. Nothing to do "
                "(give --days N to purge once)."
            )
            return
        report = retention.purge_personal_data(
            days=days, dry_run=options["dry_run"], trigger="purge_personal_data command"
        )
        assert report is not None  # noqa: S101 -- days > 0
        for line in report.lines():
            self.stdout.write(line)
        if report.recordings_failed:
            raise CommandError(
                f"{len(report.recordings_failed)} recordings could not be deleted at Twilio; "
                "their records keep their data until a run deletes them."
            )
