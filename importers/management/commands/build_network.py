"""python manage.py build_network [--if-missing] [--snap M] — build the routable network
(gridmap_roadedge/roadvertex) from the roads in the database, as import_roads does after an
import. `make demo` runs it with --if-missing: a database loaded before the network was built at
load time (or roads entered in the admin) gets its network, and a complete one is left alone."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from gridmap.models import Road, RoadEdge
from importers.roads import NOT_ROADS, rebuild_network


class Command(BaseCommand):
    help = "Build the routable road network from the roads in the database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-missing", action="store_true", help="only when there are roads but no network")
        parser.add_argument("--snap", type=float, default=3.0, help="metres within which dangling ends are joined")

    def handle(self, *args: Any, **options: Any) -> None:
        roads = Road.objects.exclude(highway__in=NOT_ROADS).count()
        if options["if_missing"] and (not roads or RoadEdge.objects.exists()):
            return
        with transaction.atomic():
            net = rebuild_network(options["snap"])
        self.stdout.write(f"routable network: {len(net.edges):,} edges, {len(net.vertices):,} vertices "
                          f"from {roads:,} roads")
