from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import caches
from django.core.exceptions import BadRequest, PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridmap import access, audit, exports, grid, ledgers, responsibilities
from gridmap.forms import (
    CatchmentForm,
    LedgerFilterForm,
    PersonForm,
    ResponsibleSchoolForm,
    TeacherForm,
    shown_with,
)
from gridmap.models import Area, AreaLevel, AuditAction, Child, Person, Role, School
from layers import served, versions
from layers.maps import RenderedMap, grid_map, render_unsigned, with_request_nonce
from layers.tile_layers import root_cells


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The grid of the login's own area: the county for the county, a township for its officials."""
    root = access.home_area(request.user)
    if root is None:
        return render(request, "gridmap/no_area.html", {"no_scope": access.scope_of(request.user).empty,
                                                        "county_missing": not Area.objects.exists()})
    return redirect("grid", code=root.code)


@dataclass(frozen=True)
class KeptSidebar:
    """The grid page's sidebar as kept between requests (layers.served.page_key)."""
    cell_count: int
    gaps: list[tuple[grid.Gap, str, int]]
    codes: frozenset[str]  # the cells a ?cell= may open
    cell_list: str  # gridmap/grid_list.html rendered


@login_required
def grid_page(request: HttpRequest, code: str) -> HttpResponse:
    area = get_object_or_404(access.visible_areas(request.user), code=code)
    if area.level == AreaLevel.GROUP:  # a cell: its village's grid with the card open
        return HttpResponseRedirect(f"{reverse('grid', args=[area.code[:12]])}?cell={area.code}")
    # What the sidebar shows (the cells' number, gaps and list) is kept in the tile cache (layers.served)
    # until a write changes the cells; not the cells themselves: unpickling the county's 3,600 cells
    # with their holders was 70 % of its page. The heavy map layers come as vector tiles.
    found = versions.read(area.code[:6])
    key = served.page_key(request.user, area, found)
    kept: KeptSidebar | None = caches[served.CACHE].get(key)
    cells: list[grid.Cell] | None = None
    if kept is None:
        cells = root_cells(request.user, area, found)
        kept = KeptSidebar(len(cells), grid.gap_summary(cells), frozenset(c.code for c in cells),
                           render_to_string("gridmap/grid_list.html", {"villages": _by_village(cells)}))
        caches[served.CACHE].set(key, kept, 86400)
    # The map itself (folium's HTML, ~60 % of the page's time) is kept too, under a key that holds every
    # source of the county: its layers draw more than the cells (aid, transfers, home teaching).
    map_key = served.part_key("grid-map", request.user, found, area.code)
    drawn: tuple[RenderedMap, dict[str, Any]] | None = caches[served.PAGES].get(map_key)
    if drawn is None:
        cells = cells if cells is not None else root_cells(request.user, area, found)
        fmap = grid_map(area, request.user, cells, tiled=True, found=found)
        drawn = (render_unsigned(fmap.map), fmap.config)
        caches[served.PAGES].set(map_key, drawn, 86400)
    rendered, config = drawn
    opened = request.GET.get("cell", "")
    return render(request, "gridmap/grid.html", {
        "area": area, "cell_count": kept.cell_count, "gaps": kept.gaps, "cell_list": mark_safe(kept.cell_list),  # noqa: S308
        "map": with_request_nonce(rendered), "config": config,
        "trail": list(access.visible_areas(request.user).ancestors_of(area).order_by("code")),
        "open_cell": opened if opened in kept.codes else "",
    })


def _by_village(cells: list[grid.Cell]) -> list[tuple[str, str, list[grid.Cell]]]:
    out: dict[str, tuple[str, str, list[grid.Cell]]] = {}
    for cell in cells:
        out.setdefault(cell.village_code, (cell.village_code, cell.village_name, []))[2].append(cell)
    return list(out.values())


@dataclass(frozen=True)
class KeptCard:
    """A cell's rendered card as kept between requests (layers.served.part_key: scope, role, every
    source of the county, day, language), with what the read's audit record needs."""
    title: str
    body: str  # with layers.served.csrf_placeholder() where the forms' token goes
    lists_children: bool
    area_pk: int
    summary: str


_AREA_CODE = re.compile(r"[0-9]{6,15}")


