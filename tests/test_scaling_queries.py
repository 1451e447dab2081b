"""The query rewrites made for a province (docs/scaling.md) give what the old queries gave.

- a township report's status entries: read through the township's children instead of every entry
  of the month, province-wide — equal to the old query's rows of those children;
- the hotspot counts from the month-end counts per village group, against the old snapshot of every
  child's status history (`hotspots.data.month_counts`), for past months and the month in progress,
  with the grade and sex filters, and after a status change and a sex change (the triggers' marks).
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from gridmap import ledgers, reports
from gridmap.models import Area, Child, ChildStatusChange, MonthEndGroupCount
from hotspots import data

pytestmark = pytest.mark.django_db
COUNTY = "330783"
FILTERS = [data.Filters(), data.Filters(sex="F"), data.Filters(grade="8-9"), data.Filters(grade="6", sex="M")]


def admin():
    return get_user_model().objects.create_superuser("scale-admin", "", "a-long-test-password")


def old_counts(cells, month, filters):
    last = reports.month_bounds(month)[1]
    counts = data.month_counts(filters.apply(Child.objects.filter(group__in=cells), last), month)
    return {code: c for code, c in counts.items() if c != data.Counts()}


def new_counts(cells, root, month, filters):
    counts = data.month_end_counts(cells, root, month, filters)
    return {code: c for code, c in counts.items() if c != data.Counts()}


def test_status_entries_are_the_townships_share_of_the_old_county_wide_query():
    first, on = date(2026, 10, 1), date(2026, 10, 31)
    everything = Counter(ChildStatusChange.objects.filter(date__range=(first, on)).values_list("child_id", "to_status"))
    by_town = Counter(code[:9] for code in ChildStatusChange.objects.filter(date__range=(first, on))
                      .values_list("child__group__code", flat=True))
    town = Area.objects.get(code=by_town.most_common(1)[0][0])
    mine = set(Child.objects.filter(group__code__startswith=town.code).values_list("pk", flat=True))
    expected = Counter({key: n for key, n in everything.items() if key[0] in mine})
    assert sum(expected.values()) > 0
    assert reports.status_entries(first, on, town) == expected


def test_hotspot_counts_from_month_ends_equal_the_snapshot():
    user = admin()
    county = Area.objects.get(code=COUNTY)
    cells = data.cell_queryset(user, county)
    months = ["2026-09", "2026-10", "2026-11", f"{timezone.localdate():%Y-%m}"]
    for month in months:
        for filters in FILTERS:
            old = old_counts(cells, month, filters)
            assert new_counts(cells, county, month, filters) == old, (month, filters)
    assert sum(c.school_age for c in old_counts(cells, "2026-10", data.Filters()).values()) > 2000
    # a township's own counts are its cells' share
    town = Area.objects.get(code="330783108")
    town_cells = data.cell_queryset(user, town)
    assert new_counts(town_cells, town, "2026-10", data.Filters()) == old_counts(town_cells, "2026-10", data.Filters())


def test_group_counts_follow_a_status_change_and_a_sex_change():
    user = admin()
    county = Area.objects.get(code=COUNTY)
    cells = data.cell_queryset(user, county)
    month = "2026-11"
    before = new_counts(cells, county, month, data.Filters())
    child = Child.objects.filter(group__code__startswith=COUNTY, status="enrolled",
                                 birth_date__range=(date(2013, 1, 1), date(2016, 1, 1))).order_by("pk").first()
    code = child.group.code
    ledgers.change_status(child, "suspected", date(2026, 11, 25), by=None, reason="连续无故缺勤（测试）")
    after = new_counts(cells, county, month, data.Filters())
    assert after == old_counts(cells, month, data.Filters())
    assert after[code].suspected == before[code].suspected + 1
    assert after[code].school_age == before[code].school_age
    girls_before = new_counts(cells, county, month, data.Filters(sex="F"))
    Child.objects.filter(pk=child.pk).update(sex="F" if child.sex == "M" else "M")
    girls = new_counts(cells, county, month, data.Filters(sex="F"))
    assert girls == old_counts(cells, month, data.Filters(sex="F"))
    step = 1 if child.sex == "M" else -1
    assert girls.get(code, data.Counts()).school_age == girls_before.get(code, data.Counts()).school_age + step
    assert MonthEndGroupCount.objects.filter(group__code__startswith=COUNTY).exists()


def test_the_id_hash_has_no_pattern_index():
    """Migration 0017 dropped it (1.2 GB in a province, never used: the hash is looked up whole);
    an AlterField on Child.id_hash would quietly add it again."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'gridmap_child' AND indexdef LIKE %s",
                       ["%id_hash%"])
        definitions = [row[0] for row in cursor.fetchall()]
    assert definitions and not [d for d in definitions if "pattern_ops" in d]


