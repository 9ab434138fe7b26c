// An editor's controls on the default dashboard: rename the dashboard or a tile's insight, move a
// tile up or down, change its width, remove it. Every change is one PATCH with the version the page
// read: the layout (`tiles`, the whole order) replaces the dashboard's, and a 409 means someone
// else changed it meanwhile, so the page reloads it rather than overwrite their edit.

import { ApiError } from "./api.js";
import { el } from "./format.js";
import { WIDTHS } from "./tiles.js";

function layoutOf(tiles) {
  return tiles.map((tile) => ({ insight: tile.insight.id, width: tile.width, height: tile.height }));
}

// A small form in place of a heading: a name input with Save and Cancel; `save(name)` is awaited.
export function renameForm(heading, { label, save }) {
  const input = el("input", { name: "name", value: heading.textContent, maxLength: 200, required: true, autocomplete: "off" });
  input.setAttribute("aria-label", label);
  const form = el(
    "form",
    { class: "rename-form", "data-role": "rename-form" },
    input,
    el("button", { type: "submit", class: "button button--small", text: "Save" }),
    el("button", { type: "button", class: "button button--ghost button--small", "data-action": "cancel", text: "Cancel" }),
  );
  const close = () => {
    form.remove();
    heading.hidden = false;
  };
  form.querySelector("[data-action=cancel]").addEventListener("click", close);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name) return;
    form.querySelector("[type=submit]").disabled = true;
    const ok = await save(name);
    if (ok) close();
    else form.querySelector("[type=submit]").disabled = false;
  });
  heading.hidden = true;
  heading.after(form);
  input.focus();
  input.select();
  return form;
}

export function mountTileEditing(board, ctx, { dashboardId }) {
  // Runs one write; on success the dashboard is shown again as the server now has it.
  async function write(work) {
    try {
      const answer = await work();
      if (answer && Array.isArray(answer.tiles)) board.render(answer);
      else await board.load();
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        await board.load();
        board.showError(new ApiError("Someone else changed this dashboard meanwhile: it is shown as it is now. Try again."));
        return false;
      }
      board.showError(error);
      return false;
    }
  }

  function patchLayout(tiles) {
    const dashboard = board.dashboard;
    return write(() => ctx.api.patch(`dashboards/${dashboardId()}`, { tiles: layoutOf(tiles), version: dashboard.version }));
  }

  function tilesNow() {
    return [...(board.dashboard?.tiles || [])];
  }

  function indexOf(insightId) {
    return tilesNow().findIndex((tile) => String(tile.insight.id) === String(insightId));
  }

  function move(insightId, step) {
    const tiles = tilesNow();
    const from = indexOf(insightId);
    const to = from + step;
    if (from < 0 || to < 0 || to >= tiles.length) return;
    [tiles[from], tiles[to]] = [tiles[to], tiles[from]];
    patchLayout(tiles);
  }

  function resize(insightId, width) {
    patchLayout(tilesNow().map((tile) => (String(tile.insight.id) === String(insightId) ? { ...tile, width } : tile)));
  }

  function remove(insightId) {
    patchLayout(tilesNow().filter((tile) => String(tile.insight.id) !== String(insightId)));
  }

  function button(action, text, label) {
    const node = el("button", { type: "button", class: "button button--ghost button--small", "data-action": action, text });
    if (label) node.setAttribute("aria-label", label);
    return node;
  }

  // Adds the controls to a tile once; later calls only update what depends on its place.
  function decorate(node, tile, index, count) {
    let controls = node.querySelector("[data-role=tile-controls]");
    if (!controls) {
      const width = el("select", { name: "width", class: "tile__width" }, ...WIDTHS.map((w) => el("option", { value: String(w), text: `${w}/12` })));
      width.setAttribute("aria-label", "Width");
      controls = el(
        "div",
        { class: "controls tile__controls", "data-role": "tile-controls" },
        button("rename-tile", "Rename"),
        button("move-up", "↑", "Move up"),
        button("move-down", "↓", "Move down"),
        width,
        button("remove-tile", "Remove"),
      );
      node.querySelector(".tile__head").append(controls);
      const id = () => node.dataset.insightId;
      controls.querySelector("[data-action=move-up]").addEventListener("click", () => move(id(), -1));
      controls.querySelector("[data-action=move-down]").addEventListener("click", () => move(id(), 1));
      controls.querySelector("[data-action=remove-tile]").addEventListener("click", () => remove(id()));
      width.addEventListener("change", () => resize(id(), Number(width.value)));
      controls.querySelector("[data-action=rename-tile]").addEventListener("click", () => {
        if (node.querySelector("[data-role=rename-form]")) return;
        const current = tilesNow()[indexOf(id())];
        renameForm(node.querySelector("[data-role=tile-name]"), {
          label: "Insight name",
          save: (name) => write(() => ctx.api.patch(`insights/${id()}`, { name, version: current.insight.version }).then(() => null)),
        });
      });
    }
    controls.querySelector("[name=width]").value = String(WIDTHS.includes(tile.width) ? tile.width : 6);
    controls.querySelector("[data-action=move-up]").disabled = index === 0;
    controls.querySelector("[data-action=move-down]").disabled = index === count - 1;
  }

  function renameDashboard(heading) {
    if (!board.dashboard || heading.parentNode.querySelector("[data-role=rename-form]")) return;
    renameForm(heading, {
      label: "Dashboard name",
      save: (name) => write(() => ctx.api.patch(`dashboards/${dashboardId()}`, { name, version: board.dashboard.version })),
    });
  }

  return { decorate, renameDashboard };
}
