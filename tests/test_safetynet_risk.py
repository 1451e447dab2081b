"""The early-warning list (issue 18): every child's points recomputed here from the factors' definitions
in SQL and the weights, the list in the documented order, hand-made children ordered as the rule says
(and reordered when the bureau changes a weight), the long way taken from the travel-time engine's
coverage computation, and the page's scope."""

from datetime import date, timedelta

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from gaps import compute as coverage
from gridmap import ledgers
from gridmap.models import Absence, Area, AuditEvent, ChildStatusChange, UserRole
from safetynet import risk
from tests.test_access import A, B, login
from tests.test_safetynet_aid import make_child

pytestmark = pytest.mark.django_db
ON = date(2026, 11, 20)
FACTS_SQL = """
SELECT c.id,
       least(5, (SELECT count(*) FROM gridmap_absence a WHERE a.child_id = c.id AND NOT a.excused
                 AND a.date > %(on)s::date - 28 AND a.date <= %(on)s)) AS absent,
       EXISTS (SELECT 1 FROM gridmap_childstatuschange h WHERE h.child_id = c.id
               AND h.to_status IN ('suspected', 'dropped_out') AND h.date <= %(on)s) AS before,
       2026 - (extract(year FROM c.birth_date)::int + 6
               + CASE WHEN to_char(c.birth_date, 'MMDD') <= '0831' THEN 0 ELSE 1 END) + 1 AS grade,
       (c.kg_poverty_relief OR c.kg_at_risk OR c.kg_sudden_hardship OR c.kg_min_allowance OR c.kg_disabled
        OR c.kg_disabled_parents OR c.kg_left_behind OR c.kg_migrant OR c.kg_orphan OR c.kg_in_difficulty) AS kg,
       (c.kg_poverty_relief OR c.kg_at_risk OR c.kg_sudden_hardship OR c.kg_min_allowance OR c.kg_orphan
        OR c.kg_disabled) AND NOT EXISTS (SELECT 1 FROM gridmap_aidrecord r WHERE r.child_id = c.id
        AND r.school_year = 2026 AND r.term = '1' AND r.date <= %(on)s) AS aid_gap,
       EXISTS (SELECT 1 FROM gridmap_transfer t WHERE t.child_id = c.id AND t.date <= %(on)s
               AND (t.completed_on IS NULL OR t.completed_on > %(on)s)) AS moving,
       (SELECT h.to_status FROM gridmap_childstatuschange h WHERE h.child_id = c.id AND h.date <= %(on)s
        ORDER BY h.date DESC, h.recorded_at DESC, h.id DESC LIMIT 1) AS status
FROM gridmap_child c JOIN gridmap_area g ON g.id = c.group_id
WHERE g.code LIKE %(area)s AND c.birth_date BETWEEN '2011-09-01' AND '2020-08-31'
"""


def admin():
    return get_user_model().objects.get_or_create(username="risk-admin", defaults={"is_superuser": True})[0]


def test_every_childs_points_and_the_order_follow_the_documented_rule():
    township = Area.objects.get(code=A)
    rows = risk.risk_list(admin(), ON, area=township)
    w = risk.weights()
    cov = coverage.compute(township, ON)
    far = set(cov.child_id[np.where(cov.on_roll, cov.roll_beyond, cov.gap)].tolist())
    with connection.cursor() as cursor:
        cursor.execute(FACTS_SQL, {"on": ON, "area": f"{A}%"})
        facts = cursor.fetchall()
    want = {}
    for pk, absent, before, grade, kg, aid_gap, moving, status in facts:
        watched = status in ("enrolled", "returned", "included", "suspended") or (status == "transferred_out" and moving)
        if not watched:
            continue
        parts = [absent * w["absence_day"], before * w["past_suspected"], (grade in (6, 8, 9)) * w["key_grade"],
                 kg * w["key_group"], aid_gap * w["aid_gap"], (pk in far) * w["long_way"], moving * w["transfer"]]
        n = sum(bool(p) for p in parts)
        if sum(parts) > 0:
            want[pk] = (-sum(parts), -absent, -n, -grade, pk)
    assert {r.child_id: r.score for r in rows} == {pk: -k[0] for pk, k in want.items()} and len(want) > 20
    assert [r.child_id for r in rows] == sorted(want, key=want.get)  # the documented order
    assert any(f.key == "long_way" for r in rows for f in r.factors)  # the engine's long ways are in it
    assert all(r.factors for r in rows) and all(f.points > 0 for r in rows for f in r.factors)


