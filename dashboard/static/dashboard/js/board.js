// The project page's default dashboard (the top of the page) and, for editors, what changes it:
// the tile controls (tile-edit.js), "Save as insight" on the report panels, and the share dialog.
// The page's role only decides which controls are drawn; the API decides what is allowed.

import { ApiError } from "./api.js";
import { mountShareDialog } from "./share-dialog.js";
import { mountTileEditing } from "./tile-edit.js";
import { mountTiles } from "./tiles.js";

const EDITOR_ROLES = new Set(["editor", "admin"]);
// Wide kinds read better across the whole row.
const FULL_WIDTH = new Set(["funnels", "paths", "retention"]);

function listOf(answer) {
  return Array.isArray(answer) ? answer : answer?.results || [];
}

export function mountBoard(root, ctx) {
  const editable = EDITOR_ROLES.has(ctx.role);
  let dashboardId = null;
  let editing = null;

  const source = {
    async load() {
      const found = listOf(await ctx.api.get("dashboards")).find((dashboard) => dashboard.is_default);
      dashboardId = found ? found.id : null;
      return found ? ctx.api.get(`dashboards/${found.id}`) : null;
    },
    results(tile) {
      return ctx.api.get(`insights/${tile.insight.id}/results`, { dashboard: dashboardId });
    },
  };
  const board = mountTiles(root, {
    source,
    ctx,
    decorate: editable ? (...args) => editing.decorate(...args) : null,
  });

  // The default dashboard, made on first use (a project starts without one).
  async function ensureDashboard() {
    if (dashboardId) return dashboardId;
    try {
      const made = await ctx.api.post("dashboards", { name: `${ctx.name} dashboard`, is_default: true });
      dashboardId = made.id;
    } catch (error) {
      // Someone else made it meanwhile: use theirs.
      if (!(error instanceof ApiError) || !(await source.load())) throw error;
    }
    return dashboardId;
  }

  // Saves a panel's current question (kind + query, the page's range as it would be kept) and
  // adds it to the default dashboard; answers the saved insight.
  async function saveInsight({ kind, name, query }) {
    const insight = await ctx.api.post("insights", { name, kind, query, date_range: ctx.range.saved });
    const id = await ensureDashboard();
    await ctx.api.post(`dashboards/${id}/tiles`, { insight: insight.id, width: FULL_WIDTH.has(kind) ? 12 : 6, height: 2 });
    await board.load();
    return insight;
  }

  if (editable) {
    editing = mountTileEditing(board, ctx, { dashboardId: () => dashboardId });
    const heading = root.querySelector("[data-role=board-name]");
    root.querySelector("[data-action=rename-board]")?.addEventListener("click", () => editing.renameDashboard(heading));
    const dialog = document.getElementById("share-dialog");
    if (dialog) {
      const share = mountShareDialog(dialog, ctx, { target: async () => `dashboards/${await ensureDashboard()}`, dashboardId: () => dashboardId });
      root.querySelector("[data-action=share-board]")?.addEventListener("click", () => share.open());
    }
  }

  // "Save as insight" on each report panel: the panel says what it shows (its insight()).
  function attachSaveButtons(panelsBySection) {
    for (const [sectionId, panel] of Object.entries(panelsBySection)) {
      const section = document.getElementById(sectionId);
      const button = section?.querySelector("[data-action=save-insight]");
      if (!button || !panel?.insight) continue;
      const status = section.querySelector("[data-role=saved]");
      button.addEventListener("click", async () => {
        const error = section.querySelector(":scope > [data-role=error]");
        if (error) error.textContent = "";
        status.textContent = "";
        let spec;
        try {
          spec = panel.insight();
        } catch (err) {
          if (error) error.textContent = err.message;
          return;
        }
        button.disabled = true;
        try {
          const insight = await saveInsight(spec);
          status.textContent = `Saved “${insight.name}” to the dashboard.`;
        } catch (err) {
          if (error) error.textContent = err instanceof ApiError ? err.message : "The insight could not be saved.";
          if (!(err instanceof ApiError)) console.error(err);
        } finally {
          button.disabled = false;
        }
      });
    }
  }

  return {
    load: board.load,
    attachSaveButtons,
    saveInsight,
    get dashboard() {
      return board.dashboard;
    },
  };
}
