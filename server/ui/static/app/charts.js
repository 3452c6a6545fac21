// Charts drawn locally as inline SVG (no chart library, nothing fetched). Each chart is an <svg role="img">
// with a text summary for screen readers; the pages show the same numbers in tables beside them.
import { el } from "/static/api.js";

const NS = "http://www.w3.org/2000/svg";
export const COLORS = ["var(--c1)", "var(--c2)", "var(--c3)", "var(--c4)", "var(--c5)", "var(--c6)"];

function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null) continue;
    node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function frame(width, height, label) {
  return s("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img", "aria-label": label, preserveAspectRatio: "xMidYMid meet" });
}

// Charts are drawn for the width they will roughly get, so their text stays readable on a phone.
const fit = (width) => Math.round(Math.min(width, Math.max(300, window.innerWidth - 64)));

const trim = (text, n) => (String(text).length > n ? `${String(text).slice(0, n - 1)}\u2026` : String(text));

/**
 * Horizontal bars: data [{ label, value, display?, color? }], values 0..max. Good for scores per criterion.
 */
export function hbarChart({ data, max, label, format = (v) => String(v), labelWidth: wantLabel = 190, markers = [], width: want = 640 }) {
  const row = 30;
  const width = fit(want);
  const labelWidth = Math.round(Math.min(wantLabel, width * 0.4));
  const height = Math.max(row * data.length + 26, 60);
  const plot = width - labelWidth - 60;
  const svg = frame(width, height, label);
  const x = (v) => labelWidth + (Math.max(0, Math.min(max, v)) / max) * plot;
  const ticks = max === 5 ? 5 : 4;
  for (let i = 0; i <= ticks; i += 1) {
    const gx = labelWidth + (plot * i) / ticks;
    svg.append(s("line", { x1: gx, x2: gx, y1: 4, y2: height - 20, class: "grid-line" }));
    svg.append(s("text", { x: gx, y: height - 6, "text-anchor": "middle" }, format((max * i) / ticks)));
  }
  data.forEach((d, i) => {
    const y = 6 + i * row;
    const value = d.value ?? 0;
    svg.append(s("text", { x: labelWidth - 8, y: y + 15, "text-anchor": "end", class: "label" }, s("title", {}, d.label), trim(d.label, Math.floor((labelWidth - 8) / 8))));
    svg.append(s("rect", { x: labelWidth, y: y + 2, width: Math.max(2, x(value) - labelWidth), height: row - 10, rx: 4, fill: d.color || COLORS[0] },
      s("title", {}, `${d.label}: ${d.display ?? format(value)}`)));
    svg.append(s("text", { x: x(value) + 6, y: y + 15, class: "label" }, d.display ?? format(value)));
    for (const m of markers.filter((mk) => mk.index === i)) {
      svg.append(s("line", { x1: x(m.value), x2: x(m.value), y1: y, y2: y + row - 6, stroke: "var(--ink)", "stroke-width": 2, "stroke-dasharray": "3 2" },
        s("title", {}, m.title)));
    }
  });
  return svg;
}

/** Vertical bars over time or categories: data [{ label, value }]. */
export function vbarChart({ data, label, format = (v) => String(Math.round(v)), color = COLORS[0], height = 220, width: want = 640 }) {
  const width = fit(want);
  const left = 36;
  const bottom = 34;
  const max = Math.max(1, ...data.map((d) => d.value || 0));
  const top = niceMax(max);
  const svg = frame(width, height, label);
  const plotH = height - bottom - 10;
  const band = (width - left - 8) / Math.max(1, data.length);
  const ticks = top <= 5 ? top : 4;
  for (let i = 0; i <= ticks; i += 1) {
    const gy = 10 + plotH - (plotH * i) / ticks;
    svg.append(s("line", { x1: left, x2: width - 4, y1: gy, y2: gy, class: "grid-line" }));
    svg.append(s("text", { x: left - 6, y: gy + 4, "text-anchor": "end" }, format((top * i) / ticks)));
  }
  const every = Math.ceil(data.length / Math.max(2, Math.floor(width / 55)));
  data.forEach((d, i) => {
    const h = ((d.value || 0) / top) * plotH;
    const bx = left + i * band + band * 0.18;
    svg.append(s("rect", { x: bx, y: 10 + plotH - h, width: band * 0.64, height: Math.max(0, h), rx: 3, fill: d.color || color },
      s("title", {}, `${d.label}: ${format(d.value || 0)}`)));
    if (i % every === 0) svg.append(s("text", { x: bx + band * 0.32, y: height - 14, "text-anchor": "middle" }, trim(d.label, 10)));
  });
  return svg;
}

