"""The one place where the planning pages, exports and the command turn counts of children into what a
login may read (issue 11).

Logins that read individual children get every count. Aggregate-only logins (county planner,
inspector) get, per scenario evaluation, one protected decision (`decide`): every count the scenario's
page, report, workbook, PDF, comparison column and map read is a keyed figure, and
gridmap.disclosure.protect hides the counts 1-4 ("<5") and enough others ("*") that no hidden count can
be recomputed from the relations between them:

- totals = sums over grades, village groups, receiving schools, norms (moved, beyond before/after,
  boarding demand, new and closed gaps, overflow);
- a closing school's moved pupils = its flows (the last one to "no place or off the network"); a
  receiving school's arrivals = the flows into it; after = stay + arrivals; enrolment = stay + moved
  out; over capacity: after = approved places + overflow (places are published), else after <= places;
- coverage gaps per grade: before - closed = after - new;
- inequalities (a part <= its total): beyond, boarding demand, newly beyond <= moved; key groups <=
  any key group <= their sum; measured + not measured = moved; ... each kept where it holds.

The figures that depend on the county as it is, not on the scenario (children, each school's
enrolment, per grade the pupils beyond the norm and the coverage gaps before), are decided once, from
the baseline alone (`baseline_states`: "<5" for 1-4, never a complement), and passed to every
scenario's decision as `fixed`: they read the same in every scenario, on the school pages and in the
comparison, so that differencing two scenarios gains nothing from them. Figures that differ between
scenarios are protected within each scenario only (see the report of issue 11 for what two scenarios
differing by one school still allow).

A count passed without a key (a statistic's base that is not itself shown) gets "<5" for 1-4.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.core.cache import cache

from gridmap import access
from gridmap.disclosure import COMPLEMENT, FORCED, PRIMARY, SMALL, Relation, protect
from gridmap.models import KEY_GROUPS, UserRole
from gridmap.published import HIDDEN_TEXT
from planning.report import Count, Shown

Key = tuple[Any, ...]
WITHHELD, WITHHELD_TEXT = "withheld", "—"
CACHE_SECONDS = 6 * 3600  # a decision is kept while the evaluation's figures are the same


def shown_for(user: Any) -> Shown:
    """Primary suppression alone ("<5"), for counts that are in no relation with others."""
    scope = access.scope_of(user)

    def shown(n: int, key: Any = None) -> Count:
        return access.suppress(int(n), scope)

    return shown


def aggregate_only() -> Shown:
    """Counts as an aggregate-only login (a county planner) reads them, without a decision."""
    scope = access.Scope(UserRole.COUNTY_PLANNER, True, (), (), False, False)
    return lambda n, key=None: access.suppress(int(n), scope)


def individual(user: Any) -> bool:
    """May this login read individual children (names, masked IDs)? Planners and inspectors never."""
    return access.scope_of(user).individual_children


def for_evaluation(user: Any, base: Any, out: Any, changes: list[Any]) -> Shown:
    """What this login reads of one scenario evaluation: every count, or the protected decision."""
    from planning.report import exact

    if user is not None and individual(user):
        return exact
    digest = hashlib.sha1(repr((str(base.as_of), out.rule, [repr(c) for c in changes])).encode())
    for a in (base.cov.grade, base.cov.group_id, base.limit_min(), out.schools.code.astype(str), out.schools.enrolment,
              out.after.capacity, out.moved, out.school_before, out.school_after, out.time_before, out.time_after,
              out.no_place, out.unreachable, out.meets_before, out.meets_after, out.stay, out.arrivals,
              out.taught_school_after, *base.cov.key_groups.values()):
        digest.update(np.ascontiguousarray(a).tobytes())
    key = f"planning:disclosure:{digest.hexdigest()}"
    found: Decision | None = cache.get(key)
    if found is None:
        found = decide(base, out, changes)
        cache.set(key, found, CACHE_SECONDS)
    return found


class Recorder:
    """A `Shown` that shows everything and writes down each keyed figure."""

    def __init__(self) -> None:
        self.values: dict[Key, int] = {}

    def __call__(self, n: int, key: Any = None) -> Count:
        if key is not None:
            old = self.values.setdefault(key, int(n))
            assert old == int(n), (key, old, n)
        return int(n)


@dataclass
class Decision:
    """A `Shown` that reads a protected decision."""

    hidden: dict[Key, str]
    decided: frozenset[Key] = frozenset()  # the figures it decides; others get "<5" for 1-4
    stats: dict[str, int] = field(default_factory=dict)

    def __call__(self, n: int, key: Any = None) -> Count:
        if key not in self.decided:
            return f"<{SMALL}" if 0 < n < SMALL else int(n)
        reason = self.hidden.get(key)
        if reason == WITHHELD:
            return WITHHELD_TEXT
        return int(n) if reason is None else HIDDEN_TEXT[reason]


def baseline_states(base: Any, out: Any) -> dict[Key, str | None]:
    """The states of the figures that do not depend on the scenario (see the module's docstring)."""
    values = baseline_figures(base, out)
    return {k: (PRIMARY if 0 < v < SMALL else None) for k, v in values.items()}


def baseline_figures(base: Any, out: Any) -> dict[Key, int]:
    cov, s = base.cov, out.schools
    values: dict[Key, int] = {("t", "children"): len(cov)}
    for j in range(len(s)):
        values[("school", str(s.code[j]), "enrolment")] = int(s.enrolment[j])
    limit = base.limit_min()
    from gaps.norms import within

    beyond_before = (out.school_before >= 0) & np.isfinite(out.time_before) & ~within(out.time_before, limit)
    on_roll = out.school_before >= 0
    for g in range(1, 10):
        at = cov.grade == g
        values[("grade", g, "county_before")] = int((on_roll & at & beyond_before).sum())
        values[("grade", g, "gap_before")] = int((~out.meets_before & at).sum())
    return values


def map_figures(out: Any, group_id: Any, cells: dict[int, str], shown: Shown) -> None:
    """The map's counts, as planning.maps reads them (same keys), without its geometry."""
    s = out.schools
    for j in range(len(s)):
        shown(int(s.enrolment[j]), ("school", str(s.code[j]), "enrolment"))
        if out.after.open[j]:
            shown(int(out.enrolment_after[j]), ("school", str(s.code[j]), "after"))
    moved = out.moved
    for g, code in cells.items():
        if code:
            shown(int((moved & (group_id == g)).sum()), ("cell", code, "moved"))
    src, dst = out.school_before[moved], out.school_after[moved]
    for a, b in set(zip(src.tolist(), dst.tolist(), strict=True)):
        if b >= 0:
            shown(int(((src == a) & (dst == b)).sum()), ("flow", str(s.code[a]), str(s.code[b])))


def decide(base: Any, out: Any, changes: list[Any], *, complements: bool = True) -> Decision:
    """One protected decision for one evaluation of a scenario."""
    from gridmap.models import Area
    from planning import report

    rec = Recorder()
    report.build(base, out, changes, rec)
    cov = base.cov
    moved_groups = np.unique(cov.group_id[out.moved]).tolist()
    cells = dict(Area.objects.filter(pk__in=moved_groups).values_list("pk", "code"))
    map_figures(out, cov.group_id, cells, rec)
    values = {k: v for k, v in rec.values.items() if not _unpublished(k)}
    fixed = baseline_states(base, out)
    for j in range(len(out.schools)):  # approved places are published: known to everyone
        cap = out.after.capacity[j]
        if np.isfinite(cap):
            values[("cap", str(out.schools.code[j]))] = int(cap)
            fixed[("cap", str(out.schools.code[j]))] = None
    relations, latent = _relations(base, out, values)
    for k, n in rec.values.items():
        if _unpublished(k):
            latent.setdefault(k, n)
    kept = [r for r in relations if _holds(r, values, latent)]
    fixed = {k: v for k, v in fixed.items() if k in values}
    # A small count that no complement can protect (a closing school of 6 pupils, its baseline enrolment
    # shown, whose 6 go 5 and 1 to two schools: "*" = 5 or more pins the 1) gets the complements beside
    # it withheld ("—": not published at all, any value to a reader), and the decision is made again.
    withheld: set[Key] = set()
    for _round in range(6):
        published = {k: v for k, v in values.items() if k not in withheld}
        result = protect(published, kept, rank=_rank, fixed={k: v for k, v in fixed.items() if k in published},
                         complements=complements)
        more = {t for k in result.unprotected for r in kept if k in r.terms() for t in r.terms()
                if result.hidden.get(t) == COMPLEMENT and t not in fixed}
        if not more:
            withheld |= {k for k in result.unprotected if k not in fixed}
            break
        withheld |= more
    hidden: dict[Key, str] = {k: r for k, r in result.hidden.items() if k[0] != "cap" and k not in withheld}
    hidden.update(dict.fromkeys(withheld, WITHHELD))
    return Decision(hidden, frozenset(values), {
        "withheld": len(withheld), "primary": result.count(PRIMARY), "complement": result.count(COMPLEMENT),
        "forced": result.count(FORCED), "values": len(values), "relations": len(kept),
        "dropped": len(relations) - len(kept), "lps": result.lps, "unprotected": len(result.unprotected)})


def _unpublished(k: Key) -> bool:
    """Keyed counts that are never shown themselves: a closing school's pupils measured before and
    after (only their mean is shown, and only where the count is 5 or more), the moved whose way after
    cannot be measured (the statistics' complement)."""
    return k == ("t", "unmeasured_after") or (k[0] == "closed" and k[-1] == "measured")


def _rank(k: Key) -> int:
    return {"t": 4, "norm": 3, "grade": 2, "kg": 2, "school": 1, "closed": 1}.get(k[0], 0)


def _relations(base: Any, out: Any, values: dict[Key, int]) -> tuple[list[Relation], dict[Key, int]]:
    """Every relation between the figures (inequalities with a latent slack), and the latent values."""
    rels: list[Relation] = []
    latent: dict[Key, int] = {}
    n_slack = [0]

    def v(k: Key) -> int:
        return values[k] if k in values else latent.get(k, 0)

    def eq(total: Key, parts: Iterable[Key]) -> None:
        parts = tuple(parts)
        if parts and total in values or total in latent:
            rels.append(Relation(total, parts))

    def le(parts: Iterable[Key], total: Key) -> None:
        """sum(parts) <= total, where every term is a figure."""
        parts = tuple(p for p in parts if p in values or p in latent)
        if not parts or total not in values and total not in latent:
            return
        slack = v(total) - sum(v(p) for p in parts)
        if slack < 0:
            return
        n_slack[0] += 1
        key = ("slack", n_slack[0])
        latent[key] = slack
        rels.append(Relation(total, (*parts, key)))

    def keys(prefix: str, measure: str) -> list[Key]:
        return sorted((k for k in values if k[0] == prefix and k[-1] == measure), key=repr)

    s = out.schools
    code = [str(c) for c in s.code]
    t = ("t",)
    grades = range(1, 10)
    # totals over grades, cells, receiving schools, norms
    for m in ("moved", "beyond_before", "beyond_after", "boarding_demand"):
        eq((*t, m), [("grade", g, m) for g in grades])
    eq((*t, "new_gaps"), [("grade", g, "gap_new") for g in grades])
    eq((*t, "closed_gaps"), [("grade", g, "gap_closed") for g in grades])
    eq((*t, "moved"), keys("cell", "moved"))
    eq((*t, "beyond_after"), keys("cell", "beyond_after"))
    eq((*t, "new_gaps"), keys("cell", "new_gaps"))
    received = [k for k in values if k[0] == "school" and k[2] == "arrivals"]
    eq((*t, "boarding_demand"), [(*k[:2], "boarding_demand") for k in received])
    eq((*t, "overflow"), [(*k[:2], "overflow") for k in received])
    for nm in base.norms:
        eq(("norm", nm.first_grade, nm.last_grade, "beyond_after"),
           [("grade", g, "beyond_after") for g in range(nm.first_grade, nm.last_grade + 1)])
    # the moved, measured or not; beyond before, measured or not
    eq((*t, "moved"), [(*t, "measured"), (*t, "unmeasured_after")])
    le([(*t, "beyond_before"), (*t, "unmeasured_before")], (*t, "moved"))
    le([(*t, "no_place"), (*t, "unreachable")], (*t, "unmeasured_after"))
    for m in ("beyond_after", "key_moved"):
        le([(*t, m)], (*t, "moved"))
    le([(*t, "newly_beyond")], (*t, "beyond_after"))
    le([(*t, "boarding_demand")], (*t, "newly_beyond"))
    for g in grades:
        gk = ("grade", g)
        for m in ("beyond_before", "beyond_after", "boarding_demand", "newly_beyond"):
            le([(*gk, m)], (*gk, "moved"))
        le([(*gk, "beyond_before")], (*gk, "county_before"))
        le([(*gk, "beyond_after")], (*gk, "county_after"))
        le([(*gk, "boarding_demand")], (*gk, "newly_beyond"))
        le([(*gk, "newly_beyond")], (*gk, "beyond_after"))
        # coverage gaps: before - closed = after - new (= the gaps that stay)
        kept_gaps = ("latent", "gap_stay", str(g))
        latent[kept_gaps] = v((*gk, "gap_before")) - v((*gk, "gap_closed"))
        eq((*gk, "gap_before"), [(*gk, "gap_closed"), kept_gaps])
        eq((*gk, "gap_after"), [(*gk, "gap_new"), kept_gaps])
    for f in KEY_GROUPS:
        kg = ("kg", f)
        le([(*kg, "moved")], (*t, "key_moved"))
        le([(*kg, "beyond_after")], (*kg, "moved"))
        le([(*kg, "newly_beyond")], (*kg, "beyond_after"))
        le([(*kg, "beyond_after")], (*t, "beyond_after"))
        le([(*kg, "newly_beyond")], (*t, "newly_beyond"))
    latent[("latent", "kg_sum")] = sum(v(("kg", f, "moved")) for f in KEY_GROUPS)
    eq(("latent", "kg_sum"), [("kg", f, "moved") for f in KEY_GROUPS])
    le([(*t, "key_moved")], ("latent", "kg_sum"))
    for k in keys("cell", "beyond_after"):
        le([k], (*k[:2], "moved"))
    # schools: enrolment = stay + moved out (+ pupils of a closing school with no home on the ledger);
    # after = stay + arrivals; arrivals = flows in; moved out = flows out
    moved, src = out.moved, out.school_before
    for j, c in enumerate(code):
        sk = ("school", c)
        out_j = ("closed", c, "moved") if ("closed", c, "moved") in values else ("latent", "out", c)
        latent.setdefault(out_j, int((moved & (src == j)).sum()))
        stay: Key = (*sk, "stay") if (*sk, "stay") in values else ("latent", "stay", c)
        latent.setdefault(stay, int(out.stay[j]))
        if out.after.open[j]:
            eq((*sk, "enrolment"), [stay, out_j])
            arrivals = [(*sk, "arrivals")] if (*sk, "arrivals") in values else []
            eq((*sk, "after"), [stay, *arrivals])
        else:
            le([out_j], (*sk, "enrolment"))
        flows_in = [k for k in values if k[0] == "flow" and k[2] == c]
        if arrivals := [(*sk, "arrivals")] if (*sk, "arrivals") in values else []:
            eq(arrivals[0], flows_in)
        flows_out = [k for k in values if k[0] == "flow" and k[1] == c]
        if out_j[0] == "closed":
            eq(out_j, flows_out)
        elif flows_out:
            le(flows_out, out_j)
        le([("closed", c, "measured")], out_j)
        cap = out.after.capacity[j]
        if np.isfinite(cap) and (*sk, "after") in values:
            if (*sk, "overflow") in values and values[(*sk, "overflow")] > 0:
                eq((*sk, "after"), [("cap", c), (*sk, "overflow")])
            else:
                le([(*sk, "after")], ("cap", c))
    eq((*t, "moved"), [k for k in latent if k[:2] == ("latent", "out")] + keys("closed", "moved"))
    return rels, latent


def _holds(r: Relation, values: dict[Key, int], latent: dict[Key, int]) -> bool:
    terms = []
    for k in r.terms():
        if k in values:
            terms.append(values[k])
        elif k in latent:
            terms.append(latent[k])
        else:
            return False
    return terms[0] == sum(terms[1:])
