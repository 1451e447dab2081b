"""Printed map-sheet atlases: pages per sheet, household numbers and codes in the PDF text, the scale
bar against the map's rendering transform, no children's names for a login that may not see them,
the background job and its scoping. PNGs of a sheet go to var/screenshots/ to be looked at."""

import subprocess
from pathlib import Path

import pytest
import shapely
from django.conf import settings
from django.contrib.auth import get_user_model

from atlas import content, draw, plan, render
from gridmap.models import Area, AtlasJob, AuditEvent, Child, Household, School, UserRole
from tests.test_access import A, B, login

pytestmark = pytest.mark.django_db


def pdf_text(path, first=None, last=None):
    args = ["pdftotext", "-layout"] + (["-f", str(first), "-l", str(last)] if first else []) + [str(path), "-"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def urls_in(path):
    """The PDF's text in reading order with the line breaks inside wrapped addresses removed."""
    raw = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return "".join(raw.split())


def pages(path):
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


@pytest.fixture
def village():
    """The village of township A with the most households whose groups' checklists each fit one page."""
    best, most = None, 0
    for v in Area.objects.filter(code__startswith=A, level="village").order_by("code"):
        groups = Area.objects.filter(parent=v)
        sizes = [Household.objects.filter(group=g).count() + Child.objects.filter(group=g).count() for g in groups]
        households = Household.objects.filter(group__parent=v).count()
        if groups.count() >= 2 and max(sizes) <= 30 and households > most:
            best, most = v, households
    assert best is not None and most >= 10, "the test county has no village to print"
    return best


@pytest.fixture
def chief(db):
    return get_user_model().objects.create_superuser("atlas-chief", "", "pw-long-enough-1")


def test_one_map_page_and_one_checklist_page_per_cell_with_every_household(village, chief, tmp_path):
    out = tmp_path / "atlas.pdf"
    result = render.build(chief, village, "group", "A4", out)
    groups = list(Area.objects.filter(parent=village).order_by("code"))
    assert result.sheets == len(groups) and pages(out) == result.pages
    front = result.first_pages[1] - 1
    assert result.pages == front + 2 * len(groups)  # cover, index, contents; then map + checklist each
    whole = pdf_text(out)
    for number, group in enumerate(groups, start=1):
        first = result.first_pages[number]
        map_page, checklist = pdf_text(out, first, first), pdf_text(out, first + 1, first + 1)
        assert group.code in map_page and village.code in map_page and "入户摸排图" in map_page
        assert "入户摸排核查表" in checklist and group.code in checklist
        for household in Household.objects.filter(group=group):
            assert household.number in checklist, (group.code, household.number)
        assert f"{number} " in whole  # the contents list the sheet
    shots = Path(settings.BASE_DIR) / "var" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    first = result.first_pages[1]
    subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", str(first), "-l", str(first + 1), str(out),
                    str(shots / "atlas-sheet")], check=True)
    assert len(list(shots.glob("atlas-sheet-*.png"))) >= 2


def test_the_scale_bar_matches_the_maps_metres_per_millimetre(village, chief):
    for spec in plan.plan(chief, village, "group", "A4"):
        drawn = draw.sheet_map(spec, content.map_data(spec, chief), keep_figure=True)
        fig = drawn.figure
        ax = fig.axes[0]
        # the figure is the map frame, in millimetres, as the page embeds it
        assert fig.get_size_inches() * 25.4 == pytest.approx(spec.frame_mm, abs=1e-6)
        x, y = drawn.bar_start
        (px0, _), (px1, _) = ax.transData.transform([(x, y), (x + drawn.bar_metres, y)])
        bar_mm = (px1 - px0) / fig.dpi * 25.4
        stated = float(drawn.bar_label.split()[0]) * (1000 if "千米" in drawn.bar_label else 1)
        assert stated / bar_mm == pytest.approx(spec.scale / 1000, rel=0.02)
        # and independently of the bar: the whole frame width spans the extent at the stated scale
        (left, _), (right, _) = ax.transData.transform([(spec.extent[0], y), (spec.extent[2], y)])
        assert (spec.extent[2] - spec.extent[0]) / ((right - left) / fig.dpi * 25.4) == pytest.approx(
            spec.scale / 1000, rel=0.02)


def test_sheets_fit_their_cell_and_pick_the_orientation(village, chief):
    for spec in plan.plan(chief, village, "group", "A4"):
        x0, y0, x1, y1 = spec.extent
        assert shapely.box(x0, y0, x1, y1).contains(spec.geom)
        w, h = spec.frame_mm
        assert (x1 - x0) / w == pytest.approx(spec.scale / 1000) and (y1 - y0) / h == pytest.approx(spec.scale / 1000)
    tall, wide = shapely.box(0, 0, 300, 1000), shapely.box(0, 0, 1000, 300)
    assert plan.fit(tall, "A4")[0] == "portrait" and plan.fit(wide, "A4")[0] == "landscape"
    specs = plan.plan(chief, village, "group", "A4", same_scale=True)
    assert len({s.scale for s in specs}) == 1
    assert specs[0].scale == max(s.scale for s in plan.plan(chief, village, "group", "A4"))


