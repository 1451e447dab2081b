"""Small counts of a scenario's impact report stay hidden from aggregate-only logins (issue 11): an
attack on everything a county planner reads of a scenario over HTTP (the report's workbook, which holds
every table of the page, the PDF and the comparison, and the map's data) that recomputes no hidden
count, while the same attack on primary suppression alone does.

The attacker's identities are written here, apart from planning.disclosure's: the totals are the sums
of the grades, village groups and receiving schools; a closing school's moved pupils are its flows,
a receiving school's arrivals the flows into it, its pupils after = staying + arriving, and, over
capacity, the approved places + the places beyond them; the coverage gaps before - closed = after - new;
every part is at most its whole (an inequality with a slack nobody is shown). Each is checked on the
true figures, counted here child by child from the evaluation's arrays.
"""

from __future__ import annotations

import html
import io
import re
from collections import defaultdict
from datetime import date
from typing import Any

import numpy as np
import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from gaps.norms import within
from gridmap import schooling
from gridmap.disclosure import COMPLEMENT, FORCED, PRIMARY, Relation, _Audit
from gridmap.models import KEY_GROUPS, Area, Child, Profile, School, UserRole
from planning import baseline, evaluate
from planning.evaluate import Change
from planning.models import Scenario, ScenarioChange
from tests.conftest import DEMO_AS_OF
from tests.test_planning_demo import smallest_primaries

COUNTY = "330783"
Key = tuple[Any, ...]

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_demo_day(monkeypatch):
    import planning.baseline as b

    real = b.baseline
    monkeypatch.setattr(b, "baseline", lambda county, as_of=None, progress=None: real(county, as_of or DEMO_AS_OF,
                                                                                        progress))


def planner() -> Client:
    user = get_user_model().objects.create_user("plan-planner", password="a-long-test-password")
    Profile.objects.create(user=user, role=UserRole.COUNTY_PLANNER)
    client = Client()
    client.force_login(user)
    return client


def fetch(client: Client, pk: int) -> dict[Key, str]:
    """Every count the planner reads of the scenario, as shown: (key, text)."""
    shown: dict[Key, str] = {}

    def put(key: Key, value: Any) -> None:
        text = str(value)
        assert shown.setdefault(key, text) == text, (key, shown[key], text)

    data = client.get(f"/planning/{pk}/map.json").json()
    code_of = {f["properties"]["name"]: f["properties"]["code"] for f in data["schools"]}
    for f in data["schools"]:
        p = f["properties"]
        put(("school", p["code"], "enrolment"), p["enrolment"])
        if p["after"]:
            put(("school", p["code"], "after"), p["after_enrolment"])
    for f in data["flows"]:
        p = f["properties"]
        put(("flow", code_of[p["from"]], code_of[p["to"]]), p["children"])
    body = client.get(f"/planning/{pk}/report.xlsx")
    assert body.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(body.content))
    sheets = [[list(r) for r in ws.iter_rows(min_row=2, values_only=True)] for ws in wb.worksheets]
    totals = ["moved", "no_place", "unreachable", "beyond_before", "beyond_after", "unmeasured_before",
              "newly_beyond", "boarding_demand", None, "overflow", "new_gaps", "closed_gaps", "key_moved",
              "home_taught_changed"]
    for m, row in zip(totals, sheets[1][1:], strict=True):
        if m:
            put(("t", m), row[1])
    for row in sheets[2]:
        put(("t", "measured"), row[1])
    for row in sheets[3]:
        put(("school", row[0], "enrolment"), row[3])
        put(("closed", row[0], "moved"), row[4])
    for row in sheets[4]:
        put(("flow", code_of[row[0]], code_of.get(row[1], "")), row[2])
    for row in sheets[5]:
        for m, v in zip(["enrolment", "stay", "arrivals", "after", "overflow"], row[3:8], strict=True):
            put(("school", row[0], m), v)
        put(("school", row[0], "boarding_demand"), row[9])
    for row in sheets[6]:
        for m, v in zip(["moved", "beyond_before", "beyond_after", "boarding_demand", "county_before",
                         "county_after"], row[1:], strict=True):
            put(("grade", row[0], m), v)
    for row in sheets[7]:
        for m, v in zip(["gap_before", "gap_after", "gap_new", "gap_closed"], row[1:], strict=True):
            put(("grade", row[0], m), v)
    kg_rows = sheets[8]
    for f, row in zip(KEY_GROUPS, kg_rows, strict=False):
        for m, v in zip(["moved", "beyond_after", "newly_beyond"], row[1:], strict=True):
            put(("kg", f, m), v)
    for g, row in zip((6, 8, 9), kg_rows[len(KEY_GROUPS):], strict=True):
        for m, v in zip(["moved", "beyond_after", "newly_beyond"], row[1:], strict=True):
            put(("grade", g, m), v)
    for row in sheets[9]:
        for m, v in (("moved", row[3]), ("beyond_after", row[7]), ("new_gaps", row[8])):
            put(("cell", row[0], m), v)
    return shown


