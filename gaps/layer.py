"""The coverage-gap layer of an area as a login may see it: one GeoJSON FeatureCollection whose
features carry a `kind`, which static/gaps/coverage.js sorts into the layer group's toggles.

- "cell": every village group in scope, with its children, those beyond the norm and the share
  (class index into SHARE_CLASSES), for aggregate-only logins the protected figures
  (gaps.disclosure: "<5", "*") and a hidden share where either is hidden;
  and `u`, its children on no school's roll;
- "home": a child beyond the norm (only for logins that may see children, only their children);
- "unrolled": a child on no school's roll (same rule); aggregate logins get the cell counts;
- "no_school": a cell without a responsible school (gridmap.grid's responsibility gap);
- "band": the 15/30/45-minute service areas of the schools teaching grade 1 (gaps.bands).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.utils.translation import gettext as _

from gaps.bands import service_bands
from gaps.compute import Coverage
from gaps.tables import cell_figures, visible
from gridmap import access, grid
from gridmap.models import Area, AreaLevel, Child, ChildStatus
from gridmap.models.functions import SimplifyPreserveTopology

# Share of a cell's children beyond the norm: upper bounds (inclusive), colour (ColorBrewer YlOrRd).
SHARE_CLASSES = [(0.0, "0", "#ffffcc"), (0.1, "≤10%", "#fed976"), (0.25, "10–25%", "#fd8d3c"),
                 (0.5, "25–50%", "#e31a1c"), (1.0, ">50%", "#800026")]
NO_CHILDREN, HIDDEN = len(SHARE_CLASSES), len(SHARE_CLASSES) + 1


def share_legend() -> list[dict[str, str]]:
    return [*({"label": label, "color": color} for _b, label, color in SHARE_CLASSES),
            {"label": _("no school-age children"), "color": "#ffffff"},
            {"label": _("fewer than 5: not shown"), "color": "#bdbdbd"}]


def share_class(n: int | str, gap: int | str) -> int:
    if not isinstance(n, int) or not isinstance(gap, int):
        return HIDDEN
    if n == 0:
        return NO_CHILDREN
    share = gap / n
    return next(i for i, (bound, _l, _c) in enumerate(SHARE_CLASSES) if share <= bound + 1e-12)


def _minutes(seconds: float) -> float | None:
    return round(seconds / 60, 1) if np.isfinite(seconds) else None


def features(user: Any, area: Area, cov: Coverage) -> dict[str, Any]:
    scope = access.scope_of(user)
    seen = visible(user, cov)
    county = area.level == AreaLevel.COUNTY
    out: list[dict[str, Any]] = []

    cells = access.visible_cells(user).filter(code__startswith=area.code)
    geom = SimplifyPreserveTopology("geom", 1e-4 if county else 2e-5)
    rows = cells.annotate(_g=AsGeoJSON(geom, precision=4 if county else 5)).values(
        "pk", "code", "name", "parent__name", "_g", "label_point")
    read, _n, _gap = cell_figures(user, cov)
    for r in rows:
        sn, sg, off, unrolled = read(r["pk"], r["code"])
        lp = r["label_point"]
        out.append({"type": "Feature", "geometry": json.loads(r["_g"]), "properties": {
            "kind": "cell", "code": r["code"], "name": f"{r['parent__name']}{r['name']}", "n": sn, "gap": sg,
            "c": share_class(sn, sg), "off": off, "u": unrolled,
            "lp": [round(lp.y, 5), round(lp.x, 5)] if lp else None}})

    # Homes are points on a township's or a village's map; a county's tens of thousands are its cells.
    points = area.level != AreaLevel.COUNTY
    gap_seen = np.flatnonzero(seen & cov.gap) if points else np.empty(0, dtype=np.intp)
    unrolled_seen = np.flatnonzero(seen & ~cov.on_roll) if points else np.empty(0, dtype=np.intp)
    wanted = np.union1d(gap_seen, unrolled_seen)
    names = dict(Child.objects.filter(pk__in=[int(cov.child_id[i]) for i in wanted]).values_list("pk", "name"))
    limits = cov.limit_minutes()
    for i in gap_seen:
        near, roll = int(cov.nearest_school[i]), int(cov.roll_school[i])
        out.append(_point(cov, i, {
            "kind": "home", "id": int(cov.child_id[i]), "nm": names.get(int(cov.child_id[i]), ""),
            "g": int(cov.grade[i]), "lim": int(limits[i]), "ni": int(cov.norm_index[i]),
            "ns": cov.schools[near].name if near >= 0 else "", "nt": _minutes(cov.nearest_s[i]),
            "nk": round(float(cov.nearest_m[i]) / 1000, 2) if np.isfinite(cov.nearest_m[i]) else None,
            "rs": cov.schools[roll].name if roll >= 0 else "", "rt": _minutes(cov.roll_s[i]),
            "off": bool(cov.off_network[i])}))
    for i in unrolled_seen:
        out.append(_point(cov, i, {
            "kind": "unrolled", "id": int(cov.child_id[i]), "nm": names.get(int(cov.child_id[i]), ""),
            "g": int(cov.grade[i]), "st": str(ChildStatus(cov.status[i]).label)}))

    for cell in grid.cells(user, area):
        if grid.Gap.NO_SCHOOL in cell.gaps:
            out.append({"type": "Feature", "geometry": None, "properties": {"kind": "no_school", "code": cell.code}})

    for band in service_bands(area, cov):
        out.append({"type": "Feature", "geometry": json.loads(_geojson(band.geometry)),
                    "properties": {"kind": "band", "low": band.low, "high": band.high}})
    _attach_no_school_geometry(out)
    return {"type": "FeatureCollection", "features": out, "norms": [n.explain() for n in cov.norms],
            "as_of": cov.as_of.isoformat(), "individual": scope.individual_children and points}


def _point(cov: Coverage, i: Any, props: dict[str, Any]) -> dict[str, Any]:
    x, y = cov.lonlat[i]
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(float(x), 5), round(float(y), 5)]},
            "properties": props}


def _geojson(geometry: Any) -> str:
    import shapely

    return str(shapely.to_geojson(shapely.set_precision(geometry, 1e-5)))


def _attach_no_school_geometry(out: list[dict[str, Any]]) -> None:
    """A responsibility-gap cell is drawn with the cell's own (already simplified) outline."""
    by_code = {f["properties"]["code"]: f["geometry"] for f in out if f["properties"]["kind"] == "cell"}
    for f in out:
        if f["properties"]["kind"] == "no_school":
            f["geometry"] = by_code.get(f["properties"]["code"])
    out[:] = [f for f in out if f["geometry"] is not None]
