/* The grid page: colours cells by the chosen indicator, opens a cell's card, searches the list.
   Cells register themselves from folium's GeoJson (on_each_feature → gmGrid.addCell). */
var gmGrid = (function () {
  "use strict";
  var cells = {}, labels = {}, config = null, byKey = {}, map = null, indicator = null, selected = null;
  var dimmed = null;  // set of codes to keep bright while searching/filtering, or null
  var LABEL_ZOOM = 14;

  function cfg() {
    if (!config) {
      config = JSON.parse(document.getElementById("gm-config").textContent);
      config.indicators.forEach(function (ind) { byKey[ind.key] = ind; });
      indicator = config.indicators[0].key;
    }
    return config;
  }

  function style(code) {
    var p = cells[code].feature.properties, cls = byKey[indicator].classes[p.k[indicator]];
    var faded = dimmed && !dimmed.has(code), isSelected = code === selected;
    return {fillColor: cls.color, fillOpacity: faded ? 0.12 : 0.72, opacity: faded ? 0.3 : 1,
            weight: isSelected ? 4 : 0.6, color: isSelected ? "#111" : "#555"};
  }

  function restyle() {
    Object.keys(cells).forEach(function (code) { cells[code].setStyle(style(code)); });
    if (selected && cells[selected]) cells[selected].bringToFront();
    var legend = document.getElementById("gm-indicator-legend");
    legend.innerHTML = "";
    byKey[indicator].classes.forEach(function (cls) {
      var item = document.createElement("span");
      item.className = "gm-ind-item";
      item.innerHTML = '<span class="gm-swatch" style="background:' + cls.color + '"></span>';
      item.appendChild(document.createTextNode(cls.label));
      legend.appendChild(item);
    });
  }

  function addCell(feature, layer) {
    cfg();
    var p = feature.properties;
    cells[p.code] = layer;
    layer.setStyle(style(p.code));
    layer.bindTooltip(p.village + " " + p.name, {sticky: true});
    layer.on("click", function () { open(p.code, false); });
    layer.on("mouseover", function () { layer.setStyle({weight: 3, color: "#000"}); });
    layer.on("mouseout", function () { layer.setStyle(style(p.code)); });
  }

  function showLabels() {  // group names only when zoomed in far enough to read them
    var bounds = map.getBounds(), zoomedIn = map.getZoom() >= LABEL_ZOOM;
    Object.keys(cells).forEach(function (code) {
      var p = cells[code].feature.properties, wanted = zoomedIn && bounds.contains(p.lp);
      if (wanted && !labels[code]) {
        labels[code] = L.marker(p.lp, {interactive: false, icon: L.divIcon({
          className: "", iconSize: [0, 0], html: '<div class="gm-label gm-label-group">' + p.lb + "</div>"})}).addTo(map);
      } else if (!wanted && labels[code]) {
        map.removeLayer(labels[code]);
        delete labels[code];
      }
    });
  }

  function fit(bounds, animate) {
    // Leaflet ignores a new view while a zoom animation runs (the page's first fit may still be going).
    if (map._animatingZoom) { map.once("zoomend", function () { fit(bounds, animate); }); return; }
    map.fitBounds(bounds, {maxZoom: 15, padding: [40, 40], animate: animate});
  }

  function listItem(code) { return document.querySelector('.gm-cell-item[data-code="' + code + '"]'); }

  function open(code, zoom) {
    var side = document.getElementById("gm-side"), box = document.getElementById("gm-card");
    var previous = selected;
    selected = code;
    if (previous && cells[previous]) cells[previous].setStyle(style(previous));
    if (cells[code]) {
      cells[code].setStyle(style(code));
      cells[code].bringToFront();
      if (zoom) fit(cells[code].getBounds(), zoom !== "now");
    }
    document.querySelectorAll(".gm-cell-item.active").forEach(function (el) { el.classList.remove("active"); });
    var item = listItem(code);
    if (item) item.classList.add("active");
    var url = new URL(window.location.href);
    url.searchParams.set("cell", code);
    history.replaceState(null, "", url);
    box.hidden = false;
    box.innerHTML = '<div class="p-3 text-muted">…</div>';
    document.getElementById("gm-list").hidden = true;
    fetch("/grid/cell/" + encodeURIComponent(code) + "/?root=" + encodeURIComponent(side.dataset.root),
          {headers: {"X-Requested-With": "fetch"}, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        if (selected !== code) return;
        box.innerHTML = html;
        box.querySelector(".gm-back").addEventListener("click", close);
      })
      .catch(function (status) { box.innerHTML = '<div class="alert alert-danger m-2">' + status + "</div>"; });
  }

  function close() {
    var previous = selected;
    selected = null;
    if (previous && cells[previous]) cells[previous].setStyle(style(previous));
    document.getElementById("gm-card").hidden = true;
    document.getElementById("gm-list").hidden = false;
    var url = new URL(window.location.href);
    url.searchParams.delete("cell");
    history.replaceState(null, "", url);
    var item = listItem(previous);
    if (item) item.scrollIntoView({block: "center"});
  }

  function filter(test, message) {  // show matching list items, fade the other cells on the map
    var shown = new Set(), items = document.querySelectorAll(".gm-cell-item");
    items.forEach(function (el) {
      var hit = test(el);
      el.hidden = !hit;
      if (hit) shown.add(el.dataset.code);
    });
    document.querySelectorAll(".gm-village").forEach(function (v) {
      var any = v.querySelector(".gm-cell-item:not([hidden])");
      v.hidden = !any;
      if (test !== null && any && shown.size <= 200) v.open = true;
    });
    dimmed = shown.size === items.length ? null : shown;
    document.getElementById("gm-search-result").textContent = message ? message.replace("%n", shown.size) : "";
    restyle();
    return shown;
  }

  function normalise(text) { return text.toLowerCase().replace(/\s+/g, ""); }

  function init() {
    cfg();
    map = window[config.map];
    var select = document.getElementById("gm-indicator");
    select.addEventListener("change", function () {
      indicator = select.value;
      restyle();
      document.dispatchEvent(new CustomEvent("gm:indicator", {detail: indicator}));  // layers that load on demand
    });
    restyle();
    map.on("zoomend moveend", showLabels);
    showLabels();
    var search = document.getElementById("gm-search");
    search.addEventListener("input", function () {
      var q = normalise(search.value);
      document.querySelectorAll(".gm-gap-chip.active").forEach(function (b) { b.classList.remove("active"); });
      if (!q) { filter(function () { return true; }, ""); return; }
      var shown = filter(function (el) { return el.dataset.search.indexOf(q) >= 0 || el.dataset.search.replace(/\s+/g, "").indexOf(q) >= 0; },
                         document.getElementById("gm-side").dataset.found || "%n");
      if (shown.size && shown.size <= 30) {
        var group = L.featureGroup(Array.from(shown).map(function (c) { return cells[c]; }).filter(Boolean));
        if (group.getLayers().length) fit(group.getBounds(), true);
      }
    });
    search.addEventListener("keydown", function (e) {
      if (e.key !== "Enter") return;
      var first = document.querySelector(".gm-cell-item:not([hidden])");
      if (first) open(first.dataset.code, true);
    });
    document.querySelectorAll(".gm-gap-chip").forEach(function (button) {
      button.addEventListener("click", function () {
        var on = !button.classList.contains("active");
        document.querySelectorAll(".gm-gap-chip.active").forEach(function (b) { b.classList.remove("active"); });
        search.value = "";
        if (!on) { filter(function () { return true; }, ""); return; }
        button.classList.add("active");
        var gap = button.dataset.gap;
        filter(function (el) { return el.dataset.gaps.split(" ").indexOf(gap) >= 0; },
               document.getElementById("gm-side").dataset.found || "%n");
      });
    });
    var list = document.getElementById("gm-list");
    list.addEventListener("click", function (e) {
      var item = e.target.closest(".gm-cell-item");
      if (item) open(item.dataset.code, true);
    });
    list.addEventListener("keydown", function (e) {
      var item = e.target.closest(".gm-cell-item");
      if (item && e.key === "Enter") open(item.dataset.code, true);
    });
    var wanted = document.getElementById("gm-side").dataset.open;
    if (wanted && cells[wanted]) open(wanted, "now");
    window.gmGridReady = true;
  }

  function setIndicator(key, classes, of) {  // an indicator whose classes arrive later (hotspots.js)
    if (!byKey[key]) return;
    byKey[key].classes = classes;
    Object.keys(cells).forEach(function (code) {
      var k = of[code];
      cells[code].feature.properties.k[key] = k === undefined || k < 0 ? 0 : k;
    });
    if (indicator === key) restyle();
  }

  return {addCell: addCell, init: init, open: open, close: close, setIndicator: setIndicator,
          current: function () { return indicator; }};
})();
