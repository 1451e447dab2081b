"""The demo county's safety net (issue 18), generated like the rest of it and flagged as such:

- aid records for the current and the previous term: eligible children (gridmap.aid's default key
  groups) get a living allowance (boarders at a boarding school the boarding one), those of sudden
  hardship a temporary relief, some orphans and disabled children a social grant; about one eligible
  child in ten has nothing yet this term (more among sudden hardship, a newly recognised need), and a
  few children of other key groups get a social grant (who must never be listed);
- transfers: the ledger's transfers out of the county get a destination (province, county, school)
  and, for most of those older than a week or three, the registry receipt; a few pupils move to
  another school of the county — most of them are on the receiving roll since, some not yet (in
  transit or 流转未到);
- the term-start check of the current term: most schools checked in its first week (a few children
  missing, most with a reason; those without go on the suspected ledger that day, with their
  absences, and most are back a few days later), most townships reported by the deadline, a couple
  late, a few not.
Its random numbers come from their own generator (seed + 18), so the rest of the county is the same
with or without them.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from gridmap import aid

PLACES = ["浙江省杭州市余杭区", "浙江省宁波市鄞州区", "江苏省苏州市昆山市", "上海市闵行区", "广东省深圳市宝安区",
          "安徽省阜阳市临泉县", "江西省南昌市南昌县", "湖南省永州市道县", "贵州省毕节市七星关区", "浙江省义乌市"]
SCHOOL_SUFFIX = ["实验小学", "第二小学", "中心小学", "第一初级中学", "外国语学校", "明德学校"]
LIVING = {"primary": (500, 375), "junior": (625, 500)}  # boarding, day pupils (yuan per term)
ELIGIBLE = ["kg_poverty_relief", "kg_at_risk", "kg_sudden_hardship", "kg_min_allowance", "kg_orphan", "kg_disabled"]


def build(b: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(aid records, transfers) for the builder's county; changes the children and their history for
    the transfers within the county."""
    rng = np.random.default_rng(b.seed + 18)
    transfers = _transfers(b, rng)
    records = _aid(b, rng)
    return records, transfers


def _aid(b: Any, rng: np.random.Generator) -> pd.DataFrame:
    ch, schools, as_of = b.children, b.schools, b.as_of
    year, term = aid.term_of(as_of)
    prev = (year, "1") if term == "2" else (year - 1, "2")
    boarding = schools.boarding.to_numpy()
    eligible = np.zeros(len(ch), dtype=bool)
    for f in ELIGIBLE:
        eligible |= ch[f].to_numpy()
    rows: list[dict[str, Any]] = []
    for (t_year, t_term), share in ((prev, 0.97), ((year, term), 0.90)):
        first, last = aid.term_bounds(t_year, t_term)
        pay_from = first + timedelta(days=35)
        pay_to = min(last, as_of)
        if pay_to < pay_from:
            continue  # a term just begun: nothing paid yet
        span = (pay_to - pay_from).days
        batch = pay_from + timedelta(days=int(rng.integers(0, span + 1)))  # one county payment day a term
        for i in np.flatnonzero(eligible):
            keep = share - (0.25 if ch.kg_sudden_hardship.iloc[i] and (t_year, t_term) == (year, term) else 0)
            if rng.random() > keep:
                continue
            grade = int(ch.grade.iloc[i])
            stage = "primary" if grade <= 6 else "junior"
            boards = bool(boarding[ch.school_index.iloc[i]]) and rng.random() < 0.7
            rows.append(dict(child=int(i), school_year=t_year, term=t_term, kind="boarding" if boards else "living",
                             amount=LIVING[stage][0 if boards else 1], date=batch, source="中央和省级财政"))
            if ch.kg_sudden_hardship.iloc[i]:
                rows.append(dict(child=int(i), school_year=t_year, term=t_term, kind="temporary",
                                 amount=int(rng.choice([1000, 1500, 2000, 3000])),
                                 date=pay_from + timedelta(days=int(rng.integers(0, span + 1))), source="县级财政"))
            if (ch.kg_orphan.iloc[i] or ch.kg_disabled.iloc[i]) and rng.random() < 0.4:
                rows.append(dict(child=int(i), school_year=t_year, term=t_term, kind="social",
                                 amount=int(rng.choice([500, 800, 1000, 2000])),
                                 date=pay_from + timedelta(days=int(rng.integers(0, span + 1))), source="县慈善总会"))
        others = np.flatnonzero(~eligible & (ch.kg_left_behind.to_numpy() | ch.kg_in_difficulty.to_numpy()))
        for i in others[rng.random(len(others)) < 0.05]:
            rows.append(dict(child=int(i), school_year=t_year, term=t_term, kind="social", amount=500,
                             date=pay_from + timedelta(days=int(rng.integers(0, span + 1))), source="春蕾计划（社会捐助）"))
    return pd.DataFrame(rows, columns=["child", "school_year", "term", "kind", "amount", "date", "source"])


