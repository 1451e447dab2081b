"""Transfers followed until they arrive (issue 18): within the county the receiving roll completes one,
none → 流转未到 after the set days (the boundary day included), out of the county only the receipt
does; status changes made elsewhere are adopted; the escalation, the map's home cells, and the pages'
scope (another township's ids: 404, nothing written)."""

from datetime import date, timedelta

import pytest
from django.db import connection

from gridmap import ledgers, transfers
from gridmap.models import Area, AuditEvent, Child, ChildStatus, School, SchoolClass, Transfer, UserRole
from safetynet import followup
from tests.test_access import A, B, login

pytestmark = pytest.mark.django_db
OUT = date(2026, 10, 9)


def pupil(township=A, pk_order="pk"):
    return (Child.objects.filter(group__code__startswith=township, status="enrolled", school_class__isnull=False)
            .school_age_on(OUT).exclude(transfers__isnull=False).order_by(pk_order).first())


def other_school(child):
    grade = child.school_class.grade
    return (School.objects.filter(status="open", first_grade__lte=grade, last_grade__gte=grade,
                                  township__code__startswith="330783")
            .exclude(pk=child.school_class.school_id).order_by("code").first())


def enrol(child, school, on):
    """What the receiving school's roll (an import, the admin) does: the child in a class there, back in school."""
    klass, _ = SchoolClass.objects.get_or_create(school=school, school_year=2026, grade=child.school_class.grade,
                                                 number=1)
    Child.objects.filter(pk=child.pk).update(school_class=klass)
    child.refresh_from_db()
    ledgers.change_status(child, ChildStatus.ENROLLED, on, None, "转入学校报到注册")


def test_within_the_county_the_receiving_roll_completes_it():
    child = pupil()
    left, to = child.school_class.school, other_school(child)
    t = transfers.record_transfer(child, OUT, None, "随父母转学", to_school=to)
    assert (t.scope, t.from_school, t.to_school, t.status_change.to_status) == ("within", left, to, "transferred_out")
    assert transfers.settle() == (0, 0) and Transfer.objects.get(pk=t.pk).completed_on is None
    assert transfers.open_on(Transfer.objects.filter(pk=t.pk), OUT + timedelta(days=5)).exists()
    enrol(child, to, OUT + timedelta(days=6))
    assert transfers.settle()[1] == 1
    t.refresh_from_db()
    assert (t.completed_on, t.arrival, t.arrived_school) == (OUT + timedelta(days=6), "roll", to)
    assert not transfers.open_on(Transfer.objects.filter(pk=t.pk), OUT + timedelta(days=6)).exists()
    assert transfers.open_on(Transfer.objects.filter(pk=t.pk), OUT + timedelta(days=5)).exists()  # as it was then
    with pytest.raises(transfers.TransferError):
        transfers.record_receipt(t, OUT + timedelta(days=7), "X1", None)  # the roll, not a receipt


def test_none_arrived_is_late_after_the_set_days_the_boundary_day_not(settings):
    settings.GRIDMAP_TRANSFER_DAYS = 10
    child = pupil(pk_order="-pk")
    t = transfers.record_transfer(child, OUT, None, "转学", to_school=other_school(child))
    boundary, late = OUT + timedelta(days=10), OUT + timedelta(days=11)
    assert not transfers.is_late(t, boundary) and transfers.is_late(t, late) and transfers.late_from(t) == late
    both = Transfer.objects.filter(pk=t.pk)
    assert not transfers.late_on(both, boundary).exists() and transfers.late_on(both, late).exists()
    settings.GRIDMAP_TRANSFER_DAYS = 30
    assert not transfers.is_late(t, late)  # the deadline is a setting
    settings.GRIDMAP_TRANSFER_DAYS = 10
    # followed up like a suspected dropout: day 1, 2, 3 on the school days from the day it became late
    steps = followup.escalation(t, late + timedelta(days=3))
    assert [s.day for s in steps] == [1, 2, 3] and steps[0].due == ledgers.school_days(late, late + timedelta(days=7))[0]
    assert all(s.due.weekday() < 5 for s in steps) and steps[0].reached
    # and may be put on the suspected ledger (whereabouts unknown)
    ledgers.change_status(child, ChildStatus.SUSPECTED, late, None, "流转未到")
    assert Child.objects.get(pk=child.pk).status == "suspected" and transfers.is_late(t, late)


