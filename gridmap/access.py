"""Area- and role-scoped access: the one place that decides what a login may see.

Every view, API, export and map layer takes its querysets from here (`visible_areas`,
`visible_schools`, `visible_children`, `child_counts`), never from `Model.objects` directly, so that a
township official cannot reach another township's children by any URL, id, code, bbox or search.

- county administrator (and superusers): everything;
- county planner, inspector (督学): all areas and schools, children only as counts, 1-4 shown "<5";
- township official, village cadre: the areas in their scope and everything below them;
- school staff: their schools, the children on their rolls or taught at home by them or in the
  dropout cases charged to their schools (a dropout has left the roll, yet the school persuades
  them back), and the village groups of their catchments.
A login without a profile sees nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import reduce
from operator import or_
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, Model, Q, QuerySet

from gridmap import models as m
from gridmap.models import (
    Area,
    AreaQuerySet,
    Child,
    ChildStatus,
    Person,
    Responsibility,
    Role,
    School,
    SchoolStatus,
    UserRole,
)
from gridmap.models.areas import CODE_LENGTH, AreaLevel

SMALL_COUNT = 5  # counts below this are shown as "<5" to those who may not see individual children
ALL_ROLES_WITH_EVERYTHING = {UserRole.COUNTY_ADMIN, UserRole.COUNTY_PLANNER, UserRole.INSPECTOR}


@dataclass(frozen=True)
class Scope:
    role: str | None
    everywhere: bool  # all areas and schools
    area_codes: tuple[str, ...]  # roots: each with every area below it
    school_ids: tuple[int, ...]
    individual_children: bool  # may list and open children's records
    can_edit: bool

    @property
    def empty(self) -> bool:
        return not self.everywhere and not self.area_codes and not self.school_ids


NOTHING = Scope(None, False, (), (), False, False)


def scope_of(user: Any) -> Scope:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOTHING
    cached: Scope | None = getattr(user, "_gridmap_scope", None)
    if cached is not None:
        return cached
    scope = _compute(user)
    user._gridmap_scope = scope
    return scope


def _compute(user: Any) -> Scope:
    if user.is_superuser:
        return Scope(UserRole.COUNTY_ADMIN, True, (), (), True, True)
    # The role and the areas in one query (every request of every login asks): the profile, then its
    # areas, then its schools were three, and only school staff use the schools.
    rows = list(m.Profile.objects.filter(user_id=user.pk).values_list("role", "areas__code"))
    if not rows:
        return NOTHING
    role = UserRole(rows[0][0])
    if role in ALL_ROLES_WITH_EVERYTHING:
        return Scope(role, True, (), (), role == UserRole.COUNTY_ADMIN, role == UserRole.COUNTY_ADMIN)
    if role == UserRole.SCHOOL_STAFF:
        schools = tuple(m.Profile.schools.through.objects.filter(profile__user_id=user.pk)
                        .order_by("school__code").values_list("school_id", flat=True))  # School's own order
        groups = Area.objects.filter(catchment_assignments__school__in=schools).values_list("code", flat=True)
        return Scope(role, False, tuple(sorted(set(groups))), schools, True, True)
    return Scope(role, False, tuple(sorted({code for _role, code in rows if code is not None})), (), True, True)


def _below(codes: Iterable[str], field: str) -> Q:
    return reduce(or_, (Q(**{f"{field}__startswith": c}) for c in codes), Q(pk__in=[]))


def visible_areas(user: Any) -> AreaQuerySet:
    """The areas in scope with everything below them, and their ancestors (boundaries for context)."""
    scope = scope_of(user)
    if scope.everywhere:
        return Area.objects.all()
    ancestors = {c[:n] for c in scope.area_codes for n in CODE_LENGTH.values() if n < len(c)}
    return Area.objects.filter(_below(scope.area_codes, "code") | Q(code__in=ancestors))


def visible_cells(user: Any) -> AreaQuerySet:
    """Village groups (grid cells) in scope."""
    scope = scope_of(user)
    cells = Area.objects.at_level(AreaLevel.GROUP)
    return cells if scope.everywhere else cells.filter(_below(scope.area_codes, "code"))


def visible_schools(user: Any) -> QuerySet[School]:
    scope = scope_of(user)
    if scope.everywhere:
        return School.objects.all()
    if scope.school_ids:
        return School.objects.filter(pk__in=scope.school_ids)
    townships = [c for c in scope.area_codes if len(c) == CODE_LENGTH[AreaLevel.TOWNSHIP]]
    smaller = [c for c in scope.area_codes if len(c) > CODE_LENGTH[AreaLevel.TOWNSHIP]]
    county = [c for c in scope.area_codes if len(c) == CODE_LENGTH[AreaLevel.COUNTY]]
    q = Q(township__code__in=townships) | _below(county, "township__code")
    if smaller:  # a village's schools: those serving its groups
        q |= Q(pk__in=School.objects.filter(_below(smaller, "catchment_assignments__area__code")).values("pk"))
    return School.objects.filter(q)


def visible_children(user: Any) -> QuerySet[Child]:
    """Children whose individual records this login may see (none for planners and inspectors)."""
    scope = scope_of(user)
    if not scope.individual_children:
        return Child.objects.none()
    if scope.everywhere:
        return Child.objects.all()
    if scope.school_ids:
        from gridmap.models import Case

        return Child.objects.filter(
            Q(school_class__school__in=scope.school_ids)
            | Q(pk__in=Child.objects.filter(home_teaching_plans__school__in=scope.school_ids).values("pk"))
            | Q(pk__in=Case.objects.filter(school__in=scope.school_ids).values("child")))
    return Child.objects.filter(_below(scope.area_codes, "group__code"))


OFF_SCHOOL = [ChildStatus.SUSPECTED, ChildStatus.DROPPED_OUT]


def on_ledger(on: date | None = None) -> Q:
    """The children counted as 适龄儿童 wherever a count is shown — the monthly report's definition
    (gridmap.reports.school_age_then): due in grades 1-9 on `on` (today) by the 31 August rule, and
    not transferred out. One definition, so that the grid, the cards, the map and the exports give a
    cell the same figure as the report and the published figures of aggregate-only logins."""
    from django.utils import timezone

    from gridmap import schooling

    earliest, latest = schooling.school_age_birth_range(on or timezone.localdate())
    return Q(birth_date__range=(earliest, latest)) & ~Q(status=ChildStatus.TRANSFERRED_OUT)


def cell_counts() -> tuple[Count, Count]:
    """The two figures every cell shows, as annotations: 适龄儿童 (on_ledger) and those off school."""
    ledger = on_ledger()
    return Count("pk", filter=ledger), Count("pk", filter=ledger & Q(status__in=OFF_SCHOOL))


def countable_children(user: Any) -> QuerySet[Child]:
    """The children counted for this login: those it may see, or all for aggregate-only logins
    (whose counts are then suppressed below 5)."""
    return visible_children(user) if scope_of(user).individual_children else Child.objects.all()


def child_counts(user: Any, cells: QuerySet[Area]) -> dict[int, dict[str, int | str]]:
    """Per cell: school-age children and those off school (suspected + dropped out).

    Counted over the children the login may see; for logins that see only aggregates, this month's
    published figures (`published_figures`: the report's definition of school-age, small counts
    and what would give them away hidden).
    """
    scope = scope_of(user)
    published = published_figures(user)
    out: dict[int, dict[str, int | str]] = {}
    rest = cells
    if published is not None:
        for pk, code in cells.values_list("pk", "code"):
            shown = published.cell(code)
            if shown is not None:
                out[pk] = dict(zip(("children", "off_school"), shown, strict=True))
        rest = cells.exclude(pk__in=list(out))
    children, off_school = cell_counts()
    rows = (countable_children(user).filter(group__in=rest).values("group_id")
            .annotate(children=children, off_school=off_school))
    for row in rows:
        out[row["group_id"]] = {k: suppress(row[k], scope) for k in ("children", "off_school")}
    return out


def suppress(count: int, scope: Scope) -> int | str:
    """Primary suppression of one count ("<5"). Figures that can be added up against other
    published figures (cells, reports, the dashboard) come from `published_figures` instead, which
    also hides what would give a small count away."""
    if scope.individual_children or count == 0 or count >= SMALL_COUNT:
        return count
    return f"<{SMALL_COUNT}"


# --- Figures for aggregate-only logins (issue 11): one protected decision per county and month ---

def published_figures(user: Any, month: str | None = None) -> Any:
    """What a planner or inspector may read of the county's children for a month (default: this
    month): gridmap.published.PublishedFigures, the same for every page, export and API list, with
    counts 1-4 and the complements that keep them from being recomputed hidden. None for logins that
    see individual children (they read exact figures) and for logins that see nothing."""
    from gridmap import published

    scope = scope_of(user)
    if scope.individual_children or not scope.everywhere:
        return None
    county = home_area(user)
    if county is None or county.level != AreaLevel.COUNTY:
        return None
    return published.figures_for(county, month or published.current_month())


def protect(values: Any, relations: Any, **options: Any) -> Any:
    """The one function that decides what to hide (gridmap.disclosure.protect)."""
    from gridmap.disclosure import protect as decide

    return decide(values, relations, **options)


def home_area(user: Any) -> Area | None:
    """The area a login's map opens on: the county, or the first area (school: township) in scope."""
    from django.conf import settings

    scope = scope_of(user)
    if scope.everywhere:
        counties = Area.objects.at_level(AreaLevel.COUNTY)
        return counties.filter(code=settings.GRIDMAP_COUNTY_CODE).first() or counties.first()
    if scope.school_ids:
        return Area.objects.filter(schools__pk=scope.school_ids[0]).first()
    return Area.objects.filter(code__in=scope.area_codes).order_by("code").first()


