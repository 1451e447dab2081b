"""Creating and changing logins, plain functions over Django's User and gridmap's Profile, each
change audited. Who may call them is decided in gridmap.access (may_manage_logins); what a role's
scope must hold is checked here, so that a page, a command or a test get the same rules."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.db import transaction

from gridmap import audit
from gridmap.models import Area, AreaLevel, AuditAction, Profile, School, UserRole

# Letters and digits that cannot be mistaken for one another when read out over the phone.
ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PASSWORD_LENGTH = 12
# The area level each area-scoped role covers; county-wide roles have no areas, school staff schools.
SCOPE_LEVEL = {UserRole.TOWNSHIP_OFFICIAL: AreaLevel.TOWNSHIP, UserRole.VILLAGE_CADRE: AreaLevel.VILLAGE}
COUNTY_WIDE = {UserRole.COUNTY_ADMIN, UserRole.COUNTY_PLANNER, UserRole.INSPECTOR}


class LoginError(ValueError):
    pass


def new_password() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(PASSWORD_LENGTH))


def check_scope(role: str, areas: Sequence[Area], schools: Sequence[School]) -> tuple[list[Area], list[School]]:
    """The scope a role keeps: county-wide roles none, township officials townships, village cadres
    villages, school staff schools; at least one where one is needed."""
    if role in COUNTY_WIDE:
        return [], []
    if role == UserRole.SCHOOL_STAFF:
        if not schools:
            raise LoginError("学校人员须选择至少一所学校")
        return [], list(schools)
    level = SCOPE_LEVEL[UserRole(role)]
    chosen = [a for a in areas if a.level == level]
    if not chosen or len(chosen) != len(areas):
        raise LoginError("乡镇干部须选择所负责的乡镇（街道）" if level == AreaLevel.TOWNSHIP
                         else "村干部须选择所负责的行政村（社区）")
    return chosen, []


def _summary(user: Any) -> dict[str, Any]:
    profile = getattr(user, "gridmap_profile", None)
    return {"active": user.is_active, "name": user.first_name,
            "role": profile.role if profile else "",
            "areas": sorted(profile.areas.values_list("code", flat=True)) if profile else [],
            "schools": sorted(profile.schools.values_list("code", flat=True)) if profile else []}


@transaction.atomic
def create(by: Any, username: str, name: str, role: str, areas: Sequence[Area], schools: Sequence[School],
           password: str = "", request: Any = None) -> tuple[Any, str]:
    """A new login with its role and scope; returns it and its password (generated when none given)."""
    User = get_user_model()
    if User.objects.filter(username__iexact=username).exists():
        raise LoginError(f"登录名 {username} 已被使用")
    areas, schools = check_scope(role, areas, schools)
    user = User(username=username, first_name=name)
    password = password or new_password()
    password_validation.validate_password(password, user)
    user.set_password(password)
    user.save()
    profile = Profile.objects.create(user=user, role=role)
    profile.areas.set(areas)
    profile.schools.set(schools)
    audit.record(request, AuditAction.CHANGE, user, user=by, summary=f"新建登录 {username}（{UserRole(role).label}）",
                 after=_summary(user))
    return user, password


@transaction.atomic
def change(by: Any, user: Any, name: str, role: str, areas: Sequence[Area], schools: Sequence[School],
           request: Any = None) -> None:
    before = _summary(user)
    areas, schools = check_scope(role, areas, schools)
    user.first_name = name
    user.save(update_fields=["first_name"])
    profile, _created = Profile.objects.get_or_create(user=user, defaults={"role": role})
    profile.role = role
    profile.save(update_fields=["role"])
    profile.areas.set(areas)
    profile.schools.set(schools)
    audit.record(request, AuditAction.CHANGE, user, user=by, summary=f"修改登录 {user.username} 的角色和范围",
                 before=before, after=_summary(user))


@transaction.atomic
def set_active(by: Any, user: Any, active: bool, request: Any = None) -> None:
    if user.pk == getattr(by, "pk", None) and not active:
        raise LoginError("不能停用自己的登录")
    before = _summary(user)
    user.is_active = active
    user.save(update_fields=["is_active"])  # a disabled login's sessions end at its next request
    audit.record(request, AuditAction.CHANGE, user, user=by,
                 summary=f"{'启用' if active else '停用'}登录 {user.username}", before=before, after=_summary(user))


@transaction.atomic
def reset_password(by: Any, user: Any, request: Any = None) -> str:
    """A new generated password (shown once to the administrator); the old sessions end."""
    password = new_password()
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record(request, AuditAction.CHANGE, user, user=by, summary=f"重置登录 {user.username} 的密码")
    return password
