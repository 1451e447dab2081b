// The send-teaching-home route layer: fetched from its own endpoint, drawn with Leaflet (no basemap
// needed: the legs follow the roads and carry their minutes and kilometres).
document.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("gm-route-map");
  if (!el || !window.L) { return; }
  var map = L.map(el, { preferCanvas: false });
  fetch(el.dataset.url, { credentials: "same-origin" }).then(function (r) {
    if (!r.ok) { throw new Error(r.status); }
    return r.json();
  }).then(function (data) {
    var bounds = L.latLngBounds([]);
    data.features.forEach(function (f) {
      var p = f.properties, c = f.geometry.coordinates;
      if (p.kind === "leg") {
        var line = L.polyline(c.map(function (xy) { return [xy[1], xy[0]]; }), { color: p.colour, weight: 4, opacity: 0.85 })
          .bindTooltip(p.minutes + " min · " + p.km + " km", { className: "gm-leg-label" })
          .bindPopup("趟 " + p.trip + " · 第 " + p.leg + " 段：" + p.minutes + " 分钟，" + p.km + " 公里").addTo(map);
        bounds.extend(line.getBounds());
        L.marker([p.mid[1], p.mid[0]], { interactive: false, icon: L.divIcon({ className: "gm-arrow-icon",
          html: '<div style="color:' + p.colour + ';transform:rotate(' + p.bearing + 'deg)">▲</div>', iconSize: [16, 16] }) }).addTo(map);
        L.marker([p.mid[1], p.mid[0]], { interactive: false, icon: L.divIcon({ className: "gm-leg-label",
          html: p.minutes + "′", iconSize: [34, 14], iconAnchor: [-8, 7] }) }).addTo(map);
      } else if (p.kind === "stop") {
        var m = L.marker([c[1], c[0]], { icon: L.divIcon({ className: "gm-stop-icon", html: String(p.n),
          iconSize: [22, 22] }) }).bindPopup("趟 " + p.trip + " 第 " + p.n + " 站：" + p.initials + "（" + p.group + "）" + p.start + "–" + p.end).addTo(map);
        m.getElement && m.getElement() && (m.getElement().style.borderColor = p.colour, m.getElement().style.color = p.colour);
        bounds.extend(m.getLatLng());
      } else if (p.kind === "school") {
        var s = L.marker([c[1], c[0]], { icon: L.divIcon({ className: "gm-school-icon", iconSize: [14, 14] }) })
          .bindTooltip(p.name, { permanent: true, direction: "right" }).addTo(map);
        bounds.extend(s.getLatLng());
      }
    });
    if (bounds.isValid()) { map.fitBounds(bounds.pad(0.08)); } else { map.setView([29.27, 120.24], 11); }
    el.dataset.loaded = String(data.features.length);
  }).catch(function () { el.textContent = el.dataset.failed; });
});
