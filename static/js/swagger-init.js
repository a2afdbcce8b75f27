// Swagger UI for /api/v1/docs, loaded from this site (no CDN, no inline script).
window.addEventListener("load", function () {
  var node = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: node.dataset.specUrl, dom_id: "#swagger-ui" });
});
