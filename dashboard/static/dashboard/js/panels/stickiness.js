// Stickiness: persons by how many days (or weeks) of the range they did the event; a bar for every
// count from 1 to all of them, so an empty bar reads as nobody, not as a missing answer.

import { ensureChart, setSeries } from "../charts.js";
import { clearChildren, el, formatNumber } from "../format.js";
import { Panel } from "../panel.js";
import { mountCountBy } from "./count-by.js";
import { mountEventPicker } from "./event-picker.js";

// One bar per number of intervals (the panel's and a dashboard tile's).
// `counted`: what the bars count (persons, or the group type counted by).
export function drawStickiness(chart, rows, counted = "Persons") {
  setSeries(
    chart,
    rows.map((row) => String(row.intervals)),
    [{ label: counted, data: rows.map((row) => row.persons) }],
  );
}

export function mountStickiness(root, ctx) {
  const panel = new Panel(root, ctx);
  const form = panel.$("[data-role=form]");
  const body = panel.$("[data-role=rows]");
  // The y axis is titled with what is counted: persons, or the group type counted by.
  const axis = { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Persons" } } };
  const chart = panel.track(ensureChart(panel.$("[data-chart=stickiness]"), "bar", { scales: axis }));
  const countedHead = panel.$("thead th.num");
  const countBy = mountCountBy(form.elements.aggregation_group_type, ctx);
  let shown = [];

  async function refresh() {
    if (!picker.value) return;
    const interval = form.elements.interval.value;
    const params = { ...ctx.range.value, event: picker.value, interval, filters: ctx.filters.param };
    const groupType = countBy.value();
    if (groupType) params.aggregation_group_type = groupType;
    const data = await panel.run((signal) => ctx.api.get("stickiness", params, { signal }));
    shown = data?.results || [];
    const unit = interval === "week" ? "Weeks" : "Days";
    panel.$("[data-role=unit]").textContent = unit;
    // The answer's rows are named `persons` whatever is counted; the label says what it is.
    const counted = groupType || "Persons";
    countedHead.textContent = counted;
    chart.options.scales.y.title.text = counted;
    drawStickiness(chart, shown, counted);
    clearChildren(body);
    for (const row of shown) {
      body.append(el("tr", {}, el("th", { scope: "row", text: String(row.intervals) }), el("td", { class: "num", text: formatNumber(row.persons) })));
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
      return { kind: "stickiness", name: `Stickiness: ${picker.value}`, query };
    },
    get shown() {
      return shown;
    },
  };
}
