// Behaviour every page shares, kept out of inline handlers so that the Content-Security-Policy can
// forbid them: a <select data-autosubmit> submits its form when changed (the language switch).
document.addEventListener("change", function (event) {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
});
