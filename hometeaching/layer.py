"""The send-teaching-home route layer: a school's week as GeoJSON for the map.

Features (properties.kind):
- "school": the depot;
- "leg": one leg of a trip as a line along the roads (routing.engine.trip_path), with the trip's number,
  its colour, the leg's number, minutes, kilometres, the middle (where the minutes are written) and
  arrows along it (a point and the bearing there, one per ~1.5 km, at least two);
- "stop": a visit, numbered in its trip's order, with the child's initials (never the name), the
  village group, planned start and end, and the guardian's phone for those who may see children.
The page fetches it from /hometeaching/school/<code>/routes/layer.json?week=… (scoped, audited).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hometeaching.routes import WeekPlan, clock_text, reason_text, trip_lines, week_text

PALETTE = ["#c0392b", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


def colour(trip_number: int) -> str:
    return PALETTE[(trip_number - 1) % len(PALETTE)]


def _bearing(coords: np.ndarray, at: float = 0.5) -> tuple[list[float], float]:
    """The point at a share of a line's length (lon/lat) and the bearing there, degrees clockwise
    from north."""
    seg = np.hypot(*np.diff(coords, axis=0).T)
    k = min(int(np.searchsorted(np.cumsum(seg), seg.sum() * at)), len(seg) - 1)
    a, b = coords[k], coords[k + 1]
    mid = (a + b) / 2
    dx = (b[0] - a[0]) * math.cos(math.radians(mid[1]))
    return [round(float(mid[0]), 6), round(float(mid[1]), 6)], round(math.degrees(math.atan2(dx, b[1] - a[1])) % 360, 1)


def arrows(coords: np.ndarray, metres: float, every_m: float = 1500.0) -> list[list[float]]:
    """[lon, lat, bearing] at evenly spaced points along a leg: one per `every_m`, at least two (a
    quarter and three quarters of the way: the middle carries the leg's minutes)."""
    n = max(2, min(8, int(metres // every_m)))
    return [[*point, bearing] for point, bearing in (_bearing(coords, (i + 0.5) / n) for i in range(n))]


def features(plan: WeekPlan) -> dict[str, Any]:
    school = plan.school
    out: list[dict[str, Any]] = [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [school.location.x, school.location.y]},
        "properties": {"kind": "school", "name": school.name}}]
    trips = []
    for trip in plan.trips:
        tint = colour(trip.number)
        lines = trip_lines(plan, trip)
        total_m = 0.0
        for n, line in enumerate(lines, 1):
            if line is None or len(line.coords) < 2:
                continue
            total_m += line.distance_m
            coords = np.asarray(line.coords)
            mid, bearing = _bearing(coords)
            out.append(line.geojson({"kind": "leg", "trip": trip.number, "leg": n, "colour": tint,
                                     "minutes": round(line.time_s / 60, 1), "km": round(line.distance_m / 1000, 2),
                                     "mid": mid, "bearing": bearing, "arrows": arrows(coords, line.distance_m)}))
        for n, (stop, start) in enumerate(zip(trip.stops, trip.starts, strict=True), 1):
            out.append({"type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [round(stop.lonlat[0], 6), round(stop.lonlat[1], 6)]},
                        "properties": {"kind": "stop", "trip": trip.number, "n": n, "colour": tint,
                                       "initials": stop.initials, "group": stop.group,
                                       "start": clock_text(start), "end": clock_text(start + stop.service_s)}})
        trips.append({"number": trip.number, "label": trip.label, "teachers": trip.team_names, "colour": tint,
                      "depart": clock_text(trip.depart), "back": clock_text(trip.back),
                      "minutes": round(trip.travel_s / 60, 1), "km": round(total_m / 1000, 2), "stops": len(trip.stops)})
    return {"type": "FeatureCollection", "features": out, "week": week_text(plan.week), "trips": trips,
            "school": {"code": school.code, "name": school.name},
            "unfit": [{"initials": s.initials, "group": s.group, "reason": reason_text(r)} for s, r in plan.unfit]}
