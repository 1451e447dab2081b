"""The grid of an area as its users read it: for every cell (village group) who answers for it, how
many school-age children live there and how many are off school, and its responsibility gaps.

Plain queries over gridmap.access's scoped querysets, testable without HTTP; the grid page, the cell
card, the grid export and the map layer all read from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Any

from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _
from pypinyin import Style, lazy_pinyin

from gridmap import access, numerals
from gridmap.models import (
    KEY_GROUPS,
    Area,
    AreaLevel,
    Case,
    CatchmentAssignment,
    Child,
    ChildStatus,
    Person,
    Responsibility,
    Role,
    School,
)
from gridmap.models.children import at_risk_q

AREA_ROLES = [Role.RESPONSIBLE_SCHOOL, Role.VILLAGE_LEADER, Role.GROUP_CADRE]
UNTAUGHT_FLAG = "有"  # aggregate-only logins see that the gap exists, not how many children it concerns


class Gap(StrEnum):
    """A responsibility gap (DESIGN.md: a cell with no responsible school or official)."""

    NO_SCHOOL = "no_school"
    NO_CADRE = "no_cadre"
    NO_LEADER = "no_leader"  # the cell's village has no responsible township leader
    UNTAUGHT = "untaught"  # at-risk children with no responsible teacher


GAP_LABELS = {
    Gap.NO_SCHOOL: _("no responsible school"),
    Gap.NO_CADRE: _("no responsible cadre"),
    Gap.NO_LEADER: _("village has no responsible leader"),
    Gap.UNTAUGHT: _("at-risk children without a responsible teacher"),
}


@dataclass
class Cell:
    pk: int
    code: str
    name: str
    village_pk: int
    village_code: str
    village_name: str
    township_name: str
    school: SchoolOnGrid | None
    cadre: HeldBy | None
    leader: HeldBy | None
    children: int | str = 0  # "<5" for logins that see aggregates only
    off_school: int | str = 0
    untaught: int | str = 0  # at-risk children without a responsible teacher
    gaps: list[Gap] = field(default_factory=list)

    @property
    def off_school_per_100(self) -> float | None:
        """Suspected + dropped out per 100 school-age children; None when a count is hidden."""
        if not isinstance(self.children, int) or not isinstance(self.off_school, int):
            return None
        return 100 * self.off_school / self.children if self.children else 0.0

    @property
    def gap_labels(self) -> list[str]:
        return [str(GAP_LABELS[g]) for g in self.gaps]

    @property
    def gap_items(self) -> list[tuple[str, str]]:
        return [(g.value, str(GAP_LABELS[g])) for g in self.gaps]

    @property
    def short_name(self) -> str:
        return numerals.short_group_name(self.name)

    @property
    def number(self) -> int | None:
        """The group's number (第三村民小组 → 3), which the sidebar search matches exactly."""
        short = self.short_name
        return int(short[:-1]) if short != self.name and short[:-1].isdigit() else None

    def search_key(self) -> str:
        """What the sidebar search matches: names, codes, pinyin and its initials, "3组" for 第三…"""
        names = [self.name, self.village_name]
        keys = [*names, self.code]
        for name in names:
            keys += pinyin_keys(name)
        if self.short_name != self.name and 1 <= int(self.short_name[:-1]) <= 99:
            keys += [self.short_name, f"{numerals.to_chinese(int(self.short_name[:-1]))}组"]
        return " ".join(keys).lower()


@lru_cache(maxsize=50_000)
def pinyin_keys(name: str) -> tuple[str, str]:
    """A name's pinyin and its initials, once per distinct name (a county's 3,600 cells repeat a few
    hundred names: 第一村民小组…, and each village's name for its groups)."""
    return ("".join(lazy_pinyin(name, errors="ignore")),
            "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore")))


@dataclass(frozen=True)
class HeldBy:
    """Who holds a grid role, as the grid shows them (name and how to reach them). Plain records, not
    model objects: a county's grid is kept between requests and read by every tile, and 4,000 model
    objects made it slow to build, to keep and to read back."""

    pk: int
    name: str
    phone: str = ""
    unit: str = ""
    title: str = ""


