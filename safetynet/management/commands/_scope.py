"""What the safety net's commands share: the area, and the login they read as (default: the county
administrator, i.e. the server's own administrator)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from gridmap.models import Area, AreaLevel


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("--area", required=True, help="county, township or village code")
    parser.add_argument("--out", required=True, help="the .xlsx (or .csv) file to write")
    parser.add_argument("--user", help="read as this login (its scope and what it may see); default: everything")


def area_and_user(options: dict[str, Any]) -> tuple[Area, Any]:
    area = Area.objects.filter(code=options["area"], level__in=[AreaLevel.COUNTY, AreaLevel.TOWNSHIP,
                                                               AreaLevel.VILLAGE]).first()
    if area is None:
        raise CommandError(f"--area {options['area']}: no county, township or village with this code")
    if not options.get("user"):  # the server's own administrator: an unsaved superuser, seeing everything
        return area, get_user_model()(username="manage.py", is_superuser=True, is_active=True)
    found = get_user_model().objects.filter(username=options["user"]).first()
    if found is None:
        raise CommandError(f"--user {options['user']}: no such login")
    return area, found


def audit_user(user: Any) -> Any:
    """The login to name in the audit trail (None for the command line's own administrator)."""
    return user if user.pk else None
