"""What aggregate-only logins (county planner, inspector) read of the coverage gaps: one protected
decision per county and day (issue 11), the same for the pages, the layer and the workbook.

Everything such a login can read of the coverage of any area of the county is one table:
- areas (the county, its townships, villages: the page's summary, the county's township table, the
  workbook's notes and township sheet): children, beyond the norm, beyond by grade (1-9), beyond
  among key groups (any, and each group), own school beyond the norm, off the road network, no school
  reachable by road, on no school's roll;
- village groups (the layer's cells, the workbook's cell sheet): children, beyond, off the network,
  on no school's roll;
- the county's schools (the county page's and workbook's school table: the county's children on
  each school's roll): children, own way beyond the norm, by grade, key groups, off the network, no
  school reachable. Township and village pages show no school table to these logins (each would be
  a new set of small counts tied to the county's: "—").

Relations an attacker may use, each kept only where it holds on the data: a parent area is the sum
of its children on the area tree; beyond = the grades; beyond = key groups (any) + the rest; each key
group <= any key group <= their sum; beyond >= off the network + unreachable (these are gaps too);
the county's children = its school rows + those on no roll; own school beyond = the school rows'
beyond; off the network and unreachable of the county >= the school rows' sums.

"<5" of these figures means 0-4 (a 0 is hidden only where a recomputed value has no published
non-zero value left beside it to hide: sparse tables), but 1-4 for the children counts.

A cell's children all but equal its school-age children in the month's published figures
(gridmap.published): where those are hidden there, so is this count ("fixed": kept hidden, with the
published text, and protected here too); no figure published there is a complement here.
gridmap.disclosure.protect does the deciding.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.core.cache import cache

from gaps.compute import Coverage
from gridmap import access
from gridmap.disclosure import COMPLEMENT, FORCED, PRIMARY, SMALL, Relation, protect
from gridmap.models import KEY_GROUPS, Area, AreaLevel
from gridmap.models.areas import CODE_LENGTH
from gridmap.published import HIDDEN_TEXT

GRADES = [f"g{g}" for g in range(1, 10)]
KG = [f"kg:{f}" for f in KEY_GROUPS]
SUMMARY = ["children", "gap", "roll_beyond", "off", "unreach", "unrolled"]
AREA_MEASURES = ["children", "gap", *GRADES, "kg", *KG, "roll_beyond", "off", "unreach", "unrolled"]  # townships
CELL_MEASURES = ["children", "gap", "off", "unrolled"]
SCHOOL_MEASURES = ["children", "gap", *GRADES, "kg", *KG, "off", "unreach"]
WITHHELD = "—"
CACHE_SECONDS = 6 * 3600

Key = tuple[str, str]


def school_unit(pk: int) -> str:
    return f"school:{pk}"


@dataclass
class GapFigures:
    """A county's coverage as aggregate-only logins read it."""

    county: str
    values: dict[Key, int]
    hidden: dict[Key, str]
    texts: dict[Key, str]  # the text of a hidden figure whose state comes from the published figures
    seconds: float = 0.0
    stats: dict[str, int] = field(default_factory=dict)

    def get(self, unit: str, measure: str) -> int | str:
        key = (unit, measure)
        if key not in self.values:
            return WITHHELD
        if key in self.hidden:
            return self.texts.get(key) or HIDDEN_TEXT[self.hidden[key]]
        return self.values[key]


