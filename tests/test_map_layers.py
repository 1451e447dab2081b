"""The grid map's layers as a user reads them: neighbouring school areas never share a colour
(checked against adjacency computed here with shapely), village and township aggregates equal the
sums SQL finds (and hide small counts from aggregate-only logins), main roads are labelled once,
and the legend names the road classes, the river and the catchment outlines."""

from datetime import date

import pytest
import shapely
from django.contrib.auth import get_user_model
from django.db import connection
from shapely import wkb

from gridmap import grid
from gridmap.models import Area, Profile, Road, School, UserRole
from gridmap.schooling import school_age_birth_range
from layers.aggregates import TownshipAggregateLayer, VillageAggregateLayer, aggregates
from layers.context import LABELLED_ROADS, RoadLabelLayer
from layers.grid import CatchmentLayer, CellLayer, root_school_colors
from layers.maps import grid_map

pytestmark = pytest.mark.django_db
COUNTY = "330783"


@pytest.fixture
def chief():
    return get_user_model().objects.create_superuser("map-chief", "", "pw-long-enough-1")


def test_neighbouring_school_areas_never_share_a_colour(chief):
    county = Area.objects.get(code=COUNTY)
    cells = grid.cells(chief, county)
    layer = CellLayer(county, chief, cells)
    school = next(ind for ind in layer.indicators if ind.key == "school")
    colour = {pk: school.classes[k][1] for pk, k in school.of.items()}
    shapes = {a.pk: wkb.loads(bytes(a.geom.wkb)) for a in Area.objects.filter(code__startswith=COUNTY, level="group")}
    pks = list(shapes)
    tree = shapely.STRtree([shapes[pk] for pk in pks])
    left, right = tree.query([shapes[pk] for pk in pks], predicate="intersects")
    by_pk = {c.pk: c for c in cells}
    checked = 0
    for i, j in zip(left, right, strict=True):
        a, b = by_pk[pks[i]], by_pk[pks[j]]
        if a.school and b.school and a.school != b.school:
            assert colour[a.pk] != colour[b.pk], (a.code, b.code, a.school.name, b.school.name)
            checked += 1
    assert checked > 100
    # the catchment outlines use the same colours: touching catchments differ too
    colours = root_school_colors(county, cells)
    catchments = {s.pk: wkb.loads(bytes(s.catchment.wkb)) for s in School.objects.filter(
        township__code__startswith=COUNTY, catchment__isnull=False)}
    for a, b in ((a, b) for a in catchments for b in catchments if a < b):
        if catchments[a].intersects(catchments[b]):
            assert colours[a] != colours[b]
    assert len(set(colours.values())) <= 10  # a palette, not one colour per school cycling


def test_village_and_township_aggregates_equal_sql_and_hide_small_counts(chief):
    county = Area.objects.get(code=COUNTY)
    cells = grid.cells(chief, county)
    with connection.cursor() as cursor:
        # 适龄儿童 as the monthly report counts them: due in grades 1-9 today, not transferred out
        cursor.execute("""SELECT left(g.code, 12), count(*), count(*) FILTER (WHERE c.status IN ('suspected', 'dropped_out'))
                          FROM gridmap_child c JOIN gridmap_area g ON g.id = c.group_id
                          WHERE g.code LIKE %s AND c.status <> 'transferred_out' AND c.birth_date BETWEEN %s AND %s
                          GROUP BY 1""", [f"{COUNTY}%", *school_age_birth_range(date.today())])
        by_village = {code: (n, off) for code, n, off in cursor.fetchall()}
    villages = aggregates(chief, county, cells, "village")
    assert len(villages) == Area.objects.filter(code__startswith=COUNTY, level="village").count()
    for v in villages:
        assert (v.children, v.off_school) == by_village.get(v.code, (0, 0)), v.code
        assert v.cells == sum(1 for c in cells if c.code.startswith(v.code))
    townships = aggregates(chief, county, cells, "township")
    assert sum(t.children for t in townships) == sum(n for n, _o in by_village.values())
    planner = get_user_model().objects.create_user("map-planner")
    Profile.objects.create(user=planner, role=UserRole.COUNTY_PLANNER)
    seen = aggregates(planner, county, grid.cells(planner, county), "village")
    for v in seen:  # the month's published figures (issue 11): "<5" is 0-4 for a village, "*" a complement
        n = by_village.get(v.code, (0, 0))[1]
        assert v.off_school == "<5" if n < 5 else v.off_school == "*" or (isinstance(v.off_school, int)
                                                                            and v.off_school >= 5)
    # on the county map both levels are drawn, each with its own legend, switched by zoom
    built = grid_map(county, chief, cells)
    assert [b["level"] for b in built.config["bands"]] == ["township", "village"]
    assert set(built.config["levels"]) == {"township", "village", "group"}
    assert TownshipAggregateLayer(county, chief, cells).features()["features"]
    township = Area.objects.get(code="330783118")
    assert not TownshipAggregateLayer(township, chief, grid.cells(chief, township)).features()["features"]
    assert VillageAggregateLayer(township, chief, grid.cells(chief, township)).features()["features"]


def test_main_roads_are_labelled_once_and_the_legend_names_what_is_drawn(chief):
    county = Area.objects.get(code=COUNTY)
    labels = RoadLabelLayer(county, chief).features()["features"]
    texts = [f["properties"]["label"] for f in labels]
    assert len(texts) == len(set(texts)) > 5
    named = Road.objects.filter(highway__in=list(LABELLED_ROADS), geom__intersects=county.geom).exclude(name="", ref="")
    assert set(texts) <= set(named.values_list("name", flat=True)) | set(named.values_list("ref", flat=True))
    county_shape = wkb.loads(bytes(county.geom.wkb))
    assert all(county_shape.buffer(0.01).contains(shapely.Point(f["geometry"]["coordinates"])) for f in labels)
    township = Area.objects.get(code="330783118")
    page = grid_map(township, chief, grid.cells(chief, township))
    html = page.map.get_root().render()
    for words in ("高速公路", "省道/主干道", "河流", "学区界线", 'id="gm-legend-box"'):
        assert words in html, words
    assert CatchmentLayer(township, chief, grid.cells(chief, township)).features()["features"]


def test_area_names_are_escaped_in_the_maps_labels(chief):
    """A name is data from an import: drawn into a label's HTML it is text, never markup."""
    from django.test import Client

    village = Area.objects.filter(level="village", code__startswith=COUNTY).order_by("code").first()
    Area.objects.filter(pk=village.pk).update(name='<img src=x onerror=alert(1)>村')
    client = Client()
    client.force_login(chief)
    page = client.get(f"/grid/{village.code[:9]}/").content.decode()
    # the label's HTML goes to the browser inside a JSON string (folium writes "<" as \u003c): whatever
    # the encoding, the markup the browser inserts must be the escaped text
    decoded = page.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&")
    assert "<img src=x onerror" not in decoded
    assert "&lt;img src=x onerror=alert(1)&gt;村" in decoded
