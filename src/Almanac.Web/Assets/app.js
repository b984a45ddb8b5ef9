// Almanac UI behaviour. Pages are rendered on the server (the search form's filters are an interactive Blazor
// component); this script adds the theme toggle, the /monitor charts (drawn by timeseries.js; /metrics loads its
// own module), and the trace timeline: it renders the trace's compact JSON model as a virtualised tree (only the rows
// in view are in the document), with collapsing, find-in-trace, the critical path, a zooming minimap and span
// details without a reload. It never builds markup from data: text goes through textContent, and the only HTML
// inserted is server-rendered (encoded) span details.

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

// The search form's filters are an interactive server component (SearchFilters.razor). Until its circuit connects,
// this keeps the custom range's inputs in step with the lookback so the plain form works from the first moment.
function setupSearchForm() {
  const lookback = $("#f-lookback");
  const custom = $("#custom-range");
  if (lookback && custom) {
    const sync = () => { custom.hidden = lookback.value !== "custom"; };
    lookback.addEventListener("change", sync);
  }
}

// Blazor runs the interactive components. Enhanced navigation stays off: every page is a plain load, so the page
// setup below runs for each page it belongs to.
function startBlazor() {
  if (window.Blazor && typeof window.Blazor.start === "function") {
    window.Blazor.start({ ssr: { disableDomPreservation: true } }).catch(() => { /* the plain form still works */ });
  }
}

