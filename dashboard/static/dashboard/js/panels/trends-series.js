// The series rows of the trends builder: each is a letter (the name a formula uses), an event, a
// math (with its numeric property for sum, avg, …) and filters of its own (the shared filter rows).

import { field, select } from "../fields.js";
import { el } from "../format.js";
import { mountFilterList, sharedKeyList } from "./filter-row.js";

export const MAX_SERIES = 10; // the API's limit
const MATHS = [
  ["total", "Total events"],
  ["users", "Unique users"],
  ["sessions", "Sessions"],
  ["per_user_avg", "Events per user"],
  ["sum", "Sum of property"],
  ["avg", "Average of property"],
  ["min", "Minimum of property"],
  ["max", "Maximum of property"],
  ["median", "Median of property"],
  ["p90", "90th percentile"],
  ["p95", "95th percentile"],
  ["p99", "99th percentile"],
];
const PROPERTY_MATHS = new Set(["sum", "avg", "min", "max", "median", "p90", "p95", "p99"]);

const rowFilters = new WeakMap(); // series row → its filter list

export function letter(index) {
  return String.fromCharCode(65 + index);
}

// Adds a row to `list`; `onChange` is called when a row is removed (the letters shift).
export function addSeriesRow(list, ctx, { event = "", math = "total" } = {}, onChange = () => {}) {
  const eventInput = el("input", { name: "series_event", autocomplete: "off", placeholder: "e.g. signup", value: event });
  eventInput.setAttribute("list", "event-names");
  const mathSelect = select("series_math", MATHS, math);
  const property = el("input", { name: "series_property", autocomplete: "off", placeholder: "e.g. amount" });
  property.setAttribute("list", sharedKeyList(ctx, "event").id);
  const propertyField = field("Numeric property", property);
  const filters = el("div", { class: "series__filters", "data-role": "series-filters" });
  filters.append(el("span", { class: "series__filters-title muted", text: "Only where (all of)" }));
  const remove = el("button", { type: "button", class: "icon-button", text: "×" });
  remove.dataset.action = "remove-series";
  const badge = el("span", { class: "series__name", "data-role": "series-name" });
  const row = el(
    "li",
    { class: "series", "data-role": "series-row" },
    badge,
    field("Event", eventInput),
    field("Measure", mathSelect),
    propertyField,
    remove,
    filters,
  );
  rowFilters.set(row, mountFilterList(filters, ctx, { prefix: "series_filter" }));
  const sync = () => {
    propertyField.hidden = !PROPERTY_MATHS.has(mathSelect.value);
  };
  mathSelect.addEventListener("change", sync);
  remove.addEventListener("click", () => {
    if (list.children.length <= 1) return;
    row.remove();
    renumberSeries(list);
    onChange();
  });
  sync();
  list.append(row);
  renumberSeries(list);
  return row;
}

export function renumberSeries(list) {
  const rows = [...list.children];
  rows.forEach((row, i) => {
    row.querySelector("[data-role=series-name]").textContent = letter(i);
    row.querySelector("[data-action=remove-series]").disabled = rows.length <= 1;
    row.querySelector("[data-action=remove-series]").setAttribute("aria-label", `Remove series ${letter(i)}`);
  });
}

// The rows as the API's `series`; throws an Error saying what to fill in.
export function seriesFromRows(list) {
  return [...list.children].map((row, i) => {
    const get = (name) => row.querySelector(`[name=${name}]`);
    const event = get("series_event").value.trim();
    if (!event) throw new Error(`Series ${letter(i)}: pick an event.`);
    const item = { name: letter(i), event, math: get("series_math").value };
    if (PROPERTY_MATHS.has(item.math)) {
      item.math_property = get("series_property").value.trim();
      if (!item.math_property) throw new Error(`Series ${letter(i)}: this measure needs a numeric property.`);
    }
    try {
      item.filters = rowFilters.get(row).read();
    } catch (error) {
      throw new Error(`Series ${letter(i)}: ${error.message}`);
    }
    return item;
  });
}
