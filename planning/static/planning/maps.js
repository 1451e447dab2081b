/* Planning maps (Leaflet, served from static/vendor): a school's catchment, and a scenario's
   before/after pair kept in step (moving or zooming one moves the other). */
var gmPlanning = (function () {
  "use strict";
  var PALETTE = ["#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69", "#fccde5",
                 "#d9d9d9", "#bc80bd", "#ccebc5", "#ffed6f"];
  function esc(s) { return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]; }); }
  function deltaColour(d) {
    if (d === null || d === undefined) { return "#bbbbbb"; }
    if (d <= 0) { return "#1a9850"; } if (d <= 5) { return "#fee08b"; }
    if (d <= 15) { return "#fdae61"; } if (d <= 30) { return "#f46d43"; } return "#a50026";
  }
  function base(id) {
    var map = L.map(id, {zoomSnap: 0.25, preferCanvas: false}).setView([29.2, 120.3], 10);
    L.control.scale({imperial: false, maxWidth: 140}).addTo(map);
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution("© OpenStreetMap contributors (ODbL)");
    return map;
  }
  function schoolMap(id, data) {
    var map = base(id);
    var layer = L.geoJSON(data, {
      style: function (f) { return f.properties.kind === "school" ? {radius: 7, color: "#000", weight: 1, fillColor: "#d7191c", fillOpacity: 1}
        : {color: "#1f4e79", weight: 1, fillColor: "#80b1d3", fillOpacity: 0.45}; },
      pointToLayer: function (f, ll) { return L.circleMarker(ll); },
      onEachFeature: function (f, l) { l.bindTooltip(esc(f.properties.name)); }
    }).addTo(map);
    var b = layer.getBounds();
    map.invalidateSize();
    if (b.isValid()) { map.fitBounds(b, {padding: [20, 20]}); }
    return map;
  }
  function catchments(features) {
    return L.geoJSON({type: "FeatureCollection", features: features}, {
      style: function (f) { return {color: "#666", weight: 0.6, fillColor: PALETTE[f.properties.colour % PALETTE.length], fillOpacity: 0.55}; },
      onEachFeature: function (f, l) { l.bindTooltip(esc(f.properties.name)); }
    });
  }
  function schools(features, which, t) {
    return L.geoJSON({type: "FeatureCollection", features: features.filter(function (f) {
      return f.properties[which] || f.properties.role === "closing"; })}, {
      pointToLayer: function (f, ll) {
        var p = f.properties, closing = p.role === "closing", rec = which === "after" && (p.role === "receiving" || p.role === "opening");
        var colour = closing ? "#d7191c" : rec ? "#2c7bb6" : "#333";
        return L.circleMarker(ll, {radius: closing || rec ? 7 : 3, color: closing && which === "after" ? "#000" : colour,
          weight: closing && which === "after" ? 2 : 1, fillColor: colour, fillOpacity: closing && which === "after" ? 0.25 : 0.9,
          className: "gm-school gm-" + p.role});
      },
      onEachFeature: function (f, l) {
        var p = f.properties;
        l.bindPopup("<b>" + esc(p.name) + "</b><br>" + esc(t.pupils) + ": " + esc(which === "after" ? p.after_enrolment : p.enrolment)
          + (p.capacity !== null ? " / " + esc(t.capacity) + " " + esc(p.capacity) : ""));
      }
    });
  }
  function pair(beforeId, afterId, url, t) {
    var a = base(beforeId), b = base(afterId), syncing = false;
    function follow(src, dst) {
      src.on("move zoom", function () {
        if (syncing) { return; }
        syncing = true; dst.setView(src.getCenter(), src.getZoom(), {animate: false}); syncing = false;
      });
    }
    follow(a, b); follow(b, a);
    fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (d) {
      var before = catchments(d.before).addTo(a);
      catchments(d.after).addTo(b);
      L.geoJSON({type: "FeatureCollection", features: d.cells}, {
        style: function (f) { return {color: "#333", weight: 0.8, fillColor: deltaColour(f.properties.delta_min), fillOpacity: 0.85, className: "gm-cell"}; },
        onEachFeature: function (f, l) { var p = f.properties;
          l.bindPopup("<b>" + esc(p.name) + "</b><br>" + esc(t.moved) + ": " + esc(p.moved) + "<br>" + esc(t.change) + ": "
            + esc(p.delta_min === null ? "—" : p.delta_min) + "<br>" + esc(t.to) + ": " + esc(p.to)); }
      }).addTo(b);
      L.geoJSON({type: "FeatureCollection", features: d.flows}, {
        style: function (f) { return {color: "#08306b", weight: 1.5 + Math.min(6, f.properties.weight / 8), opacity: 0.8, className: "gm-flow"}; },
        onEachFeature: function (f, l) { var p = f.properties; l.bindTooltip(esc(p.from) + " → " + esc(p.to) + "：" + esc(p.children) + " " + esc(t.children)); }
      }).addTo(b);
      schools(d.schools, "before", t).addTo(a);
      schools(d.schools, "after", t).addTo(b);
      a.invalidateSize(); b.invalidateSize();
      var focus = L.featureGroup();
      d.cells.concat(d.flows).forEach(function (f) { focus.addLayer(L.geoJSON(f)); });
      var bounds = focus.getLayers().length ? focus.getBounds() : before.getBounds();
      if (bounds.isValid()) { a.fitBounds(bounds.pad(0.6)); } else { a.setView([29.2, 120.3], 10); }
      document.body.dataset.mapsReady = "1";
    });
    return {before: a, after: b};
  }
  return {schoolMap: schoolMap, pair: pair, deltaColour: deltaColour};
})();
