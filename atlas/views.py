"""The atlas page: choose how to cut an area into sheets, start the print, watch its progress,
download the PDF. A login sees and downloads only its own jobs, for areas in its scope."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from atlas import jobs
from gridmap import access, audit, grid
from gridmap.models import AreaLevel, AtlasJob, AtlasPer, AuditAction, JobStatus, Paper


class AtlasForm(forms.Form):
    per = forms.ChoiceField(label=_("sheets"), choices=AtlasPer.choices, initial=AtlasPer.GROUP)
    paper = forms.ChoiceField(label=_("paper"), choices=Paper.choices, initial=Paper.A4)
    same_scale = forms.BooleanField(label=_("one scale for all sheets"), required=False)


def _area(request: HttpRequest, code: str):  # type: ignore[no-untyped-def]
    area = get_object_or_404(grid.grid_roots(request.user), code=code)
    scope = access.scope_of(request.user)
    own = scope.everywhere or any(area.code.startswith(c) or c.startswith(area.code) for c in scope.area_codes)
    if area.level == AreaLevel.COUNTY or not own:
        raise Http404  # a county atlas is thousands of sheets: print per township
    return area


@login_required
def atlas_page(request: HttpRequest, code: str) -> HttpResponse:
    area = _area(request, code)
    form = AtlasForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user: Any = request.user
        job = AtlasJob.objects.create(user=user, area=area, per=form.cleaned_data["per"],
                                      paper=form.cleaned_data["paper"], same_scale=form.cleaned_data["same_scale"],
                                      base_url=request.build_absolute_uri("/").rstrip("/"))  # for the QR codes
        jobs.start(job)
        return HttpResponseRedirect(f"{reverse('atlas', args=[code])}?job={job.pk}")
    owner: Any = request.user
    jobs.reap(AtlasJob.objects.filter(user=owner, area=area))
    recent = AtlasJob.objects.filter(user=owner, area=area)[:10]
    return render(request, "atlas/page.html", {"area": area, "form": form, "jobs": recent,
                                               "children_shown": access.scope_of(request.user).individual_children})


def _job(request: HttpRequest, pk: int) -> AtlasJob:
    owner: Any = request.user
    job: AtlasJob = get_object_or_404(AtlasJob.objects.select_related("area"), pk=pk, user=owner)
    return job


@login_required
def job_status(request: HttpRequest, pk: int) -> JsonResponse:
    job = _job(request, pk)
    if jobs.reap(AtlasJob.objects.filter(pk=job.pk)):
        job.refresh_from_db()
    return JsonResponse(jobs.describe(job))


@login_required
@require_POST
def job_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Print a failed job again, with the same settings (still only for an area in scope)."""
    job = _job(request, pk)
    _area(request, job.area.code)
    if job.status != JobStatus.FAILED:
        raise Http404
    again = jobs.retry(job)
    return HttpResponseRedirect(f"{reverse('atlas', args=[job.area.code])}?job={again.pk}")


@login_required
def job_download(request: HttpRequest, pk: int) -> FileResponse:
    job = _job(request, pk)
    path = Path(job.file)
    if job.status != "done" or not path.is_file():
        raise Http404
    audit.record(request, AuditAction.EXPORT, job.area, summary=f"下载入户摸排图册 {job.area.name} #{job.pk}")
    return FileResponse(path.open("rb"), content_type="application/pdf", as_attachment=True,
                        filename=f"{job.area.name}入户摸排图册_{job.per}_{job.paper}.pdf")
