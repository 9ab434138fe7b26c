// The trends builder (POST trends): several series (event, math, filters of their own), a formula
// over them, a breakdown by an event or person property, a column or cohorts, and the previous period;
// shown as lines, bars or a table. The filter bar's filters apply to every series.

import { ensureChart } from "../charts.js";
import { Panel } from "../panel.js";
import { mountBreakdownPicker } from "./breakdown-picker.js";
import { mountCountBy } from "./count-by.js";
import { MAX_SERIES, addSeriesRow, seriesFromRows } from "./trends-series.js";
import { drawTrendChart, drawTrendTable, trendLines } from "./trends-view.js";

export function mountTrends(root, ctx) {
  const panel = new Panel(root, ctx);
  const form = panel.$("[data-role=form]");
  const list = panel.$("[data-role=series]");
  const addButton = panel.$("[data-action=add-series]");
  const breakdown = mountBreakdownPicker(form, ctx);
  const countBy = mountCountBy(form.elements.aggregation_group_type, ctx);
  const chartBox = panel.$("[data-role=chart-view]");
  const tableBox = panel.$("[data-role=table-view]");
  const viewButtons = [...root.querySelectorAll("[data-view]")];
  const chart = panel.track(ensureChart(panel.$("[data-chart=trends]"), "line"));
  let shown = { dates: [], lines: [] };

  function syncAddButton() {
    addButton.disabled = list.children.length >= MAX_SERIES;
  }

  function firstEvent() {
    return list.querySelector("[name=series_event]");
  }

  // Line and bar are one Chart.js instance whose type changes; the lines are drawn again for it.
  function showView(view) {
    for (const button of viewButtons) button.setAttribute("aria-pressed", String(button.dataset.view === view));
    chartBox.hidden = view === "table";
    tableBox.hidden = view !== "table";
    if (view !== "table" && chart.config.type !== view) {
      chart.config.type = view;
      drawTrendChart(chart, shown);
    }
  }

  // The POST trends body without the range (what "Save as insight" stores); throws on a bad series.
  function query() {
    const out = {
      series: seriesFromRows(list),
      interval: form.elements.interval.value,
      filters: ctx.filters.value,
      compare: form.elements.compare.checked,
    };
    const groupType = countBy.value();
    if (groupType) out.aggregation_group_type = groupType;
    const split = breakdown.value();
    if (split) out.breakdown = split;
    const formula = form.elements.formula.value.trim();
    if (formula) out.formula = formula;
    return out;
  }

  async function refresh() {
    if (!firstEvent()?.value.trim()) return;
    let body;
    try {
      body = { ...ctx.range.value, ...query() };
    } catch (error) {
      panel.clearErrors();
      panel.$(":scope > [data-role=error]").textContent = error.message;
      return;
    }
    const data = await panel.run((signal) => ctx.api.post("trends", body, { signal }));
    if (!data) {
      drawTrendTable(panel.$("[data-role=table]"), { dates: [], lines: [] });
      return;
    }
    shown = trendLines(data);
    drawTrendChart(chart, shown);
    drawTrendTable(panel.$("[data-role=table]"), shown);
    const empty = shown.lines.every((line) => line.values.every((v) => !v));
    panel.$("[data-role=empty]").textContent = empty
      ? "Nothing matched in this range: widen the dates, remove a filter or pick another event."
      : "";
  }

  addButton.addEventListener("click", () => {
    const row = addSeriesRow(list, ctx, {}, syncAddButton);
    syncAddButton();
    row.querySelector("[name=series_event]").focus();
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    refresh();
  });
  for (const button of viewButtons) button.addEventListener("click", () => showView(button.dataset.view));
  form.elements.interval.addEventListener("change", refresh);
  form.elements.compare.addEventListener("change", refresh);
  form.elements.aggregation_group_type.addEventListener("change", refresh);
  document.addEventListener("rangechange", refresh);
  document.addEventListener("filterschange", refresh);
  document.addEventListener("pickevent", (e) => {
    firstEvent().value = e.detail.event;
    refresh();
    root.scrollIntoView({ behavior: "smooth", block: "start" });
  });
  // Until someone picks an event, show the most frequent one rather than an empty chart.
  document.addEventListener("eventnames", (e) => {
    if (!firstEvent().value && e.detail.names.length) {
      firstEvent().value = e.detail.names[0];
      refresh();
    }
  });

  addSeriesRow(list, ctx, {}, syncAddButton);
  syncAddButton();
  showView("line");
  return {
    refresh,
    insight() {
      const q = query();
      const names = q.series.map((s) => s.event || s.name || "").filter(Boolean);
      return { kind: "trends", name: q.formula ? `Trends: ${q.formula}` : `Trends: ${names.join(", ")}`, query: q };
    },
    get shown() {
      return shown;
    },
  };
}