def truth_of(base: Any, out: Any) -> tuple[dict[Key, int], dict[str, int]]:
    """Every figure's true value, counted child by child from the evaluation's arrays; and the
    receiving schools' approved places."""
    cov, s = base.cov, out.schools
    code = [str(c) for c in s.code]
    cell = dict(Area.objects.filter(code__startswith=COUNTY).values_list("pk", "code"))
    limit = base.limit_min()
    t: dict[Key, int] = defaultdict(int)
    t[("t", "children")] = len(cov)
    for i in range(len(cov)):
        g, a, b = int(cov.grade[i]), int(out.school_before[i]), int(out.school_after[i])
        tb, ta = float(out.time_before[i]), float(out.time_after[i])
        lim = int(limit[i])
        bb = a >= 0 and np.isfinite(tb) and tb > lim * 60
        ba = b >= 0 and np.isfinite(ta) and ta > lim * 60
        assert bb == (a >= 0 and np.isfinite(tb) and not within(np.array([tb]), np.array([lim]))[0])
        gb, ga = not out.meets_before[i], not out.meets_after[i]
        c = cell[int(cov.group_id[i])]
        t[("grade", g, "gap_before")] += gb
        t[("grade", g, "gap_after")] += ga
        t[("grade", g, "gap_new")] += ga and not gb
        t[("grade", g, "gap_closed")] += gb and not ga
        t[("t", "new_gaps")] += ga and not gb
        t[("t", "closed_gaps")] += gb and not ga
        if ga and not gb:
            t[("cell", c, "new_gaps")] += 1
        t[("grade", g, "county_before")] += bb
        t[("grade", g, "county_after")] += a >= 0 and (ba or bool(out.no_place[i]))
        if not out.moved[i]:
            continue
        newly = ba and not bb
        board = np.isfinite(tb) and tb <= lim * 60 and ba
        kgs = [f for f in KEY_GROUPS if cov.key_groups[f][i]]
        for unit in (("t",), ("grade", g), ("cell", c), *[("kg", f) for f in kgs]):
            t[(*unit, "moved")] += 1
            t[(*unit, "beyond_after")] += ba
            t[(*unit, "newly_beyond")] += newly
        for unit in (("t",), ("grade", g)):
            t[(*unit, "beyond_before")] += bb
            t[(*unit, "boarding_demand")] += board
        t[("t", "unmeasured_before")] += not np.isfinite(tb)
        t[("t", "no_place")] += bool(out.no_place[i])
        t[("t", "unreachable")] += bool(out.unreachable[i])
        t[("t", "key_moved")] += bool(kgs)
        t[("t", "measured")] += b >= 0 and np.isfinite(tb) and np.isfinite(ta)
        t[("closed", code[a], "moved")] += 1
        t[("flow", code[a], code[b] if b >= 0 else "")] += 1
        if b >= 0:
            t[("school", code[b], "arrivals")] += 1
            t[("school", code[b], "boarding_demand")] += board
    places: dict[str, int] = {}
    for j in range(len(s)):
        t[("school", code[j], "enrolment")] = int(s.enrolment[j])
        if out.after.open[j]:
            t[("school", code[j], "after")] = int(out.stay[j]) + t.get(("school", code[j], "arrivals"), 0)
            t[("school", code[j], "stay")] = int(out.stay[j])
            if np.isfinite(out.after.capacity[j]):
                places[code[j]] = int(out.after.capacity[j])
                t[("school", code[j], "overflow")] = max(t[("school", code[j], "after")] - places[code[j]], 0)
    t[("t", "overflow")] = sum(t.get(("school", c, "overflow"), 0) for c in code
                               if t.get(("school", c, "arrivals"), 0))
    t[("t", "home_taught_changed")] = int((out.taught_school_after != base.home_taught.school).sum())
    return dict(t), places


