"""The Area hierarchy: rules enforced by the database itself and by model validation."""

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from gridmap.models import Area, AreaLevel
from tests.conftest import square


def _integrity_error(**fields):
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        Area.objects.create(**fields)
    return str(exc.value)


def test_village_directly_under_county_is_rejected_by_the_database(squares):
    message = _integrity_error(level=AreaLevel.VILLAGE, code="990001100009", name="错村",
                               parent=squares["county"], geom=square(119.1, 28.1, 0.01))
    assert "cannot lie in a county" in message


def test_village_directly_under_county_is_rejected_by_validation(squares):
    village = Area(level=AreaLevel.VILLAGE, code="990001100009", name="错村",
                   parent=squares["county"], geom=square(119.1, 28.1, 0.01))
    with pytest.raises(ValidationError) as exc:
        village.full_clean()
    assert "parent" in exc.value.message_dict


def test_code_must_extend_the_parent_code(squares):
    message = _integrity_error(level=AreaLevel.VILLAGE, code="990001200001", name="错码村",
                               parent=squares["township"], geom=square(119.1, 28.1, 0.01))
    assert "must begin with its parent" in message


@pytest.mark.parametrize(("level", "code"), [
    (AreaLevel.GROUP, "99000110000101"),  # 14 digits
    (AreaLevel.GROUP, "99000110000100A"),
])
def test_code_format_per_level(squares, level, code):
    message = _integrity_error(level=level, code=code, name="x", parent=squares["village"],
                               geom=square(119.0, 28.0, 0.01))
    assert "area_code_format" in message


def test_only_a_county_lacks_a_parent(db):
    assert "area_parent_only_county_lacks" in _integrity_error(
        level=AreaLevel.TOWNSHIP, code="990002100", name="孤镇", geom=square(119.0, 28.0, 0.1))


def test_invalid_and_empty_geometries_are_rejected(squares):
    bowtie = MultiPolygon(Polygon(((119, 28), (119.1, 28.1), (119.1, 28), (119, 28.1), (119, 28))),
                          srid=4326)
    assert "area_geom_valid" in _integrity_error(
        level=AreaLevel.GROUP, code="990001100001009", name="蝴蝶", parent=squares["village"],
        geom=bowtie)
    assert "area_geom_not_empty" in _integrity_error(
        level=AreaLevel.GROUP, code="990001100001010", name="空", parent=squares["village"],
        geom=MultiPolygon(srid=4326))


def test_level_and_code_of_an_area_with_children_cannot_change(squares):
    village = squares["village"]
    village.code = "990001100002"
    with pytest.raises(IntegrityError), transaction.atomic():
        village.save()


def test_queryset_methods(squares):
    county, village = squares["county"], squares["village"]
    inside = Point(119.07, 28.02, srid=4326)  # in group 2 (east, south)
    assert list(Area.objects.at_level(AreaLevel.GROUP).containing(inside)
                .values_list("code", flat=True)) == ["990001100001002"]
    assert Area.objects.containing(inside).count() == 4  # county, township, village, group
    assert set(county.descendants().values_list("level", flat=True)) == {
        "township", "village", "group"}
    assert county.descendants().count() == 6
    assert [a.level for a in squares["groups"][0].ancestors()] == ["county", "township", "village"]
    assert village.label_point.within(village.geom)  # generated column
