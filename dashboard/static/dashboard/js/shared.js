// The public pages of a share link (/shared/<token>/ and /embed/<token>/): no account, no session,
// nothing of the project but what the link shows. Everything comes from /api/v1/shared/<token>/,
// which answers the shared dashboard (or the one insight) and each of its insights' results.

import { ApiClient } from "./api.js";
import { mountTiles } from "./tiles.js";

const config = JSON.parse(document.getElementById("shared-config").textContent);
const api = new ApiClient(config.apiBase, "");
const root = document.getElementById("shared-board");
const ctx = { ...config, api, rates: { isFraction: false } };
let described = null;

const source = {
  async load() {
    described = await api.get("");
    ctx.timezone = described.project?.timezone || ctx.timezone;
    const projectName = document.querySelector("[data-role=project-name]");
    if (projectName && described.project?.name) projectName.textContent = described.project.name;
    if (described.type === "insight" || described.insight) {
      // One insight: shown as a dashboard of one full-width tile.
      const insight = described.insight;
      return { id: null, name: insight.name, description: insight.description || "", tiles: [{ id: insight.id, insight, width: 12, height: 3 }] };
    }
    const description = root.querySelector("[data-role=board-description]");
    if (description) description.textContent = described.dashboard.description || "";
    return described.dashboard;
  },
  results(tile) {
    return api.get(`/insights/${tile.insight.id}/results`);
  },
};

const board = mountTiles(root, { source, ctx });
board.load();
// For the browser test.
window.eventbaseShared = { board, get described() { return described; } };
