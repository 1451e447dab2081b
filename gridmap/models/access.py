"""Who may see what (role + scope), and the audit trail of minors' data."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _

from gridmap.models.areas import Area
from gridmap.models.schools import School


class UserRole(models.TextChoices):
    COUNTY_ADMIN = "county_admin", _("county administrator")
    COUNTY_PLANNER = "county_planner", _("county planner")
    TOWNSHIP_OFFICIAL = "township_official", _("township official")
    VILLAGE_CADRE = "village_cadre", _("village cadre")
    SCHOOL_STAFF = "school_staff", _("school staff")
    INSPECTOR = "inspector", _("inspector (read-only)")


class Profile(models.Model):
    """A login's role and scope: the areas (with everything below them) and schools it covers."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name=_("login"),
                                on_delete=models.CASCADE, related_name="gridmap_profile")
    role = models.CharField(_("role"), max_length=20, choices=UserRole.choices)
    areas = models.ManyToManyField(Area, verbose_name=_("areas"), blank=True, related_name="+")
    schools = models.ManyToManyField(School, verbose_name=_("schools"), blank=True, related_name="+")

    class Meta:
        verbose_name = _("user scope")
        verbose_name_plural = _("user scopes")
        # Imports are the county administrator's; this lets one be handed to another login.
        permissions = [("import_data", _("may import data files (within the login's scope)"))]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()}"


class AuditAction(models.TextChoices):
    VIEW = "view", _("viewed")
    LIST = "list", _("listed")
    CHANGE = "change", _("changed")
    EXPORT = "export", _("exported")
    LOGIN = "login", _("logged in")
    LOGIN_FAILED = "login_failed", _("failed login")
    DENIED = "denied", _("access refused")
    IMPORT_CHECK = "import_check", _("checked an import")
    IMPORT = "import", _("imported")


class AuditEvent(models.Model):
    """Append-only: every read of a child's record, every change, every export, every login."""

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("who"), on_delete=models.SET_NULL,
                             null=True, blank=True)
    username = models.CharField(_("user name"), max_length=150, db_index=True)
    action = models.CharField(_("action"), max_length=15, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(_("object type"), max_length=50, blank=True)
    object_id = models.CharField(_("object"), max_length=50, blank=True, db_index=True)
    summary = models.CharField(_("what"), max_length=300, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.get_action_display()} {self.summary}"
