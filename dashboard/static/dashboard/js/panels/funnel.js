// Funnel builder: steps are added and removed by clicking, then the funnel is run (a POST, so
// the request carries the CSRF token) and drawn as one bar per step, with the median time from the
// previous step, the time to convert and, with a breakdown, one row per value (or per cohort).

import { ensureChart, setSeries } from "../charts.js";
import { clearChildren, el, formatDuration, formatNumber, formatPercent } from "../format.js";
import { Panel } from "../panel.js";
import { mountBreakdownPicker } from "./breakdown-picker.js";
import { mountFilterList } from "./filter-row.js";
import { drawBreakdown, drawTimeToConvert } from "./funnel-details.js";

const MIN_STEPS = 2;
const MAX_STEPS = 10;

// A funnel's bars (their tooltip says the share of step 1) and its step table, from a POST funnels
// answer's rows (the panel's and a dashboard tile's). `rowsNow` answers the rows on screen.
export function funnelChartOptions(rowsNow, rates) {
  return {
    plugins: {
      legend: { display: false },
      tooltip: {
        callbacks: {
          afterLabel: (item) => `${formatPercent(rowsNow()[item.dataIndex]?.conversion_from_start, rates)} of step 1`,
        },
      },
    },
  };
}

export function drawFunnelSteps(chart, table, rows, rates) {
  setSeries(
    chart,
    rows.map((row, i) => `${i + 1}. ${row.event}`),
    [{ label: "Users", data: rows.map((row) => row.users) }],
  );
  if (!table) return;
  clearChildren(table);
  for (const [i, row] of rows.entries()) {
    table.append(
      el(
        "tr",
        {},
        el("th", { scope: "row", text: `${i + 1}. ${row.event}` }),
        el("td", { class: "num", text: formatNumber(row.users) }),
        el("td", { class: "num", text: formatPercent(row.conversion_from_start, rates) }),
        el("td", { class: "num", text: i === 0 ? "–" : formatPercent(row.conversion_from_previous, rates) }),
        el("td", { class: "num", text: i === 0 ? "–" : formatDuration(row.median_conversion_seconds) }),
      ),
    );
  }
}

export function mountFunnel(root, ctx) {
  const panel = new Panel(root, ctx);
  const form = panel.$("[data-role=form]");
  const list = panel.$("[data-role=steps]");
  const addButton = panel.$("[data-action=add-step]");
  const result = panel.$("[data-role=result]");
  const breakdown = mountBreakdownPicker(form, ctx);
  const stepFilters = new WeakMap(); // step item → its filter list
  let chart = null;
  let counter = 0;
  let shown = []; // the rows on screen, read by the chart's tooltip

  function renumber() {
    const items = [...list.children];
    items.forEach((item, i) => {
      item.querySelector("label").textContent = `Step ${i + 1}`;
      item.querySelector("[data-action=remove-step]").disabled = items.length <= MIN_STEPS;
      item.querySelector("[data-action=remove-step]").setAttribute("aria-label", `Remove step ${i + 1}`);
    });
    addButton.disabled = items.length >= MAX_STEPS;
  }

  function addStep(value = "") {
    counter += 1;
    const id = `funnel-step-${counter}`;
    const input = el("input", { id, name: "steps", autocomplete: "off", required: true, value });
    input.setAttribute("list", "event-names");
    input.placeholder = "event name";
    const remove = el("button", { type: "button", class: "icon-button", text: "×" });
    remove.dataset.action = "remove-step";
    remove.addEventListener("click", () => {
      remove.closest("li").remove();
      renumber();
    });
    const label = el("label", { htmlFor: id });
    // Filters of the step's own, beside the bar's: the shared filter rows.
    const filters = el("div", { class: "funnel__step-filters", "data-role": "step-filters" });
    const item = el("li", { class: "funnel__step" }, label, input, remove, filters);
    stepFilters.set(item, mountFilterList(filters, ctx, { prefix: "step_filter", addLabel: "+ Step filter" }));
    list.append(item);
    renumber();
    return input;
  }

  // A step is its event name, or {"event", "filters"} when it has filters of its own.
  function stepOf(item, i) {
    const event = item.querySelector("[name=steps]").value.trim();
    let filters;
    try {
      filters = stepFilters.get(item).read();
    } catch (error) {
      throw new Error(`Step ${i + 1}: ${error.message}`);
    }
    return filters.length ? { event, filters } : event;
  }

  // The POST funnels body without the range (what "Save as insight" stores); throws on a bad step filter.
  function query() {
    const out = {
      steps: [...list.children].map(stepOf),
      window_hours: Number(form.elements.window_hours.value),
      filters: ctx.filters.value,
    };
    const split = breakdown.value();
    if (split) out.breakdown = split;
    return out;
  }

  async function run() {
    let body;
    try {
      body = { ...ctx.range.value, ...query() };
    } catch (error) {
      panel.clearErrors();
      panel.$(":scope > [data-role=error]").textContent = error.message;
      return;
    }
    const data = await panel.run((signal) => ctx.api.post("funnels", body, { signal }));
    if (!data) return;
    const rows = data.results || [];
    shown = rows;
    result.hidden = false;
    chart ??= panel.track(ensureChart(panel.$("[data-chart=funnel]"), "bar", funnelChartOptions(() => shown, ctx.rates)));
    drawFunnelSteps(chart, panel.$("[data-role=rows]"), rows, ctx.rates);
    drawTimeToConvert(panel.$("[data-role=time-to-convert]"), data.time_to_convert || []);
    const split = panel.$("[data-role=breakdown]");
    split.hidden = !body.breakdown;
    if (body.breakdown) drawBreakdown(split.querySelector("table"), data.breakdown || [], rows, ctx.rates);
  }

  addButton.addEventListener("click", () => addStep().focus());
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    run();
  });
  // Re-run a funnel that is on screen when the range or the filters change; an unbuilt one waits for a click.
  for (const name of ["rangechange", "filterschange"]) {
    document.addEventListener(name, () => {
      if (!result.hidden) run();
    });
  }
  for (let i = 0; i < MIN_STEPS; i += 1) addStep();
  return {
    run,
    addStep,
    insight() {
      const q = query();
      const names = q.steps.map((step) => (typeof step === "string" ? step : step.event));
      return { kind: "funnels", name: `Funnel: ${names.join(" → ")}`, query: q };
    },
  };
}