def test_current_holders_by_ids_equal_the_old_queryset_form():
    from django.db.models import Q

    from gridmap import grid
    from gridmap.models import Responsibility

    town = Area.objects.get(code="330783108")
    cells = Area.objects.filter(code__startswith=town.code, level="group")
    rows = list(cells.values("pk", "parent_id"))
    villages = {r["parent_id"] for r in rows}
    old = Responsibility.objects.filter(end_date__isnull=True, role__in=grid.AREA_ROLES,
                                        area__in=Area.objects.filter(Q(pk__in=villages) | Q(pk__in=cells)))
    expected = {(r.area_id, r.role): r.pk for r in old}
    assert len(expected) > 50
    held = grid.current_holders(villages | {r["pk"] for r in rows})
    assert {k: h.responsibility_pk for k, h in held.items()} == expected
    for r in old.select_related("person", "responsible_school"):  # and what the grid shows of them
        h = held[(r.area_id, r.role)]
        assert (h.person.name if h.person else None) == (r.person.name if r.person else None)
        assert (h.person.phone if h.person else None) == (r.person.phone if r.person else None)
        shown = (h.school.pk, h.school.name) if h.school else None
        assert shown == ((r.responsible_school.pk, r.responsible_school.name) if r.responsible_school else None)


def test_the_triggers_plan_a_single_change_afresh_after_a_bulk_write_on_the_same_connection():
    """PL/pgSQL keeps a static query's plan for the connection's life: after a bulk write whose
    plan read the whole children table, every single status change on that connection would read it
    again (~1 s a change in a ten-million-child province). The triggers' queries run by EXECUTE
    (gridmap 0018, layers 0003): the single change gets a plan of its own."""
    from django.db import connection, transaction

    ids = list(Child.objects.order_by("pk").values_list("pk", flat=True)[:400])

    def child_table_scans(cursor) -> int:
        cursor.execute("SELECT pg_stat_get_xact_numscans('gridmap_child'::regclass)")
        return cursor.fetchone()[0]

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DISCARD PLANS")  # whatever earlier tests left on this connection
        # The bulk write planned as a big one is: the children read whole (no index allowed).
        cursor.execute("SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off")
        before = child_table_scans(cursor)
        cursor.execute("""INSERT INTO gridmap_childstatuschange (child_id, date, from_status, to_status, reason,
                                                                 destination, recorded_at)
                          SELECT id, date '2026-09-10', status, status, 'bulk', '', now()
                          FROM unnest(%s::bigint[]) AS id JOIN gridmap_child c USING (id)""", [ids])
        after_bulk = child_table_scans(cursor)
        assert after_bulk > before  # the set-up did read the table whole
        # The single change, where an index is the plan: no whole-table read left over from the bulk one.
        cursor.execute("SET LOCAL enable_indexscan = on; SET LOCAL enable_bitmapscan = on; "
                       "SET LOCAL enable_seqscan = off")
        child = Child.objects.get(pk=ids[0])
        ChildStatusChange.objects.create(child=child, date=date(2026, 9, 11), from_status=child.status,
                                         to_status=child.status, reason="single", recorded_at=timezone.now())
        assert child_table_scans(cursor) == after_bulk
        transaction.set_rollback(True)
