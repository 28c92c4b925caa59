// ferry dashboard: blast radius on click, and a quiet refresh that swaps
// the live part of the page (no build step, no dependencies).
"use strict";
(function () {
  let selected = null;

  function highlight(app) {
    const svg = document.querySelector("#graph svg");
    if (!svg) return;
    const nodes = svg.querySelectorAll(".node");
    const edges = svg.querySelectorAll(".edge");
    nodes.forEach(n => n.classList.remove("hl", "dim"));
    edges.forEach(e => e.classList.remove("hl", "dim"));
    document.querySelectorAll("#apps tr.hl").forEach(r => r.classList.remove("hl"));
    const info = document.getElementById("blast");
    if (!app) {
      if (info) info.textContent = "Click an app to see who depends on it.";
      return;
    }
    const node = svg.querySelector('.node[data-app="' + CSS.escape(app) + '"]');
    if (!node) return;
    const blast = JSON.parse(node.dataset.blast || "[]");
    const set = new Set(blast.concat([app]));
    nodes.forEach(n => n.classList.add(set.has(n.dataset.app) ? "hl" : "dim"));
    edges.forEach(e => e.classList.add(set.has(e.dataset.from) && set.has(e.dataset.to) ? "hl" : "dim"));
    set.forEach(a => {
      const row = document.querySelector('#apps tr[data-app="' + CSS.escape(a) + '"]');
      if (row) row.classList.add("hl");
    });
    if (info) {
      info.textContent = blast.length
        ? "Blast radius of " + app + " (" + blast.length + "): " + blast.join(", ")
        : "Nothing depends on " + app + ".";
    }
  }

  document.addEventListener("click", ev => {
    const node = ev.target.closest && ev.target.closest("#graph .node");
    if (!node) return;
    selected = selected === node.dataset.app ? null : node.dataset.app;
    highlight(selected);
  });

  async function refresh() {
    if (document.hidden) return;
    try {
      const resp = await fetch(location.pathname, { headers: { Accept: "text/html" }, cache: "no-store" });
      if (!resp.ok) return;
      const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
      const live = doc.getElementById("live");
      if (!live) return;
      document.getElementById("live").replaceWith(live);
      document.title = doc.title;
      const upd = doc.getElementById("updated");
      if (upd) document.getElementById("updated").replaceWith(upd);
      highlight(selected);
    } catch (e) {
      // The next tick retries; the page keeps its last data.
    }
  }

  const secs = parseInt(document.body.dataset.refresh || "15", 10);
  if (secs > 0) setInterval(refresh, secs * 1000);
})();