// Times are rendered in UTC on the server; the top bar's toggle shows them in the browser's time zone instead and is
// remembered. Elements with data-ts (Unix ms) get their text rewritten; .tz-name says which zone is shown.
const TIME_KEY = "almanac-time";
function timeMode() {
  try { return localStorage.getItem(TIME_KEY) === "local" ? "local" : "utc"; } catch (e) { return "utc"; }
}
function formatTime(ms, fmt, mode) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return "";
  const local = mode === "local";
  const p = (v, w = 2) => String(v).padStart(w, "0");
  const time = p(local ? d.getHours() : d.getUTCHours()) + ":" + p(local ? d.getMinutes() : d.getUTCMinutes()) + ":"
    + p(local ? d.getSeconds() : d.getUTCSeconds()) + "." + p(local ? d.getMilliseconds() : d.getUTCMilliseconds(), 3);
  if (fmt === "time") return time;
  const date = (local ? d.getFullYear() : d.getUTCFullYear()) + "-" + p((local ? d.getMonth() : d.getUTCMonth()) + 1) + "-" + p(local ? d.getDate() : d.getUTCDate());
  if (!local) return date + " " + time + " UTC";
  const off = -d.getTimezoneOffset();
  return date + " " + time + " UTC" + (off < 0 ? "−" : "+") + p(Math.floor(Math.abs(off) / 60)) + ":" + p(Math.abs(off) % 60);
}
function applyTimes(root = document) {
  const mode = timeMode();
  for (const e of $$("[data-ts]", root)) e.textContent = formatTime(Number(e.dataset.ts), e.dataset.fmt, mode);
  for (const e of $$(".tz-name", root)) e.textContent = mode === "local" ? "local time" : "UTC";
  const button = $("#tz-toggle");
  if (button) {
    button.textContent = mode === "local" ? "Local" : "UTC";
    button.title = mode === "local" ? "Times are local: show them in UTC" : "Times are UTC: show them in local time";
    button.setAttribute("aria-pressed", String(mode === "local"));
  }
}
function setupTimeZone() {
  $("#tz-toggle")?.addEventListener("click", () => {
    try { localStorage.setItem(TIME_KEY, timeMode() === "local" ? "utc" : "local"); } catch (e) { /* ignore */ }
    applyTimes();
  });
  applyTimes();
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const COLOR = /^#[0-9a-f]{6}$/i;

// Same as Format.Duration on the server: "850ns", "12.3µs", "4.56ms", "1.2s", "3m 4s", "2h 5m".
function formatDuration(nanos) {
  nanos = Math.max(0, Math.round(nanos));
  const trim = (v) => v >= 100 ? String(Math.round(v)) : v >= 10 ? String(Math.round(v * 10) / 10) : String(Math.round(v * 100) / 100);
  if (nanos < 1e3) return nanos + "ns";
  if (nanos < 1e6) return trim(nanos / 1e3) + "µs";
  if (nanos < 1e9) return trim(nanos / 1e6) + "ms";
  const seconds = nanos / 1e9;
  if (seconds < 60) return trim(seconds) + "s";
  const total = Math.floor(seconds);
  return total >= 3600 ? Math.floor(total / 3600) + "h " + Math.floor((total % 3600) / 60) + "m" : Math.floor(total / 60) + "m " + (total % 60) + "s";
}

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

// Loads the stored trace's model and renders it. The page's header, counts and self-time table are server-rendered.
async function setupTimeline() {
  const body = $("#timeline-body");
  if (!body || !body.dataset.model) return;
  const status = $("#timeline-status");
  let model;
  try {
    const res = await fetch(body.dataset.model);
    if (!res.ok) throw new Error("HTTP " + res.status);
    model = await res.json();
  } catch (e) {
    if (status) status.textContent = "Could not load the timeline (" + e.message + "). Reload the page to try again.";
    return;
  }
  renderTimeline(model, { stored: true, selected: body.dataset.selected || "" });
}

// Renders a trace model (see TraceModel.cs) into #timeline: a virtualised tree of rows with bars, collapse, find,
// critical path, a minimap to zoom with, and span details. Everything from the data is set with textContent.
function renderTimeline(model, options) {
  const body = $("#timeline-body");
  const status = $("#timeline-status");
  const spans = Array.isArray(model.spans) ? model.spans : [];
  const n = spans.length;
  const traceId = HEX32.test(model.traceId) ? model.traceId : "";
  const services = (model.services || []).map(String);
  const colors = (model.colors || []).map(c => COLOR.test(c) ? c : "#888888");
  const duration = Math.max(1, Number(model.duration) || 0);
  const ROW = 28; // px, fixed row height (app.css .tl-row)
  const OVERSCAN = 20;

  const depth = new Int32Array(n), parent = new Int32Array(n), start = new Float64Array(n), dur = new Float64Array(n);
  const flags = new Uint8Array(n), kids = new Int32Array(n), below = new Int32Array(n), collapsed = new Uint8Array(n), match = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const s = spans[i];
    depth[i] = s[2] | 0; parent[i] = s[1] | 0; start[i] = +s[5] || 0; dur[i] = +s[6] || 0; flags[i] = s[7] | 0;
    if (parent[i] >= 0 && parent[i] < n) kids[parent[i]]++;
  }
  for (let i = n - 1; i >= 0; i--) if (parent[i] >= 0 && parent[i] < n) below[parent[i]] += 1 + below[i];

  let shown = new Int32Array(n);
  for (let i = 0; i < n; i++) shown[i] = i;
  let shownCount = n;
  let query = "";
  let selected = options.selected ? spans.findIndex(s => s[0] === options.selected) : -1;
  let vs = 0, ve = duration; // the time window the bars are drawn in (the minimap zooms it)
  let cursor = selected; // the row keyboard navigation is on

  body.replaceChildren();
  body.dataset.rows = String(n);
  if (status) {
    const declared = Number(model.spanCount);
    status.textContent = declared && declared !== n
      ? "Showing " + n.toLocaleString("en-US") + " of " + declared.toLocaleString("en-US") + " spans: the rest could not be loaded."
      : "";
  }

  const top = el("div"), rowsBox = el("div"), bottom = el("div");
  body.append(top, rowsBox, bottom);

  function row(i) {
    const s = spans[i];
    const r = el("div", "tl-row");
    r.id = "row-" + i;
    r.dataset.index = String(i);
    r.dataset.depth = String(depth[i]);
    const spanId = HEX16.test(s[0]) ? s[0] : "";
    r.dataset.spanId = spanId;
    if (flags[i] & 1) r.classList.add("error");
    if (i === selected) r.classList.add("selected");
    if (i === cursor) { r.classList.add("cursor"); r.setAttribute("aria-current", "true"); }
    if (query) r.classList.add(match[i] ? "match" : "dim");
    const color = colors[s[3]] || "#888888";

    const name = el("div", "tl-name");
    name.style.paddingLeft = (6 + Math.min(depth[i], 40) * 14) + "px";
    if (kids[i] > 0) {
      const tog = el("button", "tog", collapsed[i] ? "▸" : "▾");
      tog.type = "button";
      tog.setAttribute("aria-expanded", String(!collapsed[i]));
      tog.setAttribute("aria-label", "Collapse or expand children");
      tog.title = below[i] + " spans below";
      name.append(tog);
    } else {
      name.append(el("span", "tog-spacer"));
    }
    const link = el(options.stored && traceId && spanId ? "a" : "span", "span-link");
    if (link.tagName === "A") link.href = "/trace/" + traceId + "?span=" + spanId;
    const dot = el("span", "dot");
    dot.style.background = color;
    link.append(dot, el("span", "svc", services[s[3]] ?? ""), el("span", "op", String(s[4] ?? "")));
    name.append(link);
    if (flags[i] & 1) { const m = el("span", "err-mark", "!"); m.title = "Status: error"; name.append(m); }
    if (flags[i] & 2) { const m = el("span", "muted", "⤴"); m.title = "Its parent span is not in this trace"; name.append(m); }

    const bar = el("div", "tl-bar");
    const span = ve - vs;
    const left = (start[i] - vs) / span, right = (start[i] + dur[i] - vs) / span;
    const l = Math.max(0, left), rr = Math.min(1, right);
    const pct = (f) => (f * 100).toFixed(3) + "%";
    if (rr >= l && right >= 0 && left <= 1) {
      const b = el("span", "bar" + (flags[i] & 1 ? " error" : ""));
      b.style.left = pct(l);
      b.style.width = pct(rr - l);
      b.style.background = color;
      bar.append(b);
      const cp = Array.isArray(s[9]) ? s[9] : [];
      for (let k = 0; k + 1 < cp.length; k += 2) {
        const cl = Math.max(0, (cp[k] - vs) / span), cr = Math.min(1, (cp[k + 1] - vs) / span);
        if (cr < cl) continue;
        const c = el("span", "cp");
        c.style.left = pct(cl);
        c.style.width = pct(cr - cl);
        bar.append(c);
      }
      const label = el("span", "label", formatDuration(dur[i]));
      if (rr < 0.8) label.style.left = pct(rr);
      else if (l > 0.2) label.style.right = pct(1 - l);
      else { label.classList.add("inside"); label.style.right = pct(1 - rr); }
      bar.append(label);
    }
    r.append(name, bar);
    return r;
  }

  let drawn = "";
  function draw(force) {
    const first = Math.max(0, Math.floor(body.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(shownCount, Math.ceil((body.scrollTop + Math.max(body.clientHeight, 200)) / ROW) + OVERSCAN);
    const key = first + ":" + last + ":" + shownCount;
    if (!force && key === drawn) return;
    drawn = key;
    top.style.height = (first * ROW) + "px";
    bottom.style.height = ((shownCount - last) * ROW) + "px";
    const list = [];
    for (let p = first; p < last; p++) list.push(row(shown[p]));
    rowsBox.replaceChildren(...list);
  }
  let pending = false;
  body.addEventListener("scroll", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(false); });
  });
  window.addEventListener("resize", () => { draw(false); drawMinimap(); });

  // Rows are in depth-first order: a row's descendants are the rows after it with a greater depth.
  function refresh() {
    let hideBelow = Infinity, count = 0;
    for (let i = 0; i < n; i++) {
      if (depth[i] <= hideBelow) hideBelow = Infinity;
      if (depth[i] > hideBelow) continue;
      shown[count++] = i;
      if (collapsed[i]) hideBelow = depth[i];
    }
    shownCount = count;
    draw(true);
  }
  function position(i) { // index of row i among the shown rows (shown is ascending), or -1
    let lo = 0, hi = shownCount - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (shown[mid] === i) return mid;
      if (shown[mid] < i) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
  }
  function scrollToRow(i) {
    const pos = position(i);
    if (pos < 0) return;
    const y = pos * ROW;
    if (y < body.scrollTop || y + ROW > body.scrollTop + body.clientHeight) body.scrollTop = Math.max(0, y - body.clientHeight / 3);
    draw(false);
  }
  draw(true);
  if (selected >= 0) scrollToRow(selected);

  body.addEventListener("click", async (e) => {
    const r = e.target.closest(".tl-row");
    if (!r) return;
    const i = Number(r.dataset.index);
    if (e.target.closest(".tog")) {
      e.preventDefault();
      collapsed[i] = collapsed[i] ? 0 : 1;
      refresh();
      return;
    }
    e.preventDefault();
    selected = i;
    cursor = i;
    body.focus({ preventScroll: true });
    draw(true);
    await showDetails(i);
  });

  // Keyboard: up/down move between shown rows, left collapses (or goes to the parent), right expands (or goes to
  // the first child), Enter opens the row's details.
  body.tabIndex = 0;
  body.setAttribute("aria-label", "Trace timeline: arrow keys move and collapse, Enter shows details, / finds");
  body.addEventListener("focus", () => {
    // Mark the row in place: redrawing here would replace the row a click's mousedown focused on, and the click
    // would never arrive.
    if (cursor < 0 && shownCount > 0) {
      cursor = shown[Math.min(shownCount - 1, Math.floor(body.scrollTop / ROW))];
      const r = document.getElementById("row-" + cursor);
      if (r) { r.classList.add("cursor"); r.setAttribute("aria-current", "true"); }
    }
  });
  body.addEventListener("keydown", async (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey || shownCount === 0) return;
    let pos = cursor >= 0 ? position(cursor) : -1;
    const move = (to) => { cursor = shown[Math.max(0, Math.min(shownCount - 1, to))]; scrollToRow(cursor); draw(true); };
    switch (e.key) {
      case "ArrowDown": move(pos < 0 ? 0 : pos + 1); break;
      case "ArrowUp": move(pos < 0 ? 0 : pos - 1); break;
      case "Home": move(0); break;
      case "End": move(shownCount - 1); break;
      case "PageDown": move((pos < 0 ? 0 : pos) + Math.max(1, Math.floor(body.clientHeight / ROW) - 1)); break;
      case "PageUp": move((pos < 0 ? 0 : pos) - Math.max(1, Math.floor(body.clientHeight / ROW) - 1)); break;
      case "ArrowLeft":
        if (cursor < 0) return;
        if (kids[cursor] > 0 && !collapsed[cursor]) { collapsed[cursor] = 1; refresh(); scrollToRow(cursor); }
        else if (parent[cursor] >= 0 && parent[cursor] < n) { cursor = parent[cursor]; scrollToRow(cursor); draw(true); }
        break;
      case "ArrowRight":
        if (cursor < 0) return;
        if (kids[cursor] > 0 && collapsed[cursor]) { collapsed[cursor] = 0; refresh(); }
        else if (kids[cursor] > 0) { cursor = cursor + 1; scrollToRow(cursor); draw(true); } // depth-first: the first child
        break;
      case "Enter":
        if (cursor < 0) return;
        selected = cursor;
        draw(true);
        e.preventDefault();
        await showDetails(cursor);
        return;
      default: return;
    }
    e.preventDefault();
  });

  $("#expand-all")?.addEventListener("click", () => { collapsed.fill(0); refresh(); });
  $("#collapse-all")?.addEventListener("click", () => { for (let i = 0; i < n; i++) collapsed[i] = kids[i] > 0 ? 1 : 0; refresh(); });
  $("#toggle-cp")?.addEventListener("change", (e) => { body.classList.toggle("hide-cp", !e.target.checked); });

  async function showDetails(i) {
    const panel = $("#details");
    const layout = $("#trace-layout");
    if (!panel) return;
    const spanId = spans[i][0];
    if (options.stored && traceId && HEX16.test(spanId)) {
      try {
        const res = await fetch("/trace/" + traceId + "/span/" + spanId);
        if (!res.ok) throw new Error(String(res.status));
        panel.innerHTML = await res.text(); // server-rendered and HTML-encoded by Razor
        applyTimes(panel);
        history.replaceState(history.state, "", withParams({ span: spanId }));
      } catch (e) {
        location.href = "/trace/" + traceId + "?span=" + spanId;
        return;
      }
    } else if (options.details) {
      panel.replaceChildren(options.details(i));
    } else {
      return;
    }
    panel.hidden = false;
    layout?.classList.add("with-details");
  }

  document.addEventListener("click", (e) => {
    if (e.target.closest("#close-details")) {
      e.preventDefault();
      const panel = $("#details");
      if (panel) { panel.hidden = true; panel.replaceChildren(); }
      $("#trace-layout")?.classList.remove("with-details");
      selected = -1;
      draw(true);
      if (options.stored) history.replaceState(history.state, "", withParams({ span: null }));
    }
  });

  const find = $("#find");
  const count = $("#find-count");
  if (find) {
    let timer;
    const run = () => {
      query = find.value.trim().toLowerCase();
      let hits = 0, first = -1;
      for (let i = 0; i < n; i++) {
        const hit = query.length > 0 && String(spans[i][8] ?? "").includes(query) ? 1 : 0;
        match[i] = hit;
        if (hit) { hits++; if (first < 0) first = i; }
      }
      if (count) count.textContent = query ? hits + (hits === 1 ? " match" : " matches") : "";
      if (first >= 0) {
        // Reveal a match hidden inside a collapsed subtree, then bring it into view.
        if (position(first) < 0) { collapsed.fill(0); refresh(); }
        scrollToRow(first);
      }
      draw(true);
    };
    find.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 120); });
    if (find.value) run();
    // "/" focuses find from anywhere on the page but a text field; Esc clears the find, or else closes the details.
    document.addEventListener("keydown", (e) => {
      const typing = e.target instanceof HTMLElement && (e.target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName));
      if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        find.focus();
        find.select();
      } else if (e.key === "Escape") {
        if (find.value) {
          find.value = "";
          clearTimeout(timer);
          run();
          if (e.target === find) body.focus({ preventScroll: true });
        } else if (!$("#details")?.hidden) {
          $("#close-details")?.click();
        }
      }
    });
  }

  // Time axis and minimap: the canvas shows every span (x by time, y by row); dragging on it picks the window
  // the timeline zooms to.
  const ticks = $("#ticks");
  function drawTicks() {
    if (!ticks) return;
    const labels = [];
    for (let k = 0; k <= 4; k++) {
      const t = el("span", null, formatDuration(vs + (ve - vs) * k / 4));
      t.style.left = (k * 25) + "%";
      labels.push(t);
    }
    ticks.replaceChildren(...labels);
  }
  const minimap = $("#minimap"), canvas = $("#minimap-canvas"), windowBox = $("#minimap-window"), reset = $("#zoom-reset");
  function drawMinimap() {
    if (!minimap || !canvas) return;
    minimap.hidden = false;
    const width = Math.max(100, canvas.clientWidth), height = canvas.clientHeight || 48;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const step = height / Math.max(n, 1), rowH = Math.min(6, Math.max(step, 1));
    const bySvc = new Map();
    for (let i = 0; i < n; i++) {
      const c = colors[spans[i][3]] || "#888888";
      if (!bySvc.has(c)) bySvc.set(c, []);
      bySvc.get(c).push(i);
    }
    for (const [c, list] of bySvc) {
      ctx.fillStyle = c;
      for (const i of list) ctx.fillRect(start[i] / duration * width, i * step + Math.max(0, (step - rowH) / 2), Math.max(1, dur[i] / duration * width), rowH);
    }
    showWindow();
  }
  function showWindow() {
    if (!windowBox || !canvas) return;
    const zoomed = vs > 0 || ve < duration;
    windowBox.hidden = !zoomed;
    if (reset) reset.hidden = !zoomed;
    const hint = $("#minimap-hint");
    if (hint) hint.hidden = zoomed;
    if (zoomed) setBox(vs / duration, ve / duration);
  }
  function setBox(a, b) {
    const w = canvas.clientWidth;
    windowBox.style.left = (canvas.offsetLeft + Math.min(a, b) * w) + "px";
    windowBox.style.width = Math.max(1, Math.abs(b - a) * w) + "px";
  }
  // The zoomed window lives in the URL (from/to: nanoseconds after the trace start), so a zoom can be shared and
  // Back undoes it. Only for stored traces: an opened file has no address to come back to.
  function zoom(a, b, push = true) {
    vs = Math.max(0, Math.min(a, b));
    ve = Math.min(duration, Math.max(a, b));
    if (!(ve - vs >= 1)) { vs = 0; ve = duration; }
    drawTicks();
    showWindow();
    draw(true);
    if (push && options.stored) {
      const zoomed = vs > 0 || ve < duration;
      const url = withParams({ from: zoomed ? String(Math.round(vs)) : null, to: zoomed ? String(Math.round(ve)) : null });
      if (url !== location.pathname + location.search) history.pushState({ zoom: true }, "", url);
    }
  }
  function urlZoom() {
    const p = new URLSearchParams(location.search);
    const a = Number(p.get("from")), b = Number(p.get("to"));
    return p.has("from") && p.has("to") && Number.isFinite(a) && Number.isFinite(b) && b > a ? [a, b] : null;
  }
  if (options.stored) {
    window.addEventListener("popstate", () => {
      const z = urlZoom();
      if (z) zoom(z[0], z[1], false); else zoom(0, duration, false);
    });
  }
  if (canvas && windowBox) {
    let from = null;
    const frac = (e) => { const r = canvas.getBoundingClientRect(); return Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)); };
    canvas.addEventListener("pointerdown", (e) => { from = frac(e); canvas.setPointerCapture?.(e.pointerId); windowBox.hidden = false; setBox(from, from); e.preventDefault(); });
    canvas.addEventListener("pointermove", (e) => { if (from !== null) setBox(from, frac(e)); });
    canvas.addEventListener("pointerup", (e) => {
      if (from === null) return;
      const to = frac(e);
      const a = from;
      from = null;
      if (Math.abs(to - a) * canvas.clientWidth < 3) { showWindow(); return; } // a click, not a drag
      zoom(a * duration, to * duration);
    });
  }
  reset?.addEventListener("click", () => zoom(0, duration));
  drawTicks();
  drawMinimap();
  const initial = options.stored ? urlZoom() : null;
  if (initial) zoom(initial[0], initial[1], false);
}

