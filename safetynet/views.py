"""The safety-net pages; thin: the work is in safetynet.aidcheck / followup / termcheck / risk and the
core's gridmap.aid / gridmap.transfers.

Scope (gridmap.access): an area's pages (county, township, village: 6-12 digits) for logins whose own
scope holds it — the ancestors a login sees for context are a 404 here, as is another township's
code; a school's (10 digits) for the logins that see the school. Lists of children only for logins that
see children (every such read audited); planners and inspectors get counts with 1-4 as "<5". Writes
(a transfer, its receipt, a term-start check, a township's report) need the role's right and the record
in the login's writable scope; anything else is refused and nothing is written.

- /safetynet/<code>/                     the four parts of an area or school at a glance
- /safetynet/aid/<code>/                 the 应助尽助 check (?format=xlsx|csv)
- /safetynet/transfers/<code>/           流转未到 with its escalation, in transit, arrived
- /safetynet/transfers/child/<pk>/new/   record a transfer out (GET form, POST)
- /safetynet/transfers/<pk>/receipt/     the receipt of a transfer out of the county (POST)
- /safetynet/transfers/<pk>/suspect/     a 流转未到 child onto the suspected ledger (POST)
- /safetynet/termcheck/<code>/?term=2026-1   a school's check (form), a township's or the county's report
- /safetynet/termcheck/<code>/submit/    submit a school's check or a township's report (POST)
- /safetynet/risk/<code>/                the early-warning list (?page=, ?format=xlsx|csv)
"""

from __future__ import annotations

from datetime import date
from typing import Any, NoReturn

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from gridmap import access, aid, audit, exports, ledgers, transfers
from gridmap.models import (
    Area,
    AreaLevel,
    AuditAction,
    Child,
    ChildStatus,
    School,
    SchoolStatus,
    Transfer,
    TransferScope,
)
from gridmap.published import NOTE
from safetynet import aidcheck, followup, risk, termcheck
from safetynet.forms import ReceiptForm, TransferForm
from safetynet.models import EXCUSED, MissingReason, TermCheck, TermReport

AREA_LEVELS = (AreaLevel.COUNTY, AreaLevel.TOWNSHIP, AreaLevel.VILLAGE)
PUBLISHED_NOTE = (
    "这些人数与月报、看板相同，按县级统一的小数保护口径显示：" + NOTE)
PAGE_SIZE = 50


def _deny(request: HttpRequest, target: Any, what: str) -> NoReturn:
    audit.record(request, AuditAction.DENIED, target, summary=f"无权操作：{what}"[:300])
    raise PermissionDenied


def target(request: HttpRequest, code: str) -> tuple[Area | None, School | None]:
    """The area (in the login's own scope) or the school (one it sees) a code names, else 404."""
    if not code.isdigit() or len(code) not in (6, 9, 10, 12):
        raise Http404
    user = request.user
    if len(code) == 10:
        return None, get_object_or_404(access.visible_schools(user), code=code)
    scope = access.scope_of(user)
    area = get_object_or_404(access.visible_areas(user).filter(level__in=AREA_LEVELS), code=code)
    own = scope.everywhere or (not scope.school_ids and any(area.code.startswith(c) for c in scope.area_codes))
    if not own:
        raise Http404
    return area, None


def _title(area: Area | None, school: School | None) -> str:
    return area.name if area is not None else school.name  # type: ignore[union-attr]


def _export(request: HttpRequest, obj: Any, title: str, headers: list[str], rows: Any,
            note: str = "") -> HttpResponseBase | None:
    fmt = request.GET.get("format")
    if fmt is None:
        return None
    if fmt not in ("xlsx", "csv"):
        raise BadRequest(_("format must be xlsx or csv"))
    audit.record(request, AuditAction.EXPORT, obj, summary=f"导出{title}.{fmt}"[:300])
    return exports.table_response(title, headers, rows, fmt, title.replace(" ", "_"), note=note)


