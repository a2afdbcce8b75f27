// Final or destructive actions ask first: a submit button carrying data-confirm="message" shows
// window.confirm(message) and the form is not sent when the user refuses. Loaded from base.html
// as a same-origin file (the CSP forbids inline script); without JavaScript the form simply
// posts, and the server's own rules still apply.
(function () {
  "use strict";
  var lastClicked = null;

  // Browsers without SubmitEvent.submitter: remember the button that was clicked.
  document.addEventListener("click", function (event) {
    var target = event.target;
    var button = target && target.closest ? target.closest("button, input[type=submit]") : null;
    lastClicked = button && button.form ? button : null;
  }, true);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter || (lastClicked && lastClicked.form === form ? lastClicked : null);
    lastClicked = null;
    var message = button ? button.getAttribute("data-confirm") : null;
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
