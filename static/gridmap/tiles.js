/* The grid page's layers drawn from vector tiles (layers/served.py): Leaflet.VectorGrid over MVT tiles
   of the page's root, scoped to the login and versioned by the data they draw. gmTiles.make builds one
   tile layer; the boundaries, roads and schools are styled here, the cells and the summed areas by
   gmGrid (grid.js), which passes its own style and events. Properties are keys (kinds, statuses):
   the words come from the page's config (texts). */
var gmTiles = (function () {
  "use strict";
  var AREA_STYLES = {
    county: {color: "#222", weight: 3, fill: false},
    townships: {color: "#444", weight: 2, fill: false},
    villages: {color: "#333", weight: 1.8, fill: false, className: "gm-village-line"}
  };
  var ORDER = ["township_aggregates", "village_aggregates", "cells", "roads", "villages", "townships", "county",
               "catchments"];

  function esc(text) {
    return String(text === undefined || text === null ? "" : text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  function table(rows) {
    return "<table>" + rows.map(function (r) {
      return "<tr><th>" + esc(r[0]) + "</th><td>" + esc(r[1]) + "</td></tr>";
    }).join("") + "</table>";
  }

  function flag(value) { return value === true || value === "true" || value === 1; }

  function schoolStyle(texts) {
    return function (p) {
      var kind = texts.kind_style[p.kind] || {color: "#555", radius: 5};
      var closed = p.status === "closed", planned = p.status === "planned";
      return {color: closed ? "#333" : kind.color, fillColor: kind.color, radius: kind.radius, fill: true,
              fillOpacity: closed ? 0 : 0.9, weight: 2, opacity: 1, dashArray: planned ? "3 3" : null};
    };
  }

  function roadStyle(texts) {
    return function (p) {
      var s = texts.road_style[String(p.highway).replace(/_link$/, "")] || {color: "#bbbbbb", weight: 1.2};
      return {color: s.color, weight: s.weight, opacity: 0.9, fill: false};
    };
  }

  function catchmentStyle(p) {  // outlines in the colours of the page's school indicator
    return {color: p.color, weight: 3, opacity: 0.9, fill: false, dashArray: "6 4"};
  }

  function popup(key, p, texts) {
    if (key === "schools") {
      return table([[texts.school, p.name], [texts.school_code, p.code], [texts.kind, texts.kinds[p.kind] || p.kind],
                    [texts.grades, p.first_grade + "–" + p.last_grade], [texts.capacity, p.capacity],
                    [texts.boarding, flag(p.boarding) ? texts.yes : texts.no],
                    [texts.status, texts.statuses[p.status] || p.status],
                    [texts.data, texts.synthetic[String(flag(p.synthetic))]]]);
    }
    return table([[texts.name, p.name], [texts.code, p.code], [texts.boundary, texts.synthetic[String(flag(p.synthetic))]]]);
  }

  function pane(map, key) {  // one pane per tiled layer, stacked in the registry's order, under the GeoJSON
    var name = "gm-tiles-" + key, index = ORDER.indexOf(key);  // layers (overlayPane, 400); schools above them
    if (!map.getPane(name)) {
      map.createPane(name).style.zIndex = key === "schools" ? 450 : 380 + (index < 0 ? 0 : index);
    }
    return name;
  }

  var made = [];

  function idle() {  // every tile layer on a map has its tiles in view loaded (browser tests, screenshots)
    return made.every(function (layer) { return !layer._map || !layer.isLoading(); });
  }

  /* spec: {key, url}; own: {style(props, zoom), interactive} for gmGrid's layers (cells, aggregates). */
  function make(map, spec, texts, own) {
    var style = own ? own.style : spec.key === "schools" ? schoolStyle(texts) : spec.key === "roads" ? roadStyle(texts)
      : spec.key === "catchments" ? catchmentStyle : function () { return AREA_STYLES[spec.key]; };
    var styles = {};
    styles[spec.key] = style;
    var layer = L.vectorGrid.protobuf(spec.url, {
      vectorTileLayerStyles: styles, rendererFactory: L.svg.tile, pane: pane(map, spec.key),
      interactive: own ? true : spec.key !== "roads", maxNativeZoom: 18,
      getFeatureId: function (f) { return f.properties.code; },
      fetchOptions: {credentials: "same-origin"}
    });
    made.push(layer);
    if (!own && spec.key !== "roads" && spec.key !== "catchments") {
      layer.on("click", function (e) {
        L.popup().setLatLng(e.latlng).setContent(popup(spec.key, e.layer.properties, texts)).openOn(map);
      });
    }
    if (spec.key === "schools" || spec.key === "catchments") {
      var tip = L.tooltip({sticky: true});
      layer.on("mouseover", function (e) {
        var p = e.layer.properties;
        tip.setContent(esc(p.name));
        tip.setLatLng(e.latlng);
        map.openTooltip(tip);
      });
      layer.on("mousemove", function (e) { tip.setLatLng(e.latlng); });
      layer.on("mouseout", function () { map.closeTooltip(tip); });
    }
    return layer;
  }

  return {make: make, esc: esc, idle: idle};
})();
