"""The import page: the same importers as the commands, the same report, in the browser.

Step 1 uploads and checks (nothing written); step 2 writes the very same stored file on
confirmation, or the user cancels. Imports are the county administrator's job (gridmap.access
.may_import); a login given the import permission writes only inside its own scope, row by row.
Every check, write, cancel and problem-list download is an audit event with the file's name, size
and SHA-256 and the report's counts. Uploads are kept as importers/uploads.py describes.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from gridmap import access, audit
from gridmap.models import AuditAction
from importers import uploads
from importers.aid import AidImportParams, import_aid
from importers.areas import AreaImportParams, import_areas
from importers.children import ChildImportParams, import_children
from importers.readers import VectorOptions
from importers.report import ImportReport
from importers.roads import RoadImportParams, import_roads
from importers.schools import SchoolImportParams, import_schools

KINDS = [("areas", _("Boundaries")), ("schools", _("Schools list")), ("children", _("Children ledger")),
         ("roads", _("Roads")), ("aid", _("Student aid records"))]
COORDS = [("wgs84", "WGS84 / GPS"), ("cgcs2000", "CGCS2000"), ("gcj02", _("GCJ-02 (Amap, Tencent)")),
          ("bd09", _("BD-09 (Baidu)"))]
LEVELS = [("county", _("county")), ("township", _("township")), ("village", _("village")),
          ("group", _("village group"))]


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What"), choices=KINDS)
    file = forms.FileField(label=_("File"), required=False, allow_empty_file=True,
                           help_text=_("Shapefile as .zip, GeoPackage, GeoJSON, KML; Excel .xlsx or .csv"))
    token = forms.RegexField(regex=r"^[0-9a-f]{32}$", required=False, widget=forms.HiddenInput)
    level = forms.ChoiceField(label=_("Level (boundaries)"), choices=LEVELS, initial="township")
    coords = forms.ChoiceField(label=_("Coordinates"), choices=COORDS, initial="wgs84")
    encoding = forms.ChoiceField(label=_("Attribute encoding"), required=False,
                                 choices=[("", _("detect")), ("GB18030", "GBK / GB18030"), ("UTF-8", "UTF-8")])
    srid = forms.IntegerField(label=_("EPSG code if the file has no .prj"), required=False,
                              min_value=1024, max_value=999999)
    fix_invalid = forms.BooleanField(label=_("Repair invalid geometries"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("file") and not data.get("token"):
            raise forms.ValidationError(_("Choose a file."))
        return data


def run_import(kind: str, upload: uploads.Upload, data: dict[str, Any], commit: bool,
               scope: access.WriteScope) -> ImportReport:
    common: dict[str, Any] = {"path": upload.path, "commit": commit, "name": upload.name, "scope": scope}
    if kind == "areas":
        return import_areas(AreaImportParams(
            level=data["level"], fix_invalid=data["fix_invalid"], **common,
            vector=VectorOptions(encoding=data["encoding"] or None, srid=data["srid"], coords=data["coords"])))
    if kind == "schools":
        return import_schools(SchoolImportParams(coords=data["coords"], **common))
    if kind == "children":
        return import_children(ChildImportParams(**common))
    if kind == "aid":  # the safety net (issue 18)
        return import_aid(AidImportParams(**common))
    return import_roads(RoadImportParams(coords=data["coords"], srid=data["srid"], **common))


def _require_import_right(request: HttpRequest) -> None:
    if not access.may_import(request.user):
        audit.record(request, AuditAction.DENIED, summary="数据导入（无导入权限）")
        raise PermissionDenied(_("Imports are done by the county administrator."))


@login_required
def upload(request: HttpRequest) -> HttpResponse:
    _require_import_right(request)
    uploads.purge_expired()
    user: Any = request.user
    context: dict[str, Any] = {**admin.site.each_context(request), "title": _("Import data"),
                               "ttl": settings.GRIDMAP_UPLOAD_TTL_MINUTES}
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["file"]:
            try:
                stored = uploads.store(data["file"].chunks(), data["file"].name, data["file"].size, user.pk)
            except uploads.UploadError as exc:
                form.add_error("file", str(exc))
                context["form"] = form
                return render(request, "importers/upload.html", context, status=400)
        else:
            found = uploads.load(data["token"], user.pk)
            if found is None or not found.path.exists():
                raise Http404
            stored = found
            if "cancel" in request.POST:
                uploads.discard(stored.token)
                audit.record(request, AuditAction.IMPORT_CHECK, summary=f"取消导入 {stored.name}",
                             after={**stored.describe(), "kind": data["kind"]})
                messages.info(request, _("The upload was deleted; nothing was written."))
                return HttpResponseRedirect(reverse("import-upload"))
        commit = "commit" in request.POST and not data["file"]
        report = run_import(data["kind"], stored, data, commit, access.write_scope(user))
        report.shown_as(stored.path.name, stored.name)
        audit.record(request, AuditAction.IMPORT if report.committed else AuditAction.IMPORT_CHECK,
                     summary=f"{'导入' if report.committed else '校验'}{dict(KINDS)[data['kind']]} {stored.name}"[:300],
                     after={**stored.describe(), "kind": data["kind"], "counts": report.counts,
                            "errors": len(report.errors), "warnings": len(report.warnings)})
        if report.problems:
            report.to_workbook(stored.problems)
            stored.problems.chmod(0o600)
        if report.committed:
            uploads.drop_data(stored)
        form = ImportForm(initial={**{k: v for k, v in data.items() if k != "file"}, "token": stored.token})
        context.update(report=report, token=stored.token, can_commit=report.ok and not report.committed,
                       upload=stored)
    context["form"] = form
    return render(request, "importers/upload.html", context)


@login_required
def error_workbook(request: HttpRequest, token: str) -> FileResponse:
    _require_import_right(request)
    owner: Any = request.user
    stored = uploads.load(token, owner.pk)
    if stored is None or not stored.problems.exists():
        raise Http404
    audit.record(request, AuditAction.EXPORT, summary=f"下载导入问题清单 {stored.name}", after=stored.describe())
    return FileResponse(stored.problems.open("rb"), as_attachment=True, filename=f"问题清单_{stored.name}.xlsx")
