// The goals card: the overview's goals (visitors who converted, conversions, rate), a form that
// adds a goal through the goals API (a page path pattern or a custom event), and removal.
// After a change the caller reloads the overview, whose answer lists the goals. The form and the
// removal are for editors and admins: the page renders the form for them alone.

import { clearChildren, el, formatNumber, formatPercent } from "./format.js";
import { Panel } from "./panel.js";
import { sharedKeyList, suggest } from "./panels/filter-row.js";
import { mayEdit } from "./roles.js";
import { WEB_RATES } from "./web-format.js";

export function mountWebGoals(root, ctx, { changed }) {
  // The goal form's errors belong to its own fields, not to the date range or the filter bar.
  const panel = new Panel(root, { ...ctx, sharedErrorSlots: [] });
  const rows = panel.$("[data-role=rows]");
  const form = panel.$("[data-role=goal-form]"); // null for viewers
  const editor = mayEdit(ctx) && Boolean(form);

  async function remove(goal) {
    if (!window.confirm(`Remove the goal “${goal.name}”? The events stay stored; only the goal goes.`)) return;
    const done = await panel.run((signal) => ctx.api.delete(`goals/${encodeURIComponent(goal.goal_id)}`, { signal }));
    if (done) changed();
  }

  function show(data) {
    clearChildren(rows);
    if (!data) {
      rows.append(el("tr", {}, el("td", { colSpan: 5, class: "muted", text: "Not loaded: see the message above the chart." })));
      return;
    }
    const goals = data.goals || [];
    if (!goals.length) {
      rows.append(
        el("tr", {}, el("td", {
          colSpan: 5,
          class: "muted",
          text: editor
            ? "No goals yet: add one below, a page path such as /checkout/* or a custom event such as signup, to see how many visitors reach it."
            : "No goals yet: an editor of the project can add them.",
        })),
      );
    }
    for (const goal of goals) {
      let button = null;
      if (editor) {
        button = el("button", { type: "button", class: "icon-button", text: "×" });
        button.dataset.action = "remove-goal";
        button.setAttribute("aria-label", `Remove goal ${goal.name}`);
        button.addEventListener("click", () => remove(goal));
      }
      const tr = el(
        "tr",
        { class: "web-row" },
        el("th", { scope: "row", text: goal.name }),
        el("td", { class: "num", "data-col": "visitors", text: formatNumber(goal.visitors) }),
        el("td", { class: "num", "data-col": "conversions", text: formatNumber(goal.conversions) }),
        el("td", { class: "num", "data-col": "conversion_rate", text: formatPercent(goal.conversion_rate, WEB_RATES) }),
        el("td", { class: "num" }, button),
      );
      tr.dataset.goalId = String(goal.goal_id);
      rows.append(tr);
    }
  }

  if (editor) mountGoalForm(panel, ctx, form, changed);

  return {
    show,
    setBusy: (busy) => panel.setBusy(busy),
  };
}

// The "Add a goal" form: a page path pattern or a custom event (with one optional condition).
function mountGoalForm(panel, ctx, form, changed) {
  const added = panel.$("[data-role=goal-added]");
  const kind = form.elements.kind;
  form.elements.filter_key.setAttribute("list", sharedKeyList(ctx, "event").id);

  function showKind() {
    for (const node of form.querySelectorAll("[data-for-kind]")) node.hidden = node.dataset.forKind !== kind.value;
  }

  function body() {
    const name = form.elements.name.value.trim();
    if (kind.value === "event") {
      // One optional "property = value" condition; the API takes any list of event/column filters.
      const key = form.elements.filter_key.value.trim();
      const value = form.elements.filter_value.value.trim();
      const filters = key || value ? [{ type: "event", key, operator: "exact", value }] : [];
      return { name, kind: "event", event: form.elements.event.value.trim(), filters };
    }
    return { name, kind: "pageview", path: form.elements.path.value.trim() };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    added.textContent = "";
    const goal = await panel.run((signal) => ctx.api.post("goals", body(), { signal }));
    if (!goal) return;
    added.textContent = `Added the goal “${goal.name}”.`;
    form.reset();
    showKind();
    changed();
  });
  kind.addEventListener("change", showKind);
  showKind();
  // Suggestions only: the field still takes any event name.
  suggest(ctx, document.getElementById("goal-events"), "definitions/events", {}, (row) => row.name);
}