def identities(shown: dict[Key, str], truth: dict[Key, int], places: dict[str, int]) -> list[Relation]:
    """Every identity the attacker may assume, on the figures shown (inequalities with a slack)."""
    exact: list[tuple[Key, list[Key]]] = []
    le: list[tuple[list[Key], Key]] = []

    def of(kind: str, measure: str) -> list[Key]:
        return [k for k in shown if k[0] == kind and k[-1] == measure]

    grades = range(1, 10)
    for m in ("moved", "beyond_before", "beyond_after", "boarding_demand"):
        exact.append((("t", m), [("grade", g, m) for g in grades]))
    exact += [(("t", "new_gaps"), [("grade", g, "gap_new") for g in grades]),
              (("t", "closed_gaps"), [("grade", g, "gap_closed") for g in grades])]
    for m, total in (("moved", "moved"), ("beyond_after", "beyond_after"), ("new_gaps", "new_gaps")):
        exact.append((("t", total), of("cell", m)))
    receiving = [k[1] for k in of("school", "arrivals")]
    exact += [(("t", "boarding_demand"), [("school", c, "boarding_demand") for c in receiving]),
              (("t", "overflow"), [("school", c, "overflow") for c in receiving])]
    for k in of("closed", "moved"):
        exact.append((k, [f for f in shown if f[0] == "flow" and f[1] == k[1]]))
        le.append(([k], ("school", k[1], "enrolment")))
    for c in receiving:
        exact.append((("school", c, "arrivals"), [f for f in shown if f[0] == "flow" and f[2] == c]))
        exact.append((("school", c, "after"), [("school", c, "stay"), ("school", c, "arrivals")]))
        le.append(([("school", c, "stay")], ("school", c, "enrolment")))
        if c in places and truth[("school", c, "overflow")] > 0:
            exact.append((("school", c, "after"), [("place", c), ("school", c, "overflow")]))
        elif c in places:
            le.append(([("school", c, "after")], ("place", c)))
    for g in grades:
        exact.append((("grade", g, "gap_before"), [("grade", g, "gap_closed"), ("gapstay", g)]))
        exact.append((("grade", g, "gap_after"), [("grade", g, "gap_new"), ("gapstay", g)]))
        for m in ("beyond_before", "beyond_after", "boarding_demand", "newly_beyond"):
            le.append(([("grade", g, m)], ("grade", g, "moved")))
        le += [([("grade", g, "beyond_before")], ("grade", g, "county_before")),
               ([("grade", g, "beyond_after")], ("grade", g, "county_after")),
               ([("grade", g, "boarding_demand")], ("grade", g, "newly_beyond")),
               ([("grade", g, "newly_beyond")], ("grade", g, "beyond_after"))]
    for f in KEY_GROUPS:
        le += [([("kg", f, "moved")], ("t", "key_moved")), ([("kg", f, "beyond_after")], ("kg", f, "moved")),
               ([("kg", f, "newly_beyond")], ("kg", f, "beyond_after"))]
    exact.append((("kgsum",), [("kg", f, "moved") for f in KEY_GROUPS]))
    le.append(([("t", "key_moved")], ("kgsum",)))
    le += [([("t", "beyond_before"), ("t", "unmeasured_before")], ("t", "moved")),
           ([("t", "measured"), ("t", "no_place"), ("t", "unreachable")], ("t", "moved")),
           ([("t", "key_moved")], ("t", "moved")), ([("t", "newly_beyond")], ("t", "beyond_after")),
           ([("t", "boarding_demand")], ("t", "newly_beyond")), (of("closed", "moved"), ("t", "moved"))]
    le += [([k], ("cell", k[1], "moved")) for k in of("cell", "beyond_after")]
    value = dict(truth)
    value.update({("place", c): n for c, n in places.items()})
    value[("kgsum",)] = sum(truth.get(("kg", f, "moved"), 0) for f in KEY_GROUPS)
    for g in grades:
        value[("gapstay", g)] = truth[("grade", g, "gap_before")] - truth[("grade", g, "gap_closed")]
    out = []
    for total, parts in exact:
        if parts:
            assert value.get(total, 0) == sum(value.get(p, 0) for p in parts), (total, parts)
            out.append(Relation(total, tuple(parts)))
    for n, (parts, total) in enumerate(le):
        assert value.get(total, 0) >= sum(value.get(p, 0) for p in parts), (total, parts)
        out.append(Relation(total, (*parts, ("slack", n))))
    return out


