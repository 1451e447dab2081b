"""The safety net on the grid map (issue 18): the 应助尽助 indicator of the cells (eligible children
without aid this term, per home cell) and the 流转未到 layer (transfers that have not arrived, shown at
the child's home cell — the village group's label point, never the home itself).

Both are for logins that see children and count their own children; logins that see aggregates only
(planners, inspectors) get neither: the protected decision of gridmap.published holds no aid or
transfer count per cell, and a cell's count beside the township's published one could give a small
count away. They read the safety net's figures per township and school row in the report and the
dashboard. The rules are gridmap.aid's and
gridmap.transfers'; the counts of a cell are those the aid check page and the transfer lists give.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import Any

import folium
from branca.element import CssLink
from django.db.models import Q, QuerySet
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from gridmap import access, aid
from gridmap.grid import Cell
from gridmap.models import Area, ChildStatus, ChildStatusChange
from layers.base import MapLayer
from layers.grid import Indicator

AID_CLASSES = [("0", "#e5f5e0"), ("1", "#fdd0a2"), ("2–4", "#fd8d3c"), ("≥5", "#d94801")]


def aid_gaps(user: Any, cells: QuerySet[Area], on: Any = None) -> dict[int, int]:
    """Per cell: eligible children on the school-age ledger today without aid this term (the aid
    check's definition, with today's statuses), among the children the login may see."""
    on = on or timezone.localdate()
    begun = ChildStatusChange.objects.filter(date__lte=on).values("child")
    rows = (access.visible_children(user).school_age_on(on).filter(group__in=cells)  # type: ignore[attr-defined]
            .filter(aid.eligible_q()).exclude(status=ChildStatus.TRANSFERRED_OUT).filter(pk__in=begun)
            .filter(~aid.aided_q(on)).values_list("group_id", flat=True))
    return dict(Counter(rows))


def aid_indicator(cells: list[Cell], root: Area, user: Any) -> Indicator:
    gaps = aid_gaps(user, Area.objects.filter(pk__in=[c.pk for c in cells]))

    def of(c: Cell) -> int:
        n = gaps.get(c.pk, 0)
        return 0 if n == 0 else 1 if n == 1 else 2 if n < 5 else 3
    year, term = aid.term_of(timezone.localdate())
    label = gettext("Eligible without aid, %(term)s") % {"term": aid.term_label(year, term)}
    return Indicator("aid_gap", label, list(AID_CLASSES), {c.pk: of(c) for c in cells})


class LateTransferLayer(MapLayer):
    """流转未到 children per home cell: a numbered marker on the village group's label point."""

    key = "late_transfers"
    title = _("Transfers not arrived (流转未到)")
    show = True
    geom_field = "label_point"
    properties = ["pk", "code", "name", "parent__name"]

    def counts(self) -> dict[int, int]:
        cached: dict[int, int] | None = getattr(self, "_counts", None)
        if cached is None:
            from safetynet.followup import late_by_cell  # the feature package's reading of the rule

            cached = self._counts = late_by_cell(self.user, self.root, timezone.localdate())
        return cached

    def queryset(self) -> QuerySet[Any]:
        return access.visible_cells(self.user).filter(Q(pk__in=list(self.counts())), code__startswith=self.root.code)

    def feature_properties(self, row: dict[str, Any]) -> dict[str, Any]:
        return {"code": row["code"], "name": f"{row['parent__name']}{row['name']}", "n": str(self.counts()[row["pk"]])}

    def add_to(self, fmap: folium.Map) -> None:
        super().add_to(fmap)
        if self.group_name:
            root: Any = fmap.get_root()
            root.header.add_child(CssLink(static("safetynet/map.css")), name="gm_safetynet_css")

    def draw(self, group: folium.FeatureGroup) -> None:
        link = None
        if access.scope_of(self.user).individual_children and len(self.root.code) in (6, 9, 12):
            link = reverse("safetynet:transfers", args=[self.root.code])
        text = gettext("%(n)s transferred out, not arrived")
        for f in self.features()["features"]:
            x, y = f["geometry"]["coordinates"]
            p = f["properties"]
            body = f"{escape(p['name'])}<br>{text % {'n': p['n']}}"
            if link:
                body += f'<br><a href="{link}">{gettext("follow up")}</a>'
            folium.Marker((y, x), icon=folium.DivIcon(
                html=f'<div class="gm-late-transfer" data-cell="{p["code"]}">{p["n"]}</div>', icon_size=(22, 22),
                icon_anchor=(11, 11)), popup=folium.Popup(body, max_width=240),
                tooltip=escape(f"{p['name']}：{text % {'n': p['n']}}")).add_to(group)
