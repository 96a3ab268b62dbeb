// The ECL page: polls the server's JSON API and draws every group's kept
// windows. Event IDs are data: they only ever reach the page as text
// (textContent, SVG text nodes), never as markup.
"use strict";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const MOST_EVENTS = 8; // lines per chart: the events with the most counts
const sections = new Map(); // group name -> its DOM parts
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}

function setStatus(up, text) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.className = up ? "status" : "status down";
}

function time(ms) {
  return new Date(ms).toISOString().slice(11, 19);
}

function sectionOf(name) {
  let s = sections.get(name);
  if (!s) {
    const root = el("section", { class: "group" });
    const title = el("h2", {}, name);
    const info = el("div", { class: "info" });
    const intervals = el("div");
    root.append(title, info, intervals);
    document.getElementById("groups").append(root);
    s = { root, info, intervals, byInterval: new Map() };
    sections.set(name, s);
  }
  return s;
}

function intervalPart(s, name) {
  let p = s.byInterval.get(name);
  if (!p) {
    const root = el("div", { class: "interval" });
    const title = el("h3");
    const chart = svgEl("svg", { class: "chart", viewBox: "0 0 500 160", preserveAspectRatio: "none", role: "img" });
    const legend = el("div", { class: "legend" });
    const table = el("table");
    root.append(title, chart, legend, table);
    s.intervals.append(root);
    p = { title, chart, legend, table };
    s.byInterval.set(name, p);
  }
  return p;
}

function drawChart(part, windows, current) {
  const chart = part.chart;
  while (chart.firstChild) chart.removeChild(chart.firstChild);
  const points = windows.concat([{ start_ms: current.start_ms, counts: current.counts, live: true }]);
  const sums = new Map();
  for (const w of points) for (const [id, n] of Object.entries(w.counts)) sums.set(id, (sums.get(id) || 0) + n);
  const events = [...sums.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, MOST_EVENTS).map(e => e[0]);
  let max = 1;
  for (const w of points) for (const id of events) max = Math.max(max, w.counts[id] || 0);
  const W = 500, H = 160, pad = 6;
  const x = i => pad + (points.length > 1 ? i * (W - 2 * pad) / (points.length - 1) : W / 2);
  const y = n => H - pad - n * (H - 2 * pad) / max;
  chart.append(svgEl("line", { x1: pad, y1: H - pad, x2: W - pad, y2: H - pad, stroke: "#c9ced6" }));
  const maxLabel = svgEl("text", { x: pad + 2, y: 14, "font-size": 11, fill: "#5b6475" });
  maxLabel.textContent = String(max);
  chart.append(maxLabel);
  events.forEach((id, k) => {
    const color = PALETTE[k % PALETTE.length];
    const closed = points.slice(0, -1).map((w, i) => `${x(i)},${y(w.counts[id] || 0)}`).join(" ");
    if (closed) chart.append(svgEl("polyline", { points: closed, fill: "none", stroke: color, "stroke-width": 1.5 }));
    // The window in progress, filling in: dashed from the last closed one.
    const n = points.length - 1;
    const from = n > 0 ? `${x(n - 1)},${y(points[n - 1].counts[id] || 0)} ` : "";
    chart.append(svgEl("polyline", { points: `${from}${x(n)},${y(current.counts[id] || 0)}`, fill: "none", stroke: color, "stroke-dasharray": "3,3", "stroke-width": 1.5 }));
    const title = svgEl("title");
    title.textContent = id;
    chart.lastChild.append(title);
  });
  part.legend.replaceChildren(...events.map((id, k) => {
    const item = el("span");
    const swatch = el("span", { class: "swatch" });
    swatch.style.background = PALETTE[k % PALETTE.length];
    item.append(swatch, document.createTextNode(id));
    return item;
  }));
}

function drawTable(part, last) {
  const rows = Object.entries(last ? last.counts : {}).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const head = el("tr");
  head.append(el("th", {}, "event"), el("th", { class: "n" }, last ? `last window (${time(last.start_ms)})` : "last window"));
  const body = rows.map(([id, n]) => {
    const tr = el("tr", { "data-event": id });
    tr.append(el("td", {}, id), el("td", { class: "n" }, String(n)));
    return tr;
  });
  part.table.replaceChildren(head, ...body);
}

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  return response.json();
}

async function refresh() {
  let groups;
  try {
    groups = await getJson("api/groups");
  } catch (e) {
    setStatus(false, "ECL server not answering");
    return;
  }
  if (!groups.up) {
    setStatus(false, "Redis not answering");
    return;
  }
  setStatus(true, `Redis up · ${time(Date.now())}`);
  for (const g of groups.groups) {
    const s = sectionOf(g.group);
    const info = g.info;
    s.info.textContent = `history ${info.history_ms ? info.history_ms / 1000 + " s" : "last window"} · ` +
      `${info.declared_events} declared, ${info.auto_declared_events} auto-declared events · ` +
      `overflowed ${info.overflowed} · late ${info.late_dropped}`;
    for (const interval of info.intervals) {
      const q = `api/range?group=${encodeURIComponent(g.group)}&interval=${encodeURIComponent(interval.name)}`;
      let data;
      try {
        data = await getJson(q);
      } catch (e) {
        setStatus(false, "ECL server not answering");
        return;
      }
      if (!data.up) {
        setStatus(false, "Redis not answering");
        return;
      }
      const part = intervalPart(s, interval.name);
      part.title.textContent = `per ${interval.name} · ${data.windows.length} kept windows`;
      drawChart(part, data.windows, data.current);
      drawTable(part, data.windows[data.windows.length - 1]);
    }
  }
}

refresh();
setInterval(refresh, 2000);
