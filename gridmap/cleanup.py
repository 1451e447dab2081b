"""What must not stay on disk is deleted by cleaners that feature packages register here (the
core imports no feature package); `manage.py purge_files` runs them all."""

from __future__ import annotations

from collections.abc import Callable

# (what it deletes, function returning how many it deleted)
CLEANERS: list[tuple[str, Callable[[], int]]] = []


def register(label: str, cleaner: Callable[[], int]) -> None:
    if all(existing != label for existing, _fn in CLEANERS):
        CLEANERS.append((label, cleaner))


def run_all() -> dict[str, int]:
    return {label: cleaner() for label, cleaner in CLEANERS}
