// A small Sankey diagram in SVG, for the paths report: a column per step, a bar per (step, name)
// as tall as its persons, and a band per edge as wide as its persons. No library: the layout is
// one scale for every column (the fullest column fills the height), so heights compare across steps.

import { PALETTE } from "./charts.js";

const SVG = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

const keyOf = (step, name) => `${step}\u0000${name}`;

// Positions for nodes [{step, name, users}] and edges [{source_step, source, target, users}], in
// the order given (the API sorts each step by persons, most first).
export function sankeyLayout(nodes, edges, { width, height, nodeWidth = 12, gap = 10, pad = 4 }) {
  const steps = [...new Set(nodes.map((n) => n.step))].sort((a, b) => a - b);
  const columns = steps.map((step) => nodes.filter((n) => n.step === step));
  const usable = (column) => height - 2 * pad - gap * (column.length - 1);
  const scale = Math.min(...columns.map((c) => usable(c) / Math.max(1, c.reduce((sum, n) => sum + n.users, 0))));
  const span = width - 2 * pad - nodeWidth;
  const placed = new Map();
  columns.forEach((column, i) => {
    const x = pad + (steps.length > 1 ? (span * i) / (steps.length - 1) : 0);
    let y = pad;
    for (const node of column) {
      const h = Math.max(1, node.users * scale);
      placed.set(keyOf(node.step, node.name), { ...node, x, y, h, out: 0, in: 0 });
      y += h + gap;
    }
  });
  const links = [];
  // Bands leave a node top to bottom in the order of their targets, and enter in that of their
  // sources, so they do not cross inside a node.
  const ordered = edges
    .map((edge) => ({
      edge,
      from: placed.get(keyOf(edge.source_step, edge.source)),
      to: placed.get(keyOf(edge.source_step + 1, edge.target)),
    }))
    .filter((link) => link.from && link.to);
  for (const link of [...ordered].sort((a, b) => a.to.y - b.to.y)) {
    link.w = Math.max(1, link.edge.users * scale);
    link.y0 = link.from.y + link.from.out + link.w / 2;
    link.from.out += link.w;
  }
  for (const link of [...ordered].sort((a, b) => a.from.y - b.from.y)) {
    link.y1 = link.to.y + link.to.in + link.w / 2;
    link.to.in += link.w;
    links.push(link);
  }
  return { nodes: [...placed.values()], links, nodeWidth };
}

function colourOf(name, names) {
  return PALETTE[names.indexOf(name) % PALETTE.length];
}

// Draws into an <svg>: bands first, bars and labels over them; each element carries its numbers
// (data-*) and a <title> tooltip. Returns how many nodes and links were drawn.
export function drawSankey(svg, nodes, edges, { describe = (n) => String(n) } = {}) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const width = svg.clientWidth || 800;
  const height = Number(svg.getAttribute("data-height")) || 360;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("height", String(height));
  const layout = sankeyLayout(nodes, edges, { width, height });
  const names = [...new Set(nodes.map((n) => n.name))];
  const bands = svgEl("g", { class: "sankey__links", fill: "none" });
  for (const link of layout.links) {
    const x0 = link.from.x + layout.nodeWidth;
    const x1 = link.to.x;
    const mid = (x0 + x1) / 2;
    const path = svgEl("path", {
      class: "sankey__link",
      d: `M${x0},${link.y0} C${mid},${link.y0} ${mid},${link.y1} ${x1},${link.y1}`,
      stroke: colourOf(link.edge.source, names),
      "stroke-width": link.w,
      "stroke-opacity": 0.35,
      "data-source-step": link.edge.source_step,
      "data-source": link.edge.source,
      "data-target": link.edge.target,
      "data-users": link.edge.users,
    });
    path.append(svgEl("title", {}, `${link.edge.source} → ${link.edge.target}: ${describe(link.edge)}`));
    bands.append(path);
  }
  const bars = svgEl("g", { class: "sankey__nodes" });
  const lastX = Math.max(0, ...layout.nodes.map((n) => n.x));
  for (const node of layout.nodes) {
    const group = svgEl("g", { class: "sankey__node", "data-step": node.step, "data-name": node.name, "data-users": node.users });
    group.append(svgEl("rect", { x: node.x, y: node.y, width: layout.nodeWidth, height: node.h, fill: colourOf(node.name, names) }));
    // Labels sit right of the bar, left of it in the last column, so none leaves the drawing.
    const atEnd = node.x === lastX && lastX > 0;
    const label = svgEl(
      "text",
      {
        x: atEnd ? node.x - 4 : node.x + layout.nodeWidth + 4,
        y: node.y + node.h / 2,
        "dominant-baseline": "middle",
        "text-anchor": atEnd ? "end" : "start",
        class: "sankey__label",
      },
      `${node.name} (${node.users.toLocaleString("en-US")})`,
    );
    group.append(svgEl("title", {}, `Step ${node.step}: ${node.name}, ${node.users} persons`), label);
    bars.append(group);
  }
  svg.append(bands, bars);
  return { nodes: layout.nodes.length, links: layout.links.length };
}
