"""Small counts stay hidden from aggregate-only logins (issue 11): the protection on hand-made
tables, checked by brute force; and an attack on everything a planner can fetch for the demo county
that recomputes no hidden value, while the same attack on primary suppression alone does.
"""

from __future__ import annotations

import csv
import html
import io
import itertools
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from gridmap import published, reports
from gridmap.disclosure import COMPLEMENT, FORCED, PRIMARY, Relation, protect, ranges
from gridmap.models import Area, AreaLevel, Profile, UserRole

INF = float("inf")


# --- the pure function, on hand-made tables --------------------------------------------------

def table_with_marginals(t: list[list[int]]) -> tuple[dict[Any, int], list[Relation]]:
    values: dict[Any, int] = {}
    relations = []
    for i, row in enumerate(t):
        values.update({(i, j): v for j, v in enumerate(row)})
        values[(i, "T")] = sum(row)
        relations.append(Relation((i, "T"), tuple((i, j) for j in range(len(row)))))
    for j in range(len(t[0])):
        values[("T", j)] = sum(r[j] for r in t)
        relations.append(Relation(("T", j), tuple((i, j) for i in range(len(t)))))
    values[("T", "T")] = sum(map(sum, t))
    relations.append(Relation(("T", "T"), tuple(("T", j) for j in range(len(t[0])))))
    return values, relations


def brute_force(values: dict[Any, int], relations: list[Relation], hidden: dict[Any, str],
                cap: int = 60) -> dict[Any, set[int]]:
    """Every whole-number completion of the hidden cells (complements 5.., primaries 1-4) that
    satisfies every relation: the values each hidden cell can take."""
    keys = sorted(hidden, key=repr)
    choices = [range(1, 5) if hidden[k] == PRIMARY else range(5, cap) for k in keys]
    seen: dict[Any, set[int]] = {k: set() for k in keys}
    for combo in itertools.product(*choices):
        filled = {**values, **dict(zip(keys, combo, strict=True))}
        if all(filled[r.total] == sum(filled[p] for p in r.parts) for r in relations):
            for k, v in zip(keys, combo, strict=True):
                seen[k].add(v)
    return seen


def test_classic_table_primaries_alone_are_recomputed_complements_stop_it():
    values, relations = table_with_marginals([[20, 3, 15], [8, 30, 12], [9, 14, 2]])
    alone = protect(values, relations, complements=False)
    assert set(alone.hidden) == {(0, 1), (2, 2)}
    # Primary suppression alone: each "<5" is its row total minus the row's other cells.
    assert all(len(v) == 1 for v in brute_force(values, relations, alone.hidden).values())
    result = protect(values, relations, rank=lambda k: "T" in k)
    assert result.count(PRIMARY) == 2 and result.count(COMPLEMENT) == 2  # a rectangle: the fewest possible
    assert all(values[k] >= 5 for k, r in result.hidden.items() if r == COMPLEMENT)
    possible = brute_force(values, relations, result.hidden)
    assert all(len(v) >= 2 for v in possible.values()), possible
    assert all(values[k] in possible[k] for k in possible)


def test_zeros_are_never_complements_and_totals_only_when_parts_cannot_do_it():
    # One non-zero part beside the primary: the only complement there is.
    values = {"T": 9, "a": 3, "b": 0, "c": 6}
    result = protect(values, [Relation("T", ("a", "b", "c"))], rank=lambda k: k == "T")
    assert result.hidden == {"a": PRIMARY, "c": COMPLEMENT}
    # Parts all zero but the primary: the total equals it, so it is itself "<5".
    values = {"T": 3, "a": 3, "b": 0}
    assert protect(values, [Relation("T", ("a", "b"))]).hidden == {"T": PRIMARY, "a": PRIMARY}


def test_many_ones_under_a_known_total_need_banding():
    """Twelve cells of 1 under a total of 12: each "<5" beside shown zeros is pinned to 1 (every
    cell is at least 1 and they add up); shown as 0-4 ("banded") they are not."""
    parts = [f"g{i}" for i in range(20)]
    values = {"T": 12, **{p: 1 if i < 12 else 0 for i, p in enumerate(parts)}}
    relation = [Relation("T", tuple(parts))]
    plain = protect(values, relation)
    assert plain.hidden["T"] == COMPLEMENT  # no part left to hide beside them: the total must go
    banded = protect(values, relation, banded=lambda k: k != "T")
    assert "T" not in banded.hidden and banded.count(PRIMARY) == 20 and not banded.unprotected
    bounds = {p: (0.0, 4.0) for p in parts}
    spans = ranges({"T": 12}, relation, bounds)
    assert all(hi - lo >= 1 for lo, hi in spans.values())