@login_required
def cell_card(request: HttpRequest, code: str) -> HttpResponse:
    if not _AREA_CODE.fullmatch(code):
        raise Http404
    fragment = request.headers.get("X-Requested-With") == "fetch"
    base = "gridmap/fragment.html" if fragment else "base.html"
    root = request.GET.get("root", "")
    root = root if _AREA_CODE.fullmatch(root) else ""  # only echoed into the forms; assign() checks it
    key = served.part_key("card", request.user, versions.read(code[:6]), code, root, base)
    kept: KeptCard | None = caches[served.PAGES].get(key)
    if kept is None:
        try:
            card = grid.card(request.user, code)
        except Area.DoesNotExist:
            raise Http404 from None
        body = render_to_string("gridmap/_cell_card_body.html", {
            "card": card, "cell": card.cell, "base": base, "forms": _card_forms(request.user, card), "root": root,
            "csrf_token": served.csrf_placeholder()})
        kept = KeptCard(f"{card.cell.village_name}{card.cell.name}", body, card.children is not None,
                        card.area.pk, f"网格卡片：{card.cell.village_name}{card.area.name}（{code}）儿童名单")
        caches[served.PAGES].set(key, kept, 86400)
    if kept.lists_children:  # every read of the children's list is audited, kept or built
        audit.record(request, AuditAction.LIST, Area(pk=kept.area_pk, code=code), summary=kept.summary)
    return render(request, "gridmap/cell_card.html", {
        "title": kept.title, "base": base, "body": mark_safe(served.with_csrf(kept.body, request)),  # noqa: S308
    })


def _card_forms(user: Any, card: grid.CellCard) -> dict[str, Any]:
    """The hand-over forms this login may use on this card (none for read-only roles)."""
    village, group = village_of(card.area), card.area
    forms: dict[str, Any] = {}
    # The card only shows these forms (assign() binds its own against the querysets): their options are
    # read once as (pk, label) pairs, not as ~700 model objects per list, and shared where two forms offer
    # the same list (the village leader's and the group cadre's: the township's officials).
    listed: dict[str, list[tuple[Any, str]]] = {}

    def options(queryset: Any, label: Any) -> list[tuple[Any, str]]:
        sql = str(queryset.query)
        if sql not in listed:
            listed[sql] = [(row[0], label(*row[1:])) for row in queryset]
        return listed[sql]

    def people(area: Area) -> list[tuple[Any, str]]:
        return options(access.candidate_people(user, area).values_list("pk", "name", "unit"),
                       lambda name, unit: f"{name}（{unit}）" if unit else name)

    def schools(area: Area) -> list[tuple[Any, str]]:
        return options(access.candidate_schools(user, area).values_list("pk", "name"), str)

    if access.may_assign(user, Role.RESPONSIBLE_SCHOOL, village):
        forms["school"] = shown_with(ResponsibleSchoolForm(schools=School.objects.none()), "school", schools(village))
    if access.may_assign(user, Role.VILLAGE_LEADER, village):
        forms["leader"] = shown_with(PersonForm(people=Person.objects.none(), prefix="leader"), "person",
                                     people(village))
    if access.may_assign(user, Role.GROUP_CADRE, group):
        forms["cadre"] = shown_with(PersonForm(people=Person.objects.none(), prefix="cadre"), "person", people(group))
    if access.may_assign(user, access.CATCHMENT, group):
        forms["catchment"] = shown_with(CatchmentForm(schools=School.objects.none()), "school", schools(group))
    if card.children and access.may_assign(user, Role.CHILD_TEACHER, card.children[0].child):
        # One small form per at-risk child; candidates depend on the child's school only.
        # The options are written once per school (a township's teachers, for every at-risk row).
        by_school: dict[int | None, str] = {}
        forms["teacher"] = TeacherForm(teachers=Person.objects.none())  # for its date field
        for row in card.children:
            if row.at_risk:
                school = row.child.school_class.school_id if row.child.school_class else None
                if school not in by_school:
                    by_school[school] = format_html_join(
                        "", '<option value="{}">{}（{}）</option>',
                        ((pk, name, school_name or "") for pk, name, school_name in
                         access.candidate_teachers(user, row.child).values_list("pk", "name", "school__name")))
                row.candidates = by_school[school]
    titles = {"school": _("Change the village's responsible school"), "leader": _("Change the village leader"),
              "cadre": _("Change the group cadre"), "catchment": _("Move this group to another school's catchment")}
    forms["edits"] = [(what, title, forms[what]) for what, title in titles.items() if what in forms]
    return forms