@dataclass(frozen=True)
class SchoolOnGrid:
    """A cell's responsible school, as the grid shows it (one record per school, shared by its cells)."""

    pk: int
    name: str


@dataclass(frozen=True)
class Holding:
    person: HeldBy | None
    school: SchoolOnGrid | None
    responsibility_pk: int


def current_holders(area_ids: Iterable[int]) -> dict[tuple[int, str], Holding]:
    """The current holder of each role for each of the given areas (ids).

    Ids, not a queryset: `area_id IN (list) OR IN (subquery)` hid the responsibility index from the
    planner, which then hashed every person and school of the database (105 ms at 10 counties, growing
    with the province); a list of ids is an index scan whatever the database holds. The columns the
    grid shows only: the school's catchment polygon came along with each of a county's 4,000 rows."""
    rows = (Responsibility.objects.filter(end_date__isnull=True, role__in=AREA_ROLES, area__in=list(area_ids))
            .values_list("pk", "area_id", "role", "person_id", "person__name", "person__phone", "person__unit",
                         "person__title", "responsible_school_id", "responsible_school__name"))
    people: dict[int, HeldBy] = {}
    schools: dict[int, SchoolOnGrid] = {}
    out: dict[tuple[int, str], Holding] = {}
    for pk, area_id, role, person_id, name, phone, unit, title, school_id, school_name in rows:
        if area_id is None:
            continue
        person = None if person_id is None else people.setdefault(
            person_id, HeldBy(person_id, name, phone or "", unit or "", title or ""))
        school = None if school_id is None else schools.setdefault(school_id, SchoolOnGrid(school_id, school_name))
        out[(area_id, role)] = Holding(person, school, pk)
    return out


def has_child_teacher() -> Exists:
    return Exists(Responsibility.objects.filter(role=Role.CHILD_TEACHER, end_date__isnull=True,
                                                child=OuterRef("pk")))


def cells(user: Any, root: Area) -> list[Cell]:
    """Every cell under `root` that the login may see, with holders, counts and gaps."""
    scope = access.scope_of(user)
    in_scope = access.visible_cells(user).filter(code__startswith=root.code)
    rows = list(in_scope.order_by("code").values(
        "pk", "code", "name", "parent_id", "parent__code", "parent__name", "parent__parent__name"))
    village_ids = {r["parent_id"] for r in rows}
    holders = current_holders(village_ids | {r["pk"] for r in rows})
    children, off_school = access.cell_counts()
    counted = access.countable_children(user).filter(group__in=in_scope)
    counts: dict[int, dict[str, Any]] = {
        c["group_id"]: dict(c) for c in counted.values("group_id").annotate(children=children, off_school=off_school)}
    # The at-risk children without a teacher, counted apart: asking every child of a county whether
    # it has a teacher (an EXISTS per child, inside the counts above) was most of a county's cells
    # on the province's data set; only the few at risk need asking. (Inside the count's FILTER, after
    # the at-risk test, it cost the counts their parallel plan: 117 ms against 41 + 36.)
    for row in (counted.filter(at_risk_q()).exclude(has_child_teacher()).values("group_id")
                .annotate(untaught=Count("pk"))):
        counts.setdefault(row["group_id"], {})["untaught"] = row["untaught"]
    published = access.published_figures(user)  # None: exact counts for this login
    out = []
    for r in rows:
        def holder(area_id: int, role: Role) -> Holding | None:
            return holders.get((area_id, role))
        school = holder(r["pk"], Role.RESPONSIBLE_SCHOOL) or holder(r["parent_id"], Role.RESPONSIBLE_SCHOOL)
        cadre, leader = holder(r["pk"], Role.GROUP_CADRE), holder(r["parent_id"], Role.VILLAGE_LEADER)
        count: Any = counts.get(r["pk"], {})
        cell = Cell(
            pk=r["pk"], code=r["code"], name=r["name"], village_pk=r["parent_id"],
            village_code=r["parent__code"], village_name=r["parent__name"],
            township_name=r["parent__parent__name"],
            school=school.school if school else None,
            cadre=cadre.person if cadre else None, leader=leader.person if leader else None,
            children=access.suppress(count.get("children", 0), scope),
            off_school=access.suppress(count.get("off_school", 0), scope),
            untaught=access.suppress(count.get("untaught", 0), scope))
        shown = published.cell(cell.code) if published is not None else None
        if shown is not None:  # aggregate-only: the month's protected figures; the gap as yes/no
            cell.children, cell.off_school = shown
            cell.untaught = UNTAUGHT_FLAG if count.get("untaught") else 0
        cell.gaps = [gap for gap, missing in [
            (Gap.NO_SCHOOL, cell.school is None), (Gap.NO_CADRE, cell.cadre is None),
            (Gap.NO_LEADER, cell.leader is None), (Gap.UNTAUGHT, cell.untaught != 0)] if missing]
        out.append(cell)
    return out


