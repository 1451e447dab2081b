// Behaviour every page shares, kept out of inline handlers so that the Content-Security-Policy can
// forbid them: a <select data-autosubmit> submits its form when changed (the language switch).
document.addEventListener("change", function (event) {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
});

// Narrow screens: where one is, shown beside the menu button.
document.querySelectorAll(".gm-context-narrow").forEach(function (el) {
  var context = document.querySelector(".gm-context");
  if (context) el.innerHTML = context.innerHTML;
});

// Tables that stack into one block per row on phones (class gm-stack): each cell is labelled with its
// column's heading. Called again for content loaded later (the grid's cell card).
function gmStack(root) {
  root.querySelectorAll("table.gm-stack").forEach(function (table) {
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) { return th.textContent.trim(); });
    table.querySelectorAll("tr").forEach(function (tr) {
      Array.prototype.forEach.call(tr.children, function (td, i) {
        if (td.tagName === "TD" && heads[i]) td.dataset.label = heads[i];
      });
    });
  });
}
gmStack(document);
