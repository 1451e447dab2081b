/* Coverage gaps: fills the layer group's toggles from /coverage/<code>/layer.json when one of them
   is first switched on (layers/coverage.py wires it), and draws one child's way on request. */
var gmCoverage = (function () {
  "use strict";
  var map = null, groups = {}, opts = null, loaded = false, loading = null, tripLayer = null;
  var BAND_COLORS = {15: "#006837", 30: "#31a354", 45: "#a1d99b"};

  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_m, k) { return values[k] === null || values[k] === undefined ? "–" : values[k]; });
  }

  function esc(text) {
    var d = document.createElement("div");
    d.textContent = text === null || text === undefined ? "" : String(text);
    return d.innerHTML;
  }

  function attach(leafletMap, featureGroups, options) {
    map = leafletMap; groups = featureGroups; opts = options;
    // On its own page the layer lies under the other overlays (roads, boundaries, schools: pane 400),
    // which stay on top and clickable; on the grid page it is switched on over the indicator cells.
    map.createPane("gmCovAreas").style.zIndex = opts.above ? 410 : 350;
    map.createPane("gmCovPoints").style.zIndex = opts.above ? 420 : 390;
    map.on("overlayadd", function (e) {
      for (var k in groups) { if (groups[k] === e.layer) { load(); return; } }
    });
    for (var k in groups) { if (map.hasLayer(groups[k])) { load(); break; } }
  }

  function show(keys) {  // the coverage page switches its groups on
    (keys || Object.keys(groups)).forEach(function (k) { if (groups[k] && !map.hasLayer(groups[k])) map.addLayer(groups[k]); });
    return load();
  }

  function load() {
    if (loading) return loading;
    var note = L.control({position: "bottomleft"});
    note.onAdd = function () { var d = L.DomUtil.create("div", "gm-cov-note"); d.textContent = opts.texts.loading; return d; };
    note.addTo(map);
    loading = fetch(opts.url, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) { draw(data); loaded = true; map.removeControl(note); return data; })
      .catch(function (status) { note.getContainer().textContent = opts.texts.failed + " (" + status + ")"; });
    return loading;
  }

  function normText(data, i) { return data.norms[i] || ""; }

  function cellPopup(p, data) {
    var t = opts.texts, html = "<b>" + esc(p.name) + "</b><br>" + esc(fmt(t.cell, {n: p.n, gap: p.gap}));
    if (p.off && p.off !== 0) html += "<br>" + esc(fmt(t.off, {n: p.off}));
    if (p.u && p.u !== 0) html += "<br>" + esc(fmt(t.unrolled, {n: p.u}));
    html += '<hr class="my-1"><small><b>' + esc(t.norm) + "</b><br>" + data.norms.map(esc).join("<br>") + "</small>";
    return html;
  }

  function homePopup(p, data) {
    var t = opts.texts, html = "<b>" + esc(p.nm) + "</b> · " + esc(fmt(t.grade, {g: p.g})) + "<br>";
    if (p.off) html += esc(t.offnet);
    else if (p.nt === null) html += esc(t.none);
    else html += esc(fmt(t.nearest, {school: p.ns, min: p.nt, km: p.nk})) + " — " + esc(fmt(t.beyond, {lim: p.lim}));
    html += "<br>" + (p.rs ? esc(fmt(t.roll, {school: p.rs, min: p.rt})) : esc(t.noroll));
    html += '<br><small>' + esc(normText(data, p.ni)) + "</small>";
    html += '<br><a href="#" data-trip="' + p.id + '" data-to="nearest">' + esc(t.route) + "</a>";
    if (p.rs) html += ' · <a href="#" data-trip="' + p.id + '" data-to="roll">' + esc(t.routeroll) + "</a>";
    html += ' · <a href="' + opts.child.replace("{id}", p.id) + '">' + esc(t.open) + "</a>";
    return html;
  }

  function draw(data) {
    var legend = opts.legend, bands = [];
    data.features.forEach(function (f) {
      var p = f.properties, layer;
      if (p.kind === "cell") {
        layer = L.geoJSON(f, {pane: "gmCovAreas", style: {color: "#666", weight: 0.5, fillColor: legend[p.c].color, fillOpacity: opts.above ? 0.65 : 0.75}});
        layer.bindPopup(cellPopup(p, data));
        layer.addTo(groups.cells);
        if (!data.individual && p.u && p.u !== 0 && p.lp) {
          L.marker(p.lp, {pane: "gmCovPoints", icon: L.divIcon({className: "", iconSize: [0, 0],
            html: '<div class="gm-cov-count">' + esc(p.u) + "</div>"})}).addTo(groups.unrolled);
        }
      } else if (p.kind === "home") {
        var ll = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
        layer = L.circleMarker(ll, {pane: "gmCovPoints", radius: 4, weight: 1, color: "#67000d", fillColor: p.off ? "#000" : "#ef3b2c", fillOpacity: 0.9});
        layer.bindPopup(homePopup(p, data), {maxWidth: 360});
        layer.addTo(groups.homes);
      } else if (p.kind === "unrolled") {
        var lu = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
        layer = L.circleMarker(lu, {pane: "gmCovPoints", radius: 4, weight: 1.5, color: "#54278f", fillColor: "#fff", fillOpacity: 1});
        layer.bindPopup("<b>" + esc(p.nm) + "</b> · " + esc(fmt(opts.texts.grade, {g: p.g})) + "<br>" + esc(opts.texts.noroll) +
                        " · " + esc(opts.texts.status) + ": " + esc(p.st) +
                        ' · <a href="' + opts.child.replace("{id}", p.id) + '">' + esc(opts.texts.open) + "</a>");
        layer.addTo(groups.unrolled);
      } else if (p.kind === "no_school") {
        L.geoJSON(f, {pane: "gmCovAreas", style: {color: "#b2182b", weight: 2.5, dashArray: "4 3", fillColor: "#b2182b", fillOpacity: 0.15}})
          .bindTooltip(esc(opts.texts.noschool)).addTo(groups.no_school);
      } else if (p.kind === "band") {
        // outlined, not filled solid, so that the cells' colours and uncovered land show through;
        // not interactive, so that clicks reach the cells and homes below (the legend names them)
        L.geoJSON(f, {pane: "gmCovAreas", interactive: false, style: {color: BAND_COLORS[p.high] || "#a1d99b", weight: 2,
                                                  fillColor: BAND_COLORS[p.high] || "#a1d99b", fillOpacity: 0.18}})
          .addTo(groups.bands);
        bands.push(p);
      }
    });
    ["homes", "unrolled"].forEach(function (k) {  // points above the areas, where clicks find them
      groups[k].eachLayer(function (l) { if (l.bringToFront) l.bringToFront(); });
    });
    map.on("popupopen", function (e) {
      e.popup.getElement().querySelectorAll("a[data-trip]").forEach(function (a) {
        a.addEventListener("click", function (ev) { ev.preventDefault(); trip(a.dataset.trip, a.dataset.to); });
      });
    });
    addLegend(bands);
  }

  function addLegend(bands) {
    var c = L.control({position: "bottomright"});
    c.onAdd = function () {
      var d = L.DomUtil.create("div", "gm-cov-legend"), t = opts.texts;
      d.innerHTML = "<b>" + esc(t.legend) + "</b>" + opts.legend.map(function (l) {
        return '<div><span class="gm-swatch" style="background:' + l.color + '"></span>' + esc(l.label) + "</div>";
      }).join("") + bands.map(function (p) {
        return '<div><span class="gm-swatch" style="background:transparent;border:2px solid ' + (BAND_COLORS[p.high] || "#a1d99b") +
          '"></span>' + esc(p.low ? fmt(t.band, {a: p.low, b: p.high}) : fmt(t.band0, {b: p.high})) + "</div>";
      }).join("") + '<div><span class="gm-dot" style="background:#ef3b2c"></span>' + esc(t.homes) + "</div>" +
        '<div><span class="gm-dot" style="background:#000"></span>' + esc(t.offnet_short) + "</div>";
      return d;
    };
    c.addTo(map);
  }

  function trip(id, to) {  // draw one child's way along the roads
    return fetch(opts.trip.replace("{id}", encodeURIComponent(id)) + "?to=" + encodeURIComponent(to || "nearest"),
                 {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (f) {
        if (tripLayer) map.removeLayer(tripLayer);
        tripLayer = L.geoJSON(f, {style: {color: "#08519c", weight: 5, opacity: 0.9}}).addTo(map);
        tripLayer.bindTooltip(esc(fmt(opts.texts.trip, {school: f.properties.school, min: f.properties.minutes,
                                                        km: f.properties.km})), {permanent: true, direction: "top"}).openTooltip();
        map.fitBounds(tripLayer.getBounds(), {maxZoom: 16, padding: [40, 40]});
        return f;
      });
  }

  return {attach: attach, show: show, load: load, trip: trip};
})();