def test_linked_figures_are_hidden_with_their_count_and_protected_too():
    # Home-taught 2 in township A: its visits are hidden (forced); the county's visits then need a
    # complement among the other townships.
    values = {("C", "home"): 9, ("A", "home"): 2, ("B", "home"): 7,
              ("C", "visits"): 30, ("A", "visits"): 8, ("B", "visits"): 22}
    relations = [Relation(("C", m), (("A", m), ("B", m))) for m in ("home", "visits")]
    result = protect(values, relations, small=lambda k: k[1] == "home",
                     linked={(u, "home"): [(u, "visits")] for u in "ABC"}, rank=lambda k: k[0] == "C")
    assert result.hidden[("A", "visits")] == FORCED
    assert result.hidden[("B", "home")] == COMPLEMENT and ("B", "visits") in result.hidden
    assert not result.unprotected


# --- everything a planner can fetch ------------------------------------------------------------

COUNT_COLUMNS = {  # report CSV header -> measure (the counts of children and visits)
    "适龄儿童": "school_age", "在校": "enrolled", "随班就读": "included", "送教上门": "home_taught",
    "劝返复学": "returned", "休学": "suspended", "疑似辍学": "suspected", "辍学": "dropped_out",
    "本月新增疑似": "new_suspected", "本月立案": "cases_opened", "本月销号": "cases_closed",
    "月末在办案件": "cases_open", "逾期未处罚": "cases_overdue", "送教应到": "visits_due", "送教实到": "visits_made",
    # the safety net (issue 18)
    "应助人数": "aid_eligible", "应助未助": "aid_gap", "流转未完成": "transfers_open", "流转未到": "transfers_late",
}
STATUSES = ["enrolled", "included", "home_taught", "returned", "suspended", "suspected", "dropped_out"]
VISIT_MEASURES = {"visits_due", "visits_made"}
COUNTY = "330783"


def login(role: str) -> Client:
    user = get_user_model().objects.create_user(f"u-{role}", password="a-long-test-password")
    if role == "admin":
        user.is_superuser = True
        user.save()
    else:
        Profile.objects.create(user=user, role=role)
    client = Client()
    client.force_login(user)
    return client


def text_of(response: Any) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode("utf-8-sig")


def report_csv(client: Client, code: str, month: str) -> dict[str, dict[str, str]]:
    response = client.get(f"/reports/{code}/?month={month}&format=csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(text_of(response))))
    header = rows[0]
    return {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:] if len(row) == len(header)}


def fetch_everything(client: Client, township: str, month: str) -> dict[str, list[tuple[tuple[str, str], str]]]:
    """Every count the login reads, per source: ((unit code, measure), text as shown)."""
    out: dict[str, list[tuple[tuple[str, str], str]]] = {}
    for code in (COUNTY, township):
        table = report_csv(client, code, month)
        out[f"report {code}"] = [((row_code if row_code in (COUNTY,) or len(row_code) == 9 else f"{code}/{row_code}",
                                   measure), row[header])
                                 for row_code, row in table.items() for header, measure in COUNT_COLUMNS.items()]
    cells = []
    url: str | None = "/api/v1/cells/?page_size=5000"
    while url:
        page = client.get(url).json()
        cells += [((f["properties"]["code"], m), str(f["properties"][k]))
                  for f in page["features"] for k, m in (("children", "school_age"), ("off_school", "off_school"))]
        url = page.get("next")
    out["api cells"] = cells
    for code in (COUNTY, township):
        rows = list(csv.reader(io.StringIO(text_of(client.get(f"/grid/{code}/cells.csv")))))
        out[f"cells.csv {code}"] = [((r[3], m), r[i]) for r in rows[1:] for i, m in ((9, "school_age"), (10, "off_school"))]
    page = client.get(f"/grid/{township}/").content.decode()
    out["grid sidebar"] = [((code, m), html.unescape(v)) for code, a, b in re.findall(
        r'data-code="(\d{15})"[^>]*>[^<]*<span class="gm-cell-counts">([^ ]+) / <b[^>]*>([^<]+)</b>', page)
        for m, v in (("school_age", a), ("off_school", b))]
    board = client.get(f"/dashboard/?month={month}").content.decode()
    dash = []
    for code, body in re.findall(r'<tr data-code="(\d{9})">(.*?)</tr>', board, re.S):
        cells_text = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", body, re.S)]
        dash += [((code, m), html.unescape(cells_text[i]))
                 for i, m in ((1, "school_age"), (2, "suspected"), (3, "dropped_out"), (4, "cases_open"), (5, "cases_overdue"))]
        values = re.search(rf'data-chart="{code}" data-values="([^"]*)"', body).group(1).split(",")
        dash.append(((code, "off_school"), html.unescape(values[-1])))
    for m in ("school_age", "suspected", "dropped_out"):
        dash.append(((COUNTY, m), html.unescape(re.search(rf'data-kpi="{m}">([^<]+)<', board).group(1))))
    out["dashboard"] = dash
    return out


