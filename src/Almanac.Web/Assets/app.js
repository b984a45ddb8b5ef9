// Almanac UI behaviour. Pages are rendered on the server and work without this script; it adds the theme
// toggle, live operation lists, collapsing, span details without a reload and find-in-trace. It never builds
// markup from data: text goes through textContent, and the only HTML inserted is server-rendered (encoded).

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

function setupTheme() {
  const button = $("#theme-toggle");
  if (!button) return;
  const current = () => document.documentElement.getAttribute("data-theme")
    || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  const label = () => { button.textContent = current() === "dark" ? "☀" : "☾"; button.title = "Switch to " + (current() === "dark" ? "light" : "dark") + " theme"; };
  label();
  button.addEventListener("click", () => {
    const next = current() === "dark" ? "light" : "dark";
    document.documentElement.setAttribute("data-theme", next);
    try { localStorage.setItem("almanac-theme", next); } catch (e) { /* ignore */ }
    label();
  });
}

function setupSearchForm() {
  const service = $("#f-service");
  const operation = $("#f-operation");
  if (!service || !operation) return;
  service.addEventListener("change", async () => {
    operation.replaceChildren(new Option("All operations", ""));
    if (!service.value) return;
    try {
      const res = await fetch("/api/operations?service=" + encodeURIComponent(service.value));
      if (!res.ok) return;
      const body = await res.json();
      const seen = new Set();
      for (const op of body.data || []) {
        if (seen.has(op.name)) continue;
        seen.add(op.name);
        operation.add(new Option(op.name + (op.spanKind ? "  (" + op.spanKind + ")" : ""), op.name));
      }
    } catch (e) { /* leave "All operations" */ }
  });
  const lookback = $("#f-lookback");
  const custom = $("#custom-range");
  if (lookback && custom) {
    const sync = () => { custom.hidden = lookback.value !== "custom"; };
    lookback.addEventListener("change", sync);
    sync();
  }
  const sort = $("#sort");
  if (sort) sort.addEventListener("change", () => {
    const url = new URL(location.href);
    url.searchParams.set("sort", sort.value);
    location.href = url.pathname + url.search;
  });
}

function setupTimeline() {
  const body = $("#timeline-body");
  if (!body) return;
  const rows = $$(".tl-row", body);
  const depth = rows.map(r => Number(r.dataset.depth));
  const collapsed = new Set();

  // Rows are in depth-first order: a row's descendants are the rows after it with a greater depth.
  function refresh() {
    let hideBelow = Infinity;
    for (let i = 0; i < rows.length; i++) {
      if (depth[i] <= hideBelow) hideBelow = Infinity;
      const hidden = depth[i] > hideBelow;
      rows[i].hidden = hidden;
      if (!hidden && collapsed.has(i)) hideBelow = depth[i];
    }
  }

  body.addEventListener("click", async (e) => {
    const tog = e.target.closest(".tog");
    if (tog) {
      e.preventDefault();
      const row = tog.closest(".tl-row");
      const i = rows.indexOf(row);
      if (collapsed.has(i)) collapsed.delete(i); else collapsed.add(i);
      tog.setAttribute("aria-expanded", String(!collapsed.has(i)));
      tog.textContent = collapsed.has(i) ? "▸" : "▾";
      refresh();
      return;
    }
    const row = e.target.closest(".tl-row");
    if (!row) return;
    e.preventDefault();
    await showDetails(row);
  });

  $("#expand-all")?.addEventListener("click", () => { collapsed.clear(); $$(".tog", body).forEach(t => { t.textContent = "▾"; t.setAttribute("aria-expanded", "true"); }); refresh(); });
  $("#collapse-all")?.addEventListener("click", () => {
    rows.forEach((r, i) => { if (r.querySelector(".tog")) collapsed.add(i); });
    $$(".tog", body).forEach(t => { t.textContent = "▸"; t.setAttribute("aria-expanded", "false"); });
    refresh();
  });
  $("#toggle-cp")?.addEventListener("change", (e) => { body.classList.toggle("hide-cp", !e.target.checked); });

  async function showDetails(row) {
    const panel = $("#details");
    const layout = $("#trace-layout");
    const link = row.querySelector("a.span-link");
    if (!panel || !link) return;
    $$(".tl-row.selected", body).forEach(r => r.classList.remove("selected"));
    row.classList.add("selected");
    try {
      const res = await fetch(row.dataset.fragment);
      if (!res.ok) throw new Error(String(res.status));
      panel.innerHTML = await res.text(); // server-rendered and HTML-encoded by Razor
      panel.hidden = false;
      layout?.classList.add("with-details");
      history.replaceState(null, "", link.getAttribute("href"));
    } catch (e) {
      location.href = link.getAttribute("href");
    }
  }

  document.addEventListener("click", (e) => {
    if (e.target.closest("#close-details")) {
      e.preventDefault();
      const panel = $("#details");
      if (panel) { panel.hidden = true; panel.replaceChildren(); }
      $("#trace-layout")?.classList.remove("with-details");
      $$(".tl-row.selected", body).forEach(r => r.classList.remove("selected"));
      history.replaceState(null, "", location.pathname);
    }
  });

  const find = $("#find");
  const count = $("#find-count");
  if (find) {
    let timer;
    const run = () => {
      const q = find.value.trim().toLowerCase();
      let n = 0;
      let first = null;
      for (const r of rows) {
        const hit = q.length > 0 && r.dataset.text.includes(q);
        r.classList.toggle("match", hit);
        r.classList.toggle("dim", q.length > 0 && !hit);
        if (hit) { n++; first ??= r; }
      }
      if (count) count.textContent = q ? n + (n === 1 ? " match" : " matches") : "";
      if (first) {
        // Reveal matches hidden inside collapsed subtrees.
        if (first.hidden) { collapsed.clear(); $$(".tog", body).forEach(t => { t.textContent = "▾"; }); refresh(); }
        first.scrollIntoView({ block: "nearest" });
      }
    };
    find.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 120); });
    if (find.value) run();
  }
}

setupTheme();
setupSearchForm();
setupTimeline();
document.documentElement.dataset.ready = "true";
