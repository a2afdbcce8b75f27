// A button marked data-print prints the page (templates/plans/plan.html): the print stylesheet
// keeps the plan alone. Without JavaScript the browser's own print does the same.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    window.print();
  });
});
