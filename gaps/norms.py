"""How long a child's way to school may be: the norms, per grade, as settings with cited defaults.

Grades 1-3: a walk of at most 30 minutes, by day. 国务院办公厅《关于全面加强乡村小规模学校和乡镇寄宿制学校
建设的指导意见》(国办发〔2018〕27号): "原则上小学1—3年级学生不寄宿，就近走读上学，路途时间一般不超过半小时".
Grades 4-6: the same opinion — "4—6年级学生以走读为主，在住宿、生活、交通、安全等有保障的前提下可适当寄宿，
具体由县级人民政府根据当地实际确定" — so by default a 30-minute walk, or a boarding school within 60
minutes by school bus; the county sets both.
Grades 7-9 (junior middle): no national travel-time figure; the bureau's choice. Default: 30 minutes
by school bus by day, or a boarding school within 90 minutes by bus.

GRIDMAP_COVERAGE_NORMS overrides them, one entry per grade band, separated by ";":

    1-3=walk/30; 4-6=walk/30+boarding:bus/60; 7-9=bus/30+boarding:bus/90

A child meets the norm when the nearest open school serving their grade is within the day limit
by the day mode, or — where boarding is allowed — an open boarding school serving the grade is
within the boarding limit. Limits are inclusive: a trip meets a 30-minute norm when its time,
rounded to the whole second, is at most 1,800 s (a trip of 1,800.4 s is a 30-minute trip; of
1,800.6 s, one of 30 minutes and 1 second).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.utils.translation import gettext as _
from numpy.typing import NDArray

DEFAULT_NORMS = "1-3=walk/30; 4-6=walk/30+boarding:bus/60; 7-9=bus/30+boarding:bus/90"
MODES = ("walk", "cycle", "bus")
SOURCE_2018 = "国办发〔2018〕27号"
ENTRY = re.compile(r"^\s*(\d)-(\d)\s*=\s*(\w+)\s*/\s*(\d+)\s*(?:\+\s*boarding\s*:\s*(\w+)\s*/\s*(\d+))?\s*$")


@dataclass(frozen=True)
class Norm:
    first_grade: int
    last_grade: int
    mode: str  # routing mode of the daily trip
    minutes: int
    boarding_mode: str | None = None  # a boarding school within this …
    boarding_minutes: int | None = None  # … many minutes also meets the norm

    @property
    def grades(self) -> range:
        return range(self.first_grade, self.last_grade + 1)

    @property
    def boarding(self) -> bool:
        return self.boarding_mode is not None and self.boarding_minutes is not None

    def explain(self) -> str:
        """The norm in plain Chinese (or English), for popups and reports."""
        mode = {"walk": _("on foot"), "cycle": _("by bicycle"), "bus": _("by school bus or car")}[self.mode]
        text = _("Grades %(a)s–%(b)s: the nearest open school teaching the grade within %(m)s minutes "
                 "%(mode)s") % {"a": self.first_grade, "b": self.last_grade, "m": self.minutes, "mode": mode}
        if self.boarding:
            bmode = {"walk": _("on foot"), "cycle": _("by bicycle"),
                     "bus": _("by school bus or car")}[self.boarding_mode or "bus"]
            text += _(", or a boarding school within %(m)s minutes %(mode)s") % {
                "m": self.boarding_minutes, "mode": bmode}
        if self.first_grade <= 3 and self.last_grade <= 3:
            text += _(" (State Council, %(doc)s: pupils of grades 1–3 in principle do not board and go to a "
                      "school near home; the way to school in general takes no more than half an hour)") % {
                "doc": SOURCE_2018}
        elif self.last_grade <= 6:
            text += _(" (%(doc)s: grades 4–6 mainly go to school by day and may board where lodging, "
                      "care, transport and safety are assured; the county decides)") % {"doc": SOURCE_2018}
        else:
            text += _(" (set by the county education bureau)")
        return text + _(". A trip of exactly the limit meets the norm.")


def parse(text: str) -> list[Norm]:
    """Norms from the GRIDMAP_COVERAGE_NORMS syntax; every grade 1-9 covered once (ValueError if not)."""
    norms: list[Norm] = []
    for item in filter(None, (part.strip() for part in text.split(";"))):
        m = ENTRY.match(item)
        if not m:
            raise ValueError(f"bad norm {item!r}: e.g. 4-6=walk/30+boarding:bus/60")
        a, b, mode, minutes, bmode, bminutes = m.groups()
        if mode not in MODES or (bmode is not None and bmode not in MODES):
            raise ValueError(f"bad mode in {item!r}: one of {', '.join(MODES)}")
        norm = Norm(int(a), int(b), mode, int(minutes), bmode, int(bminutes) if bminutes else None)
        if not 1 <= norm.first_grade <= norm.last_grade <= 9 or not 1 <= norm.minutes <= 600:
            raise ValueError(f"bad grades or minutes in {item!r}")
        norms.append(norm)
    covered = sorted(g for n in norms for g in n.grades)
    if covered != list(range(1, 10)):
        raise ValueError("the norms must cover grades 1-9, each once")
    return sorted(norms, key=lambda n: n.first_grade)


def norms() -> list[Norm]:
    return parse(getattr(settings, "GRIDMAP_COVERAGE_NORMS", DEFAULT_NORMS) or DEFAULT_NORMS)


def norm_for(grade: int, configured: list[Norm] | None = None) -> Norm:
    for norm in configured or norms():
        if grade in norm.grades:
            return norm
    raise ValueError(f"grade {grade} is outside 1-9")


def within(seconds: NDArray[np.float64] | float, minutes: NDArray[np.int64] | int | float) -> NDArray[np.bool_]:
    """Inclusive: rounded to the whole second, at most the limit. inf/nan (no trip) never meets it."""
    s = np.asarray(seconds, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.isfinite(s) & (np.round(s) <= np.asarray(minutes) * 60)