def attack(shown: dict[Key, str], truth: dict[Key, int], places: dict[str, int], relations: list[Relation],
           stop_at_pinned: bool = False) -> list[Key]:
    """Hidden small counts whose range, given everything shown, is narrower than 1 (the LP audit of
    gridmap.disclosure run on the attacker's model: "<5" is 1-4, "*" is 5 or more, "—" anything)."""
    values: dict[Key, int] = {("place", c): n for c, n in places.items()}
    values[("t", "children")] = truth[("t", "children")]
    hidden: dict[Key, str] = {}
    for key, text in shown.items():
        if text == "—":  # withheld: any value to the reader; it must not be recomputed when it is small
            if 0 < truth.get(key, 0) < 5:
                values[key] = truth[key]
                hidden[key] = FORCED
            continue
        values[key] = truth.get(key, 0)
        if text == "<5":
            hidden[key] = PRIMARY
        elif text == "*":
            hidden[key] = COMPLEMENT
    audit = _Audit(values, relations, None)
    found = list(audit.singletons(hidden))
    if not found or not stop_at_pinned:
        found += list(audit.recomputed(hidden)[0])
    return found


def test_a_planner_recomputes_no_hidden_count_of_a_scenario(on_demo_day):
    county = Area.objects.get(code=COUNTY)
    closing = smallest_primaries(DEMO_AS_OF, least=5)
    scenario = Scenario.objects.create(name="撤三校", county=county)
    for s in closing:
        ScenarioChange.objects.create(scenario=scenario, action="close", school=s)
    shown = fetch(planner(), scenario.pk)
    assert not [(k, t) for k, t in shown.items() if t in {"1", "2", "3", "4"}]
    assert "<5" in shown.values() and "*" in shown.values()
    base = baseline.baseline(county, DEMO_AS_OF)
    changes = [Change("close", s.code) for s in closing]
    out = evaluate.evaluate(base, changes, scenario.overflow_rule, schools=baseline.school_table(COUNTY, DEMO_AS_OF))
    truth, places = truth_of(base, out)
    for key, text in shown.items():  # what is shown is true
        if text.lstrip("-").isdigit():
            assert int(text) == truth.get(key, 0), (key, text)
    relations = identities(shown, truth, places)
    recomputed = attack(shown, truth, places, relations)
    if recomputed:
        first = recomputed[0]
        near = [(r, [(shown.get(k), truth.get(k)) for k in r.terms()]) for r in relations if first in r.terms()]
        raise AssertionError(f"{len(recomputed)} recomputed, e.g. {first}: {near}")
    # Control: the same attack on primary suppression alone (the complements shown) pins one.
    alone = {k: (str(truth.get(k, 0)) if t == "*" else t) for k, t in shown.items()}
    assert alone != shown
    assert attack(alone, truth, places, relations, stop_at_pinned=True)
    # The baseline's figures read the same in every scenario: a scenario that closes one school fewer.
    other = Scenario.objects.create(name="撤两校", county=county)
    for s in closing[1:]:
        ScenarioChange.objects.create(scenario=other, action="close", school=s)
    again = fetch(planner_again(), other.pk)
    same = [k for k in again if k in shown and (k[0], k[-1]) in {("school", "enrolment"), ("grade", "county_before"),
                                                                   ("grade", "gap_before")}]
    assert same and all(again[k] == shown[k] for k in same)


def planner_again() -> Client:
    user = get_user_model().objects.get(username="plan-planner")
    client = Client()
    client.force_login(user)
    return client


def school_figures(client: Client, code: str) -> dict[Key, str]:
    """The counts of a school's page, as shown: enrolment by year and grade, travel-time bands,
    measured / off the network, pupils and beyond the norm by grade."""
    page = client.get(f"/schools/{code}/").content.decode()
    school = School.objects.get(code=code)
    grades = range(school.first_grade, school.last_grade + 1)
    out: dict[Key, str] = {}

    def cells(html: str) -> list[str]:
        return [c.strip() for c in re.findall(r'<td class="num">(.*?)</td>', html, re.S)]

    enrol = re.search(r'id="gm-school-enrolment">(.*?)</table>', page, re.S)
    for year, row in re.findall(r"<tr><td>(\d{4})–\d{4}</td>(.*?)</tr>", enrol.group(1) if enrol else "", re.S):
        for g, text in zip([*grades, "total"], cells(row), strict=True):
            out[("enrol", int(year), g)] = html.unescape(text)
    times = re.search(r'id="gm-school-times">(.*?)</table>', page, re.S)
    assert times
    for i, text in enumerate(cells(times.group(1))):
        out[("band", i)] = html.unescape(text)
    line = re.search(r"已测算: (\S+) · 远离路网: (\S+?)(?: ·|</p>)", page)
    assert line, page
    out[("measured",)], out[("off",)] = html.unescape(line.group(1)), html.unescape(line.group(2))
    beyond = re.search(r'<tbody><tr><td>[^<]*</td>(.*?)</tr>\s*<tr><td>[^<]*</td>(.*?)</tr></tbody>',
                       page[page.index(line.group(0)):], re.S)
    assert beyond
    for g, p, b in zip(grades, cells(beyond.group(1)), cells(beyond.group(2)), strict=True):
        out[("pupils", g)], out[("beyond", g)] = html.unescape(p), html.unescape(b)
    return {(code, *k): v for k, v in out.items()}


