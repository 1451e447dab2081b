from __future__ import annotations

from typing import Any

from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from gridmap.audit import client_ip, record, too_many_failures
from gridmap.models import AuditAction


class RateLimitedAuthenticationForm(AuthenticationForm):
    """Refuses to even try a password after too many recent failures for the name or address."""

    def clean(self) -> dict[str, Any]:
        username = self.data.get("username", "")
        if too_many_failures(username, client_ip(self.request)):
            record(self.request, AuditAction.DENIED, summary=f"登录过于频繁：{username}"[:300])
            raise ValidationError(_("Too many failed logins. Try again in 15 minutes."), code="rate_limited")
        return super().clean()