// The current page's address with some query parameters set (a string) or removed (null), others kept.
function withParams(changes) {
  const params = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) { if (v === null) params.delete(k); else params.set(k, v); }
  const q = params.toString();
  return location.pathname + (q ? "?" + q : "");
}

// "Open file" (top bar): the chosen file goes to /open/model, which parses it (OTLP/JSON or Jaeger JSON) and stores
// nothing; the answer is shown on the /open page, filled in here with textContent only.
function setupOpenFile() {
  const input = $("#open-file");
  if (!input) return;
  input.addEventListener("change", async () => {
    const file = input.files && input.files[0];
    input.value = "";
    if (!file) return;
    document.documentElement.dataset.ready = "false";
    try {
      // A fresh /open page (server-rendered, no data in it) replaces the current page's content.
      const page = new DOMParser().parseFromString(await (await fetch("/open")).text(), "text/html");
      const fresh = page.querySelector("main");
      if (fresh) $("main").replaceWith(document.adoptNode(fresh));
      document.title = "Opening " + file.name + " · Almanac";
      if (location.pathname !== "/open") {
        history.pushState(null, "", "/open");
        // The page before was replaced in place: going back loads it again.
        window.addEventListener("popstate", () => location.reload(), { once: true });
      }
      const error = $("#open-error");
      const res = await fetch("/open/model", { method: "POST", body: file, headers: { "Content-Type": "application/json" } });
      if (!res.ok) {
        error.textContent = (res.status === 400 ? "Could not open " + file.name + ": " : "Could not open " + file.name + " (HTTP " + res.status + "): ") + await res.text();
        error.hidden = false;
        document.title = "Could not open the file · Almanac";
        return;
      }
      showOpened(await res.json(), file.name);
    } catch (e) {
      const error = $("#open-error");
      if (error) { error.textContent = "Could not open " + file.name + ": " + e.message; error.hidden = false; }
    } finally {
      document.documentElement.dataset.ready = "true";
    }
  });
}

