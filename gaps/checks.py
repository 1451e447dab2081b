"""System check for GRIDMAP_COVERAGE_NORMS (gaps/norms.py documents the syntax)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register


@register()
def check_norms(app_configs: Any, **kwargs: Any) -> list[Error]:
    from gaps.norms import norms

    try:
        norms()
    except ValueError as exc:
        return [Error(f"GRIDMAP_COVERAGE_NORMS: {exc}",
                      hint="e.g. '1-3=walk/30; 4-6=walk/30+boarding:bus/60; 7-9=bus/30+boarding:bus/90'",
                      id="gaps.E001")]
    return []