// The top of the axis: 5 (ticks 0..5) for small counts, else four round steps (2, 2.5, 5 or 10 times a power of ten).
function niceMax(value) {
  if (value <= 5) return 5;
  const raw = value / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].find((m) => m * magnitude >= raw) * magnitude * 4;
}

/** Lines over an index (attempt 1, 2, 3...): series [{ name, values: [number] }], y in 0..yMax. */
export function lineChart({ series, label, yMax = 100, xLabel = "Attempt", width: want = 640 }) {
  const width = fit(want);
  const height = 240;
  const left = 36;
  const bottom = 34;
  const plotH = height - bottom - 10;
  const n = Math.max(2, ...series.map((sr) => sr.values.length));
  const plotW = width - left - 16;
  const svg = frame(width, height, label);
  const x = (i) => left + (plotW * i) / (n - 1);
  const y = (v) => 10 + plotH - (Math.max(0, Math.min(yMax, v)) / yMax) * plotH;
  for (let i = 0; i <= 4; i += 1) {
    const v = (yMax * i) / 4;
    svg.append(s("line", { x1: left, x2: width - 8, y1: y(v), y2: y(v), class: "grid-line" }));
    svg.append(s("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, Math.round(v)));
  }
  for (let i = 0; i < n; i += 1) svg.append(s("text", { x: x(i), y: height - 14, "text-anchor": "middle" }, i + 1));
  svg.append(s("text", { x: left + plotW / 2, y: height - 1, "text-anchor": "middle" }, xLabel));
  series.forEach((sr, k) => {
    const color = COLORS[k % COLORS.length];
    const pts = sr.values.map((v, i) => `${x(i)},${y(v)}`).join(" ");
    if (sr.values.length > 1) svg.append(s("polyline", { points: pts, fill: "none", stroke: color, "stroke-width": 2.5 }));
    sr.values.forEach((v, i) => svg.append(s("circle", { cx: x(i), cy: y(v), r: 4, fill: color }, s("title", {}, `${sr.name}, ${xLabel.toLowerCase()} ${i + 1}: ${Math.round(v)}`))));
  });
  return svg;
}

/** A ring showing one share 0..1 with the value in the middle. */
export function donut({ value, label, size = 120, color = COLORS[1], text }) {
  const r = 44;
  const c = 2 * Math.PI * r;
  const share = Math.max(0, Math.min(1, value || 0));
  const svg = s("svg", { viewBox: "0 0 120 120", width: size, height: size, role: "img", "aria-label": label, class: "donut" });
  svg.append(s("circle", { cx: 60, cy: 60, r, fill: "none", stroke: "var(--line)", "stroke-width": 14 }));
  svg.append(s("circle", { cx: 60, cy: 60, r, fill: "none", stroke: color, "stroke-width": 14, "stroke-dasharray": `${c * share} ${c}`, transform: "rotate(-90 60 60)", "stroke-linecap": share > 0 ? "round" : "butt" }));
  svg.append(s("text", { x: 60, y: 66, "text-anchor": "middle", style: "font-size:22px;font-weight:700;fill:var(--ink)" }, text ?? `${Math.round(share * 100)}%`));
  return svg;
}

export function legend(names) {
  return el("div", { class: "legend" }, names.map((name, i) => {
    const item = el("span", { text: name });
    item.style.setProperty("--swatch", COLORS[i % COLORS.length]);
    return item;
  }));
}
