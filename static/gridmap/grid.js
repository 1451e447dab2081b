/* The grid page: colours cells by the chosen indicator, opens a cell's card, searches the list.
   The cells, and at the zooms where cells are a speckle the villages or townships summed from them,
   come as vector tiles of the page's root (layers/served.py, drawn by gmTiles/VectorGrid): each
   feature carries its code, name, counts and the class of every indicator of the page's legend.
   A click on a cell opens its card; a click on a summed area zooms into it. */
var gmGrid = (function () {
  "use strict";
  var labels = {}, config = null, map = null, indicator = null, selected = null;
  var byLevel = {};  // level → indicator key → indicator (classes)
  var tiles = {};  // level → its vector tile layer (group: the cells; township, village: the sums)
  var seen = {group: {}, township: {}, village: {}};  // level → code → properties of features drawn
  var override = {};  // indicator key → code → class, for indicators whose classes arrive later (hotspots)
  var level = "group";  // the level drawn at the current zoom
  var dimmed = null;  // set of codes to keep bright while searching/filtering, or null
  var tip = null;
  var LABEL_ZOOM = 14;
  var LEVEL_CAPTIONS = {township: "caption_township", village: "caption_village", group: "caption_group"};
  var LEVEL_OF = {cells: "group", township_aggregates: "township", village_aggregates: "village"};

  function cfg() {
    if (!config) {
      config = JSON.parse(document.getElementById("gm-config").textContent);
      Object.keys(config.levels).forEach(function (lv) {
        byLevel[lv] = {};
        config.levels[lv].indicators.forEach(function (ind) { byLevel[lv][ind.key] = ind; });
      });
      indicator = config.indicators[0].key;
    }
    return config;
  }

  function classOf(p, key) {
    var o = override[key];
    if (o) { var k = o[p.code]; return k === undefined || k < 0 ? 0 : k; }
    return p["k_" + key] || 0;
  }

  function style(p) {
    var cls = byLevel.group[indicator].classes[classOf(p, indicator)] || {color: "#ffffff"};
    var faded = dimmed && !dimmed.has(p.code), isSelected = p.code === selected;
    return {fill: true, fillColor: cls.color, fillOpacity: faded ? 0.12 : 0.72, opacity: faded ? 0.3 : 1,
            weight: isSelected ? 4 : 0.6, color: isSelected ? "#111" : "#555"};
  }

  function areaStyle(lv, p) {
    var ind = byLevel[lv][indicator] || byLevel[lv][Object.keys(byLevel[lv])[0]];
    var cls = ind.classes[classOf(p, indicator)] || {color: "#ffffff"};
    return {fill: true, fillColor: cls.color, fillOpacity: 0.75, weight: lv === "township" ? 1.5 : 1, color: "#444",
            opacity: 1};
  }

  function restyle() {  // the tiles are drawn again from the browser's cache with the new colours
    if (selected && seen.group[selected]) highlight(selected, true);
    Object.keys(tiles).forEach(function (lv) {
      if (lv !== "group" && !byLevel[lv][indicator]) return;  // drawn on the cells only (hotspots)
      // Removed and added again, not redraw(): Leaflet's redraw asks for tiles at a fractional zoom.
      var group = window[config.levels[lv].group];
      if (map.hasLayer(tiles[lv])) { group.removeLayer(tiles[lv]); group.addLayer(tiles[lv]); }
    });
    var legend = document.getElementById("gm-indicator-legend");
    var shown = byLevel[level] && byLevel[level][indicator] ? byLevel[level] : byLevel.group;
    legend.innerHTML = "";
    var caption = document.createElement("div");
    caption.className = "gm-ind-caption text-muted";
    caption.textContent = legend.dataset[LEVEL_CAPTIONS[level]] || "";
    legend.appendChild(caption);
    shown[indicator].classes.forEach(function (cls) {
      var item = document.createElement("span");
      item.className = "gm-ind-item";
      item.innerHTML = '<span class="gm-swatch" style="background:' + cls.color + '"></span>';
      item.appendChild(document.createTextNode(cls.label));
      legend.appendChild(item);
    });
  }

  function levelFor(zoom) {  // an indicator only the cells have (hotspots) keeps the cells at every zoom
    var bands = cfg().bands;
    for (var i = 0; i < bands.length; i++) {
      if (zoom < bands[i].below && byLevel[bands[i].level][indicator]) return bands[i].level;
    }
    return "group";
  }

  function showLevel() {  // the cells, or the villages / townships summed from them, by zoom
    var zoom = map.getZoom(), container = map.getContainer(), wanted = levelFor(zoom);
    [10, 11, 12, 13].forEach(function (z) { container.classList.toggle("gm-below-z" + z, zoom < z); });
    if (wanted === level && container.dataset.level) return;
    level = wanted;
    container.dataset.level = level;
    Object.keys(config.levels).forEach(function (lv) {
      var group = window[config.levels[lv].group];
      if (!group) return;
      if (lv === level && !map.hasLayer(group)) map.addLayer(group);
      if (lv !== level && map.hasLayer(group)) map.removeLayer(group);
    });
    restyle();
  }

  function tooltip(e, text) {
    tip = tip || L.tooltip({sticky: true});
    tip.setContent(gmTiles.esc(text)).setLatLng(e.latlng);
    map.openTooltip(tip);
  }

  function wire(lv, layer) {  // hover, tooltips and clicks of the cells and the summed areas
    var hover = {fill: true, weight: 3, color: "#000"};
    layer.on("mouseover", function (e) {
      var p = e.layer.properties;
      layer.setFeatureStyle(p.code, L.extend({}, lv === "group" ? style(p) : areaStyle(lv, p), hover));
      tooltip(e, lv === "group" ? p.village + " " + p.name : p.name + "：" + p.children + " / " + p.off);
    });
    layer.on("mousemove", function (e) { if (tip) tip.setLatLng(e.latlng); });
    layer.on("mouseout", function (e) {
      var code = e.layer.properties.code;
      if (lv === "group" && code === selected) layer.setFeatureStyle(code, style(e.layer.properties));
      else layer.resetFeatureStyle(code);
      if (tip) map.closeTooltip(tip);
    });
    layer.on("click", function (e) {
      var p = e.layer.properties;
      if (lv === "group") open(p.code, false);
      else fit([[p.s, p.w], [p.n, p.e]], true);  // drill down
    });
    layer.on("load", showLabels);
  }

  function makeTiles() {  // every tiled layer of the page, into the groups folium made for them
    (config.tiles || []).forEach(function (spec) {
      var lv = LEVEL_OF[spec.key], own = null;
      if (lv) {
        own = {style: function (p) {
          seen[lv][p.code] = p;
          return lv === "group" ? style(p) : areaStyle(lv, p);
        }};
      }
      var layer = gmTiles.make(map, spec, config.texts, own);
      if (lv) { tiles[lv] = layer; wire(lv, layer); }
      window[spec.group].addLayer(layer);
    });
  }

  function showLabels() {  // group names only when zoomed in far enough to read them
    var bounds = map.getBounds(), zoomedIn = map.getZoom() >= LABEL_ZOOM && level === "group";
    var drawn = seen.group;
    Object.keys(labels).concat(Object.keys(drawn)).forEach(function (code) {
      var p = drawn[code], at = p ? [p.ly, p.lx] : null, wanted = zoomedIn && at && bounds.contains(at);
      if (wanted && !labels[code]) {
        labels[code] = L.marker(at, {interactive: false, icon: L.divIcon({
          className: "", iconSize: [0, 0], html: '<div class="gm-label gm-label-group">' + gmTiles.esc(p.lb) + "</div>"})}).addTo(map);
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

  function fitCells(codes, animate) {  // the cells' extent from the server: their tiles may not be loaded yet
    var root = document.getElementById("gm-side").dataset.root;
    return fetch("/tiles/" + encodeURIComponent(root) + "/extent.json?codes=" + codes.map(encodeURIComponent).join(","),
                 {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (d) { fit([[d.bbox[1], d.bbox[0]], [d.bbox[3], d.bbox[2]]], animate); })
      .catch(function () {});
  }

  function highlight(code, on) {
    if (!tiles.group || !code) return;
    if (on) tiles.group.setFeatureStyle(code, style(seen.group[code] || {code: code}));
    else tiles.group.resetFeatureStyle(code);
  }

  function listItem(code) { return document.querySelector('.gm-cell-item[data-code="' + code + '"]'); }

  function open(code, zoom) {
    var side = document.getElementById("gm-side"), box = document.getElementById("gm-card");
    var previous = selected;
    selected = code;
    if (previous && previous !== code) highlight(previous, false);
    if (seen.group[code]) highlight(code, true);
    if (zoom) fitCells([code], zoom !== "now");
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
        if (window.gmStack) window.gmStack(box);  // the children's table stacks on phones
        box.querySelector(".gm-back").addEventListener("click", close);
        if (phone() && zoom !== "now") box.scrollIntoView({behavior: "smooth", block: "start"});
      })
      .catch(function (status) { box.innerHTML = '<div class="alert alert-danger m-2">' + status + "</div>"; });
  }

  function close() {
    var previous = selected;
    selected = null;
    if (previous) highlight(previous, false);
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

  function phone() { return window.matchMedia("(max-width: 767.98px)").matches; }

  function normalise(text) { return text.toLowerCase().replace(/\s+/g, ""); }

  // The search matches every word of the query: "花园 3组", "花园三组", "花园村第3组", "huayuan 3" find
  // group 3 of 花园村 (a group number matches the number exactly, written either way, so 3组 is not
  // 13组); other words match names, codes, pinyin and initials anywhere.
  var NUMERALS = "零一二三四五六七八九";
  function numberOf(text) {  // "3", "3组", "三", "十二组" → 3 / 12; null otherwise
    text = text.replace(/组$/, "");
    if (/^\d{1,2}$/.test(text)) return parseInt(text, 10);
    if (!/^[零一二三四五六七八九十]{1,3}$/.test(text)) return null;
    if (text.indexOf("十") < 0) return text.length === 1 ? NUMERALS.indexOf(text) : null;
    var parts = text.split("十");
    return (parts[0] ? NUMERALS.indexOf(parts[0]) : 1) * 10 + (parts[1] ? NUMERALS.indexOf(parts[1]) : 0);
  }
  function queryWords(query) {
    var words = [];
    query.toLowerCase().replace(/第/g, " ").split(/\s+/).forEach(function (part) {
      (part.match(/[0-9零一二三四五六七八九十]+组?|[^0-9零一二三四五六七八九十]+/g) || []).forEach(function (w) {
        if (w) words.push(w);
      });
    });
    return words;
  }
  function matches(el, words) {
    var key = el.dataset.search, flat = key.replace(/\s+/g, ""), num = el.dataset.num;
    return words.every(function (w) {
      var n = numberOf(w);
      if (n !== null && (w.slice(-1) === "组" || /^\d{1,2}$/.test(w) || w.length <= 3)) {
        if (num && parseInt(num, 10) === n) return true;
        if (w.slice(-1) === "组" || /^\d{1,2}$/.test(w)) return false;
      }
      return key.indexOf(w) >= 0 || flat.indexOf(w) >= 0;
    });
  }

  function init() {
    cfg();
    map = window[config.map];
    makeTiles();
    var select = document.getElementById("gm-indicator");
    select.addEventListener("change", function () {
      indicator = select.value;
      showLevel();
      restyle();
      document.dispatchEvent(new CustomEvent("gm:indicator", {detail: indicator}));  // layers that load on demand
    });
    restyle();
    map.on("zoomend moveend", showLabels);
    map.on("zoomend", showLevel);
    showLevel();
    showLabels();
    var search = document.getElementById("gm-search");
    search.addEventListener("input", function () {
      var q = normalise(search.value);
      document.querySelectorAll(".gm-gap-chip.active").forEach(function (b) { b.classList.remove("active"); });
      if (!q) { filter(function () { return true; }, ""); return; }
      var words = queryWords(search.value);
      var shown = filter(function (el) { return matches(el, words); },
                         document.getElementById("gm-side").dataset.found || "%n");
      if (shown.size && shown.size <= 30) fitCells(Array.from(shown), true);
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
    if (phone()) document.getElementById("gm-controls").open = false;  // the search first, colours on demand
    var legendBox = document.getElementById("gm-legend-box");  // the map legend: folded on phones
    if (legendBox && phone()) legendBox.open = false;
    document.querySelector(".gm-to-list").addEventListener("click", function () {
      document.getElementById("gm-side").scrollIntoView({behavior: "smooth"});
    });
    document.querySelector(".gm-to-map").addEventListener("click", function (e) {
      e.preventDefault();  // it sits in the controls' summary: scroll, do not fold
      window.scrollTo({top: 0, behavior: "smooth"});
    });
    var wanted = document.getElementById("gm-side").dataset.open;
    if (wanted) open(wanted, "now");
    window.gmGridReady = true;
  }

  function setIndicator(key, classes, of) {  // an indicator whose classes arrive later (hotspots.js)
    if (!byLevel.group[key]) return;
    byLevel.group[key].classes = classes;
    override[key] = of;
    if (indicator === key) restyle();
  }

  function drawn() {  // how many distinct cells and summed areas the tiles on the map have drawn
    var n = {cells: 0, townships: 0, villages: 0};
    [["group", "cells"], ["township", "townships"], ["village", "villages"]].forEach(function (pair) {
      if (tiles[pair[0]] && map.hasLayer(tiles[pair[0]])) n[pair[1]] = Object.keys(seen[pair[0]]).length;
    });
    return n;
  }

  function labelPoint(code) {  // [lat, lng] of a drawn cell's or summed area's label point, or null
    var p = seen.group[code] || seen.village[code] || seen.township[code];
    return p ? [p.ly, p.lx] : null;
  }

  return {init: init, open: open, close: close, setIndicator: setIndicator, drawn: drawn, labelPoint: labelPoint,
          current: function () { return indicator; }, level: function () { return level; }};
})();
