#!/usr/bin/env bash
# Refreshes static/vendor/ from the npm registry at the versions folium 0.20 and Django 5.2's GIS
# widget expect, so that no page loads anything from a CDN. The output is committed; set-up never
# runs this. Each package keeps its licence file next to its assets.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() {  # fetch NPM_SPEC DIR: unpack a package tarball into $work/DIR
  (cd "$work" && npm pack -q "$1" >/dev/null && mkdir -p "$2" && tar -xzf ./*.tgz -C "$2" --strip-components=1 && rm ./*.tgz)
}

rm -rf "$dest" && mkdir -p "$dest"
fetch leaflet@1.9.3 leaflet
mkdir -p "$dest/leaflet-1.9.3" && cp -r "$work"/leaflet/dist/{leaflet.js,leaflet.css,images} "$work"/leaflet/LICENSE "$dest/leaflet-1.9.3/"
fetch jquery@3.7.1 jquery
mkdir -p "$dest/jquery-3.7.1" && cp "$work"/jquery/dist/jquery.min.js "$work"/jquery/LICENSE.txt "$dest/jquery-3.7.1/"
fetch bootstrap@5.2.2 bootstrap
mkdir -p "$dest/bootstrap-5.2.2" && cp "$work"/bootstrap/dist/js/bootstrap.bundle.min.js "$work"/bootstrap/dist/css/bootstrap.min.css "$work"/bootstrap/LICENSE "$dest/bootstrap-5.2.2/"
fetch leaflet.awesome-markers@2.0.5 awesome
mkdir -p "$dest/leaflet.awesome-markers-2.0.5" && cp -r "$work"/awesome/dist/{leaflet.awesome-markers.js,leaflet.awesome-markers.css,images} "$dest/leaflet.awesome-markers-2.0.5/"
cp "$work"/awesome/LICENSE "$dest/leaflet.awesome-markers-2.0.5/" 2>/dev/null || grep -il license "$work"/awesome/* | head -1 | xargs -I{} cp {} "$dest/leaflet.awesome-markers-2.0.5/LICENSE"
fetch @fortawesome/fontawesome-free@6.2.0 fa
mkdir -p "$dest/fontawesome-free-6.2.0/css" && cp "$work"/fa/css/all.min.css "$dest/fontawesome-free-6.2.0/css/" && cp "$work"/fa/LICENSE.txt "$dest/fontawesome-free-6.2.0/"
cp -r "$work"/fa/webfonts "$dest/fontawesome-free-6.2.0/" && rm -f "$dest"/fontawesome-free-6.2.0/webfonts/*.ttf
fetch ol@7.2.2 ol
mkdir -p "$dest/ol-7.2.2" && cp "$work"/ol/dist/ol.js "$work"/ol/ol.css "$work"/ol/LICENSE.md "$dest/ol-7.2.2/"
fetch leaflet.heat@0.2.0 heat  # folium.plugins.HeatMap (hotspots: homes of off-school children)
mkdir -p "$dest/leaflet.heat-0.2.0" && cp "$work"/heat/dist/leaflet-heat.js "$work"/heat/LICENSE "$dest/leaflet.heat-0.2.0/"
fetch leaflet.vectorgrid@1.3.0 vectorgrid  # vector tiles (MVT) on the grid map: layers/tiles.py, static/gridmap/tiles.js
mkdir -p "$dest/leaflet.vectorgrid-1.3.0" && cp "$work"/vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js "$dest/leaflet.vectorgrid-1.3.0/"
# Its licence is the README's "Legalese" section (Beerware), followed by what the bundle holds.
{ sed -n '/^## Legalese/,$p' "$work"/vectorgrid/README.md
  echo "Bundled in Leaflet.VectorGrid.bundled.min.js, as its README lists them: geojson-vt (ISC licence),"
  echo "pbf, topojson and vector-tile (BSD licence)."; } > "$dest/leaflet.vectorgrid-1.3.0/LICENSE"
# folium's own rotate stylesheet is not on npm; it is a single rule for rotated awesome-markers.
printf '.fa-rotate-custom{transform:rotate(var(--fa-rotate-angle,0deg))}\n' > "$dest/leaflet.awesome-markers-2.0.5/leaflet.awesome.rotate.css"
du -sh "$dest"/*
