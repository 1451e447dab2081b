"""Generate and load a synthetic county of any size (code 99xxxx), for benchmarks and scale tests."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from importers.demo.sources import synthetic_source
from importers.management.commands.load_demo import run


class Command(BaseCommand):
    help = "Generate a synthetic county: --townships N --children N --seed S."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--townships", type=int, default=25)
        parser.add_argument("--villages-per-township", type=int, default=20)
        parser.add_argument("--children", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--as-of", default=None)
        parser.add_argument("--replace", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        from datetime import date

        options["as_of"] = date.fromisoformat(options["as_of"]) if options["as_of"] else None
        run(self, partial(synthetic_source, options["townships"], options["seed"],
                          options["villages_per_township"]), options)
