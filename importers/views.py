"""The admin upload page: the same importers as the commands, the same report, in the browser.

Step 1 uploads and validates (nothing written); step 2 writes the very same stored file on
confirmation. Uploads and error workbooks live under var/uploads/<token>/ (staff only).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from importers.areas import AreaImportParams, import_areas
from importers.children import ChildImportParams, import_children
from importers.readers import VectorOptions
from importers.report import ImportReport
from importers.roads import RoadImportParams, import_roads
from importers.schools import SchoolImportParams, import_schools

UPLOADS = settings.VAR_DIR / "uploads"
KINDS = [("areas", _("Boundaries")), ("schools", _("Schools list")), ("children", _("Children ledger")),
         ("roads", _("Roads"))]
COORDS = [("wgs84", "WGS84 / GPS"), ("cgcs2000", "CGCS2000"), ("gcj02", _("GCJ-02 (Amap, Tencent)")),
          ("bd09", _("BD-09 (Baidu)"))]
LEVELS = [("county", _("county")), ("township", _("township")), ("village", _("village")),
          ("group", _("village group"))]


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What"), choices=KINDS)
    file = forms.FileField(label=_("File"), required=False, allow_empty_file=True,
                           help_text=_("Shapefile as .zip, GeoPackage, GeoJSON, KML; Excel .xlsx or .csv"))
    token = forms.CharField(required=False, widget=forms.HiddenInput)
    level = forms.ChoiceField(label=_("Level (boundaries)"), choices=LEVELS, initial="township")
    coords = forms.ChoiceField(label=_("Coordinates"), choices=COORDS, initial="wgs84")
    encoding = forms.CharField(label=_("Attribute encoding"), required=False,
                               help_text=_("empty: detect GBK/UTF-8"))
    srid = forms.IntegerField(label=_("EPSG code if the file has no .prj"), required=False)
    fix_invalid = forms.BooleanField(label=_("Repair invalid geometries"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("file") and not data.get("token"):
            raise forms.ValidationError(_("Choose a file."))
        return data


def run_import(kind: str, path: Path, data: dict[str, Any], commit: bool) -> ImportReport:
    if kind == "areas":
        return import_areas(AreaImportParams(
            path=path, level=data["level"], fix_invalid=data["fix_invalid"], commit=commit,
            vector=VectorOptions(encoding=data["encoding"] or None, srid=data["srid"], coords=data["coords"])))
    if kind == "schools":
        return import_schools(SchoolImportParams(path=path, coords=data["coords"], commit=commit))
    if kind == "children":
        return import_children(ChildImportParams(path=path, commit=commit))
    return import_roads(RoadImportParams(path=path, coords=data["coords"], srid=data["srid"], commit=commit))


@staff_member_required
def upload(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {**admin.site.each_context(request), "title": _("Import data")}
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["file"]:
            token = secrets.token_hex(16)
            folder = UPLOADS / token
            folder.mkdir(parents=True)
            path = folder / Path(data["file"].name).name
            with path.open("wb") as out:
                for chunk in data["file"].chunks():
                    out.write(chunk)
        else:
            token = data["token"]
            folder = UPLOADS / token
            files = [p for p in folder.glob("*") if p.name != "问题清单.xlsx"] if folder.is_dir() else []
            if not token.isalnum() or len(files) != 1:
                raise Http404
            path = files[0]
        commit = "commit" in request.POST and not data["file"]
        report = run_import(data["kind"], path, data, commit)
        if report.problems:
            report.to_workbook(folder / "问题清单.xlsx")
        form = ImportForm(initial={**{k: v for k, v in data.items() if k != "file"}, "token": token})
        context.update(report=report, token=token, can_commit=report.ok and not report.committed)
    context["form"] = form
    return render(request, "importers/upload.html", context)


@staff_member_required
def error_workbook(request: HttpRequest, token: str) -> FileResponse:
    path = UPLOADS / token / "问题清单.xlsx"
    if not token.isalnum() or not path.exists():
        raise Http404
    return FileResponse(path.open("rb"), as_attachment=True, filename="问题清单.xlsx")
