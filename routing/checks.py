"""System checks for the travel-time settings (gridmap/settings.py, routing/modes.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_speeds(app_configs: Any, **kwargs: Any) -> list[Error]:
    from routing.modes import parse_speed_table

    errors = []
    for name in ("GRIDMAP_WALK_KMH", "GRIDMAP_CYCLE_KMH"):
        value = getattr(settings, name, None)
        if not isinstance(value, int | float) or not 0.5 <= value <= 60:
            errors.append(Error(f"{name}={value!r} must be a speed in km/h between 0.5 and 60.",
                                id="routing.E001"))
    try:
        parse_speed_table(getattr(settings, "GRIDMAP_BUS_KMH", "") or "")
    except ValueError as exc:
        errors.append(Error(f"GRIDMAP_BUS_KMH: {exc}", hint="e.g. GRIDMAP_BUS_KMH='primary=45,track=0'",
                            id="routing.E002"))
    cap = getattr(settings, "GRIDMAP_ACCESS_MAX_M", None)
    if not isinstance(cap, int | float) or not 0 < cap <= 20_000:
        errors.append(Error(f"GRIDMAP_ACCESS_MAX_M={cap!r} must be metres between 0 and 20,000.",
                            id="routing.E003"))
    return errors
