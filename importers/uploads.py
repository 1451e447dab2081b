"""Uploaded files waiting between "check" and "write" on the import page.

Each upload lives in GRIDMAP_UPLOAD_DIR/<token>/ (mode 0700) as `data<suffix>` — never under the
name it came with — beside `meta.json` (who uploaded it, its own name, size, SHA-256, when) and the
problem list; files are 0600. Children workbooks hold full ID numbers, so an upload is kept only as
long as the flow needs it: deleted when it is written, when the user cancels, and once it is older
than GRIDMAP_UPLOAD_TTL_MINUTES (by the next visit to the import page, or `manage.py purge_files`).
A token is good only for the login that uploaded it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings

# What the importers read; a lone .shp is useless without its .dbf and .shx (zip them).
SUFFIXES = {".zip", ".gpkg", ".geojson", ".json", ".kml", ".xlsx", ".csv", ".osm", ".pbf"}
PROBLEMS = "problems.xlsx"
_TOKEN = re.compile(r"[0-9a-f]{32}")


class UploadError(Exception):
    """The file cannot be taken (too big, wrong kind); the message is for the user."""


@dataclass(frozen=True)
class Upload:
    token: str
    user_id: int
    name: str  # the file's own name, for reports and the audit trail only
    suffix: str
    size: int
    sha256: str
    created: float

    @property
    def folder(self) -> Path:
        return root() / self.token

    @property
    def path(self) -> Path:
        return self.folder / f"data{self.suffix}"

    @property
    def problems(self) -> Path:
        return self.folder / PROBLEMS

    def describe(self) -> dict[str, object]:
        return {"file": self.name, "size": self.size, "sha256": self.sha256}


def root() -> Path:
    folder: Path = settings.GRIDMAP_UPLOAD_DIR
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    return folder


def display_name(raw: str) -> str:
    """The last part of what the browser sent, without control characters, at most 120 chars."""
    name = re.split(r"[\\/]", raw)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip() or "上传文件"
    return name[-120:]


def store(chunks: Iterable[bytes], raw_name: str, size: int, user_id: int) -> Upload:
    name = display_name(raw_name)
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise UploadError(f"不支持的文件类型 {suffix or '（无扩展名）'}；请上传 {'、'.join(sorted(SUFFIXES))}"
                          "（Shapefile 请连同 .dbf、.shx、.prj 打包为 .zip）")
    limit = settings.GRIDMAP_UPLOAD_MAX_MB * 2**20
    if size > limit:
        raise UploadError(f"文件 {size / 2**20:,.1f} MB，超过上限 {settings.GRIDMAP_UPLOAD_MAX_MB} MB")
    token = secrets.token_hex(16)
    folder = root() / token
    folder.mkdir(mode=0o700)
    digest = hashlib.sha256()
    path = folder / f"data{suffix}"
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        for chunk in chunks:
            written += len(chunk)
            if written > limit:
                out.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise UploadError(f"文件超过上限 {settings.GRIDMAP_UPLOAD_MAX_MB} MB")
            digest.update(chunk)
            out.write(chunk)
    upload = Upload(token, user_id, name, suffix, written, digest.hexdigest(), time.time())
    _write_private(folder / "meta.json", json.dumps(asdict(upload), ensure_ascii=False).encode())
    return upload


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def load(token: str, user_id: int) -> Upload | None:
    """The login's own upload under this token, if it is still there and not expired."""
    if not _TOKEN.fullmatch(token):
        return None
    meta = root() / token / "meta.json"
    try:
        upload = Upload(**json.loads(meta.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if upload.user_id != user_id:
        return None
    if expired(upload.created):
        discard(token)
        return None
    return upload


def expired(created: float, now: float | None = None) -> bool:
    return (now or time.time()) - created > settings.GRIDMAP_UPLOAD_TTL_MINUTES * 60


def discard(token: str) -> None:
    if _TOKEN.fullmatch(token):
        shutil.rmtree(root() / token, ignore_errors=True)


def drop_data(upload: Upload) -> None:
    """Delete the uploaded data once written; the problem list (no ID numbers) stays until expiry."""
    upload.path.unlink(missing_ok=True)


def purge_expired(now: float | None = None) -> int:
    """Delete every upload older than the TTL (and any folder without a readable meta.json that is
    older than the TTL: a crash between mkdir and writing it). Returns how many were deleted."""
    removed = 0
    for folder in root().iterdir():
        meta = folder / "meta.json"
        try:
            created = float(json.loads(meta.read_text())["created"])
        except (OSError, ValueError, KeyError, TypeError):
            created = folder.stat().st_mtime
        if expired(created, now):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