function showOpened(model, fileName) {
  const spans = Array.isArray(model.spans) ? model.spans : [];
  const services = (model.services || []).map(String);
  const colors = (model.colors || []).map(c => COLOR.test(c) ? c : "#888888");
  const root = spans[0];
  $("#open-intro").hidden = true;
  $("#opened").hidden = false;
  const title = $("#trace-title");
  const dot = el("span", "dot");
  dot.style.background = colors[root ? root[3] : 0] || "#888888";
  const rootService = root ? services[root[3]] ?? "" : "", rootName = root ? String(root[4] ?? "") : "";
  title.replaceChildren(dot, " ", el("span", null, rootService), ": ", el("span", null, rootName));
  document.title = rootService + ": " + rootName + " · Almanac";
  $("#trace-id").textContent = HEX32.test(model.traceId) ? model.traceId : "";
  $("#open-file-name").textContent = fileName;
  const startEl = $("#trace-start");
  try { startEl.dataset.ts = String(Number(BigInt(String(model.start)) / 1000000n)); startEl.dataset.fmt = "full"; } catch (e) { delete startEl.dataset.ts; }
  startEl.textContent = "";
  applyTimes(startEl.parentElement || document);
  $("#trace-duration").textContent = formatDuration(Number(model.duration) || 0);
  $("#service-count").textContent = String(services.length);
  let depth = 0, errors = 0;
  for (const s of spans) { depth = Math.max(depth, (s[2] | 0) + 1); if (s[7] & 1) errors++; }
  $("#trace-depth").textContent = String(depth);
  $("#span-count").textContent = String(spans.length);
  const errorCount = $("#error-count");
  errorCount.textContent = String(errors);
  errorCount.classList.toggle("error", errors > 0);
  $("#service-chips").replaceChildren(...services.map((name, i) => {
    const chip = el("span", "chip");
    const d = el("span", "dot");
    d.style.background = colors[i] || "#888888";
    chip.append(d, el("span", null, name));
    return chip;
  }));
  const notes = $("#open-notes");
  const list = (model.notes || []).map(String);
  notes.replaceChildren(...list.map(t => el("li", null, t)));
  notes.hidden = list.length === 0;
  renderTimeline(model, { stored: false, details: (i) => spanDetails(spans[i], services, colors, Number(model.duration) || 0) });
}

