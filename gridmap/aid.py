"""Student aid (资助): who is eligible, which term a day belongs to, and who has been aided in it.

应助尽助 — no child drops out because aid came too late (DESIGN.md): a child of an aid-eligible key
group (GRIDMAP_AID_ELIGIBLE, default 脱贫户, 边缘易致贫户, 突发严重困难户, 低保, 孤儿/事实无人抚养, 残疾)
with no aid record of the current term by the day is a gap (应助未助). Eligibility reads the child's
key-group flags as they are now (the ledger keeps no history of them).

Terms (as the send-teaching-home handbook counts them): the autumn term (第一学期) from 1 September to
31 January, the spring term (第二学期) from 1 February to 31 August; a term belongs to the school year
that began on the 1 September before it. An aid record counts for the term it is listed under
(学年, 学期), from the day it was granted.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from gridmap import schooling
from gridmap.models import KEY_GROUPS, AidRecord, Term

DEFAULT_ELIGIBLE = "poverty_relief,at_risk,sudden_hardship,min_allowance,orphan,disabled"
# The Chinese names a setting (or a workbook) may use for the key groups.
CHINESE_NAMES = {
    "脱贫户": "kg_poverty_relief", "边缘易致贫户": "kg_at_risk", "突发严重困难户": "kg_sudden_hardship",
    "低保": "kg_min_allowance", "残疾": "kg_disabled", "残疾人子女": "kg_disabled_parents", "留守": "kg_left_behind",
    "随迁": "kg_migrant", "孤儿": "kg_orphan", "事实无人抚养": "kg_orphan", "困境儿童": "kg_in_difficulty",
}


def parse_eligible(text: str) -> list[str]:
    """The kg_* fields named by a GRIDMAP_AID_ELIGIBLE value (ValueError for a name that is none)."""
    fields: list[str] = []
    for item in filter(None, (part.strip() for part in text.replace("，", ",").replace("、", ",").split(","))):
        field = CHINESE_NAMES.get(item) or (item if item.startswith("kg_") else f"kg_{item}")
        if field not in KEY_GROUPS:
            raise ValueError(f"unknown key group {item!r}: one of {', '.join(f[3:] for f in KEY_GROUPS)}")
        if field not in fields:
            fields.append(field)
    if not fields:
        raise ValueError("no key group is eligible for aid")
    return fields


def eligible_fields() -> list[str]:
    """The kg_* fields whose children are eligible, in KEY_GROUPS order."""
    chosen = set(parse_eligible(getattr(settings, "GRIDMAP_AID_ELIGIBLE", DEFAULT_ELIGIBLE) or DEFAULT_ELIGIBLE))
    return [f for f in KEY_GROUPS if f in chosen]


def eligible_labels() -> list[str]:
    return [str(KEY_GROUPS[f]) for f in eligible_fields()]


def eligible_q(prefix: str = "") -> Q:
    """Children in an aid-eligible key group (prefix: the path to the child, e.g. "child__")."""
    q = Q(pk__in=[])
    for field in eligible_fields():
        q |= Q(**{f"{prefix}{field}": True})
    return q


def is_eligible(flags: dict[str, bool]) -> bool:
    return any(flags.get(f) for f in eligible_fields())


def term_of(day: date) -> tuple[int, str]:
    """(school year, term) of a day: autumn from September to January, spring from February to August."""
    term = Term.AUTUMN if day.month >= 9 or day.month == 1 else Term.SPRING
    return schooling.school_year(day), str(term)


def term_bounds(school_year: int, term: str) -> tuple[date, date]:
    if term == Term.AUTUMN:
        return date(school_year, 9, 1), date(school_year + 1, 1, 31)
    return date(school_year + 1, 2, 1), date(school_year + 1, 8, 31)


def term_label(school_year: int, term: str) -> str:
    return f"{school_year}—{school_year + 1}学年{'第一' if term == Term.AUTUMN else '第二'}学期"


def aided_q(on: date, child: str = "pk") -> Exists:
    """The child (OuterRef(child)) has an aid record of the term of `on`, granted on or before it."""
    year, term = term_of(on)
    return Exists(AidRecord.objects.filter(child=OuterRef(child), school_year=year, term=term, date__lte=on))
