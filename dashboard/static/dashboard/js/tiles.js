// A dashboard of saved insights: tiles on a 12-column grid, each as wide and tall as the dashboard
// says, each drawn from its insight's results (tile-charts.js). The same module shows the project's
// default dashboard (read-only for viewers, editable for editors: tile-edit.js) and a shared one on
// the public pages; where the numbers come from is the `source`'s business:
//   source.load()        → the dashboard: {id, name, version, tiles: [{id, insight, width, height}]}
//   source.results(tile) → the insight's results: {kind, date_from, date_to, result}

import { ApiError } from "./api.js";
import { clearChildren, el } from "./format.js";
import { renderInsightResult } from "./tile-charts.js";

export const WIDTHS = [3, 4, 6, 8, 9, 12];
const clamp = (value, low, high, fallback) => (Number.isInteger(value) ? Math.min(high, Math.max(low, value)) : fallback);

function sizeClasses(node, tile) {
  for (const name of [...node.classList]) if (/^tile--[wh]\d+$/.test(name)) node.classList.remove(name);
  node.classList.add(`tile--w${clamp(tile.width, 3, 12, 6)}`, `tile--h${clamp(tile.height, 1, 4, 2)}`);
}

export function mountTiles(root, { source, ctx, decorate = null }) {
  const grid = root.querySelector("[data-role=tiles]");
  const nameNode = root.querySelector("[data-role=board-name]");
  const empty = root.querySelector("[data-role=board-empty]");
  const error = root.querySelector(":scope > [data-role=error]");
  const nodes = new Map(); // insight id → its tile's element, kept across reloads (no refetch on a move)
  let dashboard = null;

  function showError(err) {
    if (err?.name === "AbortError") return;
    if (!(err instanceof ApiError)) console.error(err);
    if (error) error.textContent = err instanceof ApiError ? err.message : "Something went wrong while loading the dashboard.";
  }

  async function drawTile(node, tile) {
    const body = node.querySelector("[data-role=body]");
    const slot = node.querySelector("[data-role=error]");
    node.setAttribute("aria-busy", "true");
    slot.textContent = "";
    try {
      const answer = await source.results(tile);
      renderInsightResult(body, answer, ctx);
      node.querySelector("[data-role=range]").textContent =
        answer.date_from === answer.date_to ? answer.date_from : `${answer.date_from} – ${answer.date_to}`;
      node.dataset.state = "drawn";
    } catch (err) {
      clearChildren(body);
      slot.textContent = err instanceof ApiError ? err.message : "This insight could not be drawn.";
      if (!(err instanceof ApiError)) console.error(err);
      node.dataset.state = "failed";
    } finally {
      node.setAttribute("aria-busy", "false");
    }
  }

  function tileNode() {
    const title = el("h3", { class: "tile__name", "data-role": "tile-name" });
    const head = el("header", { class: "tile__head" }, el("div", { class: "tile__title" }, title, el("span", { class: "muted tile__range", "data-role": "range" })));
    return el(
      "article",
      { class: "card tile", "data-role": "tile" },
      head,
      el("div", { class: "tile__body", "data-role": "body" }),
      el("p", { class: "panel-error", "data-role": "error", role: "alert" }),
    );
  }

  function render(next) {
    dashboard = next;
    if (nameNode) nameNode.textContent = next.name;
    const tiles = next.tiles || [];
    if (empty) empty.hidden = tiles.length > 0;
    const seen = new Set();
    tiles.forEach((tile, index) => {
      const key = String(tile.insight.id);
      seen.add(key);
      let node = nodes.get(key);
      const fresh = !node;
      if (fresh) {
        node = tileNode();
        nodes.set(key, node);
      }
      node.dataset.tileId = String(tile.id);
      node.dataset.insightId = key;
      node.dataset.kind = tile.insight.kind;
      node.querySelector("[data-role=tile-name]").textContent = tile.insight.name;
      sizeClasses(node, tile);
      decorate?.(node, tile, index, tiles.length);
      grid.append(node); // (re)appended in the dashboard's order
      if (fresh || node.dataset.query !== JSON.stringify([tile.insight.query, tile.insight.date_range])) {
        node.dataset.query = JSON.stringify([tile.insight.query, tile.insight.date_range]);
        drawTile(node, tile);
      }
    });
    for (const [key, node] of nodes) {
      if (seen.has(key)) continue;
      node.remove();
      nodes.delete(key);
    }
  }

  async function load() {
    if (error) error.textContent = "";
    root.setAttribute("aria-busy", "true");
    try {
      const next = await source.load();
      if (next) render(next);
      else if (empty) empty.hidden = false;
      return next;
    } catch (err) {
      showError(err);
      return null;
    } finally {
      root.setAttribute("aria-busy", "false");
    }
  }

  return {
    load,
    render,
    showError,
    redraw(insightId) {
      const node = nodes.get(String(insightId));
      const tile = dashboard?.tiles.find((t) => String(t.insight.id) === String(insightId));
      if (node && tile) drawTile(node, tile);
    },
    get dashboard() {
      return dashboard;
    },
  };
}
