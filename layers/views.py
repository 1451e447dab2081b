"""The grid map's vector tiles and the extent of cells, scoped like the grid page (gridmap.access).

- `tile`: /tiles/<root>/<layer>/<z>/<x>/<y>.pbf — MVT (layers.served), with an ETag; If-None-Match
  with it gives a 304. A root the login may not open, an unknown layer or a z/x/y that names no tile
  is a 404; the features of another township are simply not in the tile.
- `extent`: /tiles/<root>/extent.json?codes=… — the bounding box of the given cells of the root that
  the login sees (the list and the search zoom to cells whose tiles are not loaded yet); a malformed
  list is a 400.
"""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.contrib.gis.db.models import Extent
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _

from gridmap import access, grid
from layers import served
from layers.tiles import TileError

MAX_CODES = 200
CODES = re.compile(rf"^\d{{15}}(,\d{{15}}){{0,{MAX_CODES - 1}}}$")


@login_required
def tile(request: HttpRequest, code: str, layer: str, z: str, x: str, y: str) -> HttpResponse:
    root = get_object_or_404(grid.grid_roots(request.user), code=code)
    try:
        found = served.tile(request.user, root, layer, int(z), int(x), int(y))
    except (KeyError, TileError) as e:
        raise Http404 from e
    if found.etag in [t.strip().removeprefix("W/") for t in request.headers.get("If-None-Match", "").split(",")]:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(found.data, content_type=served.CONTENT_TYPE)
    response["ETag"] = found.etag
    # The page names each layer's version in the URL: a browser may keep a tile a day without asking;
    # without it (another client), it asks every time and gets a 304 while the data are unchanged.
    if request.GET.get("v"):
        patch_cache_control(response, private=True, max_age=86400)
    else:
        patch_cache_control(response, private=True, no_cache=True)
    patch_vary_headers(response, ["Cookie"])
    return response


@login_required
def extent(request: HttpRequest, code: str) -> JsonResponse:
    root = get_object_or_404(grid.grid_roots(request.user), code=code)
    codes = request.GET.get("codes", "")
    if not CODES.match(codes):
        return JsonResponse({"error": _("Give up to %(n)s cell codes of 15 digits, separated by commas.")
                             % {"n": MAX_CODES}}, status=400)
    box = (access.visible_cells(request.user).filter(code__startswith=root.code, code__in=codes.split(","))
           .aggregate(box=Extent("geom"))["box"])
    if box is None:
        raise Http404
    return JsonResponse({"bbox": [round(v, 6) for v in box]})