def gap_summary(grid: list[Cell]) -> list[tuple[Gap, str, int]]:
    """How many cells (for villages: villages) have each gap, in the order of GAP_LABELS."""
    out = []
    for gap, label in GAP_LABELS.items():
        hit = [c for c in grid if gap in c.gaps]
        n = len({c.village_pk for c in hit}) if gap == Gap.NO_LEADER else len(hit)
        out.append((gap, str(label), n))
    return out


@dataclass
class CardChild:
    child: Child
    teacher: str | None
    at_risk: bool
    candidates: str = ""  # the <option>s of the teachers this login may make responsible (card forms)


@dataclass
class CellCard:
    cell: Cell
    area: Area
    catchment: list[tuple[str, School]]
    principal: Person | None
    by_status: list[tuple[str, int | str]]
    by_key_group: list[tuple[str, int | str]]
    children: list[CardChild] | None  # None: this login sees aggregates only
    cases: list[Any] | None  # Case rows annotated with steps_done


def card(user: Any, code: str) -> CellCard:
    """The card of one cell; Area.DoesNotExist if the login may not see it."""
    area = access.visible_cells(user).select_related("parent__parent").get(code=code)
    scope = access.scope_of(user)
    (cell,) = cells(user, area)  # a group is the root of its own one-cell grid
    catchment = [(str(a.get_stage_display()), a.school) for a in
                 CatchmentAssignment.objects.filter(area=area).select_related("school").order_by("stage")]
    principal = None
    if cell.school is not None:
        row = (Responsibility.objects.filter(role=Role.PRINCIPAL, school_id=cell.school.pk, end_date__isnull=True)
               .select_related("person").first())
        principal = row.person if row else None
    children = access.countable_children(user).filter(group=area)
    by_status: list[tuple[str, int | str]] = []
    by_key_group: list[tuple[str, int | str]] = []
    listed = cases = None
    if scope.individual_children:  # aggregate-only logins read the cell's two protected figures only
        status_counts = dict(children.values_list("status").annotate(n=Count("pk")))
        by_status = [(str(label), status_counts.get(value, 0))
                     for value, label in ChildStatus.choices if status_counts.get(value)]
        key_counts = children.aggregate(**{f: Count("pk", filter=Q(**{f: True})) for f in KEY_GROUPS})
        by_key_group = [(str(KEY_GROUPS[f]), n) for f, n in key_counts.items() if n]
        teacher = Responsibility.objects.filter(role=Role.CHILD_TEACHER, end_date__isnull=True,
                                                child=OuterRef("pk")).values("person__name")[:1]
        rows = children.annotate(
            teacher_name=Subquery(teacher),
            is_at_risk=ExpressionWrapper(at_risk_q(), output_field=BooleanField()),
        ).select_related("school_class__school", "household").order_by("household__number", "name").defer(
            # geometry the card does not draw: a school's catchment polygon was parsed once per child row
            "home", "household__location", "school_class__school__location", "school_class__school__catchment")
        listed = [CardChild(c, c.teacher_name, c.is_at_risk) for c in rows]
        cases = list(Case.objects.filter(child__in=children).select_related("child")
                     .annotate(steps_done=Count("steps")).order_by("-opened_on"))
    return CellCard(cell, area, catchment, principal, by_status, by_key_group, listed, cases)


def grid_roots(user: Any) -> QuerySet[Area]:
    """Areas whose grid page this login may open: those it sees, above the cells themselves."""
    return access.visible_areas(user).exclude(level=AreaLevel.GROUP)