# Which responsibilities each role may hand over, within its scope ("catchment": 学区划片).
CATCHMENT = "catchment"
EDIT_RIGHTS: dict[str, set[str]] = {
    UserRole.COUNTY_ADMIN: {*Role.values, CATCHMENT},
    UserRole.TOWNSHIP_OFFICIAL: {Role.RESPONSIBLE_SCHOOL, Role.VILLAGE_LEADER, Role.GROUP_CADRE,
                                 Role.CHILD_TEACHER, CATCHMENT},
    UserRole.VILLAGE_CADRE: {Role.GROUP_CADRE},
    UserRole.SCHOOL_STAFF: {Role.CHILD_TEACHER},
}


def may_assign(user: Any, what: str, target: Area | Child) -> bool:
    """May this login hand over `what` (a Role value or CATCHMENT) for this area or child?"""
    scope = scope_of(user)
    if not scope.can_edit or what not in EDIT_RIGHTS.get(scope.role or "", set()):
        return False
    if isinstance(target, Child):
        return visible_children(user).filter(pk=target.pk).exists()
    return scope.everywhere or any(target.code.startswith(c) for c in scope.area_codes)


def candidate_schools(user: Any, area: Area) -> QuerySet[School]:
    """Schools that may answer for an area: the open schools of its township that the login sees."""
    return (visible_schools(user).filter(township__code=area.code[:CODE_LENGTH[AreaLevel.TOWNSHIP]])
            .exclude(status=SchoolStatus.CLOSED).order_by("kind", "name"))


