// Lifecycle: per interval, the active persons stacked above zero (new, resurrecting, returning)
// and those gone dormant below it, as PostHog draws it.

import { ensureChart, setSeries } from "../charts.js";
import { clearChildren, el, formatNumber } from "../format.js";
import { Panel } from "../panel.js";
import { mountCountBy } from "./count-by.js";
import { mountEventPicker } from "./event-picker.js";

// In the palette's order (blue, orange, green, red), which reads as the usual lifecycle colours.
const STATUSES = [
  ["new", "New"],
  ["resurrecting", "Resurrecting"],
  ["returning", "Returning"],
  ["dormant", "Dormant"],
];

// Stacked bars: the chart's options, and its data from a GET lifecycle answer's rows (the panel's
// and a dashboard tile's).
export const LIFECYCLE_OPTIONS = { scales: { x: { stacked: true }, y: { stacked: true, ticks: { precision: 0 } } } };

export function drawLifecycle(chart, rows) {
  setSeries(
    chart,
    rows.map((row) => row.date),
    STATUSES.map(([key, label]) => ({ label, data: rows.map((row) => row[key]) })),
  );
}

export function mountLifecycle(root, ctx) {
  const panel = new Panel(root, ctx);
  const form = panel.$("[data-role=form]");
  const body = panel.$("[data-role=rows]");
  const chart = panel.track(ensureChart(panel.$("[data-chart=lifecycle]"), "bar", LIFECYCLE_OPTIONS));
  const countBy = mountCountBy(form.elements.aggregation_group_type, ctx);
  let shown = [];

  async function refresh() {
    if (!picker.value) return;
    const params = { ...ctx.range.value, event: picker.value, interval: form.elements.interval.value, filters: ctx.filters.param };
    const groupType = countBy.value();
    if (groupType) params.aggregation_group_type = groupType;
    const data = await panel.run((signal) => ctx.api.get("lifecycle", params, { signal }));
    shown = data?.results || [];
    drawLifecycle(chart, shown);
    clearChildren(body);
    for (const row of shown) {
      const cells = ["new", "returning", "resurrecting", "dormant"].map((key) => el("td", { class: "num", text: formatNumber(row[key]) }));
      body.append(el("tr", {}, el("th", { scope: "row", text: row.date }), ...cells));
    }
  }

  const picker = mountEventPicker(form, refresh);
  form.elements.aggregation_group_type.addEventListener("change", refresh);
  return {
    refresh,
    insight() {
      const query = { event: picker.value, interval: form.elements.interval.value, filters: ctx.filters.value };
      const groupType = countBy.value();
      if (groupType) query.aggregation_group_type = groupType;
      return { kind: "lifecycle", name: `Lifecycle: ${picker.value}`, query };
    },
    get shown() {
      return shown;
    },
  };
}