@login_required
@require_POST
def assign(request: HttpRequest, code: str, what: str) -> HttpResponse:
    """Hand over a responsibility of the cell `code` (or of its village, or of one of its children)."""
    group = get_object_or_404(access.visible_cells(request.user).select_related("parent"), code=code)
    village, user = village_of(group), request.user
    handlers = {"school": _assign_school, "leader": _assign_person, "cadre": _assign_person,
                "catchment": _assign_catchment, "teacher": _assign_teacher}
    if what not in handlers:
        raise Http404
    try:
        done = handlers[what](request, what, group, village)
    except PermissionDenied:
        audit.record(request, AuditAction.DENIED, group, summary=f"无权修改：{what} {code}")
        raise
    if done:
        messages.success(request, done)
    root = request.POST.get("root", "")
    if not grid.grid_roots(user).filter(code=root).exists():
        root = village.code
    return HttpResponseRedirect(f"{reverse('grid', args=[root])}?cell={code}")


def village_of(group: Area) -> Area:
    assert group.parent is not None  # the schema gives every group its village
    return group.parent


def form_errors(request: HttpRequest, form: Any) -> str:
    text = "；".join(str(e) for errors in form.errors.values() for e in errors)
    messages.error(request, _("Not saved: %(errors)s") % {"errors": text})
    return ""


def _assign_school(request: HttpRequest, what: str, group: Area, village: Area) -> str:
    user = request.user
    if not access.may_assign(user, Role.RESPONSIBLE_SCHOOL, village):
        raise PermissionDenied
    form = ResponsibleSchoolForm(request.POST, schools=access.candidate_schools(user, village))
    if not form.is_valid():
        return form_errors(request, form)
    row, moved = responsibilities.assign_responsible_school(
        user, village, form.cleaned_data["school"], form.cleaned_data["start_date"],
        form.cleaned_data["redraw_catchment"], request)
    return _("%(village)s: responsible school is now %(school)s; %(n)s catchment assignments changed.") % {
        "village": village.name, "school": form.cleaned_data["school"].name, "n": moved}


def _assign_person(request: HttpRequest, what: str, group: Area, village: Area) -> str:
    user = request.user
    role, target = (Role.VILLAGE_LEADER, village) if what == "leader" else (Role.GROUP_CADRE, group)
    if not access.may_assign(user, role, target):
        raise PermissionDenied
    form = PersonForm(request.POST, people=access.candidate_people(user, target), prefix=what)
    if not form.is_valid():
        return form_errors(request, form)
    data = form.cleaned_data
    person = data["person"] or Person.objects.create(
        name=data["new_name"], sex=data["new_sex"], phone=data["new_phone"], unit=data["new_unit"],
        title=str(Role(role).label))
    responsibilities.hand_over(user, role, target, person, data["start_date"], request)
    return _("%(area)s: %(role)s is now %(person)s.") % {
        "area": target.name, "role": Role(role).label, "person": person.name}


def _assign_catchment(request: HttpRequest, what: str, group: Area, village: Area) -> str:
    user = request.user
    if not access.may_assign(user, access.CATCHMENT, group):
        raise PermissionDenied
    form = CatchmentForm(request.POST, schools=access.candidate_schools(user, group))
    if not form.is_valid():
        return form_errors(request, form)
    school = form.cleaned_data["school"]
    responsibilities.assign_catchment(user, [group], school, [form.cleaned_data["stage"]], request)
    return _("%(group)s is now in the catchment of %(school)s.") % {"group": group.name, "school": school.name}


def _assign_teacher(request: HttpRequest, what: str, group: Area, village: Area) -> str:
    user = request.user
    try:
        child = access.visible_children(user).select_related("group").get(
            pk=int(request.POST.get("child", "0")), group=group)
    except (ValueError, Child.DoesNotExist):
        raise Http404 from None
    if not access.may_assign(user, Role.CHILD_TEACHER, child):
        raise PermissionDenied
    form = TeacherForm(request.POST, teachers=access.candidate_teachers(user, child))
    if not form.is_valid():
        return form_errors(request, form)
    responsibilities.hand_over(user, Role.CHILD_TEACHER, child, form.cleaned_data["person"],
                               form.cleaned_data["start_date"], request)
    return _("%(child)s: responsible teacher is now %(teacher)s.") % {
        "child": child.name, "teacher": form.cleaned_data["person"].name}


