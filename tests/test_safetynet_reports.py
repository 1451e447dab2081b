"""Aid coverage and open transfers in the monthly report and the dashboard (issue 18): their figures equal
SQL written here from the definitions, for the county, each township and each school row; they follow
writes (month-end counts marked by triggers) and a changed setting; planners read them suppressed."""

import re
from datetime import date

import pytest
from django.db import connection

from gridmap import ledgers, reports
from gridmap.models import AidRecord, Area, Child, UserRole
from tests.test_access import A, login

pytestmark = pytest.mark.django_db
END = date(2026, 11, 30)
ELIGIBLE = "c.kg_poverty_relief OR c.kg_at_risk OR c.kg_sudden_hardship OR c.kg_min_allowance OR c.kg_orphan OR c.kg_disabled"
AID_SQL = """
SELECT count(*), count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM gridmap_aidrecord a WHERE a.child_id = s.child_id AND a.school_year = 2026 AND a.term = '1'
           AND a.date <= %(end)s))
FROM (SELECT DISTINCT ON (h.child_id) h.child_id, h.to_status, c.birth_date
      FROM gridmap_childstatuschange h JOIN gridmap_child c ON c.id = h.child_id JOIN gridmap_area g ON g.id = c.group_id
      WHERE h.date <= %(end)s AND g.code LIKE %(area)s AND ({eligible})
      ORDER BY h.child_id, h.date DESC, h.recorded_at DESC, h.id DESC) s
WHERE s.to_status <> 'transferred_out' AND s.birth_date BETWEEN '2011-09-01' AND '2020-08-31'
"""
TRANSFER_SQL = """
SELECT count(*), count(*) FILTER (WHERE t.date < %(end)s::date - %(days)s)
FROM gridmap_transfer t JOIN gridmap_child c ON c.id = t.child_id JOIN gridmap_area g ON g.id = c.group_id
WHERE g.code LIKE %(area)s AND t.date <= %(end)s AND (t.completed_on IS NULL OR t.completed_on > %(end)s)
"""


def by_sql(code, eligible=ELIGIBLE, days=30):
    with connection.cursor() as cursor:
        cursor.execute(AID_SQL.format(eligible=eligible), {"end": END, "area": f"{code}%"})
        elig, aided = cursor.fetchone()
        cursor.execute(TRANSFER_SQL, {"end": END, "area": f"{code}%", "days": days})
        moving, late = cursor.fetchone()
    return {"aid_eligible": elig, "aid_aided": aided, "aid_gap": elig - aided, "transfers_open": moving,
            "transfers_late": late}


def shown(figures):
    return {k: getattr(figures, k) for k in ("aid_eligible", "aid_aided", "aid_gap", "transfers_open", "transfers_late")}


def test_county_township_and_school_rows_equal_sql_and_add_up():
    county = Area.objects.get(code="330783")
    total = reports.for_area(county, "2026-11")
    want = by_sql("330783")
    assert shown(total) == want and want["aid_eligible"] > 50 and want["transfers_open"] > 0
    assert total.aid_coverage == round(100 * want["aid_aided"] / want["aid_eligible"], 2)
    rows = reports.report_units(county, "2026-11")
    for key in want:
        assert sum(getattr(r, key) for r in rows[:-1]) == want[key]
    for row in rows[:-1]:
        assert shown(row) == by_sql(row.code), row.unit
    township = reports.report_units(Area.objects.get(code=A), "2026-11")
    assert shown(township[-1]) == by_sql(A) == shown(next(r for r in rows if r.code == A))
    for key in want:  # a township's school rows (and other/no-school rows) add up to it
        assert sum(getattr(r, key) for r in township[:-1]) == getattr(township[-1], key)


