"""Atlas printing as a background job: the page creates an AtlasJob and starts
`manage.py print_atlas --job ID` in its own process; the job row carries the progress the page polls.
GRIDMAP_ATLAS_RUNNER="inline" prints within the request instead (tests; hosts without processes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from atlas import render
from gridmap import audit
from gridmap.models import AtlasJob, AuditAction, JobStatus


def output_path(job: AtlasJob) -> Path:
    return Path(settings.GRIDMAP_ATLAS_DIR) / f"atlas-{job.pk}-{job.area.code}-{job.per}-{job.paper}.pdf"


def start(job: AtlasJob) -> None:
    if settings.GRIDMAP_ATLAS_RUNNER == "inline":
        run(job.pk)
        return
    log = Path(settings.GRIDMAP_ATLAS_DIR) / f"atlas-{job.pk}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        subprocess.Popen([sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "print_atlas", "--job", str(job.pk)],
                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                         cwd=settings.BASE_DIR)


def run(job_id: int) -> AtlasJob:
    """Print a job's atlas, recording progress after each chunk; a failure is kept on the job."""
    job = AtlasJob.objects.select_related("area", "user").get(pk=job_id)
    AtlasJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)

    def progress(done: int, total: int) -> None:
        AtlasJob.objects.filter(pk=job.pk).update(done=done, total=total)

    try:
        result = render.build(job.user, job.area, job.per, job.paper, output_path(job), job.same_scale, progress,
                              qr_base=render.base_url(job.base_url))
    except Exception as error:  # the job shows what went wrong; the worker process ends normally
        AtlasJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error=str(error)[:2000],
                                                  finished_at=timezone.now())
        raise
    AtlasJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE, done=result.sheets, total=result.sheets,
                                              file=str(result.path), finished_at=timezone.now())
    audit.record(None, AuditAction.EXPORT, job.area, user=job.user,
                 summary=f"打印入户摸排图册 {job.area.name}（{job.per}，{job.paper}，{result.sheets} 幅，{result.pages} 页）")
    job.refresh_from_db()
    return job


def describe(job: AtlasJob) -> dict[str, Any]:
    return {"id": job.pk, "status": job.status, "done": job.done, "total": job.total, "error": job.error,
            "percent": round(100 * job.done / job.total) if job.total else 0}
