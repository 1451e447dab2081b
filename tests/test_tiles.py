"""The grid map's vector tiles (layers.served), decoded with mapbox-vector-tile and checked against what
is computed here independently: which cells a tile holds (shapely over the cells' own geometry and the
tile's bounds by pyproj), their counts (SQL), the outline's simplification (Hausdorff distance in Web
Mercator metres), scoping (a township official's tile of a neighbouring township is empty, its root a
404), the published figures of aggregate-only logins (no count of 1-4 in any property), ETags and 304s,
and versions: a hand-over changes the ETag of the tile that shows it and of no other tile; a status
change makes new versions of the layers that draw children in its county only."""

import json
import re
from datetime import date

import mapbox_vector_tile
import pytest
import shapely
from django.contrib.auth import get_user_model
from django.db import connection
from pyproj import Transformer
from shapely import wkb
from shapely.geometry import box, shape

from gridmap import access
from gridmap.grid import Gap, cells
from gridmap.models import Area, Child, Person, Profile, Role, School, UserRole
from gridmap.responsibilities import hand_over
from gridmap.schooling import school_age_birth_range
from layers import served, versions
from layers.grid import root_school_colors
from layers.models import DataChange
from layers.tile_layers import TILE_LAYERS
from layers.tiles import EXTENT, tile_bounds, tiles_covering

pytestmark = pytest.mark.django_db
COUNTY = "330783"
TOWN, NEIGHBOUR = "330783118", "330783116"  # 南马镇 and its neighbour 千祥镇
TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)
PASSWORD = "a-long-test-password"


@pytest.fixture
def chief():
    return get_user_model().objects.create_superuser("tile-chief", "", PASSWORD)


def login(role, name, areas=()):
    user = get_user_model().objects.create_user(name, password=PASSWORD)
    Profile.objects.create(user=user, role=role).areas.set(Area.objects.filter(code__in=areas))
    return user


def decode(data):
    """{layer: [(properties, shapely geometry in Web Mercator metres)]} of a tile's bytes."""
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})


def features(data, z, x, y, layer):
    xmin, ymin, xmax, ymax = tile_bounds(z, x, y)
    size = xmax - xmin
    out = []
    for f in decode(data).get(layer, {}).get("features", []):
        geom = shapely.transform(shape(f["geometry"]),
                                 lambda c: [[xmin + px * size / EXTENT, ymax - py * size / EXTENT] for px, py in c])
        out.append((f["properties"], geom))
    return out


def mercator(geom):
    return shapely.transform(wkb.loads(bytes(geom.wkb)), lambda c: list(zip(*TO_MERCATOR.transform(*c.T), strict=True)))