def candidate_people(user: Any, area: Area) -> QuerySet[Person]:
    """Officials who answer, or answered, for some area of the same township (or the village, for a
    village cadre's own choices)."""
    scope = scope_of(user)
    prefix = area.code[:CODE_LENGTH[AreaLevel.VILLAGE if scope.role == UserRole.VILLAGE_CADRE
                                    else AreaLevel.TOWNSHIP]]
    return Person.objects.filter(
        pk__in=Responsibility.objects.filter(area__code__startswith=prefix).values("person")).order_by("name")


def candidate_teachers(user: Any, child: Child) -> QuerySet[Person]:
    """Teachers of the child's school, and of the schools the login sees in the child's township."""
    township = child.group.code[:CODE_LENGTH[AreaLevel.TOWNSHIP]]
    q = Q(school__in=visible_schools(user).filter(township__code=township).values("pk"))
    if child.school_class is not None:
        q |= Q(school=child.school_class.school_id)
    return Person.objects.filter(q).select_related("school").order_by("school__name", "name")


# Casework (ledgers, cases, reports) per role, within scope. Absences are the school's record; the
# township follows each suspected child to closure, confirms dropouts, issues the written order and
# files the monthly report; school staff record persuasion visits (step 1) of their children's cases.
ABSENCE, STATUS, CONFIRM, CLOSE, REPORT = "absence", "status", "confirm", "close", "report"
ACTION_RIGHTS: dict[str, set[str]] = {
    UserRole.COUNTY_ADMIN: {ABSENCE, STATUS, CONFIRM, CLOSE, REPORT},
    UserRole.TOWNSHIP_OFFICIAL: {STATUS, CONFIRM, CLOSE, REPORT},
    UserRole.VILLAGE_CADRE: {STATUS},  # only "whereabouts unknown" → suspected (allowed_statuses)
    UserRole.SCHOOL_STAFF: {ABSENCE, STATUS},
}
CASE_STEPS: dict[str, set[int]] = {
    UserRole.COUNTY_ADMIN: {1, 2, 3, 4},
    UserRole.TOWNSHIP_OFFICIAL: {1, 2, 3, 4},
    UserRole.SCHOOL_STAFF: {1},
}


