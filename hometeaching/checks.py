"""System checks for the send-teaching-home settings (gridmap/settings.py, "Send-teaching-home"):
each GRIDMAP_HOME_* value (and GRIDMAP_CLASS_HOUR_MINUTES, which sets a visit's length) must be one
the pages, the planner and the rules can use, so that a malformed value stops the start-up
(`manage.py check`, migrate, runserver, `make demo`, the systemd unit) with a hint — never a 500."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

WHOLE_NUMBERS = {  # setting: (least, most, hint)
    "GRIDMAP_HOME_VISITS_PER_WEEK": (1, 7, "visits a week, e.g. GRIDMAP_HOME_VISITS_PER_WEEK=1"),
    "GRIDMAP_HOME_HOURS_PER_VISIT": (1, 8, "class hours a visit, e.g. GRIDMAP_HOME_HOURS_PER_VISIT=2"),
    "GRIDMAP_CLASS_HOUR_MINUTES": (10, 120, "minutes of one class hour, e.g. GRIDMAP_CLASS_HOUR_MINUTES=40"),
}


def _whole(name: str) -> tuple[int | None, list[Error]]:
    least, most, hint = WHOLE_NUMBERS[name]
    value = getattr(settings, name, None)
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        return None, [Error(f"{name}={value!r} must be a whole number from {least} to {most}.", hint=hint,
                            id=f"hometeaching.E00{list(WHOLE_NUMBERS).index(name) + 1}")]
    return value, []


@register()
def check_load(app_configs: Any, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    for name in WHOLE_NUMBERS:
        errors += _whole(name)[1]
    return errors


@register()
def check_half_days(app_configs: Any, **kwargs: Any) -> list[Error]:
    from hometeaching.routes import parse_half_days

    value = getattr(settings, "GRIDMAP_HOME_HALF_DAYS", None)
    try:
        halves = parse_half_days(value) if isinstance(value, str) else None
    except ValueError as error:
        halves, why = None, str(error)
    else:
        why = "it must be text"
    if not halves:
        return [Error(f"GRIDMAP_HOME_HALF_DAYS={value!r}: {why}.",
                      hint="Comma-separated half-days in order, e.g. GRIDMAP_HOME_HALF_DAYS='08:00-12:00,14:00-17:30'",
                      id="hometeaching.E004")]
    hours, _e1 = _whole("GRIDMAP_HOME_HOURS_PER_VISIT")
    minutes, _e2 = _whole("GRIDMAP_CLASS_HOUR_MINUTES")
    longest = max(b - a for a, b in halves)
    if hours is not None and minutes is not None and hours * minutes * 60 > longest:
        return [Error(f"GRIDMAP_HOME_HALF_DAYS={value!r}: no half-day is as long as the least visit "
                      f"({hours} class hours of {minutes} minutes), so no visit could ever be planned.",
                      hint="Lengthen the half-days or lower GRIDMAP_HOME_HOURS_PER_VISIT.", id="hometeaching.E005")]
    return []


@register()
def check_travel_mode(app_configs: Any, **kwargs: Any) -> list[Error]:
    from routing.modes import modes

    value = getattr(settings, "GRIDMAP_HOME_TRAVEL_MODE", None)
    try:
        known = list(modes())
    except ValueError:
        return []  # the speeds themselves are wrong: routing's own check (routing.E002) says so
    if value not in known:
        return [Error(f"GRIDMAP_HOME_TRAVEL_MODE={value!r} is not a travel mode.",
                      hint=f"One of {', '.join(known)} (bus: by car on the roads).", id="hometeaching.E006")]
    return []


@register()
def check_solver_seconds(app_configs: Any, **kwargs: Any) -> list[Error]:
    value = getattr(settings, "GRIDMAP_HOME_SOLVER_SECONDS", None)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 600:
        return [Error(f"GRIDMAP_HOME_SOLVER_SECONDS={value!r} must be seconds above 0 and at most 600.",
                      hint="e.g. GRIDMAP_HOME_SOLVER_SECONDS=10", id="hometeaching.E007")]
    return []