def test_out_of_the_county_only_the_receipt_completes_it():
    child = pupil(township=B)
    t = transfers.record_transfer(child, OUT, None, "随父母务工", destination="江苏省苏州市昆山市实验小学")
    assert t.scope == "outside" and t.from_school == child.school_class.school
    transfers.settle()
    assert Transfer.objects.get(pk=t.pk).completed_on is None  # nothing but the receipt completes it
    with pytest.raises(transfers.TransferError):
        transfers.record_receipt(t, OUT - timedelta(days=1), "XJ1", None)  # before the transfer
    with pytest.raises(transfers.TransferError):
        transfers.record_receipt(t, OUT + timedelta(days=3), " ", None)  # no number
    transfers.record_receipt(t, OUT + timedelta(days=20), "XJ202610-1", None)
    t.refresh_from_db()
    assert (t.completed_on, t.arrival, t.receipt_number) == (OUT + timedelta(days=20), "receipt", "XJ202610-1")
    with pytest.raises(transfers.TransferError):
        transfers.record_receipt(t, OUT + timedelta(days=21), "XJ2", None)  # once


def test_status_changes_made_elsewhere_are_adopted():
    child, inside = pupil(), pupil(township=B)
    school = other_school(inside)
    ledgers.change_status(child, "transferred_out", OUT, None, "转学", destination="广东省深圳市宝安区某小学")
    ledgers.change_status(inside, "transferred_out", OUT, None, "转学", destination=f"转入{school.name}")
    adopted, _ = transfers.settle()
    assert adopted == 2 and transfers.settle() == (0, 0)  # once
    out, within = Transfer.objects.get(child=child), Transfer.objects.get(child=inside)
    assert (out.scope, out.destination) == ("outside", "广东省深圳市宝安区某小学")
    assert (within.scope, within.to_school) == ("within", school)


def test_the_map_shows_late_transfers_at_the_home_cell(settings):
    settings.GRIDMAP_TRANSFER_DAYS = 10
    child = pupil(pk_order="group__code")
    transfers.record_transfer(child, OUT, None, "转学", destination="外省某校")
    from django.contrib.auth import get_user_model
    admin = get_user_model().objects.create_superuser("map-admin", "", "pw-long-enough-1")
    cells = followup.late_by_cell(admin, Area.objects.get(code=A), OUT + timedelta(days=11))
    with connection.cursor() as cursor:
        cursor.execute("""SELECT c.group_id, count(*) FROM gridmap_transfer t JOIN gridmap_child c ON c.id = t.child_id
                          JOIN gridmap_area g ON g.id = c.group_id WHERE g.code LIKE %s AND t.date < %s
                          AND (t.completed_on IS NULL OR t.completed_on > %s) GROUP BY 1""",
                       [f"{A}%", OUT + timedelta(days=1), OUT + timedelta(days=11)])
        assert cells == dict(cursor.fetchall()) and cells[child.group_id] >= 1
    page = login(UserRole.TOWNSHIP_OFFICIAL, areas=[A]).get(f"/grid/{A}/").content.decode()
    assert "gm-late-transfer" in page and "aid_gap" in page  # the layer and the cell indicator


