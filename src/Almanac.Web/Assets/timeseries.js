// timeseries.js — a small, dependency-free SVG time-series chart (ES module), shared by Almanac's pages that draw
// values over time (/monitor's RED charts, /metrics). It never builds markup from data: every label, legend entry
// and tooltip line is set with textContent, so series names and units taken from telemetry stay text.
//
// Usage:
//
//   import { createTimeSeriesChart } from "/assets/timeseries.js";
//   const chart = createTimeSeriesChart(containerElement, {
//     series: [                                   // one line per series, drawn in order
//       { name: "p95",                            // legend and tooltip label (text, never HTML)
//         color: "#3b5bdb",                       // optional; default: var(--ts-color-N) or a built-in palette
//         points: [{ t: 1732420000000, v: 12.5 }, { t: 1732420060000, v: null }],  // t: epoch ms; v: null = gap
//         markers: [{ t: 1732420030000, v: 40, label: "exemplar abc", data: anything }] },  // optional
//     ],
//     unit: "ms",                                 // optional; appended to axis labels and tooltip values
//     formatValue: (v) => v.toFixed(1) + " ms",   // optional; overrides the unit-based formatting everywhere
//     yLabel: "latency",                          // optional; axis title drawn above the y axis
//     yMin: 0,                                    // optional; lowest y value shown (default 0; null = fit data)
//     yMax: undefined,                            // optional; highest y value shown (default: fit data)
//     xMin: undefined, xMax: undefined,           // optional epoch ms; default: the data's time range
//     height: 220,                                // optional; px (the width follows the container)
//     onMarkerClick: (marker, series, event) => {},  // optional; markers are drawn only when given
//     emptyText: "No data in this time range",    // optional; shown when no series has a value
//   });
//   chart.update({ series: [...] });              // redraw with new options merged over the old
//   chart.destroy();                              // remove the chart and its listeners
//
// Theme: colours come from CSS custom properties with fallbacks, resolved live by the browser, so switching the
// page between light and dark needs no redraw: --ts-axis (axis and grid lines), --ts-text (labels),
// --ts-tooltip-bg, --ts-tooltip-text, --ts-tooltip-border, --ts-color-1 … --ts-color-8 (series palette). Each
// falls back to Almanac's theme variables (--border, --muted, --panel, --text) and then to fixed colours.
//
// The rendered DOM is stable for tests and styling: the container gets class "ts-chart-host"; inside it an
// <svg class="ts-chart"> holds one <path class="ts-line" data-series="name" data-points="n"> per series, and
// <circle class="ts-marker"> per marker; the legend is <div class="ts-legend"> with one
// <button class="ts-legend-item"> per series (clicking one hides or shows that series); the hover tooltip is
// <div class="ts-tooltip">.

const SVG = "http://www.w3.org/2000/svg";

const PALETTE = ["#3b5bdb", "#0ca678", "#f08c00", "#d6336c", "#7048e8", "#1098ad", "#74b816", "#e8590c"];

const THEME = {
  axis: "var(--ts-axis, var(--border, #dde2e8))",
  text: "var(--ts-text, var(--muted, #5f6b7a))",
  tooltipBg: "var(--ts-tooltip-bg, var(--panel, #ffffff))",
  tooltipText: "var(--ts-tooltip-text, var(--text, #1d2330))",
  tooltipBorder: "var(--ts-tooltip-border, var(--border, #dde2e8))",
  font: "var(--font, system-ui, sans-serif)",
};

const seriesColor = (s, i) => s.color || `var(--ts-color-${(i % PALETTE.length) + 1}, ${PALETTE[i % PALETTE.length]})`;

const MARGIN = { top: 22, right: 16, bottom: 26, left: 58 };

// Tick spacings for the time axis, smallest first.
const SECOND = 1000, MINUTE = 60 * SECOND, HOUR = 60 * MINUTE, DAY = 24 * HOUR;
const TIME_STEPS = [SECOND, 2 * SECOND, 5 * SECOND, 10 * SECOND, 15 * SECOND, 30 * SECOND, MINUTE, 2 * MINUTE,
  5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY,
  7 * DAY, 14 * DAY, 30 * DAY];

function svgEl(tag, attrs, style) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  // Colours go through style (not presentation attributes) because only CSS resolves var(--…).
  for (const [k, v] of Object.entries(style || {})) node.style.setProperty(k, v);
  return node;
}

function htmlEl(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Compact number: 0.000123 → "0.000123", 1234 → "1.23k", 2500000 → "2.5M". */
export function formatNumber(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a >= 1e9) return trim(v / 1e9) + "G";
  if (a >= 1e6) return trim(v / 1e6) + "M";
  if (a >= 1e4) return trim(v / 1e3) + "k";
  if (a >= 100) return String(Math.round(v));
  if (a >= 1) return trim(v);
  return String(Number(v.toPrecision(3)));
}

