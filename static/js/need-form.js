// Proposes a category while staff type a need's title and description (no inline script).
(function () {
  var form = document.querySelector("form [name=subcategory]");
  if (!form) { return; }
  var select = form;
  var title = document.querySelector("[name=title]");
  var description = document.querySelector("[name=description]");
  var token = document.querySelector("[name=csrf_token]");
  var hint = document.createElement("div");
  hint.className = "form-text";
  hint.setAttribute("aria-live", "polite");
  select.parentNode.appendChild(hint);
  var timer = null;
  function ask() {
    var words = ((title && title.value) || "") + " " + ((description && description.value) || "");
    if (words.trim().length < 2) { hint.textContent = ""; return; }
    fetch(select.dataset.suggestUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token ? token.value : "" },
      body: JSON.stringify({ text: words }),
      credentials: "same-origin"
    }).then(function (r) { return r.ok ? r.json() : { suggestions: [] }; }).then(function (data) {
      hint.textContent = "";
      data.suggestions.forEach(function (s) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "btn btn-sm btn-outline-info me-1 mt-1";
        button.textContent = s.label;
        button.addEventListener("click", function () { select.value = s.code; });
        hint.appendChild(button);
      });
    }).catch(function () { hint.textContent = ""; });
  }
  [title, description].forEach(function (field) {
    if (field) { field.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(ask, 400); }); }
  });
})();