def test_villages_and_catchments_make_one_sheet_each(chief):
    township = Area.objects.get(code=A)
    villages = plan.plan(chief, township, "village", "A3")
    assert [s.code for s in villages] == list(Area.objects.filter(parent=township).order_by("code")
                                              .values_list("code", flat=True))
    catchments = plan.plan(chief, township, "catchment", "A4")
    serving = School.objects.filter(catchment__isnull=False, catchment_assignments__area__code__startswith=A
                                    ).exclude(status="closed").distinct()
    assert {s.code for s in catchments} == set(serving.values_list("code", flat=True))


def test_a_login_that_may_not_see_children_gets_household_numbers_only(village, tmp_path):
    planner = login(UserRole.COUNTY_PLANNER)
    user = get_user_model().objects.get(pk=planner.session["_auth_user_id"])
    out = tmp_path / "planner.pdf"
    render.build(user, village, "group", "A4", out)
    text = pdf_text(out)
    names = set(Child.objects.filter(group__parent=village).values_list("name", flat=True))
    heads = set(Household.objects.filter(group__parent=village).values_list("head_name", flat=True))
    assert names and not [n for n in names if n in text]
    assert not [h for h in heads if h in text]
    for number in Household.objects.filter(group__parent=village).values_list("number", flat=True):
        assert number in text


def test_the_page_runs_a_job_and_only_its_owner_sees_it(village, settings):
    settings.GRIDMAP_ATLAS_RUNNER = "inline"
    official = login(UserRole.TOWNSHIP_OFFICIAL, [A])
    page = official.get(f"/atlas/{village.code}/")
    assert page.status_code == 200 and 'data-form="atlas"' in page.content.decode()
    response = official.post(f"/atlas/{village.code}/", {"per": "group", "paper": "A4"})
    job = AtlasJob.objects.get(area=village)
    assert response.status_code == 302 and job.status == "done" and job.done == job.total > 0
    status = official.get(f"/atlas/jobs/{job.pk}/status/").json()
    assert status["percent"] == 100 and status["status"] == "done"
    pdf = official.get(f"/atlas/jobs/{job.pk}/download/")
    assert pdf["Content-Type"] == "application/pdf" and b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="export", summary__contains="入户摸排图册").count() == 2
    other = login(UserRole.TOWNSHIP_OFFICIAL, [A])
    assert other.get(f"/atlas/jobs/{job.pk}/status/").status_code == 404
    assert other.get(f"/atlas/jobs/{job.pk}/download/").status_code == 404
    assert official.get(f"/atlas/{B}/").status_code == 404
    assert official.post(f"/atlas/{B}/", {"per": "group", "paper": "A4"}).status_code == 404
    assert official.get("/atlas/330783/").status_code == 404
    Path(job.file).unlink()


def test_the_command_prints_an_atlas(village, chief, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    out, printed = tmp_path / "cmd.pdf", StringIO()
    call_command("print_atlas", area=village.code, per="village", paper="A3", out=out, user=chief.username,
                 stdout=printed, stderr=StringIO())
    assert "1 幅" in printed.getvalue() and village.code in pdf_text(out)
    text = pdf_text(out, 1, 1)
    assert "A3" in text and village.name in text


def test_qr_codes_point_where_the_page_was_opened_and_the_command_warns_on_loopback(village, chief, tmp_path,
                                                                                     settings):
    from io import StringIO

    from django.core.management import call_command

    settings.GRIDMAP_ATLAS_RUNNER, settings.GRIDMAP_BASE_URL = "inline", ""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "gridmap.example.cn"]
    official = login(UserRole.TOWNSHIP_OFFICIAL, [A])
    official.post(f"/atlas/{village.code}/", {"per": "village", "paper": "A4"}, HTTP_HOST="gridmap.example.cn")
    job = AtlasJob.objects.get(area=village, per="village")
    assert job.base_url == "http://gridmap.example.cn"
    text = urls_in(job.file)
    assert f"http://gridmap.example.cn/grid/{village.code}/" in text and "127.0.0.1" not in text
    Path(job.file).unlink()
    warned = StringIO()
    call_command("print_atlas", area=village.code, per="village", out=tmp_path / "a.pdf", user=chief.username,
                 stdout=StringIO(), stderr=warned)
    assert "127.0.0.1:8000" in warned.getvalue() and "--base-url" in warned.getvalue()
    quiet = StringIO()
    call_command("print_atlas", area=village.code, per="village", out=tmp_path / "b.pdf", user=chief.username,
                 base_url="http://192.168.1.10:8000/", stdout=StringIO(), stderr=quiet)
    assert "警告" not in quiet.getvalue()
    assert f"http://192.168.1.10:8000/grid/{village.code}/" in urls_in(tmp_path / "b.pdf")
    assert render.is_loopback("http://localhost:8000") and render.is_loopback("http://[::1]/")
    assert not render.is_loopback("http://gridmap.example.cn")