def test_a_planner_recomputes_no_hidden_count_of_school_pages(on_demo_day):
    """The school pages of the three smallest primaries and of the schools their pupils go to: what a
    planner reads, against the exact figures an administrator reads; the year's total enrolment reads
    as the scenario map's enrolment of the school."""
    county = Area.objects.get(code=COUNTY)
    closing = smallest_primaries(DEMO_AS_OF, least=1)
    codes = [s.code for s in closing] + list(School.objects.filter(township__code__startswith=COUNTY, first_grade=1)
                                             .order_by("code").values_list("code", flat=True)[:3])
    client, admin = planner(), Client()
    user = get_user_model().objects.create_user("plan-admin", password="a-long-test-password")
    Profile.objects.create(user=user, role=UserRole.COUNTY_ADMIN)
    admin.force_login(user)
    shown: dict[Key, str] = {}
    truth: dict[Key, int] = {}
    for code in codes:
        shown.update(school_figures(client, code))
        exact = school_figures(admin, code)
        assert all(t.isdigit() for t in exact.values()), exact
        truth.update({k: int(v) for k, v in exact.items()})
    assert shown.keys() == truth.keys()
    assert not [(k, t) for k, t in shown.items() if t in {"1", "2", "3", "4"}]
    assert "<5" in shown.values()
    year = schooling.school_year(date.today())  # the page's year (the demo's classes are of DEMO_AS_OF's)
    for code in codes:  # enrolment counted here by the ORM, apart from the page
        school = School.objects.get(code=code)
        for g in range(school.first_grade, school.last_grade + 1):
            n = Child.objects.filter(school_class__school=school, school_class__school_year=year,
                                     school_class__grade=g).exclude(status__in=["transferred_out", "graduated"]).count()
            assert truth[(code, "enrol", year, g)] == n
    for key, text in shown.items():
        if text.isdigit():
            assert int(text) == truth[key], key
    rels: list[Relation] = []
    slack = 0
    for code in codes:
        school = School.objects.get(code=code)
        grades = list(range(school.first_grade, school.last_grade + 1))
        for y in {k[2] for k in truth if k[0] == code and k[1] == "enrol"}:
            rels.append(Relation((code, "enrol", y, "total"), tuple((code, "enrol", y, g) for g in grades)))
        rels.append(Relation((code, "measured"), tuple(k for k in truth if k[0] == code and k[1] == "band")))
        rels.append(Relation((code, "pupils"), tuple((code, "pupils", g) for g in grades)))
        rels.append(Relation((code, "pupils"), ((code, "measured"), (code, "off"))))
        for g in grades:
            for part, whole in (((code, "beyond", g), (code, "pupils", g)),
                                ((code, "pupils", g), (code, "enrol", year, g))):
                slack += 1
                rels.append(Relation(whole, (part, ("slack", slack))))
    values: dict[Key, int] = {}
    hidden: dict[Key, str] = {}
    for key, text in shown.items():
        if text == "—":
            if 0 < truth[key] < 5:
                values[key], hidden[key] = truth[key], FORCED
            continue
        values[key] = truth[key]
        if text in ("<5", "*"):
            hidden[key] = PRIMARY if text == "<5" else COMPLEMENT
    audit = _Audit(values, rels, None)
    found = list(audit.singletons(hidden)) + list(audit.recomputed(hidden)[0])
    assert not found, found
    alone = {k: t for k, t in hidden.items() if t == PRIMARY}
    control = _Audit(values, rels, None)
    assert list(control.singletons(alone)) + list(control.recomputed(alone)[0])  # primary suppression alone
    # this year's total reads as the school's enrolment on a scenario's map
    scenario = Scenario.objects.create(name="撤一校", county=county)
    ScenarioChange.objects.create(scenario=scenario, action="close", school=closing[0])
    data = client.get(f"/planning/{scenario.pk}/map.json").json()
    on_map = {f["properties"]["code"]: str(f["properties"]["enrolment"]) for f in data["schools"]}
    for code in codes:
        assert shown[(code, "enrol", year, "total")] == on_map[code]
