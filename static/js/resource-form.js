// A new resource: when the donor changes the kind, the fields whose default depends on it
// (one per household for goods; someone able to work for jobs and training) follow, unless the
// donor has already changed them. A same-origin script: the page's CSP allows no inline one.
(function () {
  var kind = document.getElementById("kind");
  var limit = document.getElementById("per_household");
  var labour = document.getElementById("labour_required");
  var defaults = JSON.parse(document.getElementById("kind-defaults").textContent);
  if (!kind || !limit || !labour) { return; }
  var touched = {};
  limit.addEventListener("input", function () { touched.limit = true; });
  labour.addEventListener("change", function () { touched.labour = true; });
  kind.addEventListener("change", function () {
    var d = defaults[kind.value];
    if (!d) { return; }
    if (!touched.limit) { limit.value = d.per_household === null ? "" : d.per_household; }
    if (!touched.labour) { labour.checked = d.labour_required; }
  });
})();
