from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from gridmap import access
from gridmap.models import Area, AreaLevel
from layers.maps import area_map
from layers.maps import render as render_map


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The map of the login's own area: the county for the county, a township for its officials."""
    root = access.home_area(request.user)
    if root is None:
        return render(request, "gridmap/home.html", {"no_scope": access.scope_of(request.user).empty,
                                                     "county_missing": not Area.objects.exists()})
    counts = dict(access.visible_areas(request.user).filter(code__startswith=root.code)
                  .exclude(pk=root.pk).values_list("level").annotate(n=Count("pk")))
    schools = access.visible_schools(request.user).filter(township__code__startswith=root.code[:9]).count()
    # Only the levels below the root: a township's page counts villages and groups, not townships.
    labels = {AreaLevel.TOWNSHIP: _("%(n)s townships"), AreaLevel.VILLAGE: _("%(n)s villages"),
              AreaLevel.GROUP: _("%(n)s village groups")}
    summary = [label % {"n": counts[level]} for level, label in labels.items() if counts.get(level)]
    summary.append(_("%(n)s schools") % {"n": schools})
    return render(request, "gridmap/home.html",
                  {"county": root, "summary": summary, "map": render_map(area_map(root, request.user))})
