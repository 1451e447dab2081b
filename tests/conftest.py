"""Shared fixtures. Every test runs on the real PostGIS of the private cluster (make db).

The session loads a small demo county (东阳市 with 3,000 children) once; tests that need the grid
read it, and tests that draw their own squares use county code 990001, which the demo never uses.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.management import call_command

from gridmap.models import Area, AreaLevel

DEMO_AS_OF = date(2026, 11, 22)
DEMO_CHILDREN = 3000


def load_small_demo() -> None:
    call_command("load_demo", children=DEMO_CHILDREN, as_of=DEMO_AS_OF, verbosity=0)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        load_small_demo()


def square(x0: float, y0: float, size: float) -> MultiPolygon:
    """An axis-aligned square in degrees near the demo county (hand-drawn test geometry)."""
    return MultiPolygon(Polygon.from_bbox((x0, y0, x0 + size, y0 + size)), srid=4326)


@pytest.fixture
def squares(db):  # type: ignore[no-untyped-def]
    """County 990001 (a 0.2° square) > township > village (0.1°) > four 0.05° groups."""
    county = Area.objects.create(level=AreaLevel.COUNTY, code="990001", name="测试县",
                                 geom=square(119.0, 28.0, 0.2))
    town = Area.objects.create(level=AreaLevel.TOWNSHIP, code="990001100", name="测试镇",
                               parent=county, geom=square(119.0, 28.0, 0.2))
    village = Area.objects.create(level=AreaLevel.VILLAGE, code="990001100001", name="一村",
                                  parent=town, geom=square(119.0, 28.0, 0.1))
    groups = [
        Area.objects.create(level=AreaLevel.GROUP, code=f"990001100001{i + 1:03d}",
                            name=f"第{i + 1}组", parent=village,
                            geom=square(119.0 + 0.05 * (i % 2), 28.0 + 0.05 * (i // 2), 0.05))
        for i in range(4)
    ]
    return {"county": county, "township": town, "village": village, "groups": groups}


@pytest.fixture(autouse=True)
def private_upload_dir(settings, tmp_path):
    """Uploads of a test go to its own folder (the upload page deletes expired ones there)."""
    settings.GRIDMAP_UPLOAD_DIR = tmp_path / "uploads"


@pytest.fixture
def admin_user(db):  # type: ignore[no-untyped-def]
    return get_user_model().objects.create_superuser("chief", "", "a-long-test-password")
