"""The project's own error pages: Chinese, free of debug detail, and — for 500 and 503 — rendered
without touching the database, which may be the very thing that failed."""

from __future__ import annotations

import logging
import sys

from django import db
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseServerError
from django.template.loader import render_to_string

log = logging.getLogger("gridmap.errors")

# What a lost or refused database connection raises (restart, "too many clients", network).
DATABASE_DOWN = (db.OperationalError, db.InterfaceError)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a parameter gridmap refused (BadRequest carries a message for the user, in
    Chinese), or a request Django found suspicious (a generic message)."""
    message = str(exception) if isinstance(exception, BadRequest) else ""
    return HttpResponseBadRequest(render_to_string("400.html", {"message": message}))


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500. Django calls it inside its `except` block, so the exception is at hand: a
    database that is down or full gets the 503 "busy, try again" page, anything else the 500 page."""
    exception = sys.exc_info()[1]
    if isinstance(exception, DATABASE_DOWN):
        log.error("database unavailable: %s", exception)
        response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = "30"
        return response
    return HttpResponseServerError(render_to_string("500.html"))