def _transfers(b: Any, rng: np.random.Generator) -> pd.DataFrame:
    ch, hist, as_of, schools = b.children, b.history, b.as_of, b.schools
    rows: list[dict[str, Any]] = []
    codes = schools.code.to_numpy()
    # 1. out of the county: the ledger's transfers out, with a destination and (mostly) a receipt
    # Changes are gathered and applied once: a .loc write or append per row copied the county's
    # history frame each time (1.5 s of a province county's 7 s).
    out = hist[hist.to_status == "transferred_out"]
    places: dict[Any, str] = {}
    for idx, h in out.iterrows():
        place = f"{rng.choice(PLACES)}{rng.choice(SCHOOL_SUFFIX)}"
        places[idx] = place
        after = int(rng.integers(4, 40))
        done = h.date + timedelta(days=after) <= as_of and rng.random() < 0.7
        rows.append(dict(child=int(h.child), date=h.date, scope="outside", from_school=codes[ch.school_index.iloc[h.child]],
                         to_school=None, destination=place, reason=h.reason,
                         completed_on=h.date + timedelta(days=after) if done else None,
                         receipt=f"{h.date:%Y%m}{int(rng.integers(1000, 9999))}" if done else ""))
    # 2. within the county: a few pupils of no other event move to another school teaching their grade
    if places:
        hist.loc[list(places), "destination"] = list(places.values())
    only = hist.groupby("child").size() == 1
    plain = (ch.status == "enrolled") & (ch.class_number > 0) & only.reindex(ch.index, fill_value=False)
    for f in ("kg_orphan", "kg_in_difficulty", "kg_poverty_relief", "kg_at_risk", "kg_sudden_hardship"):
        plain &= ~ch[f]  # at-risk children keep their teacher: leave them where they are
    movers = np.flatnonzero(plain.to_numpy())
    movers = rng.choice(movers, size=min(len(movers), max(3, round(0.0025 * len(ch)))), replace=False)
    classes = {(c.school_code, c.grade) for c in b.classes.itertuples()}
    open_ = schools.status.to_numpy() == "open"
    # The movers' first dates only (a groupby min over the county's dates fell back to Python: 1.3 s).
    start = hist[hist.child.isin(movers)].groupby("child").date.agg(lambda d: min(d))
    added: list[dict[str, Any]] = []
    school_index, class_number, status = ch.school_index.to_numpy().copy(), ch.class_number.to_numpy().copy(), \
        ch.status.to_numpy().copy()
    for i in sorted(int(x) for x in movers):
        grade, here = int(ch.grade.iloc[i]), int(ch.school_index.iloc[i])
        serving = [k for k in np.flatnonzero(open_) if k != here and (codes[k], grade) in classes]
        if not serving:
            continue
        there = int(rng.choice(serving))
        earliest = start[i] + timedelta(days=1)
        day = max(earliest, as_of - timedelta(days=int(rng.integers(5, 75))))
        if day > as_of:
            continue
        fate = rng.random()
        arrive = day + timedelta(days=int(rng.integers(2, 15)))
        added.append(dict(child=i, date=day, from_status="enrolled", to_status="transferred_out",
                          reason="随父母工作调动转学（县内）",
                          destination=f"{schools.name.iloc[there]}（{codes[there]}）", until=None))
        if fate < 0.75 and arrive <= as_of:  # on the receiving roll since
            added.append(dict(child=i, date=arrive, from_status="transferred_out", to_status="enrolled",
                              reason="转入学校报到注册", destination="", until=None))
            school_index[i], class_number[i] = there, 1
        else:  # not arrived yet: off the roll it left
            status[i] = "transferred_out"
        rows.append(dict(child=i, date=day, scope="within", from_school=codes[here], to_school=codes[there],
                         destination="", reason="随父母工作调动转学（县内）", completed_on=None, receipt=""))
    ch["school_index"], ch["class_number"], ch["status"] = school_index, class_number, status
    if added:
        hist = pd.concat([hist, pd.DataFrame(added, columns=hist.columns)], ignore_index=True)
    b.history = hist.sort_values(["child", "date"], kind="stable").reset_index(drop=True)
    return pd.DataFrame(rows, columns=["child", "date", "scope", "from_school", "to_school", "destination", "reason",
                                       "completed_on", "receipt"])


# --- loading (inside load_dataset's transaction) ----------------------------------------------------

def load(ds: Any, child_ids: list[int], school_ids: dict[str, int]) -> None:
    from gridmap.models import AidRecord, ChildStatusChange, Transfer
    from importers.bulk import copy_rows

    if not ds.aid.empty:
        copy_rows(AidRecord._meta.db_table,
                  ["child_id", "school_year", "term", "kind", "amount", "date", "source", "notes", "imported_from",
                   "recorded_at"],
                  ((child_ids[r.child], r.school_year, r.term, r.kind, r.amount, r.date, r.source, "", "生成数据", "now")
                   for r in ds.aid.itertuples()))
    if ds.transfers.empty:
        return
    wanted = [child_ids[c] for c in ds.transfers.child]
    changes = {(c, d): pk for pk, c, d in ChildStatusChange.objects.filter(
        child__in=wanted, to_status="transferred_out").values_list("pk", "child_id", "date")}
    Transfer.objects.bulk_create(
        Transfer(child_id=child_ids[t.child], date=t.date, scope=t.scope,
                 from_school_id=school_ids.get(t.from_school) if isinstance(t.from_school, str) else None,
                 to_school_id=school_ids.get(t.to_school) if isinstance(t.to_school, str) else None,
                 destination=t.destination or "", reason=t.reason,
                 status_change_id=changes.get((child_ids[t.child], t.date)),
                 completed_on=t.completed_on if isinstance(t.completed_on, date) else None,
                 arrival="receipt" if isinstance(t.completed_on, date) else "", receipt_number=t.receipt)
        for t in ds.transfers.itertuples())


