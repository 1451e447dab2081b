from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from contextvars import ContextVar
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.loader import render_to_string
from django.utils import translation

# C0 controls except tab, newline and carriage return, which text fields may hold.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
FORM_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}
_NONCE: ContextVar[str] = ContextVar("gridmap_csp_nonce", default="")


def csp_nonce() -> str:
    """The nonce of the request being served (for inline scripts rendered outside a template with
    a request: folium's map script, the admin's map widget)."""
    return _NONCE.get()


class ChineseFirstLocaleMiddleware:
    """Simplified Chinese unless the user chose another language (the language cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language and show English to
    every office PC with an English browser; the bureau's working language is Chinese.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class RequestSanityMiddleware:
    """Refuses, with a 400 in plain Chinese, what no page of gridmap can use: NUL bytes and other
    control characters in the query string, form fields or cookies (PostgreSQL cannot store a NUL,
    so each one used to surface as a 500 somewhere — the login name, an API filter, an admin list
    filter), and text that is not UTF-8."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = self.problem(request)
        if problem:
            return bad_request(request, problem)
        return self.get_response(request)

    @staticmethod
    def problem(request: HttpRequest) -> str:
        try:
            raw = unquote_to_bytes(request.META.get("QUERY_STRING", "")).decode("utf-8")
            fields: list[str] = [raw, request.path]
            if request.method == "POST" and request.content_type in FORM_TYPES:
                fields += [v for _k, values in request.POST.lists() for v in values]
                fields += list(request.POST.keys())
        except (UnicodeDecodeError, RequestDataTooBig, TooManyFieldsSent):
            return "请求中含有无法识别的字符或过多的数据。"
        if any(CONTROL.search(text) for text in fields):
            return "请求中含有不允许的控制字符（例如 NUL）。"
        return ""


class AuditRefusalMiddleware:
    """Every refusal (403) is an audit event. Views that refuse record their own, with the object;
    the rest — the admin's permission checks, and refusals inside a transaction that rolled back
    their event with everything else — are recorded here, after the rollback."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if not isinstance(exception, PermissionDenied):
            return None
        from gridmap import audit
        from gridmap.models import AuditAction

        pending = getattr(request, "gridmap_refusal", None)
        if pending is not None:
            obj, summary = pending
            audit.record(request, AuditAction.DENIED, obj, summary=summary)
        elif not getattr(request, "gridmap_refusal_recorded", False):
            audit.record(request, AuditAction.DENIED, summary=f"拒绝：{request.method} {request.path}"[:300])
        return None


def bad_request(request: HttpRequest, message: str) -> HttpResponse:
    """A 400 page that needs neither the database nor a login."""
    body = render_to_string("400.html", {"message": message})
    return HttpResponseBadRequest(body)


class SecurityHeadersMiddleware:
    """Content-Security-Policy with a nonce per request: scripts from this site, or inline with the
    nonce (templates write `nonce="{{ csp_nonce }}"`; folium's output gets it in layers.maps), and
    nothing from elsewhere — no injected script runs. Styles may be inline (Leaflet positions with
    them). Images may come from the configured tile server. Also a Permissions-Policy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        origin = re.match(r"^https?://[^/]+", settings.GRIDMAP_TILE_URL)
        tile_origin = origin.group(0) if origin else ""
        self.policy = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
                       f"img-src 'self' data: blob: {tile_origin}".rstrip() + "; font-src 'self' data:; "
                       "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
                       "frame-ancestors 'none'")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        token = _NONCE.set(nonce)
        try:
            response = self.get_response(request)
        finally:
            _NONCE.reset(token)
        response.headers.setdefault("Content-Security-Policy", self.policy.format(nonce=nonce))
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)")
        return response