// Span details for an opened file, from the model (the server's details fragment needs a stored span).
function spanDetails(s, services, colors, duration) {
  const d = (s && typeof s[10] === "object" && s[10]) || {};
  const box = el("div", "span-details");
  box.id = "span-details";
  box.dataset.spanId = HEX16.test(s[0]) ? s[0] : "";
  const head = el("div");
  head.style.cssText = "display: flex; gap: 8px; align-items: start";
  const h2 = el("h2");
  h2.style.flex = "1";
  const dot = el("span", "dot");
  dot.style.background = colors[s[3]] || "#888888";
  const name = el("span", null, String(s[4] ?? ""));
  name.id = "detail-name";
  h2.append(dot, " ", name);
  const close = el("button", "button", "✕");
  close.type = "button";
  close.id = "close-details";
  close.setAttribute("aria-label", "Close details");
  head.append(h2, close);
  const table = el("table");
  const fact = (label, value, id, mono) => {
    const tr = el("tr");
    const td = el("td", mono ? "mono" : null, value);
    if (id) td.id = id;
    tr.append(el("th", null, label), td);
    table.append(tr);
  };
  fact("Service", services[s[3]] ?? "", "detail-service");
  fact("Kind", String(d.kind ?? ""), "detail-kind");
  fact("Status", String(d.status ?? ""), "detail-status");
  fact("Start", "+" + formatDuration(Number(s[5]) || 0));
  fact("Duration", formatDuration(Number(s[6]) || 0), "detail-duration");
  fact("Span id", box.dataset.spanId, null, true);
  fact("Parent span id", String(d.parent || "—"), null, true);
  const rows = (list) => {
    const t = el("table", "attributes");
    const items = Array.isArray(list) ? list : [];
    for (const a of items) {
      const tr = el("tr"), td = el("td");
      td.append(el("span", "value", String(a[1] ?? "")), " ", el("span", "type", String(a[2] ?? "")));
      tr.append(el("th", null, String(a[0] ?? "")), td);
      t.append(tr);
    }
    if (items.length === 0) { const tr = el("tr"); tr.append(el("td", "muted", "none")); t.append(tr); }
    return t;
  };
  const section = (id, title, ...content) => { const sec = el("section"); sec.id = id; sec.append(el("h3", null, title), ...content); return sec; };
  box.append(head, table, section("detail-attributes", "Attributes (" + (d.attributes || []).length + ")", rows(d.attributes)));
  const events = Array.isArray(d.events) ? d.events : [];
  if (events.length) {
    box.append(section("detail-events", "Events (" + events.length + ")", ...events.map(ev => {
      const div = el("div", "event"), line = el("div");
      line.append(el("b", null, String(ev[0] ?? "")), " ", el("span", "muted", "+" + formatDuration(Number(ev[1]) || 0) + " from span start"));
      div.append(line);
      if (Array.isArray(ev[2]) && ev[2].length) div.append(rows(ev[2]));
      return div;
    })));
  }
  const links = Array.isArray(d.links) ? d.links : [];
  if (links.length) {
    box.append(section("detail-links", "Links (" + links.length + ")", ...links.map(l => {
      const div = el("div", "link"), id = String(l[0] ?? "");
      if (HEX32.test(id)) { const a = el("a", "mono", id); a.href = "/trace/" + id; div.append(a); }
      else div.append(el("span", "muted", "(invalid trace id)"));
      div.append(" ", el("span", "mono muted", "span " + String(l[1] ?? "")));
      if (Array.isArray(l[2]) && l[2].length) div.append(rows(l[2]));
      return div;
    })));
  }
  box.append(section("detail-resource", "Resource", rows(d.resource)));
  box.append(section("detail-scope", "Instrumentation scope", el("div", "mono", String(d.scope || "—"))));
  return box;
}

