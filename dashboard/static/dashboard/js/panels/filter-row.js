// One filter's editor: type, key, operator and value (or a cohort), with the key suggested from
// the taxonomy and the value from the key's top values. The filter bar, the trends series and
// the funnel steps all build their filters with it, so a filter is edited the same way everywhere
// and a fix to it (an operator, a check) lands in every place at once.

import { field, select } from "../fields.js";
import { clearChildren, el } from "../format.js";

export const OPERATORS = [
  ["exact", "="],
  ["is_not", "≠"],
  ["icontains", "contains"],
  ["not_icontains", "does not contain"],
  ["regex", "matches regex"],
  ["not_regex", "does not match regex"],
  ["gt", ">"],
  ["gte", "≥"],
  ["lt", "<"],
  ["lte", "≤"],
  ["is_set", "is set"],
  ["is_not_set", "is not set"],
  ["is_date_before", "date before"],
  ["is_date_after", "date after"],
];
export const OPERATOR_LABEL = new Map(OPERATORS);
export const NO_VALUE = new Set(["is_set", "is_not_set"]);
export const NUMERIC = new Set(["gt", "gte", "lt", "lte"]);
// The event columns filters and breakdowns take (COLUMN_KEYS in analytics/query/filters.py):
// the built-in ones and those web enrichment derives at capture.
export const COLUMNS = [
  ["event", "Event name"],
  ["source", "Source"],
  ["user_id", "User id"],
  ["session_id", "Session id"],
  ["browser", "Browser"],
  ["browser_version", "Browser version"],
  ["os", "OS"],
  ["os_version", "OS version"],
  ["device_type", "Device type"],
  ["country", "Country (ISO code)"],
  ["region", "Region"],
  ["city", "City"],
  ["host", "Host"],
  ["pathname", "Page path"],
  ["referrer_host", "Referrer"],
  ["utm_source", "UTM source"],
  ["utm_medium", "UTM medium"],
  ["utm_campaign", "UTM campaign"],
  ["utm_content", "UTM content"],
  ["utm_term", "UTM term"],
  ["channel", "Channel"],
];
const TYPES = [
  ["event", "Event property"],
  ["person", "Person property"],
  ["column", "Column (browser, country, page…)"],
  ["cohort", "Cohort"],
];

// Fills a datalist; suggestions are a help, so a failed look-up leaves the list empty. A newer
// look-up for the same list aborts the older, so typing fast never ends on stale suggestions.
const pending = new WeakMap();
export async function suggest(ctx, datalist, path, params, pick) {
  pending.get(datalist)?.abort();
  const controller = new AbortController();
  pending.set(datalist, controller);
  try {
    const data = await ctx.api.get(path, params, { signal: controller.signal });
    clearChildren(datalist);
    for (const row of data.results || []) datalist.append(el("option", { value: pick(row) }));
  } catch (error) {
    if (error.name !== "AbortError") clearChildren(datalist);
  }
}

// The project's cohorts, asked once per page: every filter row and breakdown picker offers them.
// Forgotten after a failure, so the next row asks again.
export function cohortList(ctx, { fresh = false } = {}) {
  if (fresh || !ctx.cohortList) {
    ctx.cohortList = ctx.api.get("cohorts").then((data) => data.results || []);
    ctx.cohortList.catch(() => {
      ctx.cohortList = null;
    });
  }
  return ctx.cohortList;
}

// The page's one list of property keys per type (event, person), asked once: every filter row,
// the breakdown pickers and the other key inputs point at it, so ten controls need not ask ten
// times.
export function sharedKeyList(ctx, type) {
  const id = `filter-row-keys-${type}`;
  let list = document.getElementById(id);
  if (!list) {
    list = el("datalist", { id });
    document.body.append(list);
    suggest(ctx, list, "definitions/properties", { type }, (row) => row.key);
  }
  return list;
}

let counter = 0; // numbers each row's own list of values