@login_required
@require_GET
def overview(request: HttpRequest, code: str) -> HttpResponse:
    area, school = target(request, code)
    today = timezone.localdate()
    transfers.settle_if_changed()
    check = aidcheck.check(request.user, today, area=area, school=school)
    scope = access.scope_of(request.user)
    if scope.individual_children:
        moving = followup.of_area(followup.visible_transfers(request.user), area, school)
        counts: dict[str, Any] = {"open": transfers.open_on(moving, today).count(),
                                  "late": transfers.late_on(moving, today).count()}
    else:  # the month's protected decision, as the report and the dashboard show it
        counts = {m: _published(request.user, today, area, school, f"transfers_{m}") for m in ("open", "late")}
    year, term = aid.term_of(today)
    schools = (School.objects.filter(pk=school.pk) if school is not None else
               School.objects.filter(township__code__startswith=area.code[:9], status=SchoolStatus.OPEN)
               if area is not None and area.level != AreaLevel.VILLAGE else School.objects.none())
    checked = TermCheck.objects.filter(school__in=schools, school_year=year, term=term).count()
    reported = (TermReport.objects.filter(area=area, school_year=year, term=term).exists()
                if area is not None and area.level == AreaLevel.TOWNSHIP else None)
    audit.record(request, AuditAction.LIST, area or school, summary=f"重点人群保障概览 {_title(area, school)}")
    return render(request, "safetynet/overview.html", {
        "area": area, "school": school, "code": code, "title": _title(area, school), "today": today, "aid": check,
        "open": counts["open"], "late": counts["late"],
        "term": termcheck.term_text(year, term), "term_label": aid.term_label(year, term),
        "deadline": termcheck.deadline(year, term), "weights": risk.weights(),
        "schools": schools.count(), "checked": checked, "reported": reported,
        "factor_labels": {k: str(v) for k, v in risk.FACTORS.items()},
    })


def _published(user: Any, on: date, area: Area | None, school: School | None, measure: str) -> int | str:
    """A count as the month's protected decision shows it to a login that sees aggregates only
    (gridmap.published); "—" for what it does not publish (a village)."""
    from gridmap import published

    figures = access.published_figures(user, f"{on:%Y-%m}")
    if figures is None:
        return "—"
    code = published.school_key(school.township.code, school.code) if school is not None else area.code  # type: ignore[union-attr]
    return figures.get(code, measure) if code in figures.units else "—"


@login_required
@require_GET
def aid_page(request: HttpRequest, code: str) -> HttpResponseBase:
    area, school = target(request, code)
    today = timezone.localdate()
    if not access.scope_of(request.user).individual_children and area is not None and area.level == AreaLevel.VILLAGE:
        raise Http404  # aggregate-only logins: published per county, township and school row only
    result = aidcheck.check(request.user, today, area=area, school=school)
    title = f"{_title(area, school)} {result.term_label} 应助尽助核查"
    if result.gaps:
        audit.record(request, AuditAction.LIST, area or school,
                     summary=f"应助尽助核查 {_title(area, school)}：{len(result.gaps)} 名应助未助儿童")
    if result.gaps is not None:
        response = _export(request, area or school, title, aidcheck.GAP_HEADERS, aidcheck.gap_rows(result),
                           note=f"截至 {today:%Y-%m-%d}；资助对象：{'、'.join(result.eligible_groups)}")
    else:
        response = _export(request, area or school, title, aidcheck.HEADERS, aidcheck.table_rows(result))
    if response is not None:
        return response
    return render(request, "safetynet/aid.html", {
        "area": area, "school": school, "code": code, "title": _title(area, school), "result": result,
        "individual": result.gaps is not None, "level": area.level if area else "school",
        "published_note": PUBLISHED_NOTE,
    })


@login_required
@require_GET
def transfers_page(request: HttpRequest, code: str) -> HttpResponse:
    area, school = target(request, code)
    if not access.scope_of(request.user).individual_children:
        raise Http404  # the lists name children; the counts are on the overview, the report and the map
    today = timezone.localdate()
    transfers.settle_if_changed()
    late, waiting, arrived = followup.follow(followup.of_area(followup.visible_transfers(request.user), area, school),
                                             today)
    audit.record(request, AuditAction.LIST, area or school,
                 summary=f"流转学生 {_title(area, school)}：未到 {len(late)}，在途 {len(waiting)}，已到 {len(arrived)}")
    may = access.may_act(request.user, access.STATUS)
    return render(request, "safetynet/transfers.html", {
        "area": area, "school": school, "code": code, "title": _title(area, school), "today": today,
        "late": late, "waiting": waiting, "arrived": arrived, "days": transfers.late_days(),
        "may_act": may, "receipt_form": ReceiptForm(initial={"date": today}),
    })


def _writable_child(request: HttpRequest, pk: int) -> Child:
    child = get_object_or_404(access.visible_children(request.user).select_related("school_class__school", "group"),
                              pk=pk)
    if not access.may_act(request.user, access.STATUS) or not access.may_write(request.user, child):
        _deny(request, child, f"登记转出 {child.id_masked}")
    return child


