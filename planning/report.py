"""The impact report of a scenario: every figure of the study, computed from an evaluation.

`build(base, outcome, ...)` turns the per-child arrays of planning.evaluate into the tables a
planner reads; counts of children pass through `Shown` (planning.disclosure) on their way out, so
that a login who may see children only in aggregate gets "<5" wherever a count is 1-4, and no
statistic (mean, median, …) of fewer than five children. Figures:

- moved: children who must leave their school (per closed school, per receiving school, per village
  group); "no place": moved children no school could take;
- travel time (minutes) and road distance (km) of the moved children, before and after: mean,
  median, 90th percentile (linear interpolation), maximum; trips that cannot be made are left out of
  the statistics and counted apart;
- beyond the norm (the daily trip longer than the grade's day limit, inclusive to the second —
  gaps.norms), by grade: among the moved children, and among all pupils of the county;
- receiving schools: pupils staying, arriving, after; capacity; overflow (pupils beyond capacity);
- new boarding demand: moved children within their day limit before and beyond it after (they can
  no longer go home every day), per receiving school, with whether it boards;
- new coverage gaps: children of the county meeting the norm before and not after (and gaps that
  close), by grade and village group;
- key groups (重点人群) and key grades (6, 8, 9) among the moved: moved, beyond the norm after;
- send-teaching-home trips whose school closes: the teachers' trip (school bus mode) before/after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.utils.translation import gettext as _
from numpy.typing import NDArray

from gaps.norms import within
from gridmap.models import KEY_GROUPS, Area
from gridmap.numerals import to_chinese
from planning.baseline import Baseline
from planning.evaluate import OVERFLOW_RULES, Change, Outcome

KEY_GRADES = (6, 8, 9)
Count = int | str
Shown = Callable[..., Count]  # (count, key=None): a count as the login may read it; the key names the figure
# (planning.disclosure decides, per figure, what an aggregate-only login reads)


def exact(n: int, key: Any = None) -> Count:
    return int(n)


@dataclass(frozen=True)
class Stats:
    n: Count
    mean: float | None
    median: float | None
    p90: float | None
    max: float | None

    def values(self) -> list[Any]:
        return [self.n, self.mean, self.median, self.p90, self.max]


def stats(values: NDArray[np.float64], scale: float, shown: Shown, digits: int = 1, key: Any = None) -> Stats:
    """Statistics of the finite values (seconds → minutes with scale 60, metres → km with 1000);
    none at all for fewer than five values when the login may not see individual children."""
    v = values[np.isfinite(values)] / scale
    n = len(v)
    label = shown(n, key)
    if n == 0 or label != n:
        return Stats(label, None, None, None, None)
    return Stats(label, round(float(v.mean()), digits), round(float(np.median(v)), digits),
                 round(float(np.percentile(v, 90)), digits), round(float(v.max()), digits))


@dataclass
class Report:
    title: str
    rule: str
    rule_text: str
    as_of: str
    norms: list[str]
    changes: list[str]
    summary: str = ""
    totals: dict[str, Count] = field(default_factory=dict)
    time_before: Stats | None = None
    time_after: Stats | None = None
    dist_before: Stats | None = None
    dist_after: Stats | None = None
    unreachable_after: Count = 0
    closed: list[dict[str, Any]] = field(default_factory=list)  # per closing school, with flows
    flows: list[dict[str, Any]] = field(default_factory=list)  # from → to, count
    receiving: list[dict[str, Any]] = field(default_factory=list)
    grades: list[dict[str, Any]] = field(default_factory=list)  # grade, moved, beyond before/after (moved), county
    boarding: list[dict[str, Any]] = field(default_factory=list)
    gaps_by_grade: list[dict[str, Any]] = field(default_factory=list)
    gaps_by_group: list[dict[str, Any]] = field(default_factory=list)
    key_groups: list[dict[str, Any]] = field(default_factory=list)
    key_grades: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)  # village groups with moved children
    home_taught: list[dict[str, Any]] = field(default_factory=list)


def describe(change: Change, names: dict[str, str]) -> str:
    n = names.get(change.school, change.school)
    if change.action == "close":
        return _("close %(s)s") % {"s": n}
    if change.action == "merge":
        return _("merge %(s)s into %(t)s") % {"s": n, "t": names.get(change.into, change.into)}
    if change.action == "grades":
        return _("%(s)s teaches grades %(a)s-%(b)s") % {"s": n, "a": change.first_grade, "b": change.last_grade}
    if change.action == "capacity":
        return _("%(s)s: %(c)s approved places") % {"s": n, "c": change.capacity}
    if change.action == "boarding":
        return (_("%(s)s boards") if change.boarding else _("%(s)s stops boarding")) % {"s": n}
    return _("open the planned school %(s)s") % {"s": n}


def rule_text(rule: str) -> str:
    if rule == OVERFLOW_RULES[0]:
        return _("When a receiving school is full, seats go to the children nearest to it and the others go to "
                 "the next nearest school with room; a child who finds every school full is counted as having "
                 "no place.")
    return _("Every child goes to the nearest school teaching their grade, full or not; places beyond a "
             "school's capacity are counted as overflow.")


def build(base: Baseline, out: Outcome, changes: list[Change], shown: Shown = exact, title: str = "") -> Report:
    cov = base.cov
    s = out.schools
    names = {str(c): str(nm) for c, nm in zip(s.code, s.name, strict=True)}
    moved = out.moved
    limit = base.limit_min()
    # beyond the norm: a way measured and longer than the norm; a way that cannot be measured (home or
    # school off the road network) is counted apart, never as beyond (it would inflate "before" most)
    beyond_before = (out.school_before >= 0) & np.isfinite(out.time_before) & ~within(out.time_before, limit)
    beyond_after = (out.school_after >= 0) & np.isfinite(out.time_after) & ~within(out.time_after, limit)
    unmeasured_before = (out.school_before >= 0) & ~np.isfinite(out.time_before)
    rep = Report(title=title, rule=out.rule, rule_text=rule_text(out.rule), as_of=str(base.as_of),
                 norms=[nm.explain() for nm in base.norms], changes=[describe(c, names) for c in changes])
    closing = np.flatnonzero(out.before.open & ~out.after.open)
    new_gap = out.meets_before & ~out.meets_after
    closed_gap = ~out.meets_before & out.meets_after
    newly_beyond = moved & ~beyond_before & beyond_after
    board_demand = moved & within(out.time_before, limit) & beyond_after
    placed = moved & (out.school_after >= 0)
    measured = placed & np.isfinite(out.time_before) & np.isfinite(out.time_after)
    counts = {
        "children": len(cov), "moved": moved.sum(), "no_place": out.no_place.sum(),
        "beyond_before": (moved & beyond_before).sum(), "unmeasured_before": (moved & unmeasured_before).sum(),
        "beyond_after": (moved & beyond_after).sum(), "newly_beyond": newly_beyond.sum(),
        "boarding_demand": board_demand.sum(), "new_gaps": new_gap.sum(), "closed_gaps": closed_gap.sum(),
        "unreachable": out.unreachable.sum(), "overflow": out.overflow[out.arrivals > 0].sum(),
        "key_moved": (moved & _any_key_group(base)).sum(),
        "home_taught_changed": (out.taught_school_after != base.home_taught.school).sum()}
    rep.totals = {"schools_closed": len(closing), **{m: shown(int(n), ("t", m)) for m, n in counts.items()},
                  "over_capacity_schools": int(((out.overflow > 0) & (out.arrivals > 0)).sum())}
    # before and after over the same children: the moved whose way can be measured both times
    both = placed & np.isfinite(out.time_before) & np.isfinite(out.time_after)
    rep.time_before = stats(np.where(both, out.time_before, np.nan), 60, shown, key=("t", "measured"))
    rep.time_after = stats(np.where(both, out.time_after, np.nan), 60, shown, key=("t", "measured"))
    rep.dist_before = stats(np.where(both, out.dist_before, np.nan), 1000, shown, 2, ("t", "measured"))
    rep.dist_after = stats(np.where(both, out.dist_after, np.nan), 1000, shown, 2, ("t", "measured"))
    rep.unreachable_after = shown(int((moved & ~both).sum()), ("t", "unmeasured_after"))
    # per closing school, and the flows out of it
    for j in closing:
        from_j = moved & (out.school_before == j)
        dest = out.school_after[from_j]
        flows = []
        for t in np.unique(dest):
            k = int((dest == t).sum())
            to = names[str(s.code[t])] if t >= 0 else _("no place or off the road network")
            to_code = str(s.code[t]) if t >= 0 else ""
            flows.append({"to": to, "to_code": to_code, "children": shown(k, ("flow", str(s.code[j]), to_code)),
                          "raw": k})
            rep.flows.append({"from": str(s.name[j]), "from_code": str(s.code[j]), **flows[-1]})
        rep.closed.append({
            "code": str(s.code[j]), "name": str(s.name[j]), "kind": str(s.kind[j]),
            "merge_into": names.get(str(s.code[out.after.merge_into[j]]), "") if out.after.merge_into[j] >= 0 else "",
            "enrolment": shown(int(s.enrolment[j]), ("school", str(s.code[j]), "enrolment")),
            "moved": shown(int(from_j.sum()), ("closed", str(s.code[j]), "moved")),
            "time_before": stats(np.where(from_j & measured, out.time_before, np.nan), 60, shown,
                                 key=("closed", str(s.code[j]), "measured")),
            "time_after": stats(np.where(from_j & measured, out.time_after, np.nan), 60, shown,
                                key=("closed", str(s.code[j]), "measured")),
            "flows": [{k: v for k, v in f.items() if k != "raw"} for f in flows]})
    for f in rep.flows:
        f.pop("raw", None)
    # receiving schools: those that take moved children, or are over capacity after
    for j in np.flatnonzero(out.arrivals > 0):
        cap = out.after.capacity[j]
        into_j = moved & (out.school_after == j)
        school = ("school", str(s.code[j]))
        rep.receiving.append({
            "code": str(s.code[j]), "name": str(s.name[j]), "capacity": int(cap) if np.isfinite(cap) else None,
            "before": shown(int(s.enrolment[j]), (*school, "enrolment")), "stay": shown(int(out.stay[j]), (*school, "stay")),
            "arrivals": shown(int(out.arrivals[j]), (*school, "arrivals")),
            "after": shown(int(out.enrolment_after[j]), (*school, "after")),
            "overflow": shown(int(out.overflow[j]), (*school, "overflow")), "boarding": bool(out.after.boarding[j]),
            "boarding_demand": shown(int((board_demand & into_j).sum()), (*school, "boarding_demand"))})
        if rep.receiving[-1]["boarding_demand"] != 0:
            rep.boarding.append({"code": str(s.code[j]), "name": str(s.name[j]),
                                 "children": rep.receiving[-1]["boarding_demand"], "boards": bool(out.after.boarding[j])})
    on_roll = out.school_before >= 0
    for g in range(1, 10):
        at = cov.grade == g
        rep.grades.append({
            "grade": g, "moved": shown(int((moved & at).sum()), ("grade", g, "moved")),
            "beyond_before": shown(int((moved & at & beyond_before).sum()), ("grade", g, "beyond_before")),
            "beyond_after": shown(int((moved & at & beyond_after).sum()), ("grade", g, "beyond_after")),
            "county_before": shown(int((on_roll & at & beyond_before).sum()), ("grade", g, "county_before")),
            "county_after": shown(int((on_roll & at & (beyond_after | out.no_place)).sum()), ("grade", g, "county_after")),
            "boarding_demand": shown(int((board_demand & at).sum()), ("grade", g, "boarding_demand")),
        })
        rep.gaps_by_grade.append({"grade": g, "new": shown(int((new_gap & at).sum()), ("grade", g, "gap_new")),
                                  "closed": shown(int((closed_gap & at).sum()), ("grade", g, "gap_closed")),
                                  "before": shown(int((~out.meets_before & at).sum()), ("grade", g, "gap_before")),
                                  "after": shown(int((~out.meets_after & at).sum()), ("grade", g, "gap_after"))})
    for key, label in KEY_GROUPS.items():
        kg = cov.key_groups[key]
        rep.key_groups.append({"key": key, "label": str(label), "moved": shown(int((moved & kg).sum()), ("kg", key, "moved")),
                               "beyond_after": shown(int((moved & kg & beyond_after).sum()), ("kg", key, "beyond_after")),
                               "newly_beyond": shown(int((newly_beyond & kg).sum()), ("kg", key, "newly_beyond"))})
    for g in KEY_GRADES:
        at = cov.grade == g
        rep.key_grades.append({"grade": g, "moved": shown(int((moved & at).sum()), ("grade", g, "moved")),
                               "beyond_after": shown(int((moved & at & beyond_after).sum()), ("grade", g, "beyond_after")),
                               "newly_beyond": shown(int((newly_beyond & at).sum()), ("grade", g, "newly_beyond"))})
    _groups(rep, base, out, moved, measured, beyond_after, new_gap, shown)
    _home_taught(rep, base, out, names)
    rep.summary = summary(rep, base, out, moved, beyond_after, shown)
    return rep


def _any_key_group(base: Baseline) -> NDArray[np.bool_]:
    any_kg = np.zeros(len(base.cov), dtype=bool)
    for f in KEY_GROUPS:
        any_kg |= base.cov.key_groups[f]
    return any_kg


def _groups(rep: Report, base: Baseline, out: Outcome, moved: NDArray[np.bool_], measured: NDArray[np.bool_],
            beyond_after: NDArray[np.bool_], new_gap: NDArray[np.bool_], shown: Shown) -> None:
    cov = base.cov
    touched = np.unique(cov.group_id[moved | new_gap])
    info = {pk: (code, name) for pk, code, name in Area.objects.filter(pk__in=touched.tolist())
            .values_list("pk", "code", "name")}
    townships = dict(Area.objects.filter(code__in={c[:9] for c, _n in info.values()}).values_list("code", "name"))
    villages = dict(Area.objects.filter(code__in={c[:12] for c, _n in info.values()}).values_list("code", "name"))
    rows: list[dict[str, Any]] = []
    for g in touched:
        code, name = info[int(g)]
        here = cov.group_id == g
        m = moved & here
        before = stats(np.where(m & measured, out.time_before, np.nan), 60, shown)
        after = stats(np.where(m & measured, out.time_after, np.nan), 60, shown)
        delta = (round(after.mean - before.mean, 1) if after.mean is not None and before.mean is not None else None)
        rows.append({"code": code, "name": f"{villages.get(code[:12], '')}{name}", "township": townships.get(code[:9], ""),
                     "moved": shown(int(m.sum()), ("cell", code, "moved")), "before": before.mean, "after": after.mean,
                     "delta": delta,
                     "beyond_after": shown(int((m & beyond_after).sum()), ("cell", code, "beyond_after")),
                     "new_gaps": shown(int((new_gap & here).sum()), ("cell", code, "new_gaps")),
                     "raw_delta": delta})
        if int(m.sum()) == 0:
            rows[-1]["before"] = rows[-1]["after"] = rows[-1]["delta"] = None
    rows.sort(key=lambda r: str(r["code"]))
    rep.groups = rows
    rep.gaps_by_group = [{"code": r["code"], "name": r["name"], "township": r["township"], "new": r["new_gaps"]}
                         for r in rows if r["new_gaps"] != 0]


def _home_taught(rep: Report, base: Baseline, out: Outcome, names: dict[str, str]) -> None:
    ht = base.home_taught
    s = out.schools
    codes = dict(Area.objects.filter(pk__in=ht.group_id.tolist()).values_list("pk", "code"))
    for k in np.flatnonzero(out.taught_school_after != ht.school):
        a, b = int(ht.school[k]), int(out.taught_school_after[k])
        before = float(ht.time_s[k, a]) if ht.time_s.size else np.inf
        after = float(ht.time_s[k, b]) if b >= 0 and ht.time_s.size else np.inf
        rep.home_taught.append({
            "group": codes.get(int(ht.group_id[k]), ""), "from": str(s.name[a]), "to": str(s.name[b]) if b >= 0 else "",
            "minutes_before": round(before / 60, 1) if np.isfinite(before) else None,
            "minutes_after": round(after / 60, 1) if np.isfinite(after) else None,
            "km_before": round(float(ht.distance_m[k, a]) / 1000, 2) if np.isfinite(before) else None,
            "km_after": round(float(ht.distance_m[k, b]) / 1000, 2) if b >= 0 and np.isfinite(after) else None})


MODE_VERB = {"walk": "步行", "cycle": "骑车", "bus": "乘车"}


def _grades_text(a: int, b: int) -> str:
    return f"{to_chinese(a)}年级" if a == b else f"{to_chinese(a)}至{to_chinese(b)}年级"


def summary(rep: Report, base: Baseline, out: Outcome, moved: NDArray[np.bool_], beyond_after: NDArray[np.bool_],
            shown: Shown) -> str:
    """The plain-language summary at the top of the report (Chinese, or English in the English UI)."""
    t = rep.totals
    closed = int(t["schools_closed"])
    parts = []
    head = (_("Closing %(n)s school(s) would make %(m)s pupil(s) change school") % {"n": closed, "m": t["moved"]}
            if closed else _("This scenario makes %(m)s pupil(s) change school") % {"m": t["moved"]})
    bands = []
    for nm in base.norms:
        at = (base.cov.grade >= nm.first_grade) & (base.cov.grade <= nm.last_grade)
        k = int((moved & at & beyond_after).sum())
        if k:
            bands.append(_("%(k)s of them in %(grades)s would %(verb)s more than %(min)s minutes to school") % {
                "k": shown(k, ("norm", nm.first_grade, nm.last_grade, "beyond_after")),
                "grades": _grades_text(nm.first_grade, nm.last_grade) if _is_zh()
                else f"grades {nm.first_grade}-{nm.last_grade}",
                "verb": MODE_VERB.get(nm.mode, "") if _is_zh() else {"walk": "walk", "cycle": "cycle",
                                                                     "bus": "ride"}.get(nm.mode, ""),
                "min": nm.minutes})
    parts.append(head + ("，" if _is_zh() else ", ") + ("；".join(bands) if _is_zh() else "; ".join(bands))
                 if bands else head)
    if t["no_place"] != 0:
        parts.append(_("%(k)s pupil(s) would find no school with a free place") % {"k": t["no_place"]})
    if t["unreachable"] != 0:
        parts.append(_("for %(k)s pupil(s) living off the road network no way to another school can be measured")
                     % {"k": t["unreachable"]})
    if t["over_capacity_schools"]:
        parts.append(_("%(s)s receiving school(s) would exceed capacity by %(k)s place(s) in all") % {
            "s": t["over_capacity_schools"], "k": t["overflow"]})
    if t["boarding_demand"] != 0:
        parts.append(_("%(k)s pupil(s) could no longer go to school and back within the day limit (new boarding "
                       "demand)") % {"k": t["boarding_demand"]})
    if t["new_gaps"] != 0:
        parts.append(_("%(k)s child(ren) of the county would have no school within the norm (new coverage gaps)")
                     % {"k": t["new_gaps"]})
    if t["key_moved"] != 0:
        parts.append(_("%(k)s of the moved pupils belong to a key group") % {"k": t["key_moved"]})
    if t["home_taught_changed"] != 0:
        parts.append(_("%(k)s send-teaching-home trip(s) would start from another school") % {"k": t["home_taught_changed"]})
    if rep.time_before and rep.time_after and rep.time_before.mean is not None and rep.time_after.mean is not None:
        parts.append(_("the moved pupils' mean way to school would go from %(a)s to %(b)s minutes") % {
            "a": rep.time_before.mean, "b": rep.time_after.mean})
    sep, end = ("；", "。") if _is_zh() else ("; ", ".")
    return sep.join(parts) + end


def _is_zh() -> bool:
    from django.utils.translation import get_language

    return (get_language() or "zh-hans").lower().startswith("zh")