def test_the_figures_follow_writes_and_the_settings(settings):
    county = Area.objects.get(code="330783")
    reports.for_area(county, "2026-11")  # built
    child = (Child.objects.filter(group__code__startswith=A, kg_min_allowance=True, status="enrolled")
             .exclude(aid_records__school_year=2026).first()) or Child.objects.filter(
        group__code__startswith=A, status="enrolled").school_age_on(END).first()
    Child.objects.filter(pk=child.pk).update(kg_min_allowance=True)  # a flag change marks the village
    AidRecord.objects.create(child=child, school_year=2026, term="1", kind="living", amount=375, date=date(2026, 11, 9))
    mover = Child.objects.filter(group__code__startswith=A, status="enrolled", transfers__isnull=True).order_by("-pk").first()
    ledgers.change_status(mover, "transferred_out", date(2026, 10, 5), None, "转学", destination="外省某校")
    assert shown(reports.for_area(county, "2026-11")) == by_sql("330783")  # adopted, counted, late after 30 days
    assert shown(reports.for_area(Area.objects.get(code=A), "2026-11")) == by_sql(A)
    settings.GRIDMAP_AID_ELIGIBLE = "left_behind,migrant"
    settings.GRIDMAP_TRANSFER_DAYS = 60
    assert shown(reports.for_area(county, "2026-11")) == by_sql(
        "330783", "c.kg_left_behind OR c.kg_migrant", days=60)


def cell(html, attribute, value):
    match = re.search(rf'{attribute}="{value}"[^>]*>([^<]*)<', html)
    assert match, (attribute, value)
    return match.group(1).strip()


def test_the_dashboard_and_the_report_page_show_them():
    want = by_sql("330783")
    admin = login(UserRole.COUNTY_ADMIN, superuser=True)
    page = admin.get("/dashboard/", {"month": "2026-11"}).content.decode()
    for key in ("aid_eligible", "aid_gap", "transfers_open", "transfers_late"):
        assert cell(page, "data-kpi", key) == str(want[key]), key
    assert cell(page, "data-kpi", "aid_coverage") == f"{round(100 * want['aid_aided'] / want['aid_eligible'], 2)}%"
    row = page.split(f'data-code="{A}"')[1].split("</tr>")[0]
    assert cell(row, "data-net", "aid_gap") == str(by_sql(A)["aid_gap"])
    assert cell(row, "data-net", "transfers_open") == str(by_sql(A)["transfers_open"])
    report = admin.get(f"/reports/{A}/", {"month": "2026-11"}).content.decode()
    assert "应助未助" in report and "流转未到" in report
    total = report.split(f'data-code="{A}"')[-1].split("</tr>")[0]
    values = re.findall(r"<td[^>]*>([^<]*)</td>", total)
    a = by_sql(A)
    assert values[23:28] == [str(a["aid_eligible"]), str(a["aid_gap"]),
                             str(round(100 * a["aid_aided"] / a["aid_eligible"], 2)) if a["aid_eligible"] else "—",
                             str(a["transfers_open"]), str(a["transfers_late"])]


def test_planners_read_them_protected():
    """Aggregate-only logins read the safety net's figures from the month's protected decision
    (gridmap.published, issue 11): shown counts are true, 1-4 never shown, the same on every page."""
    import html

    from gridmap import published as protected

    planner = login(UserRole.COUNTY_PLANNER)
    page = planner.get("/dashboard/", {"month": "2026-11"}).content.decode()
    decision = protected.figures_for(Area.objects.get(code="330783"), "2026-11")
    hidden = 0
    for code in Area.objects.filter(parent__code="330783").values_list("code", flat=True):
        row = page.split(f'data-code="{code}"')[1].split("</tr>")[0]
        exact = by_sql(code)
        for key in ("aid_gap", "transfers_open", "transfers_late"):
            text = html.unescape(re.sub(r"<[^>]+>", "", cell_html(row, key)))
            assert text == str(decision.get(code, key)), (code, key)
            assert text not in ("1", "2", "3", "4")
            if text.isdigit():
                assert int(text) == exact[key]
            hidden += not text.isdigit()
    assert hidden  # the small demo has townships with 1-4 late transfers
    report = planner.get("/reports/330783/", {"month": "2026-11", "format": "csv"}).getvalue().decode("utf-8-sig")
    assert "应助未助" in report and "流转未到" in report


def cell_html(html_text, key):
    match = re.search(rf'data-net="{key}"[^>]*>(.*?)</td>', html_text, re.S)
    assert match, key
    return match.group(1).strip()
