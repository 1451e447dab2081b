"""Recording who did what to minors' data, and refusing login floods."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from gridmap.models import AuditAction, AuditEvent

# Failed logins allowed per user name, and per address, in the window before refusing.
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_IP = 20
FAILURE_WINDOW = timedelta(minutes=15)


def client_ip(request: HttpRequest | None) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


def record(request: HttpRequest | None, action: str, obj: Any = None, summary: str = "",
           before: Any = None, after: Any = None, user: Any = None) -> AuditEvent:
    user = user if user is not None else getattr(request, "user", None)
    if action == AuditAction.DENIED and request is not None:
        request.gridmap_refusal_recorded = True  # type: ignore[attr-defined]
    authenticated = getattr(user, "is_authenticated", False)
    return AuditEvent.objects.create(
        user=user if authenticated else None,
        username=user.get_username() if authenticated else "",
        action=action, object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(getattr(obj, "pk", "") or ""), summary=summary[:300],
        before=before, after=after, ip=client_ip(request))


def too_many_failures(username: str, ip: str | None) -> bool:
    since = timezone.now() - FAILURE_WINDOW
    failures = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, at__gte=since)
    if failures.filter(username=username).count() >= MAX_FAILURES_PER_USER:
        return True
    return ip is not None and failures.filter(ip=ip).count() >= MAX_FAILURES_PER_IP


@receiver(user_logged_in)
def _logged_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    record(request, AuditAction.LOGIN, user=user, summary="登录")


@receiver(user_login_failed)
def _login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None,
                  **kwargs: Any) -> None:
    AuditEvent.objects.create(username=str(credentials.get("username", ""))[:150],
                              action=AuditAction.LOGIN_FAILED, summary="登录失败", ip=client_ip(request))
