/* Dropout hotspots on the grid map (layers/hotspots.py puts an empty overlay and this call on the page).
   Fetches the month and filters chosen in the panel from the scoped endpoint (ETag: the browser
   revalidates), draws the significant groups in the overlay, colours the grid's hotspot indicators
   (gmGrid.setIndicator), fills the heat layer of off-school children's homes when it is switched on,
   and lists a clicked group's open cases. Nothing is loaded until the user asks for it. */
var gmHotspots = (function () {
  "use strict";
  var opts, map, group, heat, panel, data = null, loaded = null, homesFor = null, villagesFor = null;
  var wanted = false, seq = 0, pending = null, casesHtml = {};

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function fmt(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_m, k) { return values[k]; }).replace("%%", "%");
  }

  function select(name, label, choices) {
    var wrap = el("label", {"class": "gm-hs-field"}, label + " ");
    var s = el("select", {name: name, "class": "form-select form-select-sm"});
    s.appendChild(el("option", {value: ""}, opts.labels.all));
    choices.forEach(function (c) { s.appendChild(el("option", {value: c.key}, c.label)); });
    wrap.appendChild(s);
    return wrap;
  }

  function params() {
    var q = new URLSearchParams();
    panel.querySelectorAll("input, select").forEach(function (f) { if (f.name && f.value) q.set(f.name, f.value); });
    return q.toString();
  }

  function buildPanel() {
    var Control = L.Control.extend({
      options: {position: "topright"},
      onAdd: function () {
        panel = el("div", {"class": "gm-hs-panel", hidden: "hidden"});
        panel.appendChild(el("div", {"class": "gm-hs-title"}, opts.labels.title));
        var month = el("label", {"class": "gm-hs-field"}, opts.labels.month + " ");
        month.appendChild(el("input", {type: "month", name: "month", value: opts.month, min: opts.first_month,
                                       max: opts.month, "class": "form-control form-control-sm"}));
        panel.appendChild(month);
        panel.appendChild(select("kg", opts.labels.key_group, opts.key_groups));
        panel.appendChild(select("grade", opts.labels.grade, opts.grades));
        panel.appendChild(select("sex", opts.labels.sex, opts.sexes));
        panel.appendChild(el("div", {"class": "gm-hs-status small", "aria-live": "polite"}));
        panel.appendChild(legend(opts.labels.cluster_legend, opts.clusters.filter(function (c) { return c.key !== "ns"; })));
        var links = el("div", {"class": "gm-hs-links small"});
        var method = el("a", {href: "#", "class": "gm-hs-method-link"}, opts.labels.method);
        var note = el("div", {"class": "gm-hs-note small", hidden: "hidden"}, opts.note);
        method.addEventListener("click", function (e) { e.preventDefault(); note.hidden = !note.hidden; });
        var timeline = el("a", {href: opts.timeline, target: "_blank", "class": "gm-hs-timeline-link"}, opts.labels.timeline);
        links.appendChild(method);
        links.appendChild(document.createTextNode(" · "));
        links.appendChild(timeline);
        panel.appendChild(links);
        panel.appendChild(note);
        panel.addEventListener("change", function () { timeline.href = opts.timeline + "?" + params(); load(); });
        L.DomEvent.disableClickPropagation(panel);
        L.DomEvent.disableScrollPropagation(panel);
        return panel;
      }
    });
    new Control().addTo(map);
  }

  function legend(title, classes) {
    var box = el("div", {"class": "gm-hs-legend small"});
    box.appendChild(el("div", {"class": "fw-semibold"}, title));
    classes.forEach(function (c) {
      var item = el("div", {"class": "gm-hs-legend-item", "data-class": c.key});
      var sw = el("span", {"class": "gm-swatch gm-hs-swatch-" + c.key});
      sw.style.background = c.color;
      item.appendChild(sw);
      item.appendChild(document.createTextNode(c.label));
      box.appendChild(item);
    });
    return box;
  }

  function status(text, isError) {
    var s = panel.querySelector(".gm-hs-status");
    s.textContent = text;
    s.classList.toggle("text-danger", !!isError);
  }

  function show() {
    wanted = true;
    panel.hidden = false;
    if (!map.hasLayer(group)) map.addLayer(group);
    load();
  }

  function load() {
    if (!wanted) return;
    var query = params();
    if (loaded === query && data) { if (heat && map.hasLayer(heat)) loadHomes(); return; }
    if (pending === query) return;
    pending = query;
    casesHtml = {};
    var mine = ++seq;
    status(opts.labels.loading);
    fetch(opts.url + "?" + query, {credentials: "same-origin"})
      .then(function (r) {
        return r.json().then(function (body) { return r.ok ? body : Promise.reject(body); });
      })
      .then(function (body) {
        if (mine !== seq) return;
        pending = null;
        data = body;
        loaded = query;
        draw();
        summary();
        indicators();
        if (heat && map.hasLayer(heat)) loadHomes();
      })
      .catch(function (err) {
        if (mine !== seq) return;
        pending = null;
        var msgs = err && err.errors ? Object.keys(err.errors).map(function (k) { return err.errors[k].join(" "); }) : [];
        status(opts.labels.error + (msgs.length ? "：" + msgs.join("；") : ""), true);
      });
  }

  function classOf(list, key) {
    for (var i = 0; i < list.length; i++) if (list[i].key === key) return list[i];
    return list[0];
  }

  function draw() {
    group.clearLayers();
    var shown = data.features.filter(function (f) {
      var c = f.properties.cluster;
      return c.indexOf("hot") === 0 || c.indexOf("cold") === 0 || c === "island";
    });
    L.geoJSON({type: "FeatureCollection", features: shown}, {
      pane: "gmHotspots",
      style: function (f) {
        var c = f.properties.cluster, cls = classOf(opts.clusters, c);
        if (c === "island") return {color: "#555", weight: 1.5, dashArray: "4 3", fill: false};
        return {color: cls.color, weight: 1, fillColor: cls.color, fillOpacity: 0.75, opacity: 1};
      },
      onEachFeature: function (f, layer) {
        layer.bindPopup(function () { return popup(f); }, {maxWidth: 340});
        layer.on("popupopen", function (e) { cases(f, e.popup); });
      }
    }).addTo(group);
  }

  function row(label, value) {
    return "<tr><th>" + label + "</th><td>" + (value === null || value === undefined ? "—" : value) + "</td></tr>";
  }

  function popup(f) {
    var p = f.properties, l = opts.labels, cls = classOf(opts.clusters, p.cluster);
    var html = '<div class="gm-hs-popup"><div class="fw-semibold">' + escape(p.village) + " " + escape(p.name) +
      '</div><div><span class="gm-swatch" style="background:' + cls.color + '"></span>' + escape(cls.label) + "</div><table>" +
      row(l.school_age, p.school_age) + row(l.suspected, p.suspected) + row(l.dropped_out, p.dropped_out) +
      row(l.returned, p.returned) + row(l.rate, p.rate) + row(l.smoothed, p.smoothed);
    if (p.z !== null && p.z !== undefined) html += row(l.cluster, "z = " + p.z + ", p = " + p.p);
    html += "</table>";
    if (opts.cases && p.off_school) {
      html += casesHtml[p.code] ? '<div class="gm-hs-cases-box small">' + casesHtml[p.code] + "</div>"
                                : '<div class="gm-hs-cases-box small text-muted">…</div>';
    }
    return html + "</div>";
  }

  function escape(text) { var d = document.createElement("div"); d.textContent = text; return d.innerHTML; }

  function cases(f, popupObj) {  // the group's open cases, fetched when its popup opens (audited there)
    var code = f.properties.code;
    if (!opts.cases || !f.properties.off_school || casesHtml[code]) return;
    fetch(opts.cases.replace("000000000000000", code), {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        casesHtml[code] = html;
        if (popupObj.isOpen()) popupObj.setContent(popup(f));
      })
      .catch(function () {});
  }

  function summary() {
    var m = data.gridmap, l = opts.labels;
    if (m.reason === "no_data") { status(l.no_data); return; }
    if (m.reason) { status(l.nothing); return; }
    var text = fmt(l.summary, m);
    if (m.significant_without_correction["95"] !== undefined)
      text += "（" + fmt(l.without_fdr, {n: m.significant_without_correction["95"]}) + "）";
    status(text);
  }

  function rateClasses(bins) {
    return opts.rates.map(function (c) {
      if (c.label) return {key: c.key, label: c.label, color: c.color};
      var i = parseInt(c.key.slice(1), 10) - 1;
      if (i >= bins.length) return null;
      var low = i === 0 ? 0 : bins[i - 1];
      return {key: c.key, label: low.toFixed(1) + "–" + bins[i].toFixed(1), color: c.color};
    }).filter(Boolean);
  }

  function indicators() {  // hand the classes to the grid's "colour cells by" menu
    if (!window.gmGrid || !gmGrid.setIndicator) return;
    var clusters = opts.clusters, rates = rateClasses(data.gridmap.bins);
    var byCluster = {}, byRate = {};
    data.features.forEach(function (f) {
      var p = f.properties;
      byCluster[p.code] = clusters.map(function (c) { return c.key; }).indexOf(p.cluster);
      byRate[p.code] = rates.map(function (c) { return c.key; }).indexOf(p.rate_class);
    });
    gmGrid.setIndicator("hotspot", clusters, byCluster);
    gmGrid.setIndicator("hotspot_rate", rates, byRate);
    villages();
  }

  function villages() {  // the village-level rates, only while their indicator is chosen
    if (!data || !window.gmGrid || !gmGrid.current || gmGrid.current() !== "hotspot_village_rate") return;
    var query = loaded;
    if (villagesFor === query) return;
    villagesFor = query;
    fetch(opts.url + "?" + query + (query ? "&" : "") + "level=village", {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (body) {
        if (query !== loaded) return;
        var vrates = rateClasses(body.gridmap.village_bins), keys = vrates.map(function (c) { return c.key; });
        var of = {}, byVillage = {};
        body.features.forEach(function (f) { of[f.properties.code] = keys.indexOf(f.properties.rate_class); });
        data.features.forEach(function (f) { byVillage[f.properties.code] = of[f.properties.code.slice(0, 12)]; });
        gmGrid.setIndicator("hotspot_village_rate", vrates, byVillage);
      })
      .catch(function () { villagesFor = null; });
  }

  function loadHomes() {
    var query = params();
    if (homesFor === query) return;
    homesFor = query;
    fetch(opts.homes + "?" + query, {credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (body) { if (homesFor === query) heat.setLatLngs(body.points); })
      .catch(function () { homesFor = null; });
  }

  function attach(o) {
    opts = o;
    map = window[o.map];
    group = window[o.group];
    heat = o.heat ? window[o.heat] : null;
    if (!map.getPane("gmHotspots")) map.createPane("gmHotspots").style.zIndex = 410;  // above cells and lines
    buildPanel();
    map.on("overlayadd", function (e) {
      if (e.layer === group) show();
      if (heat && e.layer === heat) { show(); loadHomes(); }
    });
    document.addEventListener("gm:indicator", function (e) {
      if (opts.indicators.indexOf(e.detail) >= 0) { show(); villages(); }
    });
    var asked = new URL(window.location.href).searchParams.get("hotspots");
    if (asked) {
      if (/^\d{4}-\d{2}$/.test(asked)) panel.querySelector('input[name="month"]').value = asked;
      show();
      var menu = document.getElementById("gm-indicator");  // the grid page: colour the cells by cluster too
      if (menu && menu.querySelector('option[value="hotspot"]')) {
        var pick = function () { menu.value = "hotspot"; menu.dispatchEvent(new Event("change")); };
        if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", pick); else pick();
      }
    }
  }

  function openCell(code) {  // open a drawn group's popup (from a list, or a browser test)
    var found = null;
    group.eachLayer(function (collection) {
      if (collection.eachLayer) collection.eachLayer(function (l) { if (l.feature.properties.code === code) found = l; });
    });
    if (found) { map.fitBounds(found.getBounds(), {maxZoom: 14}); found.openPopup(); }
    return !!found;
  }

  return {attach: attach, reload: load, openCell: openCell, ready: function () { return !!data; }};
})();