def build(county: Area, cov: Coverage, published: Any = None, *, complements: bool = True) -> GapFigures:
    """Compute every figure of the county's coverage and decide what to hide (no cache)."""
    started = time.perf_counter()
    group_code = dict(Area.objects.filter(code__startswith=county.code, level=AreaLevel.GROUP)
                      .values_list("pk", "code"))
    cells = np.array([group_code.get(int(g), "") for g in cov.group_id], dtype=object)
    levels = [(AreaLevel.COUNTY, CODE_LENGTH[AreaLevel.COUNTY]), (AreaLevel.TOWNSHIP, CODE_LENGTH[AreaLevel.TOWNSHIP]),
              (AreaLevel.VILLAGE, CODE_LENGTH[AreaLevel.VILLAGE])]
    any_kg = np.zeros(len(cov), dtype=bool)
    for f in KEY_GROUPS:
        any_kg |= cov.key_groups[f]
    gap, beyond = cov.gap, cov.roll_beyond
    flags: dict[str, Any] = {
        "children": np.ones(len(cov), dtype=bool), "gap": gap,
        **{f"g{g}": gap & (cov.grade == g) for g in range(1, 10)}, "kg": gap & any_kg,
        **{f"kg:{f}": gap & cov.key_groups[f] for f in KEY_GROUPS}, "roll_beyond": beyond,
        "off": cov.off_network, "unreach": cov.unreachable, "unrolled": ~cov.on_roll,
        # never published: the slack of the inequalities
        "gap:rest": gap & ~cov.off_network & ~cov.unreachable, "gap:nonkg": gap & ~any_kg,
        "kg:sum": None, **{f"kg-{f}": gap & any_kg & ~cov.key_groups[f] for f in KEY_GROUPS},
        "off:unrolled": cov.off_network & ~cov.on_roll, "unreach:unrolled": cov.unreachable & ~cov.on_roll,
        "nongap": ~gap, "onroll": cov.on_roll, "onroll:ok": cov.on_roll & ~beyond, "cell:nonoff": gap & ~cov.off_network,
    }
    values: dict[Key, int] = {}
    latent: dict[Key, int] = {}
    units: dict[str, str] = {}  # unit -> parent
    area_codes = set(group_code.values())
    for code in Area.objects.filter(code__startswith=county.code, level__in=[AreaLevel.TOWNSHIP, AreaLevel.VILLAGE]
                                    ).values_list("code", flat=True):
        area_codes.add(code)
    area_codes.add(county.code)
    for code in area_codes:
        units[code] = "" if code == county.code else next(
            code[:n] for _lv, n in reversed(levels) if n < len(code))
        for m in measures_of(code):
            values[(code, m)] = 0
    for _level, n in [*levels, (AreaLevel.GROUP, CODE_LENGTH[AreaLevel.GROUP])]:
        found, at = np.unique(np.array([c[:n] for c in cells], dtype=object), return_inverse=True)
        codes = [str(c) for c in found]
        for m, f in flags.items():
            if f is None:
                continue
            counted = np.bincount(at, weights=f.astype(np.float64), minlength=len(found))
            for code, v in zip(codes, counted, strict=True):
                if code in units:
                    (values if (code, m) in values else latent)[(code, m)] = int(v)
    for code in units:
        latent[(code, "kg:sum")] = sum(values.get((code, k), 0) for k in KG)
        latent[(code, "kg:overlap")] = latent[(code, "kg:sum")] - values.get((code, "kg"), 0)
    # The county's schools: its children on each school's roll.
    school_flags = {"children": flags["children"], "gap": beyond,
                    **{f"g{g}": beyond & (cov.grade == g) for g in range(1, 10)}, "kg": beyond & any_kg,
                    **{f"kg:{f}": beyond & cov.key_groups[f] for f in KEY_GROUPS},
                    "off": cov.off_network, "unreach": cov.unreachable,
                    "gap:nonkg": beyond & ~any_kg, **{f"kg-{f}": beyond & any_kg & ~cov.key_groups[f] for f in KEY_GROUPS},
                    "nongap": ~beyond, "on:net": ~cov.off_network, "reached": ~cov.unreachable}
    schools = [int(p) for p in np.unique(cov.roll_school) if p >= 0]
    for pk in schools:
        on = cov.roll_school == pk
        unit = school_unit(pk)
        units[unit] = county.code
        for m, f in school_flags.items():
            (values if m in SCHOOL_MEASURES else latent)[(unit, m)] = int((f & on).sum())
        latent[(unit, "kg:sum")] = sum(values[(unit, k)] for k in KG)
        latent[(unit, "kg:overlap")] = latent[(unit, "kg:sum")] - values[(unit, "kg")]
    relations = [r for r in _relations(county.code, units) if _holds(r, values, latent)]

    fixed: dict[Key, str | None] = {}
    texts: dict[Key, str] = {}
    banded: set[Key] = set()
    if published is not None:
        for code in group_code.values():
            shown = published.cell(code)
            if shown is not None and isinstance(shown[0], str):
                key = (code, "children")
                texts[key] = shown[0]
                if shown[0] == HIDDEN_TEXT[PRIMARY] and values[key] < SMALL:
                    fixed[key] = PRIMARY  # read as the grid's "<5": 0-4
                    banded.add(key)
                else:
                    fixed[key] = FORCED  # behind the grid's "*": anywhere in [0, inf) to the audit
    result = protect(values, relations, rank=lambda k: _rank(k[0]), fixed=fixed, banded=lambda k: k in banded,
                     zeros=lambda k: k[1] != "children", complements=complements)
    out = GapFigures(county.code, values, result.hidden, texts, time.perf_counter() - started)
    out.stats = {"primary": result.count(PRIMARY), "complement": result.count(COMPLEMENT),
                 "forced": result.count(FORCED), "relations": len(relations), "values": len(values),
                 "lps": result.lps, "rounds": result.rounds, "unprotected": len(result.unprotected)}
    return out


