"""The county administrator's logins page: the list, a new login, a login's role and scope, its
password and its state. Every change goes through logins.accounts (audited); who may is decided by
gridmap.access."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridmap import access, audit
from gridmap.models import AuditAction
from logins import accounts
from logins.forms import LoginFilterForm, NewLoginForm, ScopeForm


def _admin_only(request: HttpRequest) -> None:
    if not access.may_manage_logins(request.user):
        audit.record(request, AuditAction.DENIED, summary="无权管理登录")
        raise PermissionDenied


def _login(request: HttpRequest, pk: int) -> Any:
    _admin_only(request)
    user = get_object_or_404(get_user_model().objects.select_related("gridmap_profile"), pk=pk)
    return user


@login_required
def login_list(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    form = LoginFilterForm(request.GET or None)
    users = (get_user_model().objects.select_related("gridmap_profile")
             .prefetch_related("gridmap_profile__areas", "gridmap_profile__schools").order_by("username"))
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            users = users.filter(Q(username__icontains=data["q"]) | Q(first_name__icontains=data["q"]))
        if data["role"]:
            users = users.filter(gridmap_profile__role=data["role"])
        if data["active"]:
            users = users.filter(is_active=data["active"] == "1")
    page = Paginator(users, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "logins/list.html", {"form": form, "page": page, "query": query.urlencode()})


@login_required
def new_login(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    form = NewLoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user, password = accounts.create(request.user, data["username"], data["name"], data["role"],
                                             list(data["areas"]), list(data["schools"]), data["password"], request)
        except accounts.LoginError as error:
            form.add_error(None, str(error))
        except ValidationError as error:
            form.add_error("password", error)
        else:
            if not data["password"]:
                messages.warning(request, _("Login %(name)s created. Its password, shown only this once: %(pw)s")
                                 % {"name": user.username, "pw": password})
            else:
                messages.success(request, _("Login %(name)s created.") % {"name": user.username})
            return HttpResponseRedirect(reverse("login-edit", args=[user.pk]))
    return render(request, "logins/form.html", {"form": form, "new": True})


@login_required
def edit_login(request: HttpRequest, pk: int) -> HttpResponse:
    user = _login(request, pk)
    may = access.may_manage_login(request.user, user)
    profile = getattr(user, "gridmap_profile", None)
    initial = {"name": user.first_name, "role": profile.role if profile else "",
               "areas": list(profile.areas.all()) if profile else [],
               "schools": list(profile.schools.all()) if profile else []}
    form = ScopeForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not may:
            audit.record(request, AuditAction.DENIED, user, summary=f"无权修改登录 {user.username}")
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                accounts.change(request.user, user, data["name"], data["role"], list(data["areas"]),
                                list(data["schools"]), request)
            except accounts.LoginError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Login %(name)s changed.") % {"name": user.username})
                return HttpResponseRedirect(reverse("login-edit", args=[user.pk]))
    history = audit_trail(user)
    return render(request, "logins/form.html", {"form": form, "login": user, "may": may, "history": history})


def audit_trail(user: Any) -> Any:
    from gridmap.models import AuditEvent

    return AuditEvent.objects.filter(object_type=type(user).__name__, object_id=str(user.pk),
                                     action=AuditAction.CHANGE).order_by("-at")[:10]


@login_required
@require_POST
def reset_password(request: HttpRequest, pk: int) -> HttpResponse:
    user = _login(request, pk)
    if not access.may_manage_login(request.user, user):
        raise PermissionDenied
    password = accounts.reset_password(request.user, user, request)
    messages.warning(request, _("New password of %(name)s, shown only this once: %(pw)s")
                     % {"name": user.username, "pw": password})
    return HttpResponseRedirect(reverse("login-edit", args=[user.pk]))


@login_required
@require_POST
def set_active(request: HttpRequest, pk: int) -> HttpResponse:
    user = _login(request, pk)
    if not access.may_manage_login(request.user, user):
        raise PermissionDenied
    active = request.POST.get("active") == "1"
    try:
        accounts.set_active(request.user, user, active, request)
    except accounts.LoginError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, (_("Login %(name)s is in use again.") if active
                                   else _("Login %(name)s is disabled.")) % {"name": user.username})
    return HttpResponseRedirect(reverse("login-edit", args=[user.pk]))
