"""The before/after map of a scenario as GeoJSON (the page's two synchronised Leaflet maps, and the
PDF's matplotlib drawing read the same data).

- schools: every county school with its state before and after (open, closed, planned), and its role
  in the scenario (closing, receiving, opening, unchanged);
- catchments: each school's catchment (the union of its village groups, gridmap's School.catchment),
  simplified to ~20 m; before: the schools open now; after: the schools open in the scenario;
- cells: the village groups with children who move, coloured by the change in their mean travel time
  (minutes, over the moved children whose way can be measured before and after), with the school
  most of them go to;
- flows: a line from each closing school to each receiving school, with the number of children.
Counts come through the login's `Shown` (planning.disclosure); a line's width follows the count as
shown (a suppressed count draws the thinnest line).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from django.contrib.gis.db.models.functions import Transform
from numpy.typing import NDArray

from gridmap.models import Area, School
from gridmap.models.functions import SimplifyPreserveTopology
from planning.baseline import Baseline
from planning.evaluate import Outcome
from planning.report import Shown

TOLERANCE_DEG = 0.0002  # ~20 m: catchments drawn at county scale


def _geom(g: Any) -> dict[str, Any]:
    return dict(json.loads(g.geojson))


def scenario_map(base: Baseline, out: Outcome, shown: Shown) -> dict[str, Any]:
    s = out.schools
    closing = out.before.open & ~out.after.open
    opening = ~out.before.open & out.after.open
    receiving = out.arrivals > 0
    schools = []
    for j in range(len(s)):
        role = ("closing" if closing[j] else "opening" if opening[j] else "receiving" if receiving[j] else "other")
        schools.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(float(v), 6) for v in
                                                                                           s.lonlat[j]]},
                        "properties": {"code": str(s.code[j]), "name": str(s.name[j]), "kind": str(s.kind[j]),
                                       "before": bool(out.before.open[j]), "after": bool(out.after.open[j]),
                                       "role": role, "colour": j,
                                       "enrolment": shown(int(s.enrolment[j]), ("school", str(s.code[j]), "enrolment")),
                                       "after_enrolment": shown(int(out.enrolment_after[j]),
                                                                ("school", str(s.code[j]), "after"))
                                       if out.after.open[j] else 0,
                                       "capacity": int(out.after.capacity[j]) if np.isfinite(out.after.capacity[j])
                                       else None}})
    position = {int(p): j for j, p in enumerate(s.pk)}
    catch = (School.objects.filter(pk__in=[int(p) for p in s.pk], catchment__isnull=False)
             .annotate(simple=SimplifyPreserveTopology(Transform("catchment", 4326), TOLERANCE_DEG))
             .values_list("pk", "simple"))
    before, after = [], []
    for pk, geom in catch:
        j = position[pk]
        f = {"type": "Feature", "geometry": _geom(geom),
             "properties": {"code": str(s.code[j]), "name": str(s.name[j]), "colour": j}}
        if out.before.open[j]:
            before.append(f)
        if out.after.open[j]:
            after.append(f)
    return {"schools": schools, "before": before, "after": after, "cells": _cells(base, out, shown),
            "flows": _flows(out, shown)}


def _cells(base: Baseline, out: Outcome, shown: Shown) -> list[dict[str, Any]]:
    cov = base.cov
    moved = out.moved
    measured = moved & (out.school_after >= 0) & np.isfinite(out.time_before) & np.isfinite(out.time_after)
    groups = np.unique(cov.group_id[moved])
    geoms = dict(Area.objects.filter(pk__in=groups.tolist())
                 .annotate(simple=SimplifyPreserveTopology(Transform("geom", 4326), TOLERANCE_DEG / 2))
                 .values_list("pk", "simple"))
    names = dict(Area.objects.filter(pk__in=groups.tolist()).values_list("pk", "name"))
    codes = dict(Area.objects.filter(pk__in=groups.tolist()).values_list("pk", "code"))
    features = []
    for g in groups:
        here = cov.group_id == g
        m = moved & here
        k = measured & here
        n_moved, n_measured = int(m.sum()), int(k.sum())
        label = shown(n_moved, ("cell", codes[int(g)], "moved"))
        private = label != n_moved  # a suppressed count: no mean of so few children either
        delta = (float((out.time_after[k] - out.time_before[k]).mean()) / 60 if n_measured and not
                 (private or shown(n_measured) != n_measured) else None)
        dest = out.school_after[m]
        dest = dest[dest >= 0]
        to = str(out.schools.name[int(np.bincount(dest).argmax())]) if len(dest) else ""
        features.append({"type": "Feature", "geometry": _geom(geoms[int(g)]),
                         "properties": {"name": names[int(g)], "moved": label,
                                        "delta_min": round(delta, 1) if delta is not None else None, "to": to}})
    return features


def _flows(out: Outcome, shown: Shown) -> list[dict[str, Any]]:
    s = out.schools
    lines = []
    src: NDArray[np.intp] = out.school_before[out.moved]
    dst: NDArray[np.intp] = out.school_after[out.moved]
    for a, b in sorted(set(zip(src.tolist(), dst.tolist(), strict=True))):
        if b < 0:
            continue
        k = int(((src == a) & (dst == b)).sum())
        label = shown(k, ("flow", str(s.code[a]), str(s.code[b])))
        lines.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [
            [round(float(v), 6) for v in s.lonlat[a]], [round(float(v), 6) for v in s.lonlat[b]]]},
            "properties": {"from": str(s.name[a]), "to": str(s.name[b]), "children": label,
                           "weight": label if isinstance(label, int) else 1}})
    return lines
