"""Atlas jobs survive their process dying (kill -9): the job is failed, its leftovers removed, and it
can be printed again; printed files are private and deleted after the retention period."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone

from atlas import jobs
from gridmap.models import Area, AtlasJob, JobStatus, Profile, UserRole
from tests.conftest import load_small_demo

ROOT = Path(__file__).resolve().parents[1]
A = "330783108"


@pytest.mark.django_db(transaction=True)
def test_a_killed_print_is_failed_cleaned_up_and_can_be_retried(settings, tmp_path):
    load_small_demo()  # transactional tests start from a flushed database
    settings.GRIDMAP_ATLAS_DIR = tmp_path / "atlas"
    user = get_user_model().objects.create_user("printer", password="pw-long-enough-1")
    Profile.objects.create(user=user, role=UserRole.TOWNSHIP_OFFICIAL).areas.set(Area.objects.filter(code=A))
    township = Area.objects.get(code=A)
    job = AtlasJob.objects.create(user=user, area=township, per="group", paper="A4")
    db = connection.settings_dict
    env = {**os.environ, "GRIDMAP_ATLAS_DIR": str(settings.GRIDMAP_ATLAS_DIR),
           "DATABASE_URL": f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    proc = subprocess.Popen([sys.executable, "manage.py", "print_atlas", "--job", str(job.pk)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    work = jobs.work_folder(job.pk)
    for _ in range(600):  # until it has printed a chunk: a run well under way, with files on disk
        job.refresh_from_db()
        if job.done > 0 and any(work.rglob("*.pdf")):
            break
        assert proc.poll() is None, proc.communicate()[0].decode()[-2000:]
        time.sleep(0.1)
    assert job.status == JobStatus.RUNNING and job.pid == proc.pid and job.heartbeat_at is not None
    assert jobs.reap() == 0  # alive: left alone
    os.kill(proc.pid, signal.SIGKILL)
    time.sleep(0.2)  # not waited for yet: a zombie, which counts as dead
    assert not jobs.process_alive(proc.pid)

    client = Client()
    client.force_login(user)
    status = client.get(f"/atlas/jobs/{job.pk}/status/").json()
    assert status["status"] == "failed" and "中断" in status["error"]
    assert not work.exists() and not jobs.output_path(job).exists()
    proc.wait()
    page = client.get(f"/atlas/{A}/").content.decode()
    assert "data-retry" in page
    settings.GRIDMAP_ATLAS_RUNNER = "inline"
    AtlasJob.objects.filter(pk=job.pk).update(area=Area.objects.filter(parent__code=A).order_by("code").first())
    response = client.post(f"/atlas/jobs/{job.pk}/retry/")
    assert response.status_code == 302
    again = AtlasJob.objects.exclude(pk=job.pk).get(user=user)
    assert again.status == JobStatus.DONE and Path(again.file).is_file()
    assert stat.S_IMODE(Path(again.file).stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(settings.GRIDMAP_ATLAS_DIR).stat().st_mode) == 0o700
    # a silent job (no heartbeat for longer than allowed) is failed as well
    silent = AtlasJob.objects.create(user=user, area=township, status=JobStatus.RUNNING, pid=os.getpid(),
                                     heartbeat_at=timezone.now() - timedelta(seconds=settings.GRIDMAP_ATLAS_STALE_SECONDS + 1))
    assert jobs.reap() == 1
    silent.refresh_from_db()
    assert silent.status == JobStatus.FAILED
    # retention: older than the period, the PDF goes and the job says so
    AtlasJob.objects.filter(pk=again.pk).update(finished_at=timezone.now() - timedelta(days=31))
    out = subprocess.run([sys.executable, "manage.py", "purge_files"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert not Path(again.file).exists()
    again.refresh_from_db()
    assert again.file == ""