setupTheme();
setupTimeZone();
startBlazor();
setupSearchForm();
setupOpenFile();
// The metrics page's chart lives in its own module, loaded only on that page.
const metrics = document.getElementById("metrics-side")
  ? import("/assets/metrics.js").then(m => { m.setupMetricsForm(); return m.setupMetricsChart(); })
  : Promise.resolve();

// The /monitor page's three charts, drawn by the shared chart module from the numbers the server put in
// data-series (numbers only: nothing from span data is in it). Loaded only on that page.
async function setupMonitor() {
  const host = $("#monitor-charts");
  if (!host) return;
  let data;
  try { data = JSON.parse(host.dataset.series || "{}"); } catch (e) { return; }
  const { createTimeSeriesChart, formatNumber } = await import("/assets/timeseries.js");
  const times = data.times || [];
  const series = (name, values, color) => ({ name, color, points: times.map((t, i) => ({ t, v: values ? values[i] : null })) });
  const range = times.length ? { xMin: times[0] - data.stepMs, xMax: times[times.length - 1] } : {};
  const ms = v => v >= 1000 ? formatNumber(v / 1000) + " s" : formatNumber(v) + " ms";
  const charts = {
    rate: { series: [series("requests/s", data.rate, "var(--accent)")], unit: "req/s", yLabel: "req/s" },
    errors: { series: [series("errors", data.errorPercent, "var(--error)")], formatValue: v => formatNumber(v) + "%", yLabel: "% of requests" },
    latency: { series: [series("p50", data.p50), series("p95", data.p95), series("p99", data.p99)], formatValue: ms, yLabel: "duration" },
  };
  for (const el of $$("[data-chart]", host)) {
    const options = charts[el.dataset.chart];
    if (options) createTimeSeriesChart(el, { height: 200, ...range, ...options });
  }
  host.dataset.drawn = "true";
}

Promise.allSettled([setupTimeline(), metrics, setupMonitor()]).finally(() => { document.documentElement.dataset.ready = "true"; });
