"""python manage.py consolidation --close CODE[,CODE…] [--merge CODE:INTO …] --out FILE.xlsx|.pdf

Evaluates a consolidation scenario on the county as it is (nothing is written to the database) and
writes its impact report. --suggest N proposes which N schools to close (p-median, HiGHS) and
reports that plan instead; --save keeps the scenario for the planning pages.
"""

from __future__ import annotations

import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation

from gridmap.models import Area, AreaLevel
from planning import baseline, evaluate, export, maps, report, suggest
from planning.disclosure import for_evaluation


def _codes(text: str) -> list[str]:
    codes = [c.strip() for c in text.split(",") if c.strip()]
    for c in codes:
        if not (c.isdigit() and len(c) == 10):
            raise CommandError(f"{c!r}: a school code has 10 digits")
    return codes


class Command(BaseCommand):
    help = "Evaluate closing/merging schools (nothing is written) and write the impact report (.xlsx or .pdf)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--close", default="", help="school codes to close, comma-separated")
        parser.add_argument("--merge", nargs="*", default=[], metavar="CODE:INTO", help="merge CODE into INTO")
        parser.add_argument("--suggest", type=int, metavar="N", help="let the solver choose N schools to close")
        parser.add_argument("--objective", choices=[suggest.TIME, suggest.BEYOND], default=suggest.TIME)
        parser.add_argument("--no-capacities", action="store_true", help="suggest without capacities")
        parser.add_argument("--rule", choices=evaluate.OVERFLOW_RULES, default=None,
                            help="when a school is full (default: GRIDMAP_PLANNING_OVERFLOW)")
        parser.add_argument("--county", default=None, help="county code (default: GRIDMAP_COUNTY_CODE)")
        parser.add_argument("--as-of", default=None, help="date of the ledger, YYYY-MM-DD (default: today)")
        parser.add_argument("--paper", choices=["A4", "A3"], default="A4")
        parser.add_argument("--out", type=Path, required=True, help="FILE.xlsx or FILE.pdf")
        parser.add_argument("--user", help="report as this login sees it (default: counts as the planner sees them)")
        parser.add_argument("--save", metavar="NAME", help="also save the scenario under this name")

    def handle(self, *args: Any, **options: Any) -> None:
        translation.activate(settings.LANGUAGE_CODE)
        out: Path = options["out"]
        if out.suffix.lower() not in (".xlsx", ".pdf"):
            raise CommandError("--out must end in .xlsx or .pdf")
        county = Area.objects.filter(level=AreaLevel.COUNTY, code=options["county"] or settings.GRIDMAP_COUNTY_CODE).first()
        if county is None:
            raise CommandError("no such county")
        try:
            as_of = date.fromisoformat(options["as_of"]) if options["as_of"] else date.today()
        except ValueError:
            raise CommandError("--as-of: YYYY-MM-DD") from None
        changes = [evaluate.Change(evaluate.CLOSE, c) for c in _codes(options["close"])]
        for item in options["merge"]:
            code, _sep, into = item.partition(":")
            if not into:
                raise CommandError(f"--merge {item!r}: CODE:INTO")
            changes.append(evaluate.Change(evaluate.MERGE, _codes(code)[0], into=_codes(into)[0]))
        started = time.perf_counter()

        def progress(stage: str, done: int, total: int) -> None:
            if done != total and done % max(1, total // 20):
                return
            self.stderr.write(f"\r{stage} {done}/{total}  {time.perf_counter() - started:.1f} s", ending="")
            sys.stderr.flush()

        base = baseline.baseline(county, as_of, progress)
        self.stderr.write("")
        table = baseline.school_table(county.code, as_of)
        facts = None
        if options["suggest"]:
            target = suggest.Target(close=options["suggest"], objective=options["objective"],
                                    capacities=not options["no_capacities"],
                                    time_limit_s=settings.GRIDMAP_PLANNING_SOLVER_SECONDS)
            try:
                found = suggest.suggest(base, table, target)
            except suggest.SuggestError as e:
                raise CommandError(str(e)) from None
            r = found.result
            self.stdout.write(f"suggested: close {', '.join(found.closed)}; objective {r.objective:.1f}, lower bound "
                              f"{r.lower_bound:.1f}, gap {100 * r.gap:.3f}% ({r.status}, {r.seconds:.1f} s)")
            changes = changes + found.changes()
            facts = found
        if not changes:
            raise CommandError("nothing to evaluate: --close, --merge or --suggest")
        user = self._user(options["user"])
        rule = options["rule"] or settings.GRIDMAP_PLANNING_OVERFLOW
        try:
            outcome = evaluate.evaluate(base, changes, rule, schools=table)
        except evaluate.ScenarioError as e:
            raise CommandError(str(e)) from None
        shown = for_evaluation(user, base, outcome, changes)  # no --user: as a planner reads it
        rep = report.build(base, outcome, changes, shown, options["save"] or out.stem)
        if out.suffix.lower() == ".xlsx":
            out.write_bytes(export.workbook(rep))
        else:
            out.write_bytes(export.pdf(rep, maps.scenario_map(base, outcome, shown), options["paper"]))
        if options["save"]:
            self._save(county, user, options["save"], changes, rule, facts)
        self.stdout.write(rep.summary)
        self.stdout.write(f"{out} ({time.perf_counter() - started:.1f} s)")

    def _user(self, name: str | None) -> Any:
        if not name:
            return None
        user = get_user_model().objects.filter(username=name).first()
        if user is None:
            raise CommandError(f"--user {name}: no such login")
        return user

    def _save(self, county: Area, user: Any, name: str, changes: list[evaluate.Change], rule: str,
              found: suggest.Suggestion | None) -> None:
        from gridmap.models import School
        from planning.models import Origin, Scenario, ScenarioChange

        schools = {s.code: s for s in School.objects.filter(code__in={c.school for c in changes} |
                                                            {c.into for c in changes if c.into})}
        scenario = Scenario.objects.create(name=name[:100], county=county, overflow_rule=rule, created_by=user,
                                           origin=Origin.SUGGESTED if found else Origin.MANUAL,
                                           solver=found.facts() if found else None)
        ScenarioChange.objects.bulk_create([ScenarioChange(scenario=scenario, action=c.action, school=schools[c.school],
                                                           into=schools.get(c.into)) for c in changes])
        self.stdout.write(f"saved as scenario {scenario.pk}")