function trim(v) {
  return String(Number(v.toFixed(2)));
}

/** "Nice" y ticks (1, 2, 2.5, 5 × 10^n) covering [min, max], about `count` of them. */
export function niceTicks(min, max, count = 5) {
  if (!(max > min)) max = min + 1;
  const raw = (max - min) / Math.max(1, count);
  const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map(m => m * magnitude).find(s => s >= raw) || 10 * magnitude;
  const first = Math.floor(min / step) * step;
  const ticks = [];
  for (let v = first; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < max) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

function timeStep(span, maxTicks) {
  return TIME_STEPS.find(s => span / s <= maxTicks) || Math.ceil(span / maxTicks / DAY) * DAY;
}

const pad2 = n => String(n).padStart(2, "0");

function timeLabel(t, step, span) {
  const d = new Date(t);
  if (step >= DAY) return d.toLocaleDateString(undefined, { month: "short", day: "numeric" });
  const hm = pad2(d.getHours()) + ":" + pad2(d.getMinutes());
  const withSeconds = step < MINUTE ? hm + ":" + pad2(d.getSeconds()) : hm;
  return span > DAY && d.getHours() === 0 && d.getMinutes() === 0
    ? d.toLocaleDateString(undefined, { month: "short", day: "numeric" }) : withSeconds;
}

function tooltipTime(t) {
  const d = new Date(t);
  return d.toLocaleDateString(undefined, { month: "short", day: "numeric" }) + " "
    + pad2(d.getHours()) + ":" + pad2(d.getMinutes()) + ":" + pad2(d.getSeconds());
}

export function createTimeSeriesChart(container, initialOptions) {
  let options = { yMin: 0, height: 220, emptyText: "No data in this time range", ...initialOptions };
  const hidden = new Set();
  container.classList.add("ts-chart-host");
  if (getComputedStyle(container).position === "static") container.style.position = "relative";

  const svg = svgEl("svg", { class: "ts-chart", role: "img" }, { display: "block", width: "100%", overflow: "visible", "font-family": THEME.font });
  const legend = htmlEl("div", "ts-legend");
  Object.assign(legend.style, { display: "flex", flexWrap: "wrap", gap: "4px 12px", fontSize: "12px", marginTop: "4px", paddingLeft: MARGIN.left + "px" });
  const tooltip = htmlEl("div", "ts-tooltip");
  Object.assign(tooltip.style, {
    position: "absolute", pointerEvents: "none", display: "none", zIndex: "5", padding: "6px 8px", borderRadius: "6px",
    fontSize: "12px", lineHeight: "1.4", whiteSpace: "nowrap", background: THEME.tooltipBg, color: THEME.tooltipText,
    border: "1px solid " + THEME.tooltipBorder, boxShadow: "0 2px 6px rgba(0,0,0,.15)",
  });
  container.replaceChildren(svg, legend, tooltip);

  let layout = null; // what the hover handler needs from the last draw

  const format = v => options.formatValue ? options.formatValue(v)
    : formatNumber(v) + (options.unit ? " " + options.unit : "");

  function draw() {
    const width = Math.max(200, container.clientWidth || 600);
    const height = options.height;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("height", String(height));
    svg.replaceChildren();
    if (options.yLabel) svg.setAttribute("aria-label", options.yLabel);

    const all = (options.series || []).map((s, i) => ({ s, i, color: seriesColor(s, i) }));
    const visible = all.filter(x => !hidden.has(x.i));
    drawLegend(all);

    let xMin = options.xMin, xMax = options.xMax, yLo = Infinity, yHi = -Infinity;
    let dataXMin = Infinity, dataXMax = -Infinity;
    for (const { s } of visible) {
      for (const p of [...(s.points || []), ...(options.onMarkerClick ? s.markers || [] : [])]) {
        if (!Number.isFinite(p.t)) continue;
        dataXMin = Math.min(dataXMin, p.t); dataXMax = Math.max(dataXMax, p.t);
        if (Number.isFinite(p.v)) { yLo = Math.min(yLo, p.v); yHi = Math.max(yHi, p.v); }
      }
    }
    if (xMin === undefined || xMin === null) xMin = dataXMin;
    if (xMax === undefined || xMax === null) xMax = dataXMax;
    const hasData = Number.isFinite(yLo);
    if (!Number.isFinite(xMin) || !Number.isFinite(xMax)) { xMax = Date.now(); xMin = xMax - HOUR; }
    if (xMax <= xMin) { xMin -= MINUTE / 2; xMax += MINUTE / 2; }
    if (!hasData) { yLo = 0; yHi = 1; }
    if (options.yMin !== null && options.yMin !== undefined) yLo = Math.min(yLo, options.yMin);
    if (options.yMax !== null && options.yMax !== undefined) yHi = options.yMax;
    if (yHi <= yLo) yHi = yLo + (Math.abs(yLo) || 1);
    const yTicks = niceTicks(yLo, yHi, Math.max(2, Math.floor((height - MARGIN.top - MARGIN.bottom) / 40)));
    const y0 = yTicks[0], y1 = yTicks[yTicks.length - 1];

    const plotW = width - MARGIN.left - MARGIN.right, plotH = height - MARGIN.top - MARGIN.bottom;
    const x = t => MARGIN.left + (t - xMin) / (xMax - xMin) * plotW;
    const y = v => MARGIN.top + plotH - (v - y0) / (y1 - y0) * plotH;

    // Grid and y labels.
    for (const v of yTicks) {
      svg.append(svgEl("line", { class: "ts-grid", x1: MARGIN.left, x2: width - MARGIN.right, y1: y(v), y2: y(v) },
        { stroke: THEME.axis, "stroke-dasharray": v === y0 ? "none" : "3 4" }));
      const label = svgEl("text", { x: MARGIN.left - 6, y: y(v) + 4, "text-anchor": "end" }, { fill: THEME.text, "font-size": "11px" });
      label.textContent = format(v);
      svg.append(label);
    }
    if (options.yLabel) {
      const title = svgEl("text", { class: "ts-y-title", x: 4, y: 12 }, { fill: THEME.text, "font-size": "11px", "font-weight": "600" });
      title.textContent = options.yLabel;
      svg.append(title);
    }

    // Time axis.
    const step = timeStep(xMax - xMin, Math.max(2, Math.floor(plotW / 90)));
    const offset = new Date(xMin).getTimezoneOffset() * MINUTE;
    // Ticks on local round times (minute, hour, midnight) rather than UTC ones.
    for (let t = Math.ceil((xMin - offset) / step) * step + offset; t <= xMax; t += step) {
      svg.append(svgEl("line", { x1: x(t), x2: x(t), y1: MARGIN.top + plotH, y2: MARGIN.top + plotH + 4 }, { stroke: THEME.axis }));
      const label = svgEl("text", { class: "ts-x-label", x: x(t), y: height - 6, "text-anchor": "middle" }, { fill: THEME.text, "font-size": "11px" });
      label.textContent = timeLabel(t, step, xMax - xMin);
      svg.append(label);
    }

    // Lines: a gap (null value) breaks the line; a point with no neighbour gets a dot so it is still seen.
    for (const { s, i, color } of all) {
      const pts = (s.points || []).filter(p => Number.isFinite(p.t)).sort((a, b) => a.t - b.t);
      let d = "", pen = false, count = 0;
      const dots = [];
      pts.forEach((p, k) => {
        if (!Number.isFinite(p.v)) { pen = false; return; }
        count++;
        d += (pen ? "L" : "M") + x(p.t).toFixed(1) + " " + y(p.v).toFixed(1);
        const prev = pts[k - 1], next = pts[k + 1];
        if (!(prev && Number.isFinite(prev.v)) && !(next && Number.isFinite(next.v))) dots.push(p);
        pen = true;
      });
      const path = svgEl("path", { class: "ts-line", "data-series": s.name ?? "", "data-points": count, d: d || "M0 0" },
        { fill: "none", stroke: color, "stroke-width": "1.8", "stroke-linejoin": "round", display: hidden.has(i) ? "none" : "" });
      svg.append(path);
      for (const p of dots) {
        svg.append(svgEl("circle", { class: "ts-dot", cx: x(p.t), cy: y(p.v), r: 2.5 }, { fill: color, display: hidden.has(i) ? "none" : "" }));
      }
    }

    if (!hasData) {
      const empty = svgEl("text", { class: "ts-empty", x: MARGIN.left + plotW / 2, y: MARGIN.top + plotH / 2, "text-anchor": "middle" },
        { fill: THEME.text, "font-size": "12px" });
      empty.textContent = options.emptyText;
      svg.append(empty);
    }

    // Hover: a crosshair at the nearest sample time and a tooltip with each visible series' value there.
    const cross = svgEl("line", { class: "ts-crosshair", y1: MARGIN.top, y2: MARGIN.top + plotH }, { stroke: THEME.text, "stroke-dasharray": "2 3", display: "none" });
    svg.append(cross);
    const overlay = svgEl("rect", { class: "ts-overlay", x: MARGIN.left, y: MARGIN.top, width: plotW, height: plotH }, { fill: "transparent" });
    svg.append(overlay);

    // Markers sit above the overlay so they can be clicked.
    if (options.onMarkerClick) {
      for (const { s, i, color } of visible) {
        for (const m of s.markers || []) {
          if (!Number.isFinite(m.t) || !Number.isFinite(m.v)) continue;
          const c = svgEl("circle", { class: "ts-marker", cx: x(m.t), cy: y(m.v), r: 4.5, tabindex: 0 },
            { fill: THEME.tooltipBg, stroke: color, "stroke-width": "2", cursor: "pointer" });
          const title = svgEl("title");
          title.textContent = m.label ?? (s.name + " " + format(m.v));
          c.append(title);
          const fire = e => options.onMarkerClick(m, s, e);
          c.addEventListener("click", fire);
          c.addEventListener("keydown", e => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); fire(e); } });
          svg.append(c);
        }
      }
    }

    const times = [...new Set(visible.flatMap(({ s }) => (s.points || []).map(p => p.t)).filter(Number.isFinite))].sort((a, b) => a - b);
    layout = { x, xMin, xMax, plotW, width, times, visible, cross };
  }

  function drawLegend(all) {
    legend.replaceChildren();
    if (all.length < 2 && !(all[0] && all[0].name)) return;
    for (const { s, i, color } of all) {
      const item = htmlEl("button", "ts-legend-item");
      item.type = "button";
      item.setAttribute("aria-pressed", String(!hidden.has(i)));
      item.title = hidden.has(i) ? "Show this series" : "Hide this series";
      Object.assign(item.style, { display: "inline-flex", alignItems: "center", gap: "5px", border: "none", background: "transparent",
        padding: "0", cursor: "pointer", color: THEME.tooltipText, opacity: hidden.has(i) ? "0.45" : "1", font: "inherit" });
      const swatch = htmlEl("span");
      Object.assign(swatch.style, { width: "12px", height: "3px", borderRadius: "2px", background: color, display: "inline-block" });
      item.append(swatch, htmlEl("span", "ts-legend-name", s.name ?? ""));
      item.addEventListener("click", () => {
        if (hidden.has(i)) hidden.delete(i); else hidden.add(i);
        draw();
      });
      legend.append(item);
    }
  }

  function onMove(e) {
    if (!layout || layout.times.length === 0) return;
    const box = svg.getBoundingClientRect();
    const px = (e.clientX - box.left) * (layout.width / box.width);
    const t = layout.xMin + (px - MARGIN.left) / layout.plotW * (layout.xMax - layout.xMin);
    let nearest = layout.times[0];
    for (const candidate of layout.times) if (Math.abs(candidate - t) < Math.abs(nearest - t)) nearest = candidate;
    const cx = layout.x(nearest);
    layout.cross.setAttribute("x1", String(cx));
    layout.cross.setAttribute("x2", String(cx));
    layout.cross.style.display = "";

    const lines = [htmlEl("div", "ts-tooltip-time", tooltipTime(nearest))];
    lines[0].style.fontWeight = "600";
    for (const { s, color } of layout.visible) {
      const p = (s.points || []).find(q => q.t === nearest);
      if (!p) continue;
      const row = htmlEl("div", "ts-tooltip-row");
      const swatch = htmlEl("span");
      Object.assign(swatch.style, { display: "inline-block", width: "8px", height: "8px", borderRadius: "50%", background: color, marginRight: "6px" });
      row.append(swatch, document.createTextNode((s.name ?? "") + ": " + (Number.isFinite(p.v) ? format(p.v) : "no data")));
      lines.push(row);
    }
    tooltip.replaceChildren(...lines);
    tooltip.style.display = "block";
    const hostBox = container.getBoundingClientRect();
    const left = e.clientX - hostBox.left + 12;
    const maxLeft = hostBox.width - tooltip.offsetWidth - 4;
    tooltip.style.left = Math.max(0, left > maxLeft ? e.clientX - hostBox.left - tooltip.offsetWidth - 12 : left) + "px";
    tooltip.style.top = Math.max(0, e.clientY - hostBox.top - tooltip.offsetHeight - 8) + "px";
  }

  function onLeave() {
    tooltip.style.display = "none";
    if (layout) layout.cross.style.display = "none";
  }

  svg.addEventListener("mousemove", onMove);
  svg.addEventListener("mouseleave", onLeave);
  // Redraw when the width changes (the height is ours: redrawing on it would loop).
  let drawnWidth = container.clientWidth;
  const resize = typeof ResizeObserver === "function" ? new ResizeObserver(() => {
    if (container.clientWidth !== drawnWidth) { drawnWidth = container.clientWidth; draw(); }
  }) : null;
  if (resize) resize.observe(container);
  draw();

  return {
    update(next) {
      options = { ...options, ...next };
      draw();
    },
    destroy() {
      if (resize) resize.disconnect();
      svg.removeEventListener("mousemove", onMove);
      svg.removeEventListener("mouseleave", onLeave);
      container.replaceChildren();
      container.classList.remove("ts-chart-host");
    },
  };
}
