"""python manage.py backup [--dir DIR] — the database and its keys, in var/backups/ (make backup)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from gridmap import backup


class Command(BaseCommand):
    help = "Back up the database (pg_dump custom format) and the keys it needs, as one 0600 tar file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, default=None, help="folder (default var/backups)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            path = backup.backup(backup.Target.of(connection.settings_dict), options["dir"])
        except backup.BackupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"{path} ({path.stat().st_size / 2**20:,.1f} MB)")
