/* The working-group picker: checkboxes grouped by unit, filtered as one types, the chosen names listed
   above the groups. Works without JavaScript as plain grouped checkboxes. */
(function () {
  "use strict";
  function setUp(picker) {
    var search = picker.querySelector("[data-picker-search]"), chosen = picker.querySelector("[data-picker-chosen]");
    var groups = picker.querySelectorAll(".gm-picker-group");
    function showChosen() {
      var names = [];
      picker.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
        names.push(box.parentNode.textContent.trim());
      });
      chosen.textContent = names.length ? (picker.dataset.chosenLabel || "") + names.join("、") : "";
    }
    search.addEventListener("input", function () {
      var q = search.value.trim().toLowerCase();
      groups.forEach(function (group) {
        var any = false;
        group.querySelectorAll(".gm-picker-option").forEach(function (option) {
          var hit = !q || option.dataset.search.toLowerCase().indexOf(q) >= 0;
          option.hidden = !hit;
          any = any || hit;
        });
        group.hidden = !any;
        if (q) group.open = any;
      });
    });
    search.addEventListener("keydown", function (e) { if (e.key === "Enter") e.preventDefault(); });
    picker.addEventListener("change", showChosen);
    showChosen();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-picker]").forEach(setUp);
  });
})();
