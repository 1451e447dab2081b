"""System checks of the safety net's settings (IDs gridmap.S0xx)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from gridmap import aid


@register()
def safety_net_settings(app_configs: Any, **kwargs: Any) -> list[Error]:
    from safetynet import risk, termcheck

    errors = []
    try:
        aid.parse_eligible(getattr(settings, "GRIDMAP_AID_ELIGIBLE", aid.DEFAULT_ELIGIBLE))
    except ValueError as exc:
        errors.append(Error(f"GRIDMAP_AID_ELIGIBLE: {exc}", id="gridmap.S001"))
    if not 1 <= getattr(settings, "GRIDMAP_TRANSFER_DAYS", 30) <= 365:
        errors.append(Error("GRIDMAP_TRANSFER_DAYS must be 1-365 days", id="gridmap.S002"))
    try:
        termcheck.deadlines()
    except ValueError as exc:
        errors.append(Error(f"GRIDMAP_TERM_CHECK_DEADLINES: {exc}", id="gridmap.S003"))
    try:
        risk.weights()
    except ValueError as exc:
        errors.append(Error(f"GRIDMAP_RISK_WEIGHTS: {exc}", id="gridmap.S004"))
    if not 1 <= getattr(settings, "GRIDMAP_RISK_ABSENCE_WINDOW", 28) <= 366 \
            or not 1 <= getattr(settings, "GRIDMAP_RISK_ABSENCE_CAP", 5) <= 100:
        errors.append(Error("GRIDMAP_RISK_ABSENCE_WINDOW must be 1-366 days and GRIDMAP_RISK_ABSENCE_CAP 1-100",
                            id="gridmap.S005"))
    return errors