def load_term_checks(ds: Any) -> None:
    """The current term's checks and reports, through the same functions the pages use."""
    from django.db.models import Max
    from django.utils import timezone

    from gridmap import ledgers
    from gridmap.models import Absence, Area, Child, ChildStatus, ChildStatusChange, School
    from safetynet import termcheck
    from safetynet.models import MissingReason, TermCheck, TermReport

    rng = np.random.default_rng(ds.seed + 1818)
    year, term = aid.term_of(ds.as_of)
    first = aid.term_bounds(year, term)[0]
    ledger_start = ChildStatusChange.objects.filter(child__group__code__startswith=ds.county_code).order_by(
        "date").values_list("date", flat=True).first()
    if ledger_start is None:
        return
    start = max(first, ledger_start)
    days = [d for d in (start + timedelta(days=k) for k in range(1, 15)) if d.weekday() < 5 and d <= ds.as_of]
    if len(days) < 4:
        return  # the term is too young for its check
    deadline = termcheck.deadline(year, term)
    last_changes = dict(ChildStatusChange.objects.filter(child__group__code__startswith=ds.county_code)
                        .values_list("child").annotate(d=Max("date")))
    tz = timezone.get_current_timezone()
    townships = list(Area.objects.filter(parent__code=ds.county_code).order_by("code"))
    for t in townships:
        schools = list(School.objects.filter(township=t, status="open").order_by("code"))
        day = days[int(rng.integers(3, len(days)))]  # the 4th school day or later: a run of absences before it
        listed = termcheck.expected(schools, day)
        for school in schools:
            if rng.random() < 0.08:
                continue  # not checked
            exp = listed[school.pk]
            missing: dict[int, tuple[str, str]] = {}
            for e in exp:
                if rng.random() < 0.004:
                    fresh = last_changes.get(e.child_id, day) <= day and e.status == ChildStatus.ENROLLED
                    reason = str(rng.choice([MissingReason.ILLNESS, MissingReason.LEAVE, MissingReason.MOVED,
                                             MissingReason.UNEXCUSED], p=[0.45, 0.28, 0.12, 0.15]))
                    if reason == MissingReason.UNEXCUSED and not fresh:
                        reason = MissingReason.ILLNESS
                    missing[e.child_id] = (reason, "家长电话告知" if reason != MissingReason.UNEXCUSED else "")
            unexcused = [c for c, (r, _n) in missing.items() if r == MissingReason.UNEXCUSED]
            Absence.objects.bulk_create(  # absent since the term began: the run the same-day entry rests on
                [Absence(child_id=c, date=d, excused=False) for c in unexcused
                 for d in (x for x in days if x <= day) if d >= day - timedelta(days=10)], ignore_conflicts=True)
            check = termcheck.submit_check(school, day, missing, None, listed_already=exp, audited=False)
            when = timezone.make_aware(pd.Timestamp(day).to_pydatetime().replace(hour=16), tz)
            TermCheck.objects.filter(pk=check.pk).update(submitted_at=when)
            for c in unexcused:  # most are found and back within days; the others stay away
                child = Child.objects.get(pk=c)
                back = day + timedelta(days=int(rng.integers(2, 6)))
                if child.status != ChildStatus.SUSPECTED:
                    continue
                if back <= ds.as_of and rng.random() < 0.8:
                    away = [d for d in (day + timedelta(days=k) for k in range(1, (back - day).days)) if d.weekday() < 5]
                    ledgers.change_status(child, ChildStatus.ENROLLED, back, None, "经家访返校（开学初核查未报到）",
                                          audited=False)
                else:
                    away = [d for d in (day + timedelta(days=k) for k in range(1, (ds.as_of - day).days + 1))
                            if d.weekday() < 5]
                Absence.objects.bulk_create([Absence(child_id=c, date=d, excused=False) for d in away],
                                            ignore_conflicts=True)
        fate = rng.random()
        if fate < 0.8:
            report = termcheck.submit_report(t, year, term, None, audited=False)
            on = deadline - timedelta(days=int(rng.integers(0, 4))) if fate < 0.7 else deadline + timedelta(
                days=int(rng.integers(1, 6)))
            when = timezone.make_aware(pd.Timestamp(min(on, ds.as_of)).to_pydatetime().replace(hour=17), tz)
            TermReport.objects.filter(pk=report.pk).update(submitted_at=when)