def may_act(user: Any, action: str) -> bool:
    """May this login take this casework action at all (the record itself is checked for scope)?"""
    scope = scope_of(user)
    return scope.can_edit and action in ACTION_RIGHTS.get(scope.role or "", set())


def allowed_statuses(user: Any, current: str) -> list[str]:
    """Statuses this login may move a child to by a plain status change. 辍学 comes only by confirming
    a dropout (which opens the case), 劝返复学 only by closing one (销号)."""
    from gridmap.ledgers import TRANSITIONS

    if not may_act(user, STATUS):
        return []
    allowed = TRANSITIONS[current] - {ChildStatus.DROPPED_OUT, ChildStatus.RETURNED}
    if scope_of(user).role == UserRole.VILLAGE_CADRE:
        allowed &= {ChildStatus.SUSPECTED}
    return [s for s in ChildStatus.values if s in allowed]


def case_steps(user: Any) -> set[int]:
    scope = scope_of(user)
    return CASE_STEPS.get(scope.role or "", set()) if scope.can_edit else set()


def visible_cases(user: Any) -> QuerySet[Any]:
    from gridmap.models import Case

    return Case.objects.filter(child__in=visible_children(user))


def visible_people(user: Any) -> QuerySet[Person]:
    """Officials, cadres and teachers (with their phones) this login may see: those who answer, or
    answered, for an area, school, class or child in its scope, and the staff of its schools."""
    scope = scope_of(user)
    if scope.everywhere:
        return Person.objects.all()
    if scope.empty:
        return Person.objects.none()
    schools = visible_schools(user).values("pk")
    answers = Responsibility.objects.filter(
        _below(scope.area_codes, "area__code") | Q(school__in=schools) | Q(school_class__school__in=schools)
        | Q(child__in=visible_children(user).values("pk"))).values("person")
    return Person.objects.filter(Q(school__in=schools) | Q(pk__in=answers))


# --- writes: which rows a login may create, change or delete -------------------------------------
#
# Reads above include ancestors for context (a township official sees the county's outline); writes
# never do. A row is writable when it lies in the login's own areas or schools; the admin and the
# importers ask `writable`/`may_write` for every save and delete, and take the choices of every
# foreign key from `choices`, exactly as the pages take theirs from the querysets above. Planners and
# inspectors write nothing; county-level data (roads, the school calendar, logins, the audit trail) is
# the county administrator's alone.