// Builds the controls in `container`. `prefix` names them (`<prefix>_key`, …) so a form can tell
// rows apart; `initial` fills them from a filter (a saved definition being changed). Returns { read, reset }: read() gives the filter, null for a row left empty, or throws an
// Error saying what to fill in.
export function mountFilterRow(container, ctx, { prefix = "filter", types = TYPES, optional = false, initial = null } = {}) {
  counter += 1;
  const n = counter;
  const type = select(`${prefix}_type`, types);
  const key = el("input", { name: `${prefix}_key`, autocomplete: "off", placeholder: optional ? "optional, e.g. plan" : "e.g. plan" });
  const operator = select(`${prefix}_operator`, OPERATORS);
  const value = el("input", { name: `${prefix}_value`, autocomplete: "off", placeholder: "e.g. pro" });
  const cohort = el("select", { name: `${prefix}_cohort` });
  const column = select(`${prefix}_column`, COLUMNS);
  const valueList = el("datalist", { id: `filter-row-values-${n}` });
  container.append(valueList);
  value.setAttribute("list", valueList.id);

  const typeField = field("Type", type);
  typeField.hidden = types.length < 2;
  const keyField = field("Property", key);
  const operatorField = field("Operator", operator);
  const valueField = field("Value", value);
  const cohortField = field("Cohort", cohort);
  const columnField = field("Column", column);
  container.prepend(typeField, keyField, columnField, operatorField, valueField, cohortField);

  function loadKeys() {
    if (type.value === "cohort" || type.value === "column") return;
    key.setAttribute("list", sharedKeyList(ctx, type.value).id);
  }

  function loadValues() {
    // The taxonomy's top values are of properties; a column's values are not suggested.
    if (type.value === "cohort" || type.value === "column" || !key.value.trim()) return;
    const params = { type: type.value, q: value.value.trim(), limit: 20 };
    suggest(ctx, valueList, `definitions/properties/${encodeURIComponent(key.value.trim())}/values`, params, (r) => r.value);
  }

  async function loadCohorts() {
    if (cohort.options.length) return;
    try {
      const rows = await cohortList(ctx);
      for (const row of rows) {
        cohort.append(el("option", { value: String(row.id), text: `${row.name} (${row.count ?? "not computed yet"})` }));
      }
      if (!rows.length) cohort.append(el("option", { value: "", text: "No cohorts yet: create one on the Cohorts page" }));
    } catch {
      cohort.append(el("option", { value: "", text: "Cohorts could not be loaded" }));
    }
  }

  function showFields() {
    const isCohort = type.value === "cohort";
    const isColumn = type.value === "column";
    keyField.hidden = isCohort || isColumn;
    columnField.hidden = !isColumn;
    operatorField.hidden = isCohort;
    valueField.hidden = isCohort || NO_VALUE.has(operator.value);
    cohortField.hidden = !isCohort;
    if (isCohort) loadCohorts();
  }

  function read() {
    if (type.value === "cohort") {
      if (!cohort.value) throw new Error("Pick a cohort, or create one on the Cohorts page first.");
      return { type: "cohort", value: Number(cohort.value) };
    }
    const k = type.value === "column" ? column.value : key.value.trim();
    if (!k) {
      if (optional) return null;
      throw new Error("Type or pick a property key.");
    }
    const op = operator.value;
    const filter = { type: type.value, key: k, operator: op };
    if (NO_VALUE.has(op)) return filter;
    const v = value.value.trim();
    if (!v) throw new Error(`Type or pick a value for “${k}”, or choose “is set”.`);
    if (NUMERIC.has(op) && !Number.isFinite(Number(v))) throw new Error(`“${OPERATOR_LABEL.get(op)}” compares numbers: type a number.`);
    filter.value = NUMERIC.has(op) ? Number(v) : v;
    return filter;
  }

  if (initial) {
    type.value = initial.type ?? type.value;
    key.value = initial.key ?? "";
    operator.value = initial.operator ?? "exact";
    value.value = initial.value ?? "";
  }
  type.addEventListener("change", () => {
    key.value = "";
    value.value = "";
    showFields();
    loadKeys();
  });
  operator.addEventListener("change", showFields);
  key.addEventListener("change", loadValues);
  value.addEventListener("focus", loadValues);
  value.addEventListener("input", loadValues);
  showFields();
  loadKeys();

  return {
    read,
    reset() {
      key.value = "";
      value.value = "";
    },
  };
}

// A list of filter rows with "+ Filter" and a remove button per row, for a series or a step.
// Returns { read() → filters } (empty rows left out); read() throws when a row is half filled.
export function mountFilterList(container, ctx, { prefix, addLabel = "+ Filter" }) {
  const list = el("ul", { class: "filter-list", "data-role": "filter-list" });
  const add = el("button", { type: "button", class: "button button--ghost button--small", text: addLabel });
  add.dataset.action = `add-${prefix.replaceAll("_", "-")}`;
  container.append(list, add);
  const rows = new Map();

  function addRow() {
    const item = el("li", { class: "filter-list__row", "data-role": "filter-row" });
    const remove = el("button", { type: "button", class: "icon-button", text: "×", "aria-label": "Remove this filter" });
    remove.addEventListener("click", () => {
      rows.delete(item);
      item.remove();
      if (!rows.size) addRow();
    });
    item.append(remove);
    list.append(item);
    rows.set(item, mountFilterRow(item, ctx, { prefix, optional: true }));
    return item;
  }

  add.addEventListener("click", () => addRow().querySelector("input")?.focus());
  addRow();
  return {
    read() {
      return [...rows.values()].map((row) => row.read()).filter(Boolean);
    },
  };
}
