// The /metrics page's chart: fetches the series JSON the page points at (#metric-chart[data-src], the documented
// /api/otel-metrics/series API) and draws it with timeseries.js. Exemplars become markers on the chart and links
// in a list; both open the trace they were recorded in. Everything from telemetry (labels, units, names) is text
// (textContent); links are built only from ids that are exactly 32 / 16 hex digits.

import { createTimeSeriesChart, formatNumber } from "/assets/timeseries.js";

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

/** OTel units put annotations in braces ({roll}); a chart axis reads better without them. */
function displayUnit(unit) {
  const u = String(unit || "").replace(/[{}]/g, "");
  return u === "1" ? "" : u;
}

function traceUrl(e) {
  if (!HEX32.test(String(e.traceId))) return null;
  return "/trace/" + e.traceId + (HEX16.test(String(e.spanId)) ? "?span=" + e.spanId : "");
}

/** The line's value at (or just before) time t: where a rate chart puts an exemplar, whose own value is a single measurement. */
function valueAt(points, t) {
  let v = null;
  for (const p of points) { if (p.t <= t) v = p.v; else break; }
  return v ?? (points.length ? points[0].v : 0);
}

export async function setupMetricsChart() {
  const host = document.getElementById("metric-chart");
  if (!host) return;
  const status = document.getElementById("metric-chart-status");
  let body;
  try {
    const res = await fetch(host.dataset.src, { headers: { Accept: "application/json" } });
    body = await res.json();
    if (!res.ok) {
      status.textContent = (body && body.error && body.error.message) || ("The series could not be read (HTTP " + res.status + ").");
      return;
    }
  } catch (e) {
    status.textContent = "The series could not be read: " + e;
    return;
  }

  const kind = body.kind;
  const unit = displayUnit(body.metric && body.metric.unit);
  const series = [];
  const exemplars = [];
  for (const group of body.groups || []) {
    const label = Object.entries(group.labels || {}).map(([k, v]) => k + "=" + (v === "" ? "(none)" : v)).join(", ");
    (group.lines || []).forEach((line, i) => {
      const points = (line.points || []).map(p => ({ t: Number(p[0]), v: p[1] === null ? null : Number(p[1]) }));
      const s = { name: label ? label + (group.lines.length > 1 ? " · " + line.name : "") : line.name, points };
      if (i === 0 && Array.isArray(group.exemplars) && group.exemplars.length) {
        s.markers = group.exemplars.filter(e => traceUrl(e)).map(e => ({
          t: Number(e.time),
          v: kind === "rate" ? valueAt(points, Number(e.time)) : Number(e.value),
          label: "exemplar " + formatNumber(Number(e.value)) + (unit ? " " + unit : "") + " · trace " + e.traceId,
          data: e,
        }));
        for (const e of group.exemplars) exemplars.push({ e, label });
      }
      series.push(s);
    });
  }

  createTimeSeriesChart(host, {
    series,
    unit: kind === "rate" ? (unit ? unit + "/s" : "/s") : unit,
    yLabel: kind === "rate" ? "per second" : kind === "percentiles" ? "percentiles" : "value",
    xMin: Number(body.start),
    xMax: Number(body.end),
    yMin: null,
    height: 280,
    emptyText: "No data in this time range",
    onMarkerClick: (marker) => { const url = traceUrl(marker.data || {}); if (url) location.href = url; },
  });

  const box = document.getElementById("metric-exemplars");
  if (box && exemplars.length) {
    const list = box.querySelector("ul");
    for (const { e, label } of exemplars.slice(0, 50)) {
      const url = traceUrl(e);
      if (!url) continue;
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = url;
      a.className = "exemplar-link mono";
      a.textContent = e.traceId;
      li.append(a, " " + formatNumber(Number(e.value)) + (unit ? " " + unit : "") + " at " + new Date(Number(e.time)).toLocaleTimeString() + (label ? " (" + label + ")" : ""));
      list.append(li);
    }
    box.hidden = list.children.length === 0;
  }
  host.dataset.rendered = "true";
}

// A change of service shows that service's metrics straight away.
export function setupMetricsForm() {
  const select = document.getElementById("m-service");
  select?.addEventListener("change", () => select.form.submit());
}
