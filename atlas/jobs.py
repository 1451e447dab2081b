"""Atlas printing as a background job: the page creates an AtlasJob and starts
`manage.py print_atlas --job ID` in its own process; the job row carries the progress the page polls.
GRIDMAP_ATLAS_RUNNER="inline" prints within the request instead (tests; hosts without processes).

A printing process beats (job.heartbeat_at) every few seconds from a thread of its own, so a job
whose process was killed — kill -9, an out-of-memory kill, a reboot — is noticed: `reap` marks it
failed and removes its work folder and partial PDF, and the page offers to print it again.
Printed atlases hold names and masked IDs: files are 0600 in a 0700 folder and are deleted after
GRIDMAP_ATLAS_RETENTION_DAYS by `purge_old` (`manage.py purge_files`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from atlas import render
from gridmap import audit
from gridmap.models import AtlasJob, AuditAction, JobStatus

HEARTBEAT_SECONDS = 5.0
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


def atlas_dir() -> Path:
    folder = Path(settings.GRIDMAP_ATLAS_DIR)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    return folder


def output_path(job: AtlasJob) -> Path:
    return atlas_dir() / f"atlas-{job.pk}-{job.area.code}-{job.per}-{job.paper}.pdf"


def work_folder(job_id: int) -> Path:
    return atlas_dir() / "work" / f"job-{job_id}"


def log_path(job_id: int) -> Path:
    return atlas_dir() / f"atlas-{job_id}.log"


def start(job: AtlasJob) -> None:
    if settings.GRIDMAP_ATLAS_RUNNER == "inline":
        run(job.pk)
        return
    fd = os.open(log_path(job.pk), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as out:  # the child keeps its own copy of the descriptor
        subprocess.Popen([sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "print_atlas", "--job", str(job.pk)],
                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                         cwd=settings.BASE_DIR)


class _Heartbeat(threading.Thread):
    """Touches the job's heartbeat until stopped (its own database connection, closed at the end)."""

    def __init__(self, job_id: int) -> None:
        super().__init__(daemon=True, name=f"atlas-heartbeat-{job_id}")
        self.job_id = job_id
        self.stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopped.wait(HEARTBEAT_SECONDS):
                AtlasJob.objects.filter(pk=self.job_id).update(heartbeat_at=timezone.now())
        finally:
            connection.close()


def run(job_id: int) -> AtlasJob:
    """Print a job's atlas, recording progress after each chunk; a failure is kept on the job."""
    job = AtlasJob.objects.select_related("area", "user").get(pk=job_id)
    AtlasJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, pid=os.getpid(), heartbeat_at=timezone.now())
    heartbeat = _Heartbeat(job.pk)
    heartbeat.start()

    def progress(done: int, total: int) -> None:
        AtlasJob.objects.filter(pk=job.pk).update(done=done, total=total, heartbeat_at=timezone.now())

    try:
        result = render.build(job.user, job.area, job.per, job.paper, output_path(job), job.same_scale, progress,
                              work_parent=work_folder(job.pk), qr_base=render.base_url(job.base_url))
    except Exception as error:  # the job shows what went wrong; the worker process ends normally
        AtlasJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error=str(error)[:2000],
                                                  finished_at=timezone.now())
        _remove_leftovers(job)
        raise
    finally:
        heartbeat.stopped.set()
        heartbeat.join()
    AtlasJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE, done=result.sheets, total=result.sheets,
                                              file=str(result.path), finished_at=timezone.now())
    shutil.rmtree(work_folder(job.pk), ignore_errors=True)
    audit.record(None, AuditAction.EXPORT, job.area, user=job.user,
                 summary=f"打印入户摸排图册 {job.area.name}（{job.per}，{job.paper}，{result.sheets} 幅，{result.pages} 页）")
    job.refresh_from_db()
    return job


def process_alive(pid: int | None) -> bool:
    """Is `pid` a live print_atlas process of this machine? A zombie (killed, not yet waited for)
    counts as dead, and so does a pid the system has reused for something else."""
    if not pid:
        return False
    proc = Path(f"/proc/{pid}")
    if not proc.exists():
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True  # no /proc (not Linux): trust the signal check
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
    except (OSError, IndexError):
        return False
    return state != "Z" and b"print_atlas" in cmdline


def reap(jobs: Any = None) -> int:
    """Fail the active jobs whose printing process is gone or silent; remove their files.
    `jobs`: a queryset to look at (default: every active job). Returns how many were failed."""
    stale_after = timedelta(seconds=settings.GRIDMAP_ATLAS_STALE_SECONDS)
    now = timezone.now()
    failed = 0
    for job in (jobs if jobs is not None else AtlasJob.objects.all()).filter(status__in=ACTIVE).select_related("area"):
        last = job.heartbeat_at or job.created_at
        silent = now - last > stale_after
        gone = job.status == JobStatus.RUNNING and job.pid is not None and not process_alive(job.pid)
        if not (silent or gone):
            continue
        if AtlasJob.objects.filter(pk=job.pk, status__in=ACTIVE).update(
                status=JobStatus.FAILED, finished_at=now,
                error="打印进程已中断（进程已退出或长时间无响应），可点击“重新打印”。"):
            _remove_leftovers(job)
            failed += 1
    return failed


def _remove_leftovers(job: AtlasJob) -> None:
    shutil.rmtree(work_folder(job.pk), ignore_errors=True)
    output_path(job).unlink(missing_ok=True)  # a pdfunite cut short leaves half a PDF


def retry(job: AtlasJob) -> AtlasJob:
    again = AtlasJob.objects.create(user=job.user, area=job.area, per=job.per, paper=job.paper,
                                    same_scale=job.same_scale)
    start(again)
    return again


def purge_old(now: Any = None) -> int:
    """Delete printed atlases (and logs) older than the retention period; returns files removed."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.GRIDMAP_ATLAS_RETENTION_DAYS)
    removed = 0
    for job in AtlasJob.objects.filter(finished_at__lt=cutoff).exclude(file=""):
        Path(job.file).unlink(missing_ok=True)
        AtlasJob.objects.filter(pk=job.pk).update(file="")
        removed += 1
    for path in atlas_dir().glob("atlas-*"):
        if path.is_file() and path.stat().st_mtime < cutoff.timestamp():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def describe(job: AtlasJob) -> dict[str, Any]:
    return {"id": job.pk, "status": job.status, "done": job.done, "total": job.total, "error": job.error,
            "percent": round(100 * job.done / job.total) if job.total else 0}
