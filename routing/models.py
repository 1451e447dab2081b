"""The road network's version: one row, bumped by database triggers on every change to the roads or
the routable network (migration 0001), so that each process reloads its in-memory graph when, and
only when, the network changed — whoever changed it (an import, the admin, raw SQL)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class NetworkVersion(models.Model):
    # From a sequence, which never goes back, not even when the changing transaction rolls back:
    # a value once seen always names the same network.
    version = models.BigIntegerField(_("network version"))
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("road network version")
        verbose_name_plural = _("road network versions")

    def __str__(self) -> str:
        return f"{self.version} ({self.changed_at:%Y-%m-%d %H:%M})"