@login_required
def transfer_new(request: HttpRequest, pk: int) -> HttpResponse:
    child = _writable_child(request, pk)
    if ChildStatus.TRANSFERRED_OUT not in ledgers.TRANSITIONS[child.status]:
        messages.error(request, _("A child with this status cannot be transferred out."))
        return HttpResponseRedirect(reverse("child", args=[child.pk]))
    form = TransferForm(request.POST or None, child=child, initial={"date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            t = transfers.record_transfer(
                child, data["date"], request.user, data["reason"],
                to_school=data["to_school"] if data["scope"] == TransferScope.WITHIN else None,
                destination=data["destination"] if data["scope"] == TransferScope.OUTSIDE else "", request=request)
        except (transfers.TransferError, ledgers.StatusChangeError) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Transfer out recorded: %(child)s → %(to)s.") % {"child": child.name,
                                                                                          "to": t.where})
            return HttpResponseRedirect(reverse("child", args=[child.pk]))
    audit.record(request, AuditAction.VIEW, child, summary=f"登记转出表单 {child.id_masked}")
    return render(request, "safetynet/transfer_form.html", {"child": child, "form": form},
                  status=400 if request.method == "POST" else 200)


def _writable_transfer(request: HttpRequest, pk: int, what: str) -> Transfer:
    t = get_object_or_404(followup.visible_transfers(request.user).select_related("child"), pk=pk)
    if not access.may_act(request.user, access.STATUS) \
            or not access.writable(request.user, Transfer).filter(pk=t.pk).exists():
        _deny(request, t.child, f"{what} {t.child.id_masked}")
    return t


def _back(request: HttpRequest, t: Transfer) -> HttpResponseRedirect:
    code = request.POST.get("back", "")
    if code.isdigit() and len(code) in (6, 9, 10, 12):
        return HttpResponseRedirect(reverse("safetynet:transfers", args=[code]))
    return HttpResponseRedirect(reverse("child", args=[t.child_id]))


@login_required
@require_POST
def receipt(request: HttpRequest, pk: int) -> HttpResponse:
    t = _writable_transfer(request, pk, "登记学籍转接回执")
    form = ReceiptForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Not saved: %(errors)s") % {"errors": "；".join(
            str(e) for errors in form.errors.values() for e in errors)})
        return _back(request, t)
    try:
        transfers.record_receipt(t, form.cleaned_data["date"], form.cleaned_data["number"], request.user, request)
    except transfers.TransferError as exc:
        messages.error(request, _("Not saved: %(errors)s") % {"errors": exc})
    else:
        messages.success(request, _("Receipt recorded: the transfer of %(child)s is complete.") % {"child": t.child.name})
    return _back(request, t)


@login_required
@require_POST
def suspect(request: HttpRequest, pk: int) -> HttpResponse:
    """A 流转未到 child goes on the suspected ledger (whereabouts unknown), today."""
    t = _writable_transfer(request, pk, "流转未到转疑似辍学")
    today = timezone.localdate()
    if not transfers.is_late(t, today):
        messages.error(request, _("Only a transfer that has not arrived in time (流转未到) goes on the suspected ledger."))
        return _back(request, t)
    try:
        ledgers.change_status(t.child, ChildStatus.SUSPECTED, today, request.user,
                              f"流转未到：{t.date} 转出至{t.where}，{(today - t.date).days} 天未到达", request=request)
    except ledgers.StatusChangeError as exc:
        messages.error(request, _("Not saved: %(errors)s") % {"errors": exc})
    else:
        messages.success(request, _("%(child)s is on the suspected dropout ledger.") % {"child": t.child.name})
    return _back(request, t)


def _term(request: HttpRequest) -> tuple[int, str]:
    text = request.GET.get("term") or request.POST.get("term")
    if not text:
        return aid.term_of(timezone.localdate())
    try:
        return termcheck.parse_term(text[:20])
    except ValueError:
        raise BadRequest(_("Invalid term “%(term)s”: write it as YYYY-1 (autumn) or YYYY-2 (spring).")
                         % {"term": text[:20]}) from None


