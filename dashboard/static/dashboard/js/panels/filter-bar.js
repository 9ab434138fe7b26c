// The filter bar: filters that apply to every panel (README "Filters"). A filter is built by
// picking its type, key (from the taxonomy), operator and value (from the key's top values), and
// shown as a removable chip. The list lives in the page URL (?filters=<JSON>), so a filtered view
// can be shared and reloaded; a change is announced as "filterschange" on the document.

import { ApiError } from "../api.js";
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
const OPERATOR_LABEL = new Map(OPERATORS);
const NO_VALUE = new Set(["is_set", "is_not_set"]);
const NUMERIC = new Set(["gt", "gte", "lt", "lte"]);

// Filters from the URL; anything unreadable is dropped rather than breaking the page.
export function filtersFromUrl(search = window.location.search) {
  const raw = new URLSearchParams(search).get("filters");
  if (!raw) return [];
  try {
    const parsed = JSON.parse(raw);
    return Array.isArray(parsed) ? parsed.filter((f) => f && typeof f === "object") : [];
  } catch {
    return [];
  }
}

export function describeFilter(filter, cohortNames = new Map()) {
  // An OR group can only come from a shared URL (the bar builds single filters).
  if (Array.isArray(filter.any)) return `any of (${filter.any.map((f) => describeFilter(f, cohortNames)).join(" or ")})`;
  if (filter.type === "cohort") return `in cohort ${cohortNames.get(String(filter.value)) || `#${filter.value}`}`;
  const who = filter.type === "person" ? "person." : "";
  const op = filter.operator || "exact";
  const value = NO_VALUE.has(op) ? "" : ` ${Array.isArray(filter.value) ? filter.value.join(", ") : filter.value}`;
  return `${who}${filter.key} ${OPERATOR_LABEL.get(op) || op}${value}`;
}

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

export function mountFilterBar(form, ctx) {
  const type = form.elements.filter_type;
  const key = form.elements.filter_key;
  const operator = form.elements.filter_operator;
  const value = form.elements.filter_value;
  const cohortSelect = form.elements.filter_cohort;
  const chips = form.querySelector("[data-role=chips]");
  const formError = form.querySelector("[data-role=filter-form-error]");
  const keyList = document.getElementById(key.getAttribute("list"));
  const valueList = document.getElementById(value.getAttribute("list"));
  const cohortNames = new Map();
  let filters = filtersFromUrl();

  for (const [op, label] of OPERATORS) operator.append(el("option", { value: op, text: label }));

  function showFields() {
    const isCohort = type.value === "cohort";
    for (const node of form.querySelectorAll("[data-for-type=property]")) node.hidden = isCohort;
    for (const node of form.querySelectorAll("[data-for-type=cohort]")) node.hidden = !isCohort;
    form.querySelector("[data-role=value-field]").hidden = isCohort || NO_VALUE.has(operator.value);
  }

  async function loadCohorts() {
    try {
      const data = await ctx.api.get("cohorts");
      const rows = data.results || data || [];
      clearChildren(cohortSelect);
      cohortNames.clear();
      for (const row of rows) {
        cohortNames.set(String(row.id), row.name);
        cohortSelect.append(el("option", { value: String(row.id), text: `${row.name} (${row.count ?? "not computed yet"})` }));
      }
      if (!rows.length) cohortSelect.append(el("option", { value: "", text: "No cohorts yet: create one on the Cohorts page" }));
      renderChips();
    } catch {
      cohortSelect.append(el("option", { value: "", text: "Cohorts could not be loaded" }));
    }
  }

  function loadKeys() {
    if (type.value === "cohort") return;
    suggest(ctx, keyList, "definitions/properties", { type: type.value }, (row) => row.key);
  }

  function loadValues() {
    if (type.value === "cohort" || !key.value.trim()) return;
    const params = { type: type.value, q: value.value.trim(), limit: 20 };
    suggest(ctx, valueList, `definitions/properties/${encodeURIComponent(key.value.trim())}/values`, params, (row) => row.value);
  }

  function renderChips() {
    clearChildren(chips);
    if (!filters.length) chips.append(el("li", { class: "muted", text: "No filters: every event counts. Add one to narrow every panel." }));
    filters.forEach((filter, index) => {
      const remove = el("button", { type: "button", class: "icon-button", text: "×" });
      remove.dataset.action = "remove-filter";
      remove.setAttribute("aria-label", `Remove filter ${describeFilter(filter, cohortNames)}`);
      remove.addEventListener("click", () => {
        filters = filters.filter((_, i) => i !== index);
        changed();
      });
      chips.append(el("li", { class: "chip chip--filter", "data-role": "filter-chip" }, describeFilter(filter, cohortNames), remove));
    });
  }

  function changed() {
    const url = new URL(window.location.href);
    if (filters.length) url.searchParams.set("filters", JSON.stringify(filters));
    else url.searchParams.delete("filters");
    window.history.replaceState(null, "", url);
    for (const slot of form.querySelectorAll("[data-error-for]")) slot.textContent = "";
    renderChips();
    document.dispatchEvent(new CustomEvent("filterschange", { detail: { filters: [...filters] } }));
  }

  // The filter the form describes, or an error saying what to fill in.
  function build() {
    if (type.value === "cohort") {
      if (!cohortSelect.value) throw new ApiError("Pick a cohort, or create one on the Cohorts page first.");
      return { type: "cohort", value: Number(cohortSelect.value) };
    }
    const k = key.value.trim();
    if (!k) throw new ApiError("Type or pick a property key.");
    const op = operator.value;
    const filter = { type: type.value, key: k, operator: op };
    if (NO_VALUE.has(op)) return filter;
    const v = value.value.trim();
    if (!v) throw new ApiError("Type or pick a value, or choose “is set”.");
    if (NUMERIC.has(op) && !Number.isFinite(Number(v))) throw new ApiError(`“${OPERATOR_LABEL.get(op)}” compares numbers: type a number.`);
    filter.value = NUMERIC.has(op) ? Number(v) : v;
    return filter;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    formError.textContent = "";
    try {
      filters = [...filters, build()];
    } catch (error) {
      formError.textContent = error.message;
      return;
    }
    key.value = "";
    value.value = "";
    changed();
  });
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
  renderChips();
  loadKeys();
  loadCohorts();

  return {
    get value() {
      return [...filters];
    },
    // For GET reports: the URL-encoded JSON, or nothing when there are no filters.
    get param() {
      return filters.length ? JSON.stringify(filters) : undefined;
    },
    set(next) {
      filters = [...next];
      changed();
    },
  };
}
