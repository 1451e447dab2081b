"""python manage.py settle_transfers [--area 330783]: adopt status changes to 转出 made without the
transfer form and complete the transfers a county roll now shows (gridmap.transfers.settle); run daily
(the pages and the monthly report also run it before they count)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from gridmap import transfers
from gridmap.models import Transfer


class Command(BaseCommand):
    help = "整理流转学生：补登未经流转登记的转出，县内学校名册出现该生的记为已到达；列出流转未到人数。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--area", default=settings.GRIDMAP_COUNTY_CODE, help="county code (default: the county)")

    def handle(self, *args: Any, **options: Any) -> None:
        adopted, completed = transfers.settle(options["area"])
        today = timezone.localdate()
        mine = Transfer.objects.filter(child__group__code__startswith=options["area"][:6])
        self.stdout.write(f"补登转出 {adopted}，已到达 {completed}；流转未完成 {transfers.open_on(mine, today).count()}，"
                          f"其中流转未到（超过 {transfers.late_days()} 天）{transfers.late_on(mine, today).count()}")
