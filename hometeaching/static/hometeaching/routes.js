/* Send-teaching-home routes on a folium map (layers/home_routes.py wires it): when the overlay is
   switched on, fetch each school's week from its scoped endpoint (ETag: the browser revalidates),
   draw every trip along the roads in its colour with numbered stops in that colour, arrows along
   the legs and minutes per leg; a legend lists the trips, steps the week and names the visits that
   could not fit. Children appear by their initials only. */
var gmRoutes = (function () {
  "use strict";
  var map = null, group = null, opts = null, week = null, loading = null, legend = null;
  var PALETTE = ["#c0392b", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];

  function esc(text) {
    var d = document.createElement("div");
    d.textContent = text === null || text === undefined ? "" : String(text);
    return d.innerHTML;
  }

  function attach(leafletMap, featureGroup, options) {
    map = leafletMap; group = featureGroup; opts = options; week = options.week;
    map.createPane("gmRoutes").style.zIndex = 430;  // over the cells and boundaries
    map.createPane("gmRouteStops").style.zIndex = 640;  // over every marker pane
    map.on("overlayadd", function (e) { if (e.layer === group) load(); });
    map.on("overlayremove", function (e) { if (e.layer === group && legend) { map.removeControl(legend); legend = null; } });
    if (map.hasLayer(group)) load();
  }

  function step(weekText, by) {  // "2026-W48" ± weeks, by ISO calendar (a Thursday fixes the year)
    var m = /^(\d{4})-W(\d{2})$/.exec(weekText), y = +m[1], w = +m[2];
    var jan4 = new Date(Date.UTC(y, 0, 4)), monday = new Date(jan4.getTime() - ((jan4.getUTCDay() + 6) % 7) * 864e5);
    var thu = new Date(monday.getTime() + ((w - 1) * 7 + 3 + 7 * by) * 864e5);
    var year = thu.getUTCFullYear(), j4 = new Date(Date.UTC(year, 0, 4));
    var mon1 = new Date(j4.getTime() - ((j4.getUTCDay() + 6) % 7) * 864e5);
    var n = Math.floor((thu.getTime() - mon1.getTime()) / (7 * 864e5)) + 1;
    return year + "-W" + (n < 10 ? "0" : "") + n;
  }

  function load() {
    if (loading) return loading;
    group.clearLayers();
    var note = L.control({position: "bottomleft"});
    note.onAdd = function () { var d = L.DomUtil.create("div", "gm-routes-note"); d.textContent = opts.texts.loading; return d; };
    note.addTo(map);
    loading = Promise.all(opts.sources.map(function (src) {
      return fetch(src.url + "?week=" + encodeURIComponent(week), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (data) { return {src: src, data: data}; });
    })).then(function (all) {
      map.removeControl(note);
      draw(all);
      loading = null;
      return all;
    }).catch(function (status) {
      note.getContainer().textContent = opts.texts.failed + " (" + status + ")";
      loading = null;
    });
    return loading;
  }

  function draw(all) {
    var bounds = L.latLngBounds([]), rows = [], unfit = [], next = 0, many = all.length > 1;
    all.forEach(function (got) {
      var data = got.data, colours = {};
      data.trips.forEach(function (t) {  // several schools: one palette across them all
        colours[t.number] = many ? PALETTE[next++ % PALETTE.length] : t.colour;
        rows.push({src: got.src, trip: t, colour: colours[t.number]});
      });
      data.unfit.forEach(function (u) { unfit.push({src: got.src, u: u}); });
      data.features.forEach(function (f) {
        var p = f.properties, c = f.geometry.coordinates, colour = colours[p.trip];
        if (p.kind === "leg") {
          var line = L.polyline(c.map(function (xy) { return [xy[1], xy[0]]; }),
                                {pane: "gmRoutes", color: colour, weight: 4, opacity: 0.9})
            .bindPopup(esc(got.src.name) + " · " + esc(opts.texts.trip) + " " + p.trip + " · " + esc(opts.texts.leg) + " " +
                       p.leg + "：" + p.minutes + " " + esc(opts.texts.min) + "，" + p.km + " km");
          line.addTo(group);
          bounds.extend(line.getBounds());
          (p.arrows || [[p.mid[0], p.mid[1], p.bearing]]).forEach(function (a) {
            L.marker([a[1], a[0]], {pane: "gmRoutes", interactive: false, icon: L.divIcon({className: "gm-arrow-icon",
              html: '<div style="color:' + colour + ";transform:rotate(" + a[2] + 'deg)">▲</div>', iconSize: [16, 16]})}).addTo(group);
          });
          L.marker([p.mid[1], p.mid[0]], {pane: "gmRoutes", interactive: false, icon: L.divIcon({className: "gm-leg-label",
            html: esc(p.minutes) + "′", iconSize: [34, 14], iconAnchor: [-8, 7]})}).addTo(group);
        } else if (p.kind === "stop") {
          var stop = L.marker([c[1], c[0]], {pane: "gmRouteStops", icon: L.divIcon({className: "gm-stop-icon",
            html: '<span style="border-color:' + colour + ";color:" + colour + '">' + p.n + "</span>", iconSize: [22, 22]})})
            .bindPopup(esc(got.src.name) + " · " + esc(opts.texts.trip) + " " + p.trip + " · " + esc(opts.texts.stop) + " " + p.n +
                       "：<b>" + esc(p.initials) + "</b>（" + esc(p.group) + "）" + esc(p.start) + "–" + esc(p.end));
          stop.addTo(group);
          bounds.extend(stop.getLatLng());
        } else if (p.kind === "school") {
          var school = L.marker([c[1], c[0]], {pane: "gmRouteStops", icon: L.divIcon({className: "gm-school-icon",
            html: "<span></span>", iconSize: [14, 14]})}).bindTooltip(esc(p.name), {direction: "right"});
          school.addTo(group);
          bounds.extend(school.getLatLng());
        }
      });
    });
    addLegend(rows, unfit);
    if (opts.fit && bounds.isValid()) {
      // Leaflet ignores a new view while a zoom animation runs (the page's own fit to the township
      // may still be animating when the routes arrive): fit once it has ended
      var fit = function () { map.fitBounds(bounds.pad(0.1), {animate: false}); };
      if (map._animatingZoom) map.once("zoomend", fit); else fit();
    }
    map.getContainer().dataset.routes = String(rows.length);
  }

  function addLegend(rows, unfit) {
    if (legend) map.removeControl(legend);
    legend = L.control({position: "bottomright"});
    legend.onAdd = function () {
      var t = opts.texts, d = L.DomUtil.create("div", "gm-routes-legend");
      var html = "<b>" + esc(t.title) + "</b> " + (opts.fit ? esc(week) :  // the routes page steps by its own links
        '<button type="button" data-step="-1">‹</button> ' + esc(week) + ' <button type="button" data-step="1">›</button>');
      rows.forEach(function (r) {
        html += '<div><span class="gm-trip-swatch" style="background:' + r.colour + '"></span>' +
                (opts.sources.length > 1 ? esc(r.src.name) + " · " : "") + esc(t.trip) + " " + r.trip.number + " · " +
                esc(r.trip.label) + " · " + r.trip.stops + " · " + r.trip.minutes + " " + esc(t.min) + "</div>";
      });
      if (!rows.length) html += "<div>" + esc(t.none) + "</div>";
      if (unfit.length) {
        html += '<div class="text-danger mt-1">' + esc(t.unfit) + "</div>" + unfit.map(function (x) {
          return "<div>" + esc(x.u.initials) + " · " + esc(x.u.group) + "：" + esc(x.u.reason) + "</div>";
        }).join("");
      }
      if (opts.sources.length && !opts.fit) {
        html += opts.sources.map(function (s) {
          return '<div><a href="' + s.page + "?week=" + encodeURIComponent(week) + '">' + esc(s.name) + " · " + esc(t.open) + "</a></div>";
        }).join("");
      }
      d.innerHTML = html;
      L.DomEvent.disableClickPropagation(d);
      L.DomEvent.disableScrollPropagation(d);
      d.querySelectorAll("button[data-step]").forEach(function (b) {
        b.addEventListener("click", function () { week = step(week, +b.dataset.step); load(); });
      });
      return d;
    };
    legend.addTo(map);
  }

  return {attach: attach, load: load, step: step};
})();
