"""Printed map-sheet atlases (入户摸排图册) as background jobs: who asked, for what, how far along."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from gridmap.models.areas import Area


class AtlasPer(models.TextChoices):
    GROUP = "group", _("one sheet per village group")
    VILLAGE = "village", _("one sheet per village")
    CATCHMENT = "catchment", _("one sheet per school catchment")


class Paper(models.TextChoices):
    A4 = "A4", "A4"
    A3 = "A3", "A3"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class AtlasJob(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.CASCADE,
                             related_name="atlas_jobs")
    area = models.ForeignKey(Area, verbose_name=_("area"), on_delete=models.CASCADE, related_name="atlas_jobs")
    per = models.CharField(_("sheets"), max_length=10, choices=AtlasPer.choices, default=AtlasPer.GROUP)
    paper = models.CharField(_("paper"), max_length=2, choices=Paper.choices, default=Paper.A4)
    same_scale = models.BooleanField(_("one scale for all sheets"), default=False)
    base_url = models.CharField(_("address in the QR codes"), max_length=200, blank=True, default="",
                                help_text=_("where gridmap was opened from when the print was started"))
    status = models.CharField(_("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    done = models.PositiveIntegerField(_("sheets done"), default=0)
    total = models.PositiveIntegerField(_("sheets"), default=0)
    file = models.CharField(_("file"), max_length=300, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    # The printing process and its sign of life: a job whose process is gone, or which has not
    # beaten for GRIDMAP_ATLAS_STALE_SECONDS, is failed by atlas.jobs.reap and its files removed.
    pid = models.PositiveIntegerField(_("process"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("last sign of life"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("map atlas job")
        verbose_name_plural = _("map atlas jobs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.area} {self.per} {self.paper} ({self.status})"
