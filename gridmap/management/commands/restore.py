"""python manage.py restore FILE --yes — replace the database by a backup's (make restore FILE=...)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from gridmap import backup


class Command(BaseCommand):
    help = "Replace the whole database (and its keys in var/) by those of a backup made by `backup`."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--yes", action="store_true", help="confirm: the current database is dropped")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["yes"]:
            raise CommandError("restore drops the current database: add --yes to confirm")
        if not options["file"].is_file():
            raise CommandError(f"{options['file']}: no such file")
        target = backup.Target.of(connections["default"].settings_dict)
        connections.close_all()
        try:
            notes = backup.restore(options["file"], target)
        except backup.BackupError as error:
            raise CommandError(str(error)) from None
        for note in notes:
            self.stderr.write(note)
        self.stdout.write(f"restored {target.name} from {options['file']}")