def truth_of(month: str, township: str) -> dict[tuple[str, str], int]:
    """Exact figures, as the county administrator reads them, and the cells by the report's own
    definition of school-age children at the month end."""
    admin = login("admin")
    truth: dict[tuple[str, str], int] = {}
    for code in (COUNTY, township):
        for row_code, row in report_csv(admin, code, month).items():
            unit = row_code if row_code == COUNTY or len(row_code) == 9 else f"{code}/{row_code}"
            for header, measure in COUNT_COLUMNS.items():
                truth[(unit, measure)] = int(row[header])
    for code in {k[0] for k in truth if "/" not in k[0]}:
        truth[(code, "off_school")] = truth[(code, "suspected")] + truth[(code, "dropped_out")]
    last = reports.month_bounds(month)[1]
    county = Area.objects.get(code=COUNTY)
    for group in Area.objects.filter(level=AreaLevel.GROUP, code__startswith=COUNTY).values_list("code", flat=True):
        truth[(group, "school_age")] = truth[(group, "off_school")] = 0
    for c in reports.school_age_then(reports.snapshot(reports.children_of_area(county), last), last):
        truth[(c.group_code, "school_age")] += 1
        truth[(c.group_code, "off_school")] += c.status in ("suspected", "dropped_out")
    return truth


def attacker_relations(truth: dict[tuple[str, str], int], township: str) -> list[Relation]:
    """Every identity between what the planner reads that holds on the data (an attacker may
    assume any of them), with never-published slack where a relation is an inequality."""
    units = {k[0] for k in truth}
    townships = sorted(u for u in units if len(u) == 9)
    schools = sorted(u for u in units if u.startswith(f"{township}/"))
    groups = sorted(u for u in units if len(u) == 15)
    candidates = []
    measures = [*COUNT_COLUMNS.values(), "off_school"]
    for m in measures:
        candidates.append(Relation((COUNTY, m), tuple((t, m) for t in townships)))
        candidates.append(Relation((township, m), tuple((s, m) for s in schools)))
    for m in ("school_age", "off_school"):
        candidates.append(Relation((COUNTY, m), tuple((g, m) for g in groups)))
        for t in townships:
            candidates.append(Relation((t, m), tuple((g, m) for g in groups if g.startswith(t))))
    for u in [COUNTY, *townships, *schools]:
        candidates.append(Relation((u, "school_age"), (*[(u, s) for s in STATUSES], (u, "slack:age"))))
        candidates.append(Relation((u, "cases_open"), ((u, "cases_overdue"), (u, "slack:open"))))
        candidates.append(Relation((u, "dropped_out"), ((u, "cases_open"),)))
        candidates.append(Relation((u, "aid_eligible"), ((u, "aid_gap"), (u, "slack:aided"))))
        candidates.append(Relation((u, "transfers_open"), ((u, "transfers_late"), (u, "slack:in_time"))))
        if "/" not in u:
            candidates.append(Relation((u, "off_school"), ((u, "suspected"), (u, "dropped_out"))))

    def value(k: tuple[str, str]) -> int:
        if k[1] == "slack:age":
            return truth[(k[0], "school_age")] - sum(truth[(k[0], s)] for s in STATUSES)
        if k[1] == "slack:open":
            return truth[(k[0], "cases_open")] - truth[(k[0], "cases_overdue")]
        if k[1] == "slack:aided":
            return truth[(k[0], "aid_eligible")] - truth[(k[0], "aid_gap")]
        if k[1] == "slack:in_time":
            return truth[(k[0], "transfers_open")] - truth[(k[0], "transfers_late")]
        return truth[k]
    return [r for r in candidates if all(k in truth or k[1].startswith("slack") for k in r.terms())
            and value(r.total) == sum(value(p) for p in r.parts) and value(r.total) >= 0
            and all(value(p) >= 0 for p in r.parts)]


def attack(shown: dict[tuple[str, str], str], truth: dict[tuple[str, str], int],
           relations: list[Relation], stop_at_pinned: bool = False) -> dict[tuple[str, str], tuple[float, float]]:
    """Ranges of the hidden small counts (truth 1-4 shown "<5", and hidden visit counts)."""
    known: dict[tuple[str, str], float] = {}
    bounds: dict[tuple[str, str], tuple[float, float]] = {}
    for key, text in shown.items():
        banded = "/" in key[0] or len(key[0]) == 15  # school rows and cells: "<5" includes 0
        if text == "<5":
            bounds[key] = (0.0 if banded else 1.0, 4.0)
        elif text == "*":
            bounds[key] = (0.0, INF) if key[1] in VISIT_MEASURES else (5.0, INF)
        elif text == "—":
            bounds[key] = (0.0, INF)  # not shown to this login at all
        else:
            known[key] = float(text)
    for r in relations:
        for k in r.terms():
            if k not in shown:
                bounds[k] = (0.0, INF)
    targets = [k for k, t in shown.items() if t in ("<5", "*") and truth.get(k, 0) >= 1
               and (t == "<5" or k[1] in VISIT_MEASURES)]
    return ranges(known, relations, bounds, targets, stop_at_pinned)


