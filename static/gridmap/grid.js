/* The grid page: colours cells by the chosen indicator, opens a cell's card, searches the list.
   Cells register themselves from folium's GeoJson (on_each_feature → gmGrid.addCell); at the zooms
   where cells are a speckle, villages or townships summed from them (gmGrid.addArea) replace them,
   and a click on one zooms into it. */
var gmGrid = (function () {
  "use strict";
  var cells = {}, labels = {}, config = null, map = null, indicator = null, selected = null;
  var byLevel = {};  // level → indicator key → indicator (classes)
  var areas = {};  // level → code → layer (aggregates)
  var level = "group";  // the level drawn at the current zoom
  var dimmed = null;  // set of codes to keep bright while searching/filtering, or null
  var LABEL_ZOOM = 14;
  var LEVEL_CAPTIONS = {township: "caption_township", village: "caption_village", group: "caption_group"};

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

  function style(code) {
    var p = cells[code].feature.properties, cls = byLevel.group[indicator].classes[p.k[indicator]];
    var faded = dimmed && !dimmed.has(code), isSelected = code === selected;
    return {fillColor: cls.color, fillOpacity: faded ? 0.12 : 0.72, opacity: faded ? 0.3 : 1,
            weight: isSelected ? 4 : 0.6, color: isSelected ? "#111" : "#555"};
  }

  function areaStyle(lv, code) {
    var p = areas[lv][code].feature.properties, cls = byLevel[lv][indicator].classes[p.k[indicator]];
    return {fillColor: cls.color, fillOpacity: 0.75, weight: lv === "township" ? 1.5 : 1, color: "#444", opacity: 1};
  }

  function restyle() {
    Object.keys(cells).forEach(function (code) { cells[code].setStyle(style(code)); });
    Object.keys(areas).forEach(function (lv) {
      if (!byLevel[lv][indicator]) return;  // drawn on the cells only (hotspots): its areas stay hidden
      Object.keys(areas[lv]).forEach(function (code) { areas[lv][code].setStyle(areaStyle(lv, code)); });
    });
    if (selected && cells[selected]) cells[selected].bringToFront();
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

  function addArea(feature, layer) {
    cfg();
    var p = feature.properties;
    (areas[p.lv] = areas[p.lv] || {})[p.code] = layer;
    layer.setStyle(areaStyle(p.lv, p.code));
    layer.bindTooltip(p.name + "：" + p.children + " / " + p.off, {sticky: true});
    layer.on("click", function () { fit(layer.getBounds(), true); });  // drill down
    layer.on("mouseover", function () { layer.setStyle({weight: 3, color: "#000"}); });
    layer.on("mouseout", function () { layer.setStyle(areaStyle(p.lv, p.code)); });
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
        if (window.gmStack) window.gmStack(box);  // the children's table stacks on phones
        box.querySelector(".gm-back").addEventListener("click", close);
        if (phone() && zoom !== "now") box.scrollIntoView({behavior: "smooth", block: "start"});
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
    if (wanted && cells[wanted]) open(wanted, "now");
    window.gmGridReady = true;
  }

  function setIndicator(key, classes, of) {  // an indicator whose classes arrive later (hotspots.js)
    if (!byLevel.group[key]) return;
    byLevel.group[key].classes = classes;
    Object.keys(cells).forEach(function (code) {
      var k = of[code];
      cells[code].feature.properties.k[key] = k === undefined || k < 0 ? 0 : k;
    });
    if (indicator === key) restyle();
  }

  return {addCell: addCell, addArea: addArea, init: init, open: open, close: close, setIndicator: setIndicator,
          current: function () { return indicator; }, level: function () { return level; }};
})();