def _area_roots(scope: Scope) -> tuple[str, ...]:
    """Area codes under which a login may write (school staff write through their schools only)."""
    return () if scope.school_ids else scope.area_codes


def _writable_schools_q(scope: Scope) -> Q:
    if scope.school_ids:
        return Q(pk__in=scope.school_ids)
    roots = [c for c in _area_roots(scope) if len(c) <= CODE_LENGTH[AreaLevel.TOWNSHIP]]
    return _below(roots, "township__code")


def _writable_children_q(user: Any, scope: Scope) -> Q:
    if scope.school_ids:  # the children on its rolls, taught at home by it
        return Q(pk__in=visible_children(user).values("pk"))
    return _below(_area_roots(scope), "group__code")


def _children(field: str) -> Callable[[Any, Scope], Q]:
    return lambda user, scope: Q(**{f"{field}__in": Child.objects.filter(_writable_children_q(user, scope))})


def _schools(field: str) -> Callable[[Any, Scope], Q]:
    return lambda user, scope: Q(**{f"{field}__in": School.objects.filter(_writable_schools_q(scope))})


def _areas(field: str) -> Callable[[Any, Scope], Q]:
    return lambda user, scope: _below(_area_roots(scope), field)


def _people_q(user: Any, scope: Scope) -> Q:
    return Q(pk__in=visible_people(user).filter(
        Q(school__in=School.objects.filter(_writable_schools_q(scope)))
        | Q(pk__in=Responsibility.objects.filter(_responsibility_q(user, scope)).values("person"))).values("pk"))


def _responsibility_q(user: Any, scope: Scope) -> Q:
    return (_below(_area_roots(scope), "area__code") | _schools("school")(user, scope)
            | _schools("school_class__school")(user, scope) | _children("child")(user, scope))


def _or(*rules: Callable[[Any, Scope], Q]) -> Callable[[Any, Scope], Q]:
    return lambda user, scope: reduce(or_, (rule(user, scope) for rule in rules))


# The row rule of every model a scoped login may write; models missing here are county-level.
WRITE_RULES: dict[type[Model], Callable[[Any, Scope], Q]] = {
    m.Area: _areas("code"),
    m.School: lambda user, scope: _writable_schools_q(scope),
    m.SchoolClass: _schools("school"),
    m.CatchmentAssignment: lambda user, scope: _areas("area__code")(user, scope) & _schools("school")(user, scope),
    m.Person: _people_q,
    m.Responsibility: _responsibility_q,
    m.Household: _areas("group__code"),
    m.Child: lambda user, scope: _writable_children_q(user, scope),
    m.ChildStatusChange: _children("child"),
    m.Absence: _children("child"),
    m.Case: _children("child"),
    m.CaseStep: _children("case__child"),
    m.HomeTeachingPlan: _children("child"),
    m.HomeVisit: _children("plan__child"),
    m.FollowUpPlan: _children("child"),
    m.FollowUpReview: _children("plan__child"),
    m.ReportSubmission: _or(_areas("area__code"), _schools("school")),
    m.AidRecord: _children("child"),  # the safety net (issue 18); its own models register in safetynet.access_rules
    m.Transfer: _children("child"),
}


def writable(user: Any, model: type[Model]) -> QuerySet[Any]:
    """The rows of `model` this login may change or delete (and where new rows may go)."""
    scope = scope_of(user)
    rows = model._default_manager.all()
    if not scope.can_edit:
        return rows.none()
    if scope.everywhere:
        return rows
    rule = WRITE_RULES.get(model)
    return rows.filter(rule(user, scope)) if rule is not None else rows.none()


def may_write_model(user: Any, model: type[Model]) -> bool:
    scope = scope_of(user)
    return scope.can_edit and (scope.everywhere or model in WRITE_RULES)


