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
      const kinds = new Map();
      for (const op of body.data || []) {
        if (!kinds.has(op.name)) kinds.set(op.name, []);
        if (op.spanKind) kinds.get(op.name).push(op.spanKind);
      }
      for (const [name, k] of kinds) {
        operation.add(new Option(name + (k.length ? "  (" + k.join(", ") + ")" : ""), name));
      }
    } catch (e) { /* leave "All operations" */ }
  });
  const tags = $("#f-tags");
  $("#attribute-keys")?.addEventListener("click", (e) => {
    const key = e.target.closest("button.key");
    if (!key || !tags) return;
    const line = key.dataset.key + "=";
    tags.value = tags.value && !tags.value.endsWith("\n") ? tags.value + "\n" + line : tags.value + line;
    tags.focus();
    tags.setSelectionRange(tags.value.length, tags.value.length);
  });
  const lookback = $("#f-lookback");
  const custom = $("#custom-range");
  if (lookback && custom) {
    const sync = () => { custom.hidden = lookback.value !== "custom"; };
    lookback.addEventListener("change", sync);
    sync();
  }
}

function setupTimeline() {
  const body = $("#timeline-body");
  if (!body) return;
  const rows = $$(".tl-row", body);
  const depth = rows.map(r => Number(r.dataset.depth));
  const collapsed = new Set();
  const ROW = 28; // px, fixed row height (app.css .tl-row)
  const OVERSCAN = 30;
  let shown = rows.map((_, i) => i); // indices of rows not inside a collapsed subtree

  // Virtual scrolling: the server renders every row (nothing is ever dropped); the script keeps only the rows
  // in view in the document, between two spacers, so a trace of 10,000 spans scrolls smoothly.
  const top = document.createElement("div");
  const bottom = document.createElement("div");
  let drawn = "";
  function draw(force) {
    const first = Math.max(0, Math.floor(body.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(shown.length, Math.ceil((body.scrollTop + body.clientHeight) / ROW) + OVERSCAN);
    const key = first + ":" + last + ":" + shown.length;
    if (!force && key === drawn) return;
    drawn = key;
    top.style.height = (first * ROW) + "px";
    bottom.style.height = ((shown.length - last) * ROW) + "px";
    const slice = shown.slice(first, last).map(i => rows[i]);
    body.replaceChildren(top, ...slice, bottom);
  }
  let pending = false;
  body.addEventListener("scroll", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(false); });
  });
  window.addEventListener("resize", () => draw(false));

  // Rows are in depth-first order: a row's descendants are the rows after it with a greater depth.
  function refresh() {
    let hideBelow = Infinity;
    const next = [];
    for (let i = 0; i < rows.length; i++) {
      if (depth[i] <= hideBelow) hideBelow = Infinity;
      if (depth[i] > hideBelow) continue;
      next.push(i);
      if (collapsed.has(i)) hideBelow = depth[i];
    }
    shown = next;
    draw(true);
  }
  function scrollToRow(i) {
    const pos = shown.indexOf(i);
    if (pos < 0) return;
    const y = pos * ROW;
    if (y < body.scrollTop || y + ROW > body.scrollTop + body.clientHeight) body.scrollTop = Math.max(0, y - body.clientHeight / 3);
    draw(false);
  }
  body.dataset.rows = String(rows.length);
  draw(true);
  const selected = rows.findIndex(r => r.classList.contains("selected"));
  if (selected >= 0) scrollToRow(selected);

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

  const setToggles = (open) => rows.forEach(r => { const t = r.querySelector(".tog"); if (t) { t.textContent = open ? "▾" : "▸"; t.setAttribute("aria-expanded", String(open)); } });
  $("#expand-all")?.addEventListener("click", () => { collapsed.clear(); setToggles(true); refresh(); });
  $("#collapse-all")?.addEventListener("click", () => {
    rows.forEach((r, i) => { if (r.querySelector(".tog")) collapsed.add(i); });
    setToggles(false);
    refresh();
  });
  $("#toggle-cp")?.addEventListener("change", (e) => { body.classList.toggle("hide-cp", !e.target.checked); });

  async function showDetails(row) {
    const panel = $("#details");
    const layout = $("#trace-layout");
    const link = row.querySelector("a.span-link");
    if (!panel || !link) return;
    rows.forEach(r => r.classList.remove("selected"));
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
      rows.forEach(r => r.classList.remove("selected"));
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
      rows.forEach((r, i) => {
        const hit = q.length > 0 && r.dataset.text.includes(q);
        r.classList.toggle("match", hit);
        r.classList.toggle("dim", q.length > 0 && !hit);
        if (hit) { n++; first ??= i; }
      });
      if (count) count.textContent = q ? n + (n === 1 ? " match" : " matches") : "";
      if (first !== null) {
        // Reveal a match hidden inside a collapsed subtree, then bring it into view.
        if (!shown.includes(first)) { collapsed.clear(); setToggles(true); refresh(); }
        scrollToRow(first);
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