def measures_of(unit: str) -> list[str]:
    """What is published of a unit: see the module's docstring."""
    if unit.startswith("school:"):
        return SCHOOL_MEASURES
    return {CODE_LENGTH[AreaLevel.GROUP]: CELL_MEASURES, CODE_LENGTH[AreaLevel.TOWNSHIP]: AREA_MEASURES
            }.get(len(unit), SUMMARY)


def _rank(unit: str) -> int:
    if unit.startswith("school:"):
        return 1
    return {CODE_LENGTH[AreaLevel.GROUP]: 0, CODE_LENGTH[AreaLevel.VILLAGE]: 1, CODE_LENGTH[AreaLevel.TOWNSHIP]: 2
            }.get(len(unit), 3)


def _relations(county: str, units: dict[str, str]) -> list[Relation]:
    children: dict[str, list[str]] = {}
    for code, parent in units.items():
        if parent and not code.startswith("school:"):
            children.setdefault(parent, []).append(code)
    schools = sorted(u for u in units if u.startswith("school:"))
    out: list[Relation] = []
    cell_length = CODE_LENGTH[AreaLevel.GROUP]
    for code in units:
        parts = sorted(children.get(code, []))
        if parts:  # the measures both levels publish
            out += [Relation((code, m), tuple((p, m) for p in parts))
                    for m in measures_of(code) if m in measures_of(parts[0])]
        if code.startswith("school:") or len(code) == CODE_LENGTH[AreaLevel.TOWNSHIP]:
            out += _within(code, school=code.startswith("school:"))
        elif len(code) == cell_length:
            out.append(Relation((code, "gap"), ((code, "off"), (code, "cell:nonoff"))))  # off <= beyond
        else:
            out.append(Relation((code, "gap"), ((code, "off"), (code, "unreach"), (code, "gap:rest"))))
        # beyond, on no roll <= children; own school beyond <= on a roll
        out.append(Relation((code, "children"), ((code, "gap"), (code, "nongap"))))
        if code.startswith("school:"):
            out += [Relation((code, "children"), ((code, m), (code, rest))) for m, rest in (("off", "on:net"),
                                                                                             ("unreach", "reached"))]
        else:
            out.append(Relation((code, "children"), ((code, "unrolled"), (code, "onroll"))))
            if len(code) < cell_length:
                out.append(Relation((code, "onroll"), ((code, "roll_beyond"), (code, "onroll:ok"))))
    if schools:
        out.append(Relation((county, "children"), (*[(s, "children") for s in schools], (county, "unrolled"))))
        out.append(Relation((county, "roll_beyond"), tuple((s, "gap") for s in schools)))
        for m in ("off", "unreach"):
            out.append(Relation((county, m), (*[(s, m) for s in schools], (county, f"{m}:unrolled"))))
    return out


def _within(u: str, school: bool) -> list[Relation]:
    out = [Relation((u, "gap"), tuple((u, g) for g in GRADES)),
           Relation((u, "gap"), ((u, "kg"), (u, "gap:nonkg"))),
           Relation((u, "kg:sum"), tuple((u, k) for k in KG)),
           Relation((u, "kg:sum"), ((u, "kg"), (u, "kg:overlap")))]  # a child may be in several groups
    out += [Relation((u, "kg"), ((u, k), (u, f"kg-{f}"))) for k, f in zip(KG, KEY_GROUPS, strict=True)]
    if not school:
        out.append(Relation((u, "gap"), ((u, "off"), (u, "unreach"), (u, "gap:rest"))))
    return out


def _holds(r: Relation, values: dict[Key, int], latent: dict[Key, int]) -> bool:
    def v(k: Key) -> int | None:
        return values[k] if k in values else latent.get(k)
    terms = [v(k) for k in r.terms()]
    if any(t is None for t in terms):
        return False
    total, *parts = terms
    return total == sum(p for p in parts if p is not None)


def figures_for(user: Any, cov_of: Any) -> GapFigures | None:
    """The decision for an aggregate-only login's county (cached while the coverage and the month's
    published figures are unchanged); None for logins that read exact counts. `cov_of(area)` gives
    the coverage of an area (gaps.compute.compute)."""
    published = access.published_figures(user)
    if published is None:
        return None
    county = Area.objects.get(code=published.county)
    cov = cov_of(county)
    stamp = hashlib.sha1(repr(sorted((k, v) for k, v in published.hidden.items()
                                     if k[1] == "school_age")).encode()).hexdigest()[:16]
    key = f"gaps:disclosure:{county.code}:{cov.fingerprint}:{published.month}:{stamp}"
    found: GapFigures | None = cache.get(key)
    if found is None:
        found = build(county, cov, published)
        cache.set(key, found, CACHE_SECONDS)
    return found
