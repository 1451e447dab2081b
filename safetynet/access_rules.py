"""Where a scoped login may write the safety net's own records (gridmap.access.WRITE_RULES): a school's
term-start check and its entries with the school's, a township's report with the township's."""

from __future__ import annotations

from gridmap import access
from safetynet.models import TermCheck, TermCheckEntry, TermReport

access.WRITE_RULES.update({
    TermCheck: access._schools("school"),
    TermCheckEntry: access._schools("term_check__school"),
    TermReport: access._areas("area__code"),
})