def may_write(user: Any, obj: Model) -> bool:
    """Is this saved row (as the database holds it now) in the login's writable scope?"""
    return obj.pk is not None and writable(user, type(obj)).filter(pk=obj.pk).exists()


def choices(user: Any, model: type[Model]) -> QuerySet[Any]:
    """What a form of this login may point a foreign key at: rows it may see (a township official
    may name the county's schools' teachers it sees, never another township's children)."""
    scope = scope_of(user)
    readers: dict[type[Model], Callable[[Any], QuerySet[Any]]] = {
        Area: visible_areas, School: visible_schools, Child: visible_children, Person: visible_people,
        m.SchoolClass: lambda u: m.SchoolClass.objects.filter(school__in=visible_schools(u)),
        m.Household: lambda u: m.Household.objects.filter(_below(scope.area_codes, "group__code"))
        if not scope.everywhere else m.Household.objects.all(),
        m.Case: visible_cases, m.HomeTeachingPlan: lambda u: m.HomeTeachingPlan.objects.filter(
            child__in=visible_children(u)),
        m.FollowUpPlan: lambda u: m.FollowUpPlan.objects.filter(child__in=visible_children(u)),
    }
    if model is get_user_model():  # "who did it" fields: oneself, unless county administrator
        users = model._default_manager.all()
        return users if scope.role == UserRole.COUNTY_ADMIN else users.filter(pk__in=[getattr(user, "pk", 0)])
    reader = readers.get(model)
    if reader is not None:
        return reader(user)
    return writable(user, model)


@dataclass(frozen=True)
class WriteScope:
    """Where an import may write, by statistical code: `roots` None means everywhere (the county
    administrator; the command line, which is the server's own administrator). Rows outside are
    refused one by one in the import's report."""

    roots: tuple[str, ...] | None

    @property
    def everything(self) -> bool:
        return self.roots is None

    def area(self, code: str) -> bool:
        """An area strictly below one of the roots (a township official imports its villages and
        groups, never its own township's row or a neighbour's)."""
        return self.roots is None or any(code.startswith(r) and len(code) > len(r) for r in self.roots)

    def township(self, code: str) -> bool:
        """A school of this township (schools belong to townships)."""
        return self.roots is None or any(code.startswith(r) for r in self.roots
                                         if len(r) <= CODE_LENGTH[AreaLevel.TOWNSHIP])


EVERYWHERE = WriteScope(None)


def write_scope(user: Any) -> WriteScope:
    scope = scope_of(user)
    if not scope.can_edit:
        return WriteScope(())
    return EVERYWHERE if scope.everywhere else WriteScope(_area_roots(scope))


def may_import(user: Any) -> bool:
    """Imports are the county administrator's job; the permission gridmap.import_data lets the
    county administrator hand them to another login, whose rows are then held to its own scope."""
    scope = scope_of(user)
    return scope.can_edit and (scope.role == UserRole.COUNTY_ADMIN or user.has_perm("gridmap.import_data"))


# --- managing logins (the logins/ pages): the county administrator; only a superuser changes one
def may_manage_logins(user: Any) -> bool:
    scope = scope_of(user)
    return scope.role == UserRole.COUNTY_ADMIN and scope.can_edit


def may_manage_login(user: Any, other: Any) -> bool:
    return may_manage_logins(user) and (not other.is_superuser or user.is_superuser)


# --- school consolidation scenarios (planning/, issue 16) ----------------------------------------
# Scenarios are the county's: every county-wide login reads them (counts only, as ever, for the
# aggregate-only roles); the county planner and administrator make, change and delete them.
PLANNING_ROLES = {UserRole.COUNTY_ADMIN, UserRole.COUNTY_PLANNER}


def may_view_plans(user: Any) -> bool:
    return scope_of(user).everywhere


def may_plan(user: Any) -> bool:
    scope = scope_of(user)
    return scope.everywhere and scope.role in PLANNING_ROLES
