// The API reference page: Swagger UI (static/vendor/swagger-ui/) renders the stored OpenAPI
// document; snippet tabs; the key chooser swaps the key prefix shown in every snippet.
(() => {
  const viewer = document.getElementById("openapi-viewer");
  const source = document.getElementById("openapi-document");
  if (viewer && source && window.SwaggerUIBundle) {
    const ui = window.SwaggerUIBundle({
      spec: JSON.parse(source.textContent),
      domNode: viewer,
      deepLinking: false,
      docExpansion: "list",
      defaultModelsExpandDepth: 0,
      supportedSubmitMethods: [], // read-only: the snippets above are how to call it
      validatorUrl: null, // never ask a third-party validator about our document
      onComplete: () => {
        if (viewer.dataset.key) ui.preauthorizeApiKey("api_key", viewer.dataset.key);
      },
    });
  }

  document.addEventListener("click", (event) => {
    const tab = event.target.closest("[data-snippet-tab]");
    if (!tab) return;
    const group = tab.closest(".snippets");
    for (const other of group.querySelectorAll("[data-snippet-tab]")) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.classList.toggle("outline", !selected);
    }
    for (const panel of group.querySelectorAll("[data-snippet]")) {
      panel.hidden = panel.dataset.snippet !== tab.dataset.snippetTab;
    }
  });

  const chooser = document.getElementById("key-choice");
  if (chooser) {
    chooser.addEventListener("change", () => {
      const text = chooser.selectedOptions[0].dataset.text;
      for (const slot of document.querySelectorAll(".key-slot")) slot.textContent = text;
      const url = new URL(window.location.href);
      url.searchParams.set("key", chooser.value);
      window.history.replaceState(null, "", url);
    });
  }
})();