@login_required
@require_GET
def termcheck_page(request: HttpRequest, code: str) -> HttpResponse:
    area, school = target(request, code)
    if not access.scope_of(request.user).individual_children:
        # its per-school counts of absent children are small numbers of named schools' pupils: the
        # aggregate-only logins read the check's progress (schools submitted) on the overview instead
        raise Http404
    year, term = _term(request)
    today = timezone.localdate()
    current = aid.term_of(today) == (year, term)
    context: dict[str, Any] = {
        "area": area, "school": school, "code": code, "title": _title(area, school), "year": year, "term": term,
        "term_text": termcheck.term_text(year, term), "term_label": aid.term_label(year, term),
        "deadline": termcheck.deadline(year, term), "terms": [(termcheck.term_text(*t), aid.term_label(*t))
                                                               for t in termcheck.recent_terms(today)],
        "current": current, "today": today, "reasons": MissingReason.choices, "excused": [str(r) for r in EXCUSED],
    }
    scope = access.scope_of(request.user)
    if school is not None:
        check = school.term_checks.filter(school_year=year, term=term).select_related("submitted_by").first()
        context["check"] = check
        if check is not None and scope.individual_children:
            context["missing"] = list(check.missing.select_related("child__group__parent", "suspected"))
        may = (current and scope.individual_children and access.may_act(request.user, access.STATUS)
               and access.writable(request.user, School).filter(pk=school.pk).exists())
        if may:
            listed = termcheck.expected([school], today)[school.pk]
            kids = {c.pk: c for c in Child.objects.filter(pk__in=[e.child_id for e in listed]).select_related(
                "group__parent")}
            already = {m.child_id: m for m in check.missing.all()} if check else {}
            context["expected"] = [(e, kids[e.child_id], already.get(e.child_id)) for e in
                                   sorted(listed, key=lambda e: (e.grade, kids[e.child_id].group.code,
                                                                 kids[e.child_id].name, e.child_id))]
            audit.record(request, AuditAction.LIST, school,
                         summary=f"开学初核查应到名单 {school.name}（{len(listed)} 名）")
        context["may_submit"] = may
        return render(request, "safetynet/termcheck_school.html", context)
    assert area is not None
    if area.level == AreaLevel.COUNTY:
        context["county_rows"] = termcheck.county_check(area, year, term)
        return render(request, "safetynet/termcheck_county.html", context)
    if area.level != AreaLevel.TOWNSHIP:
        raise Http404  # checks are a school's, reports a township's
    context["result"] = termcheck.township_check(area, year, term)
    context["may_report"] = access.may_act(request.user, access.REPORT)
    return render(request, "safetynet/termcheck_township.html", context)


@login_required
@require_POST
def termcheck_submit(request: HttpRequest, code: str) -> HttpResponse:
    area, school = target(request, code)
    year, term = _term(request)
    back = HttpResponseRedirect(f"{reverse('safetynet:termcheck', args=[code])}?term={termcheck.term_text(year, term)}")
    today = timezone.localdate()
    if school is not None:
        if not (access.may_act(request.user, access.STATUS)
                and access.writable(request.user, School).filter(pk=school.pk).exists()):
            _deny(request, school, f"开学初核查 {school.name}")
        if aid.term_of(today) != (year, term):
            messages.error(request, _("A term-start check is made in its term, on the day it is submitted."))
            return back
        missing: dict[int, tuple[str, str]] = {}
        for key, value in request.POST.items():
            if key.startswith("missing_") and value:
                try:
                    child_id = int(key.removeprefix("missing_"))
                except ValueError:
                    raise BadRequest(_("Invalid form.")) from None
                reason = request.POST.get(f"reason_{child_id}", MissingReason.UNEXCUSED)
                missing[child_id] = (reason, request.POST.get(f"note_{child_id}", "")[:200])
        try:
            check = termcheck.submit_check(school, today, missing, request.user, request)
        except termcheck.TermCheckError as exc:
            messages.error(request, _("Not saved: %(errors)s") % {"errors": exc})
            return back
        messages.success(request, _("Check submitted: %(expected)s expected, %(reported)s reported, %(new)s entered "
                                    "on the suspected ledger today.") % {
            "expected": check.expected, "reported": check.reported, "new": check.figures.get("suspected_new", 0)})
        return back
    assert area is not None
    if area.level != AreaLevel.TOWNSHIP or not access.may_act(request.user, access.REPORT):
        _deny(request, area, f"上报开学初核查 {area.name}")
    termcheck.submit_report(area, year, term, request.user, request)
    messages.success(request, _("%(area)s: term-start check report submitted.") % {"area": area.name})
    return back


@login_required
@require_GET
def risk_page(request: HttpRequest, code: str) -> HttpResponseBase:
    area, school = target(request, code)
    if not access.scope_of(request.user).individual_children:
        raise Http404  # a list of whom to visit: for the logins that visit (counts are in the report)
    today = timezone.localdate()
    transfers.settle_if_changed()
    rows = risk.risk_list(request.user, today, area=area, school=school)
    title = f"{_title(area, school)} 辍学预警名单"
    context: dict[str, Any] = {"area": area, "school": school, "code": code, "title": _title(area, school),
                               "today": today, "weights": risk.weights(), "window": risk.window(), "cap": risk.cap(),
                               "factor_labels": {k: str(v) for k, v in risk.FACTORS.items()}}
    response = _export(request, area or school, title, risk.HEADERS, risk.table_rows(rows),
                       note=f"截至 {today:%Y-%m-%d}；权重：" + "，".join(
                           f"{risk.FACTORS[k]} {v:g}" for k, v in risk.weights().items()))
    if response is not None:
        return response
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    audit.record(request, AuditAction.LIST, area or school,
                 summary=f"辍学预警名单 {_title(area, school)}：{len(rows)} 名（第 {page.number} 页）")
    context.update(page=page, total=len(rows), first_rank=page.start_index())
    return render(request, "safetynet/risk.html", context)