def test_pages_are_scoped_and_write_nothing_outside():
    own, theirs = pupil(), pupil(township=B)
    mine = transfers.record_transfer(own, date(2026, 9, 20), None, "转学", destination="外省某校")
    far = transfers.record_transfer(theirs, date(2026, 9, 20), None, "转学", destination="外省某校")
    official = login(UserRole.TOWNSHIP_OFFICIAL, areas=[A])
    page = official.get(f"/safetynet/transfers/{A}/")
    assert page.status_code == 200 and f'data-transfer="{mine.pk}"' in page.content.decode()
    assert f'data-transfer="{far.pk}"' not in page.content.decode()
    assert AuditEvent.objects.filter(action="list", summary__startswith="流转学生").exists()
    before = (Transfer.objects.count(), list(Transfer.objects.order_by("pk").values_list("completed_on", flat=True)))
    for url, data in [(f"/safetynet/transfers/{B}/", None), ("/safetynet/transfers/330783/", None),
                      (f"/safetynet/transfers/child/{theirs.pk}/new/", None),
                      (f"/safetynet/transfers/child/{theirs.pk}/new/", {"date": "2026-11-01", "scope": "outside",
                                                                        "destination": "外省", "reason": "x"}),
                      (f"/safetynet/transfers/{far.pk}/receipt/", {"date": "2026-11-01", "number": "X"}),
                      (f"/safetynet/transfers/{far.pk}/suspect/", {})]:
        response = official.post(url, data) if data is not None else official.get(url)
        assert response.status_code == 404, url
    assert (Transfer.objects.count(), list(Transfer.objects.order_by("pk").values_list("completed_on", flat=True))) \
        == before
    assert Child.objects.get(pk=theirs.pk).status == "transferred_out"
    # its own: a receipt through the page
    done = official.post(f"/safetynet/transfers/{mine.pk}/receipt/", {"date": "2026-11-01", "number": "XJ9",
                                                                     "back": A})
    assert done.status_code == 302 and Transfer.objects.get(pk=mine.pk).arrival == "receipt"
    assert login(UserRole.COUNTY_PLANNER).get(f"/safetynet/transfers/{A}/").status_code == 404  # names children


def test_the_transfer_form_records_one():
    child = pupil()
    to = other_school(child)
    official = login(UserRole.TOWNSHIP_OFFICIAL, areas=[A])
    form = official.get(f"/safetynet/transfers/child/{child.pk}/new/")
    assert form.status_code == 200 and to.name in form.content.decode()
    bad = official.post(f"/safetynet/transfers/child/{child.pk}/new/", {"date": "2026-11-01", "scope": "within",
                                                                        "reason": "x"})
    assert bad.status_code == 400 and not Transfer.objects.filter(child=child).exists()
    ok = official.post(f"/safetynet/transfers/child/{child.pk}/new/", {"date": "2026-11-01", "scope": "within",
                                                                       "to_school": to.pk, "reason": "随迁"})
    assert ok.status_code == 302
    t = Transfer.objects.get(child=child)
    assert t.to_school == to and Child.objects.get(pk=child.pk).status == "transferred_out"


def test_reads_settle_the_transfers_only_after_a_change(monkeypatch, django_capture_on_commit_callbacks):
    """month_ends.ensure (before every report, dashboard and hotspot read) settles the county's
    transfers only when the data they depend on changed since it last did (~190 ms a read on the
    province's data set otherwise): twice in a row settles once; a 转出 recorded meanwhile is adopted
    by the next read."""
    from django.core.cache import cache

    from gridmap import month_ends

    calls = []
    real = transfers.settle
    monkeypatch.setattr(transfers, "settle", lambda county=None: calls.append(county) or real(county))
    cache.delete(transfers.SETTLED.format(county="330783"))
    month = [OUT.replace(day=1)]
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            month_ends.ensure("330783", month)
    assert calls == ["330783"]
    child = pupil()
    ledgers.change_status(child, "transferred_out", OUT, None, "转学", destination="广东省深圳市宝安区某小学")
    assert not Transfer.objects.filter(child=child).exists()
    with django_capture_on_commit_callbacks(execute=True):
        month_ends.ensure("330783", month)
    assert calls == ["330783", "330783"] and Transfer.objects.filter(child=child).exists()
