"""The work menu in the navigation bar: the login's own area's grid, ledgers, cases, 人籍一致 check,
monthly report and (county roles) the dashboard. Computed only when a page renders the menu."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from gridmap import access
from gridmap.models import AreaLevel


def csp(request: HttpRequest) -> dict[str, Any]:
    """The request's Content-Security-Policy nonce, for `<script nonce="{{ csp_nonce }}">`."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}


def work_menu(request: HttpRequest) -> dict[str, Any]:
    return {"work_menu": SimpleLazyObject(lambda: _menu(request.user)),
            "may_import": SimpleLazyObject(lambda: access.may_import(request.user)),
            # links to pages of children (lists, transfers, the term-start check) only for who may open them
            "sees_children": SimpleLazyObject(lambda: bool(getattr(request.user, "is_authenticated", False)
                                                           and access.scope_of(request.user).individual_children))}


def _menu(user: Any) -> list[tuple[str, str]]:
    if not getattr(user, "is_authenticated", False):
        return []
    home = access.home_area(user)
    if home is None:
        return []
    scope = access.scope_of(user)
    items = [(_("Grid"), reverse("grid", args=[home.code]))]
    if scope.individual_children:
        items += [(_("Ledgers"), reverse("ledger", args=[home.code, "suspected"])),
                  (_("Cases"), reverse("case-list", args=[home.code])),
                  (_("Roll check"), reverse("discrepancies", args=[home.code]))]
    if scope.everywhere or (home.level == AreaLevel.TOWNSHIP):
        items.append((_("Monthly report"), reverse("report", args=[home.code])))
    if home.level != AreaLevel.COUNTY:
        items.append((_("Print maps"), reverse("atlas", args=[home.code])))
    if scope.school_ids:  # the safety net (issue 18): a school's own, else the home area's
        items.append((_("Safety net"), reverse("safetynet:overview", args=[
            access.visible_schools(user).order_by("code").values_list("code", flat=True).first()])))
    elif home.level != AreaLevel.GROUP:
        items.append((_("Safety net"), reverse("safetynet:overview", args=[home.code])))
    if scope.everywhere:
        items.append((_("Dashboard"), reverse("dashboard")))
        items.append((_("School consolidation"), reverse("planning:list")))  # planning/ (issue 16)
    if access.may_manage_logins(user):
        items.append((_("Logins"), reverse("login-list")))
    return items
