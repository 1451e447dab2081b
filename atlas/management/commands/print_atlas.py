"""python manage.py print_atlas --area CODE --per {group,village,catchment} --paper {A4,A3} --out FILE.pdf
(or --job ID: the background job the atlas page started)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from atlas import jobs, render
from gridmap.models import Area, AreaLevel, AtlasPer, Paper


class Command(BaseCommand):
    help = "Print the door-to-door survey atlas (入户摸排图册) of an area as one PDF."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--area", help="township, village or group code")
        parser.add_argument("--per", choices=AtlasPer.values, default=AtlasPer.GROUP)
        parser.add_argument("--paper", choices=Paper.values, default=Paper.A4)
        parser.add_argument("--same-scale", action="store_true", help="one scale for every sheet")
        parser.add_argument("--out", type=Path, help="the PDF to write")
        parser.add_argument("--user", help="print as this login (what it may see); default: a superuser")
        parser.add_argument("--base-url", default="",
                            help="address of gridmap for the QR codes (default: GRIDMAP_BASE_URL, else 127.0.0.1:8000)")
        parser.add_argument("--job", type=int, help=argparse_suppress())

    def handle(self, *args: Any, **options: Any) -> None:
        if options["job"]:
            job = jobs.run(options["job"])
            self.stdout.write(f"job {job.pk}: {job.status} {job.file}")
            return
        if not options["area"] or not options["out"]:
            raise CommandError("--area and --out are required")
        area = Area.objects.filter(code=options["area"]).first()
        if area is None or area.level == AreaLevel.COUNTY:
            raise CommandError(f"--area {options['area']}: no township, village or group with this code")
        user = self._user(options["user"])
        base = options["base_url"].rstrip("/") or render.base_url()
        if render.is_loopback(base):
            self.stderr.write(self.style.WARNING(
                f"警告：图上二维码将指向 {base}（本机地址），手机扫码打不开。"
                "请用 --base-url 或环境变量 GRIDMAP_BASE_URL 设为本系统的访问地址，如 http://192.168.1.10:8000"))
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            rate = f"  {(time.perf_counter() - started) / done:.2f} s/幅" if done else ""
            self.stderr.write(f"\r{done}/{total} 幅{rate}", ending="")
            sys.stderr.flush()

        try:
            result = render.build(user, area, options["per"], options["paper"], options["out"], options["same_scale"],
                                  progress, qr_base=base)
        except render.AtlasError as error:
            raise CommandError(str(error)) from None
        self.stderr.write("")
        self.stdout.write(f"{result.path}: {result.sheets} 幅，{result.pages} 页，{result.seconds:.1f} s "
                          f"（{result.seconds / result.sheets:.2f} s/幅）")

    def _user(self, name: str | None) -> Any:
        User = get_user_model()
        if name:
            user = User.objects.filter(username=name).first()
            if user is None:
                raise CommandError(f"--user {name}: no such login")
            return user
        user = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if user is None:
            raise CommandError("no superuser to print as: pass --user")
        return user


def argparse_suppress() -> str:
    import argparse

    return argparse.SUPPRESS
