"""The interactive attention page: one self-contained HTML file that needs no network at all.

Every layer and head of each source (the kata's encoder, Hugging Face's BertModel and
their difference) is embedded in the page as numbers; three selectors pick the source,
the layer and the head. The chosen head is drawn twice: as lines from every token on the
left (the query) to every token on the right (the key), more opaque for more attention,
in the manner of bertviz's head view (hover a token to keep only its lines); and as a
heatmap with the tokens on both axes. All style and script are inline, and a
Content-Security-Policy of default-src 'none' makes the browser refuse any request.
"""

import html
import json
import math
from collections.abc import Iterable, Sequence

import numpy as np

SIGNIFICANT_DIGITS = 3  # enough for a picture; keeps the page small


def page(
    tokens: Sequence[str],
    sources: Iterable[tuple[str, str, np.ndarray]],
    *,
    title: str,
    subtitle: str,
    layer: int,
    head: int,
    tolerance: float,
) -> str:
    """The page's HTML text.

    `sources` is a list of (name, kind, weights): kind "attention" (drawn on a 0 to 1
    scale) or "difference" (drawn around zero, never on a scale narrower than
    `tolerance`), weights a (layers, H, L, L) array. `layer` and `head` are shown first.
    """
    data = {
        "tokens": list(tokens),
        "layer": layer,
        "head": head,
        "tolerance": tolerance,
        "sources": [
            {"name": name, "kind": kind, "shape": list(weights.shape), "values": _numbers(weights)}
            for name, kind, weights in sources
        ],
    }
    # "</" would end the <script> element early if a token contained "</script>".
    script_data = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (
        TEMPLATE.replace("__TITLE__", html.escape(title))
        .replace("__SUBTITLE__", html.escape(subtitle))
        .replace("__DATA__", script_data)
    )


def _numbers(weights):
    """The weights, flat, rounded to a few significant digits; NaN and infinity become null."""
    flat = np.asarray(weights, dtype=np.float64).ravel().tolist()
    return [float(f"{value:.{SIGNIFICANT_DIGITS}g}") if math.isfinite(value) else None for value in flat]


TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
  h1 { font-size: 1.3em; margin: 0 0 0.2em; }
  .subtitle { margin: 0 0 1em; color: #555; }
  form { display: flex; gap: 1.5em; flex-wrap: wrap; margin-bottom: 0.6em; }
  select { font-size: 1em; }
  #caption { font-weight: 600; margin: 0.4em 0 0.8em; }
  .views { display: flex; gap: 3em; flex-wrap: wrap; align-items: flex-start; }
  figure { margin: 0; }
  figcaption { max-width: 30em; color: #555; font-size: 0.9em; margin-top: 0.5em; }
  svg text { font: 12px system-ui, sans-serif; fill: #222; }
  #lines text { cursor: pointer; }
  #lines text.focus { font-weight: 700; }
  #lines text.heading { fill: #777; font-style: italic; cursor: default; }
  .colourbar { display: flex; align-items: center; gap: 0.5em; font-size: 0.9em; margin-top: 0.4em; }
  #bar { width: 12em; height: 0.9em; border: 1px solid #999; }
</style>
</head>
<body>
<h1>__TITLE__</h1>
<p class="subtitle">__SUBTITLE__</p>
<form id="controls">
  <label>Source <select id="source"></select></label>
  <label>Layer <select id="layer"></select></label>
  <label>Head <select id="head"></select></label>
</form>
<p id="caption"></p>
<div class="views">
  <figure>
    <svg id="lines" role="img" aria-label="attention as lines between tokens"></svg>
    <figcaption>Each token on the left (the query) sends a line to every token on the
      right (the key); the more attention, the darker the line. Hover a token to keep
      only its lines.</figcaption>
  </figure>
  <figure>
    <svg id="heatmap" role="img" aria-label="attention as a heatmap"></svg>
    <div class="colourbar"><span id="low"></span><div id="bar"></div><span id="high"></span></div>
    <figcaption>Row: the query token; column: the key token it attends to. Hover a cell
      for its value. Magenta: not a number (NaN).</figcaption>
  </figure>
</div>
<script>
"use strict";
const DATA = __DATA__;
const SVG = "http://www.w3.org/2000/svg";
const TOKENS = DATA.tokens, L = TOKENS.length;
const BLUES = ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"];  // matplotlib's Blues
const RED_BLUE = ["#2166ac", "#92c5de", "#f7f7f7", "#f4a582", "#b2182b"];  // matplotlib's RdBu_r
const NAN_COLOUR = "#ff00ff";
const pick = { source: document.getElementById("source"), layer: document.getElementById("layer"),
               head: document.getElementById("head") };

DATA.sources.forEach((source, i) => pick.source.add(new Option(source.name, i)));
const [layers, heads] = DATA.sources[0].shape;
for (let i = 0; i < layers; i++) pick.layer.add(new Option(String(i), i));
for (let i = 0; i < heads; i++) pick.head.add(new Option(String(i), i));
pick.layer.value = DATA.layer;
pick.head.value = DATA.head;

function element(name, attributes, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

function selectedMap(source) {  // rows of the chosen (L, L) map
  const start = (Number(pick.layer.value) * heads + Number(pick.head.value)) * L * L;
  const rows = [];
  for (let i = 0; i < L; i++) rows.push(source.values.slice(start + i * L, start + (i + 1) * L));
  return rows;
}

function scaleOf(source, rows) {
  if (source.kind === "attention") return { low: 0, high: 1, stops: BLUES };
  let largest = 0;
  for (const row of rows) for (const value of row) if (value !== null) largest = Math.max(largest, Math.abs(value));
  const limit = Math.max(largest, DATA.tolerance);
  return { low: -limit, high: limit, stops: RED_BLUE, largest };
}

function colour(value, scale) {
  if (value === null || Number.isNaN(value)) return NAN_COLOUR;
  const t = Math.min(1, Math.max(0, (value - scale.low) / (scale.high - scale.low))) * (scale.stops.length - 1);
  const i = Math.min(Math.floor(t), scale.stops.length - 2), f = t - i;
  const [a, b] = [scale.stops[i], scale.stops[i + 1]].map(hex => [1, 3, 5].map(k => parseInt(hex.slice(k, k + 2), 16)));
  return "rgb(" + a.map((x, k) => Math.round(x + (b[k] - x) * f)).join(",") + ")";
}

function strength(value, scale) {  // how opaque a line is: its share of the scale's extreme
  if (value === null) return 1;
  return Math.min(1, Math.abs(value) / Math.max(Math.abs(scale.low), Math.abs(scale.high)));
}

function drawLines(rows, scale) {
  const svg = document.getElementById("lines");
  svg.replaceChildren();
  const rowHeight = 22, left = 130, right = 290, top = 30;
  svg.setAttribute("width", 420);
  svg.setAttribute("height", top + L * rowHeight);
  for (const [text, x, anchor] of [["query", left, "end"], ["key", right, "start"]]) {
    element("text", { x, y: 0, "text-anchor": anchor, "dominant-baseline": "hanging", class: "heading" }, svg).textContent = text;
  }
  const group = element("g", {}, svg);
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      const value = rows[i][j];
      element("line", { x1: left + 4, y1: top + i * rowHeight, x2: right - 4, y2: top + j * rowHeight,
        stroke: scale.stops === BLUES ? "#2171b5" : colour(value, scale), "stroke-width": 2,
        "stroke-opacity": strength(value, scale).toFixed(3), "data-query": i, "data-key": j }, group);
    }
  }
  const focus = (side, index) => {
    for (const line of group.children) {
      const shown = index === null || Number(line.dataset[side]) === index;
      line.style.display = shown ? "" : "none";
    }
    for (const text of svg.querySelectorAll("text")) {
      text.classList.toggle("focus", text.dataset.side === side && Number(text.dataset.index) === index);
    }
  };
  TOKENS.forEach((token, i) => {
    for (const [side, x, anchor] of [["query", left, "end"], ["key", right, "start"]]) {
      const text = element("text", { x, y: top + i * rowHeight, "text-anchor": anchor,
        "dominant-baseline": "middle", "data-side": side, "data-index": i }, svg);
      text.textContent = token;
      text.addEventListener("mouseenter", () => focus(side, i));
      text.addEventListener("mouseleave", () => focus(side, null));
    }
  });
}

function drawHeatmap(rows, scale) {
  const svg = document.getElementById("heatmap");
  svg.replaceChildren();
  const cell = Math.max(8, Math.min(30, Math.floor(480 / L)));
  const size = Math.min(12, cell * 0.8);
  const margin = 8 + Math.max(...TOKENS.map(token => token.length)) * size * 0.62;  // room for the labels
  svg.setAttribute("width", margin + L * cell + 4);
  svg.setAttribute("height", margin + L * cell + 4);
  rows.forEach((row, i) => row.forEach((value, j) => {
    const rect = element("rect", { x: margin + j * cell, y: i * cell, width: cell, height: cell,
      fill: colour(value, scale) }, svg);
    element("title", {}, rect).textContent =
      TOKENS[i] + " \\u2192 " + TOKENS[j] + ": " + (value === null ? "NaN" : value);
  }));
  TOKENS.forEach((token, i) => {
    const y = element("text", { x: margin - 4, y: i * cell + cell / 2, "text-anchor": "end",
      "dominant-baseline": "middle", "font-size": size }, svg);
    y.textContent = token;
    const cx = margin + i * cell + cell / 2, cy = L * cell + 4;
    const x = element("text", { x: cx, y: cy, "text-anchor": "end", "dominant-baseline": "middle",
      "font-size": size, transform: "rotate(-90 " + cx + " " + cy + ")" }, svg);
    x.textContent = token;
  });
  document.getElementById("bar").style.background = "linear-gradient(to right, " + scale.stops.join(", ") + ")";
  document.getElementById("low").textContent = number(scale.low);
  document.getElementById("high").textContent = number(scale.high);
}

function number(value) {  // 0.5, 1e-6: short, as in the PNGs' titles
  return value !== 0 && Math.abs(value) < 1e-3 ? value.toExponential(1) : String(Number(value.toPrecision(2)));
}

function update() {
  const source = DATA.sources[Number(pick.source.value)];
  const rows = selectedMap(source), scale = scaleOf(source, rows);
  let caption = "Layer " + pick.layer.value + ", head " + pick.head.value + ": " + source.name;
  if (source.kind === "difference") {
    caption += " (largest |difference| " + number(scale.largest) + "; tolerance " + number(DATA.tolerance) + ")";
  }
  document.getElementById("caption").textContent = caption;
  drawLines(rows, scale);
  drawHeatmap(rows, scale);
}

Object.values(pick).forEach(select => select.addEventListener("change", update));
update();
</script>
</body>
</html>
"""