@login_required
def grid_export(request: HttpRequest, code: str, fmt: str) -> HttpResponseBase:
    """The grid responsibility table (网格包保责任表) of an area, as Excel or CSV."""
    area = get_object_or_404(grid.grid_roots(request.user), code=code)
    cells = grid.cells(request.user, area)
    audit.record(request, AuditAction.EXPORT, area, summary=f"导出网格责任表 {area.name}（{code}）.{fmt}")
    return exports.grid_table(area, cells, fmt)


@login_required
def ledger_page(request: HttpRequest, code: str, which: str) -> HttpResponseBase:
    """One of the three ledgers for an area in scope, filtered; ?format=xlsx|csv exports it."""
    area = get_object_or_404(grid.grid_roots(request.user), code=code)
    try:
        kind = ledgers.Ledger(which)
    except ValueError:
        raise Http404 from None
    if not access.scope_of(request.user).individual_children:
        audit.record(request, AuditAction.DENIED, area, summary=f"台账明细（仅可查看汇总）{code}")
        raise PermissionDenied(_("Your role sees children in aggregate only."))
    form = LedgerFilterForm(request.GET or None, area=area, user=request.user)
    if form.is_bound and not form.is_valid():
        raise BadRequest(_("Filter not understood: %(errors)s") % {"errors": "；".join(
            f"{form.fields[name].label if name in form.fields else name}：{' '.join(str(e) for e in errors)}"
            for name, errors in form.errors.items())})
    filters = form.cleaned_data if form.is_bound else {}
    on = filters.get("on") or timezone.localdate()
    children = access.visible_children(request.user).filter(group__code__startswith=area.code)
    rows = ledgers.filtered(children, kind, on, status=filters.get("status", ""),
                            key_group=filters.get("key_group", ""), grade=filters.get("grade"),
                            age=filters.get("age"), school=filters.get("school", ""))
    title = f"{area.name}{ledgers.LEDGER_TITLES[kind]}"
    fmt = request.GET.get("format")
    if fmt in ("xlsx", "csv"):
        audit.record(request, AuditAction.EXPORT, area, summary=f"导出{title}（{request.get_full_path()}）"[:300])
        return exports.table_response(title, ledgers.LEDGER_HEADERS, ledgers.ledger_rows(rows, on), fmt,
                                      f"{title}_{on:%Y%m%d}", ledgers.LEDGER_WIDTHS,
                                      note=f"截至 {on:%Y-%m-%d}；身份证号已脱敏")
    page = Paginator(ledgers.ledger_values(rows), 100).get_page(request.GET.get("page"))
    row = ledgers.LedgerRows(on)
    audit.record(request, AuditAction.LIST, area, summary=f"{title} 第{page.number}页")
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "gridmap/ledger.html", {
        "area": area, "kind": kind, "title": title, "form": form, "page": page, "on": on,
        "ledgers": [(k, ledgers.LEDGER_TITLES[k]) for k in ledgers.Ledger], "query": query.urlencode(),
        "rows": _ledger_rows_html([(values[0], row(values)) for values in page.object_list]),
    })


def _ledger_rows_html(rows: list[tuple[int, list[Any]]]) -> str:
    """The ledger's table rows, every value escaped, the name linking to the child's page. Written
    here rather than by the template's loops: 100 rows × 14 cells of template nodes were half of
    the page's server time, and the ledger is among the pages every official opens all day."""
    if not rows:
        return ""
    marker = 987654321987
    link = reverse("child", args=[marker]).split(str(marker))
    out = []
    for pk, values in rows:
        cells: list[str] = [escape(value) for value in values]
        cells[3] = f'<a href="{link[0]}{int(pk)}{link[1]}">{cells[3]}</a>'
        out.append(f'<tr data-child="{int(pk)}">' + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    return mark_safe("\n    ".join(out))  # noqa: S308 - every value escaped above
