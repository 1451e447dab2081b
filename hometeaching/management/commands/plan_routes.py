"""python manage.py plan_routes --school CODE --week YYYY-Www [--out FILE.pdf]"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridmap.models import School
from hometeaching import cache, printing, routes


class Command(BaseCommand):
    help = "Plan a school's send-teaching-home trips for a week; print the A4 route sheets with --out."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--school", required=True, help="10-digit school code")
        parser.add_argument("--week", required=True, help="ISO week, e.g. 2026-W48")
        parser.add_argument("--out", help="write the route sheets to this PDF")
        parser.add_argument("--time-limit", type=float, default=None,
                            help="most seconds the solver spends on a pair's week (default GRIDMAP_HOME_SOLVER_SECONDS; "
                            "given: planned afresh, not from the cache)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            week = routes.parse_week(opts["week"])
        except ValueError as error:
            raise CommandError(str(error)) from None
        school = School.objects.filter(code=str(opts["school"]).strip()).first()
        if school is None:
            raise CommandError(f"没有学校代码为 {opts['school']!r} 的学校")
        if opts["time_limit"] is None:
            plan = cache.week_plan(school, week)
        else:
            plan = routes.plan_week(school, week, time_limit_s=opts["time_limit"])
        self.stdout.write(f"{school.name}（{school.code}） {routes.week_text(week)}：{len(plan.trips)} 趟，"
                          f"路上合计 {plan.travel_s / 60:.1f} 分钟；矩阵 {plan.matrix_s:.2f} s，求解 {plan.solver_s:.2f} s")
        for t in plan.trips:
            stops = " → ".join(f"{s.initials}({routes.clock_text(a)})" for s, a in zip(t.stops, t.starts, strict=True))
            self.stdout.write(f"  {t.number}. {t.label} {t.team_names}：校 → {stops} → 校，{t.travel_s / 60:.1f} 分钟")
        for s, why in plan.unfit:
            self.stdout.write(f"  未排入：{s.initials}（{s.group}）{routes.reason_text(why)}")
        if opts["out"]:
            out = Path(opts["out"])
            if out.suffix.lower() != ".pdf":
                raise CommandError("--out 须为 .pdf 文件")
            out.write_bytes(printing.route_sheets_pdf(plan))
            self.stdout.write(f"路线单已写入 {out}")