def tile_over(area, z):
    """The tile at zoom z holding the area's label point."""
    mx, my = TO_MERCATOR.transform(area.label_point.x, area.label_point.y)
    n = 2 ** z
    size = 2 * 20037508.342789244 / n
    return z, int((mx + 20037508.342789244) // size), int((20037508.342789244 - my) // size)


def test_a_cell_tile_holds_the_cells_on_it_with_the_counts_sql_finds(chief):
    county = Area.objects.get(code=COUNTY)
    group = Area.objects.filter(code__startswith=TOWN, level="group").order_by("code")[5]
    z, x, y = tile_over(group, 14)
    got = features(served.tile(chief, county, "cells", z, x, y).data, z, x, y, "cells")
    codes = {p["code"] for p, _g in got}
    square = box(*tile_bounds(z, x, y))
    inside = square.buffer(-5)  # metres: a cell crossing the tile's edge by less may be clipped to nothing
    expected, near = set(), set()
    for a in Area.objects.filter(code__startswith=COUNTY, level="group"):
        g = mercator(a.geom)
        if g.intersects(inside):
            expected.add(a.code)
        if g.intersects(square.buffer(square.length / 4 / EXTENT * 64 + 5)):
            near.add(a.code)
    assert group.code in codes and expected <= codes <= near
    with connection.cursor() as cursor:
        # 适龄儿童 as the monthly report counts them: due in grades 1-9 today, not transferred out
        cursor.execute("""SELECT g.code, count(*), count(*) FILTER (WHERE c.status IN ('suspected', 'dropped_out'))
                          FROM gridmap_child c JOIN gridmap_area g ON g.id = c.group_id WHERE g.code = ANY(%s)
                          AND c.status <> 'transferred_out' AND c.birth_date BETWEEN %s AND %s
                          GROUP BY g.code""", [list(codes), *school_age_birth_range(date.today())])
        counts = {code: (n, off) for code, n, off in cursor.fetchall()}
    for props, geom in got:
        assert (props["children"], props["off"]) == counts.get(props["code"], (0, 0))
        assert geom.is_valid and geom.area > 0 and square.buffer(square.length).contains(geom)
    names = dict(Area.objects.filter(code__in=codes).values_list("code", "parent__name"))
    assert all(p["village"] == names[p["code"]] for p, _g in got)


def test_outlines_are_simplified_to_the_zoom_and_stay_within_a_pixel(chief):
    county = Area.objects.get(code=COUNTY)
    town = Area.objects.get(code="330783106")  # 巍山镇: the most detailed outline (2,632 vertices)
    outline = mercator(town.geom)
    raw = shapely.get_num_coordinates(outline)
    for z in (9, 8):
        covering = tiles_covering(town.geom.extent, z)
        if len(covering) == 1:
            break
    assert len(covering) == 1  # the whole township in one tile
    x, y = covering[0]
    (drawn,) = [g for p, g in features(served.tile(chief, county, "townships", z, x, y).data, z, x, y, "townships")
                if p["code"] == town.code]
    pixel = 2 * 20037508.342789244 / (256 * 2 ** z)
    assert shapely.get_num_coordinates(drawn) < raw / 3  # simplified for the zoom
    assert shapely.hausdorff_distance(drawn.boundary, outline.boundary) < 1.0 * pixel  # by less than a pixel
    # at zoom 15 a cell keeps its shape to within a fraction of a pixel
    group = Area.objects.filter(code__startswith=TOWN, level="group").order_by("code")[5]
    z, x, y = tile_over(group, 15)
    (found,) = [g for p, g in features(served.tile(chief, county, "cells", z, x, y).data, z, x, y, "cells")
                if p["code"] == group.code]
    xmin, ymin, xmax, ymax = tile_bounds(z, x, y)
    pad = (xmax - xmin) * 64 / EXTENT  # ST_AsMVTGeom's clip: the tile and its buffer
    cell = mercator(group.geom).intersection(box(xmin - pad, ymin - pad, xmax + pad, ymax + pad))
    assert shapely.hausdorff_distance(found.boundary, cell.boundary) < 0.6 * 2 * 20037508.342789244 / (256 * 2 ** z)


def test_a_township_officials_tiles_hold_only_their_township(client):
    official = login(UserRole.TOWNSHIP_OFFICIAL, "tile-nanma", [TOWN])
    town, neighbour = Area.objects.get(code=TOWN), Area.objects.get(code=NEIGHBOUR)
    z, x, y = tile_over(neighbour, 13)
    for key in ("cells", "villages", "schools"):
        seen = features(served.tile(official, town, key, z, x, y).data, z, x, y, key)
        assert all(p["code"].startswith(TOWN) or key == "schools" for p, _g in seen), key
    assert features(served.tile(official, town, "cells", z, x, y).data, z, x, y, "cells") == []
    schools = features(served.tile(official, town, "schools", z, x, y).data, z, x, y, "schools")
    mine = set(access.visible_schools(official).values_list("code", flat=True))
    assert {p["code"] for p, _g in schools} <= mine
    z, x, y = tile_over(town, 13)
    assert {p["code"][:9] for p, _g in features(served.tile(official, town, "cells", z, x, y).data, z, x, y,
                                                  "cells")} == {TOWN}
    client.force_login(official)
    assert client.get(f"/tiles/{NEIGHBOUR}/cells/{z}/{x}/{y}.pbf").status_code == 404  # not its root
    assert client.get(f"/tiles/{TOWN}/cells/{z}/{x}/{y}.pbf").status_code == 200


def test_aggregate_only_logins_get_the_published_figures_and_no_small_count(client):
    planner = login(UserRole.COUNTY_PLANNER, "tile-planner")
    county = Area.objects.get(code=COUNTY)
    published = access.published_figures(planner)
    shown = {c.code: (c.children, c.off_school) for c in cells(planner, county)}
    seen = 0
    keys = set()
    town = Area.objects.get(code=TOWN)
    for key, z in (("cells", 13), ("village_aggregates", 12), ("township_aggregates", 10)):
        for x, y in tiles_covering(town.geom.extent, z):
            for props, _g in features(served.tile(planner, county, key, z, x, y).data, z, x, y, key):
                keys |= set(props)
                figures = published.cell(props["code"])
                assert (props["children"], props["off"]) == figures, props["code"]
                if key == "cells":
                    assert (props["children"], props["off"]) == shown[props["code"]]
                for name, value in props.items():  # nothing of 1-4 anywhere (classes are k_*, not counts)
                    assert name.startswith("k_") or not (isinstance(value, int) and 1 <= value <= 4), (name, value)
                seen += 1
    assert seen > 100
    assert keys <= {"code", "name", "village", "lb", "lx", "ly", "w", "s", "e", "n", "children", "off", "lv"} | {
        k for k in keys if k.startswith("k_")}
    assert any(v == "<5" for v, _o in shown.values())  # the small counts are there, hidden
    client.force_login(planner)
    assert client.get(f"/tiles/{COUNTY}/cells/13/0/0.pbf").status_code == 200


def test_etags_answer_304_and_a_hand_over_changes_only_the_tile_that_shows_it(client, chief):
    county = Area.objects.get(code=COUNTY)
    gaps = {c.code: c.gaps for c in cells(chief, county)}
    code = next(code for code, g in sorted(gaps.items()) if g and g[0] == Gap.NO_CADRE and Gap.UNTAUGHT not in g)
    group = Area.objects.get(code=code)
    here = tile_over(group, 14)
    far_town = next(t for t in Area.objects.filter(level="township", code__startswith=COUNTY).order_by("code")
                    if t.code != code[:9] and not t.geom.intersects(group.geom.buffer(0.05)))
    there = tile_over(far_town, 14)
    client.force_login(chief)

    def get(key, zxy, etag=None):
        headers = {"HTTP_IF_NONE_MATCH": etag} if etag else {}
        return client.get(f"/tiles/{COUNTY}/{key}/{zxy[0]}/{zxy[1]}/{zxy[2]}.pbf", **headers)

    before = {(k, zxy): get(k, zxy) for k in ("cells", "schools", "roads", "villages") for zxy in (here, there)}
    for (k, zxy), r in before.items():
        assert r.status_code == 200 and r["Content-Type"] == served.CONTENT_TYPE and r["ETag"]
        assert get(k, zxy, r["ETag"]).status_code == 304
    old_cell = {p["code"]: p for p, _g in features(before[("cells", here)].content, *here, "cells")}[code]
    cadre = Person.objects.create(name="新组干部", sex="m")
    hand_over(chief, Role.GROUP_CADRE, group, cadre, date(2026, 9, 1))
    changed = {key for key, r in before.items() if get(*key, r["ETag"]).status_code == 200}
    assert changed == {("cells", here)}
    new_cell = {p["code"]: p for p, _g in features(get("cells", here).content, *here, "cells")}[code]
    assert old_cell["k_status"] != new_cell["k_status"]  # no longer "no responsible cadre"


def test_a_status_change_makes_new_versions_of_its_countys_child_layers_only(chief):
    county = Area.objects.get(code=COUNTY)
    layers = {key: cls(county, chief) for key, cls in TILE_LAYERS.items()}
    before = versions.read(COUNTY)
    elsewhere = versions.read("330782")  # 义乌市: no data here, but its own versions
    last = DataChange.objects.order_by("-id").first().pk
    child = Child.objects.filter(group__code__startswith=COUNTY, status="enrolled").order_by("pk").first()
    Child.objects.filter(pk=child.pk).update(status="suspected")
    rows = list(DataChange.objects.filter(pk__gt=last).values_list("county", "source"))
    assert rows == [(COUNTY, "children")]
    after = versions.read(COUNTY)
    moved = {key for key, layer in layers.items()
             if served.layer_version(layer, before) != served.layer_version(layer, after)}
    assert moved == {"cells", "township_aggregates", "village_aggregates"}  # not the lines, schools, catchments
    assert versions.read("330782") == elsewhere


def test_catchment_tiles_hold_the_catchments_of_the_roots_schools_in_their_colours(chief):
    county = Area.objects.get(code=COUNTY)
    colours = root_school_colors(county, cells(chief, county))
    drawn = {}
    for x, y in tiles_covering(county.geom.extent, 9):
        for props, geom in features(served.tile(chief, county, "catchments", 9, x, y).data, 9, x, y, "catchments"):
            drawn[props["code"]] = props["color"]
            assert geom.area > 0
    serving = School.objects.filter(catchment_assignments__area__code__startswith=COUNTY,
                                    catchment__isnull=False).distinct()
    assert set(drawn) == set(serving.values_list("code", flat=True)) and len(drawn) > 20
    assert drawn == {s.code: colours[s.pk] for s in serving}
    official = login(UserRole.TOWNSHIP_OFFICIAL, "tile-catchments", [TOWN])
    town = Area.objects.get(code=TOWN)
    mine = set()
    for x, y in tiles_covering(county.geom.extent, 9):
        mine |= {p["code"] for p, _g in features(served.tile(official, town, "catchments", 9, x, y).data, 9, x, y,
                                                   "catchments")}
    assert mine and mine <= set(access.visible_schools(official).values_list("code", flat=True))


@pytest.mark.parametrize("path", [
    "/tiles/330783/cells/19/0/0.pbf", "/tiles/330783/cells/99/0/0.pbf", "/tiles/330783/cells/3/8/0.pbf",
    "/tiles/330783/cells/3/0/9999999.pbf", "/tiles/330783/nothing/3/0/0.pbf", "/tiles/330783/cells/3/0/0.png",
    "/tiles/330783/cells/3/0/0%00.pbf", "/tiles/330783%00/cells/3/0/0.pbf", "/tiles/999999/cells/3/0/0.pbf",
    "/tiles/330783/cells/-1/0/0.pbf", "/tiles/330783/cells/3/0/0.pbf/..", "/tiles/330783/cells/3/0/0.pbf?v=%00",
    "/tiles/330783/extent.json?codes=%00",
])
def test_absurd_tiles_are_404_or_400_never_500(client, chief, path):
    client.force_login(chief)
    assert client.get(path).status_code in (400, 404)


def test_extent_of_cells_is_scoped_and_validated(client):
    official = login(UserRole.TOWNSHIP_OFFICIAL, "tile-extent", [TOWN])
    client.force_login(official)
    mine = Area.objects.filter(code__startswith=TOWN, level="group").order_by("code")[:3]
    theirs = Area.objects.filter(code__startswith=NEIGHBOUR, level="group").order_by("code").first()
    r = client.get(f"/tiles/{TOWN}/extent.json", {"codes": ",".join(a.code for a in mine)})
    assert r.status_code == 200
    union = shapely.union_all([wkb.loads(bytes(a.geom.wkb)) for a in mine])
    assert r.json()["bbox"] == pytest.approx(list(union.bounds), abs=1e-5)
    assert client.get(f"/tiles/{TOWN}/extent.json", {"codes": theirs.code}).status_code == 404
    for bad in ("", "1", "abc", "\x00", f"{mine[0].code},", ",".join([mine[0].code] * 201)):
        assert client.get(f"/tiles/{TOWN}/extent.json", {"codes": bad}).status_code == 400
    assert client.get(f"/tiles/{NEIGHBOUR}/extent.json", {"codes": theirs.code}).status_code == 404


def test_the_grid_page_is_a_shell_whose_layers_come_as_tiles(client, chief):
    client.force_login(chief)
    page = client.get(f"/grid/{COUNTY}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f"/tiles/{COUNTY}/cells/{{z}}/{{x}}/{{y}}.pbf?v=" in html
    assert not re.search(r'"code": ?"\d{15}"', html)  # no cell feature embedded (the list has data-code)
    assert html.count('data-code="') == Area.objects.filter(code__startswith=COUNTY, level="group").count()
    assert "Leaflet.VectorGrid.bundled.min.js" in html
    # every indicator of the page's legend has its class in the cells' tiles (the safety net's 应助尽助 too)
    config = json.loads(html[html.index('id="gm-config"'):].split(">", 1)[1].split("</script>", 1)[0])
    county = Area.objects.get(code=COUNTY)
    z, x, y = tile_over(Area.objects.filter(code__startswith=TOWN, level="group").order_by("code")[5], 13)
    props = [p for p, _g in features(served.tile(chief, county, "cells", z, x, y).data, z, x, y, "cells")]
    assert props and "aid_gap" in {i["key"] for i in config["indicators"]}
    for p in props:
        assert {f"k_{i['key']}" for i in config["indicators"]} <= set(p), p["code"]
        assert all(0 <= p[f"k_{i['key']}"] < len(i["classes"]) for i in config["indicators"]), p["code"]
    anonymous = client.__class__()
    assert anonymous.get(f"/tiles/{COUNTY}/cells/13/6830/3400.pbf").status_code == 302  # to the login page


def test_the_pages_kept_cells_follow_writes_and_never_cross_logins(client, chief):
    """The grid page keeps its cells and their list per root, login scope and data version: a hand-over
    shows at once, and a planner's protected list is never an administrator's, nor the reverse."""
    town = Area.objects.get(code=TOWN)
    gaps = {c.code: c.gaps for c in cells(chief, town)}
    code = next(code for code, g in sorted(gaps.items()) if Gap.NO_CADRE in g)
    client.force_login(chief)

    def item(html):
        start = html.index(f'data-code="{code}"')
        return html[start:html.index("</li>", start)]
    assert "gm-gap-no_cadre" in item(client.get(f"/grid/{TOWN}/").content.decode())
    assert "gm-gap-no_cadre" in item(client.get(f"/grid/{TOWN}/").content.decode())  # kept
    hand_over(chief, Role.GROUP_CADRE, Area.objects.get(code=code), Person.objects.create(name="接手干部", sex="f"),
              date(2026, 9, 1))
    assert "gm-gap-no_cadre" not in item(client.get(f"/grid/{TOWN}/").content.decode())
    planner = login(UserRole.COUNTY_PLANNER, "tile-page-planner")

    def cell_list(user):
        client.force_login(user)
        html = client.get(f"/grid/{COUNTY}/").content.decode()
        return html[html.index('id="gm-list"'):html.index("</aside>")]
    protected, exact = cell_list(planner), cell_list(chief)
    assert "&lt;5 /" in protected and "&lt;5" not in exact
    assert cell_list(planner) == protected and cell_list(chief) == exact
