"""A school's catchment is the union of its assigned village groups, kept in step by the database."""

import pytest
from django.contrib.gis.geos import Point
from shapely import wkb
from shapely.ops import unary_union

from gridmap.models import CatchmentAssignment, School, SchoolKind, Stage
from tests.conftest import square


@pytest.fixture
def school(squares):
    return School.objects.create(code="2199000001", name="测试小学", kind=SchoolKind.FULL_PRIMARY,
                                 first_grade=1, last_grade=6, location=Point(119.02, 28.02, srid=4326),
                                 township=squares["township"])


def shapely_union(areas):
    return unary_union([wkb.loads(bytes(a.geom.wkb)) for a in areas])


def catchment(school):
    school.refresh_from_db()
    return None if school.catchment is None else wkb.loads(bytes(school.catchment.wkb))


def assert_same(geom, expected):
    assert geom.symmetric_difference(expected).area < 1e-12
    assert abs(geom.area - expected.area) < 1e-12


def test_catchment_follows_assignments(squares, school):
    groups = squares["groups"]
    assert catchment(school) is None
    CatchmentAssignment.objects.bulk_create(
        CatchmentAssignment(area=g, school=school, stage=Stage.PRIMARY) for g in groups[:3])
    assert_same(catchment(school), shapely_union(groups[:3]))

    CatchmentAssignment.objects.create(area=groups[3], school=school, stage=Stage.PRIMARY)
    assert_same(catchment(school), shapely_union(squares["groups"]))
    assert_same(catchment(school), wkb.loads(bytes(squares["village"].geom.wkb)))

    CatchmentAssignment.objects.filter(area=groups[0]).delete()
    assert_same(catchment(school), shapely_union(groups[1:]))

    CatchmentAssignment.objects.all().delete()
    assert catchment(school) is None


def test_catchment_moves_with_reassignment_and_boundary_edits(squares, school):
    groups = squares["groups"]
    other = School.objects.create(code="2199000002", name="另一小学", kind=SchoolKind.VILLAGE_PRIMARY,
                                  first_grade=1, last_grade=4, location=Point(119.08, 28.08, srid=4326),
                                  township=squares["township"])
    assignment = CatchmentAssignment.objects.create(area=groups[0], school=school, stage=Stage.PRIMARY)
    CatchmentAssignment.objects.create(area=groups[1], school=school, stage=Stage.PRIMARY)
    assignment.school = other
    assignment.save()
    assert_same(catchment(school), shapely_union([groups[1]]))
    assert_same(catchment(other), shapely_union([groups[0]]))

    groups[1].geom = square(119.05, 28.0, 0.03)  # the surveyors redraw a group
    groups[1].save()
    assert_same(catchment(school), shapely_union([groups[1]]))
    assert catchment(school).area == pytest.approx(0.03 * 0.03)
