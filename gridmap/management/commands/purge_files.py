"""python manage.py purge_files — delete what must not stay on disk: uploads past their time
(GRIDMAP_UPLOAD_TTL_MINUTES), printed atlases past retention (GRIDMAP_ATLAS_RETENTION_DAYS), the
leftovers of atlas jobs whose process died — whatever the installed packages registered in
gridmap.cleanup. Run it daily (cron or a systemd timer; deploy/ has one)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from gridmap import cleanup


class Command(BaseCommand):
    help = "Delete expired uploads, old printed atlases and the files of dead atlas jobs."

    def handle(self, *args: Any, **options: Any) -> None:
        done = cleanup.run_all()
        self.stdout.write("; ".join(f"{label}: {n}" for label, n in done.items()))