@pytest.mark.django_db
def test_a_planner_can_recompute_no_hidden_count_from_everything_it_can_fetch():
    month = published.current_month()
    township = "330783118"  # 南马镇, the demo's largest township
    planner = login(UserRole.COUNTY_PLANNER)
    fetched = fetch_everything(planner, township, month)
    # One value per figure, whatever page or export it is read from.
    shown: dict[tuple[str, str], str] = {}
    for source, items in fetched.items():
        assert items, source
        for key, text in items:
            assert shown.setdefault(key, text) == text, (source, key, shown[key], text)
    # No count of 1-4 anywhere such a login can read.
    assert not [(k, t) for k, t in shown.items() if t in {"1", "2", "3", "4"}]
    assert "<5" in shown.values() and "*" in shown.values()

    truth = truth_of(month, township)
    for key, text in shown.items():  # what is shown is true
        if text.isdigit():
            assert int(text) == truth[key], key
    relations = attacker_relations(truth, township)
    assert len(relations) > 100
    spans = attack(shown, truth, relations)
    assert spans
    recomputed = {k: s for k, s in spans.items() if s[1] - s[0] < 1 - 1e-6}
    assert not recomputed, recomputed
    assert all(lo <= hi for lo, hi in spans.values())

    # Control: the same attack on primary suppression alone (complements shown) must succeed.
    alone = {k: (str(truth[k]) if t == "*" and k in truth else t) for k, t in shown.items()}
    spans = attack(alone, truth, relations, stop_at_pinned=True)
    assert any(s[1] - s[0] < 1 - 1e-6 for s in spans.values())


@pytest.mark.django_db
def test_figures_follow_the_data_and_other_roles_read_exact_counts():
    month = published.current_month()
    planner, admin = login(UserRole.INSPECTOR), login("admin")

    def agree() -> str:
        """The inspector's county row is the administrator's, but for what it hides."""
        shown, exact = report_csv(planner, COUNTY, month)[COUNTY], report_csv(admin, COUNTY, month)[COUNTY]
        assert all(v.isdigit() for h, v in exact.items() if h in COUNT_COLUMNS)  # exact for the administrator
        for header in COUNT_COLUMNS:
            assert shown[header] in ("<5", "*", "—") or shown[header] == exact[header], header
        assert sum(shown[h].isdigit() for h in COUNT_COLUMNS) >= 3
        return exact["适龄儿童"]

    before, stamp = agree(), published.data_stamp()
    from gridmap.models import Child

    gone = Child.objects.filter(group__code__startswith=COUNTY, status="enrolled").order_by("pk").first()
    assert gone is not None
    gone.delete()  # the data change: the next request decides again, from the new figures
    assert published.data_stamp() != stamp
    assert int(agree()) == int(before) - 1


def test_fixed_figures_keep_the_state_another_decision_gave_them():
    """A second table sharing a figure with one already published: the shared figure keeps its
    state (shown stays shown and is never a complement; hidden stays hidden and is protected here
    from what the new table adds)."""
    # Published elsewhere: A's count 3 ("<5"), B's 8 shown. The new table adds T = A + B + C.
    values = {"T": 20, "A": 3, "B": 8, "C": 9}
    relation = [Relation("T", ("A", "B", "C"))]
    free = protect(values, relation, rank=lambda k: k == "T")
    assert free.hidden["B"] == COMPLEMENT  # left alone, B (after A) would be the smallest complement
    fixed = protect(values, relation, rank=lambda k: k == "T", fixed={"A": PRIMARY, "B": None})
    assert fixed.hidden == {"A": PRIMARY, "C": COMPLEMENT}
    possible = brute_force(values, relation, fixed.hidden)
    assert all(len(v) >= 2 for v in possible.values()), possible
    # A figure hidden elsewhere as a complement stays hidden, though it is no small count here.
    again = protect({"T": 20, "A": 12, "B": 8}, [Relation("T", ("A", "B"))], fixed={"A": COMPLEMENT})
    assert again.hidden == {"A": COMPLEMENT}
    # Nothing left to hide beside a fixed primary: reported as unprotected, never a fixed figure hidden.
    alone = protect({"T": 12, "A": 3, "B": 9}, [Relation("T", ("A", "B"))], fixed={"A": PRIMARY, "B": None, "T": None})
    assert alone.hidden == {"A": PRIMARY} and alone.unprotected == ["A"]