def test_hand_made_children_in_the_documented_order(settings):
    group = Area.objects.filter(level="group", code__startswith=A).order_by("-code").first()
    born = date(2017, 3, 3)  # grade 4: not a key grade
    absent, _n = make_child(group, born, 71, name="序甲")
    truant, _n = make_child(group, born, 73, name="序乙")
    poor, _n = make_child(group, born, 75, name="序丙", kg_sudden_hardship=True)
    once, _n = make_child(group, born, 77, name="序丁")
    days = ledgers.school_days(ON - timedelta(days=20), ON)
    Absence.objects.bulk_create([Absence(child=absent, date=d) for d in days[-8:-5]]  # 3 days, not in a row
                                + [Absence(child=truant, date=d) for d in (days[-12], days[-2])]  # 2 days
                                + [Absence(child=absent, date=ON - timedelta(days=40))])  # outside the window
    ChildStatusChange.objects.create(child=once, date=date(2026, 10, 8), from_status="enrolled", to_status="suspected",
                                     reason="x")
    ChildStatusChange.objects.create(child=once, date=date(2026, 10, 12), from_status="suspected", to_status="enrolled",
                                     reason="返校")
    mine = {c.pk: c.name for c in (absent, truant, poor, once)}

    def order():
        return [mine[r.child_id] for r in risk.risk_list(admin(), ON, area=Area.objects.get(code=A))
                if r.child_id in mine]
    # 甲 3 days × 2 = 6; 丙 key group 2 + no aid 3 = 5; 乙 2 days × 2 = 4; 丁 suspected before 4:
    # 乙 and 丁 tie at 4, and more unexcused days come first
    assert order() == ["序甲", "序丙", "序乙", "序丁"]
    settings.GRIDMAP_RISK_WEIGHTS = "absence_day=1,past_suspected=6"  # the bureau's own weights
    assert order() == ["序丁", "序丙", "序甲", "序乙"]  # 6, 5, 3, 2
    settings.GRIDMAP_RISK_ABSENCE_CAP = 2
    assert order() == ["序丁", "序丙", "序甲", "序乙"] and [
        r.absences for r in risk.risk_list(admin(), ON, area=Area.objects.get(code=A)) if r.child_id == absent.pk] == [2]
    factors = next(r for r in risk.risk_list(admin(), ON, area=Area.objects.get(code=A)) if r.child_id == poor.pk)
    assert [f.key for f in factors.factors] == ["key_group", "aid_gap"]  # each child's reasons, shown


def test_bad_weights_are_refused(settings):
    for bad in ("absence_day=x", "nonsense=1", "absence_day", "transfer=-1", "long_way=nan"):
        settings.GRIDMAP_RISK_WEIGHTS = bad
        with pytest.raises(ValueError):
            risk.weights()
    settings.GRIDMAP_RISK_WEIGHTS = "transfer=10"
    assert risk.weights()["transfer"] == 10 and risk.weights()["aid_gap"] == 3  # the rest keep their defaults


def test_the_page_lists_for_its_township_and_is_404_elsewhere_and_for_planners():
    official = login(UserRole.TOWNSHIP_OFFICIAL, areas=[A])
    page = official.get(f"/safetynet/risk/{A}/").content.decode()
    assert "gm-risk-list" in page and "data-factor=" in page
    assert AuditEvent.objects.filter(action="list", summary__startswith="辍学预警名单").exists()
    assert official.get(f"/safetynet/risk/{B}/").status_code == 404
    assert official.get("/safetynet/risk/330783/").status_code == 404  # the county: only for context
    assert official.get(f"/safetynet/risk/{A}/", {"format": "pdf"}).status_code == 400
    exported = official.get(f"/safetynet/risk/{A}/", {"format": "csv"}).getvalue().decode("utf-8-sig")
    assert "预警因素" in exported
    assert login(UserRole.COUNTY_PLANNER).get(f"/safetynet/risk/{A}/").status_code == 404  # for those who visit
