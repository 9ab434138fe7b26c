// Funnel builder: steps are added and removed by clicking, then the funnel is run (a POST, so
// the request carries the CSRF token) and drawn as one bar per step, with the median time from the
// previous step, the time to convert and, with a breakdown, one row per value.

import { ensureChart, setSeries } from "../charts.js";
import { clearChildren, el, formatNumber, formatPercent } from "../format.js";
import { Panel } from "../panel.js";
import { OPERATORS } from "./filter-bar.js";
import { drawBreakdown, drawTimeToConvert, formatDuration } from "./funnel-details.js";

const MIN_STEPS = 2;
const MAX_STEPS = 10;
const NO_VALUE = new Set(["is_set", "is_not_set"]);
const NUMERIC = new Set(["gt", "gte", "lt", "lte"]);

export function mountFunnel(root, ctx) {
  const panel = new Panel(root, ctx);
  const form = panel.$("[data-role=form]");
  const list = panel.$("[data-role=steps]");
  const addButton = panel.$("[data-action=add-step]");
  const result = panel.$("[data-role=result]");
  let chart = null;
  let counter = 0;
  let shown = []; // the rows on screen, read by the chart's tooltip

  function stepInputs() {
    return [...list.querySelectorAll("input[name=steps]")];
  }

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
    // An optional filter of the step's own (an event property), beside the bar's filters.
    const key = el("input", { name: "step_filter_key", autocomplete: "off", placeholder: "only where… (optional)" });
    key.setAttribute("list", "filter-keys");
    key.setAttribute("aria-label", "Step filter: event property");
    const operator = el("select", { name: "step_filter_operator", "aria-label": "Step filter: operator" });
    for (const [op, text] of OPERATORS) operator.append(el("option", { value: op, text }));
    const filterValue = el("input", { name: "step_filter_value", autocomplete: "off", placeholder: "value" });
    filterValue.setAttribute("aria-label", "Step filter: value");
    list.append(el("li", { class: "funnel__step" }, label, input, key, operator, filterValue, remove));
    renumber();
    return input;
  }

  // A step is its event name, or {"event", "filters"} when its filter row is filled in.
  function stepOf(item) {
    const event = item.querySelector("[name=steps]").value.trim();
    const key = item.querySelector("[name=step_filter_key]").value.trim();
    if (!key) return event;
    const operator = item.querySelector("[name=step_filter_operator]").value;
    const filter = { type: "event", key, operator };
    if (!NO_VALUE.has(operator)) {
      const raw = item.querySelector("[name=step_filter_value]").value.trim();
      filter.value = NUMERIC.has(operator) ? Number(raw) : raw;
    }
    return { event, filters: [filter] };
  }

  async function run() {
    const steps = [...list.children].map(stepOf);
    const body = {
      steps,
      ...ctx.range.value,
      window_hours: Number(form.elements.window_hours.value),
      filters: ctx.filters.value,
    };
    const splitType = form.elements.breakdown_type.value;
    const splitKey = form.elements.breakdown_key.value.trim();
    if (splitType && splitKey) body.breakdown = { type: splitType, key: splitKey };
    const data = await panel.run((signal) => ctx.api.post("funnels", body, { signal }));
    if (!data) return;
    const rows = data.results || [];
    shown = rows;
    result.hidden = false;
    chart ??= panel.track(ensureChart(panel.$("[data-chart=funnel]"), "bar", {
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            afterLabel: (item) => `${formatPercent(shown[item.dataIndex]?.conversion_from_start, ctx.rates)} of step 1`,
          },
        },
      },
    }));
    setSeries(
      chart,
      rows.map((row, i) => `${i + 1}. ${row.event}`),
      [{ label: "Users", data: rows.map((row) => row.users) }],
    );
    const table = panel.$("[data-role=rows]");
    clearChildren(table);
    for (const [i, row] of rows.entries()) {
      table.append(
        el(
          "tr",
          {},
          el("th", { scope: "row", text: `${i + 1}. ${row.event}` }),
          el("td", { class: "num", text: formatNumber(row.users) }),
          el("td", { class: "num", text: formatPercent(row.conversion_from_start, ctx.rates) }),
          el("td", { class: "num", text: i === 0 ? "–" : formatPercent(row.conversion_from_previous, ctx.rates) }),
          el("td", { class: "num", text: i === 0 ? "–" : formatDuration(row.median_conversion_seconds) }),
        ),
      );
    }
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
  return { run, addStep };
}
