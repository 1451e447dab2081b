"""Printed documents of a case: 《限期复学通知书》 (step 2) and 《行政处罚决定书》 (step 3), A4 PDF with
an embedded CJK font (WenQuanYi Micro Hei from Debian's fonts-wqy-microhei), rendered by WeasyPrint."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string

from gridmap.models import Area, CaseStep, Step

TITLES = {Step.ORDER_TO_CORRECT: "限期复学通知书", Step.PENALTY: "行政处罚决定书"}


def case_document_pdf(step: CaseStep) -> bytes:
    from weasyprint import HTML  # imported here: pango loads only when a document is printed

    if step.step not in TITLES:
        raise ValueError("only steps 2 and 3 have a printed document")
    case = step.case
    child = case.child
    county = Area.objects.filter(code=settings.GRIDMAP_COUNTY_CODE).first()
    # The order comes from the township government, the penalty decision from the county bureau.
    issuer = (f"{case.township.name}人民政府" if step.step == Step.ORDER_TO_CORRECT
              else f"{county.name if county else ''}教育局")
    notice = case.steps.filter(step=Step.ORDER_TO_CORRECT).first()
    school_name = case.school.name if case.school else "户籍所在地学区学校"
    html = render_to_string("documents/notice.html", {
        "title": TITLES[Step(step.step)], "issuer": issuer, "step": step, "case": case, "child": child,
        "guardian": child.household.head_name if child.household else "", "township": case.township,
        "village": case.village, "school_name": school_name, "notice": notice,
        "days": (step.deadline - step.date).days if step.deadline else None,
    })
    return HTML(string=html).write_pdf()  # type: ignore[no-any-return]
