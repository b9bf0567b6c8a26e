// /api/redoc/: starts ReDoc from the data-* attributes of #redoc-container (no inline script: CSP).
(() => {
  const container = document.getElementById("redoc-container");
  if (!container || !window.Redoc) return;
  window.Redoc.init(container.dataset.schemaUrl, JSON.parse(container.dataset.settings || "{}"), container);
})();
