// The filter bar: filters that apply to every panel (README "Filters"). A filter is built by
// picking its type, key (from the taxonomy), operator and value (from the key's top values), and
// shown as a removable chip. The list lives in the page URL (?filters=<JSON>), so a filtered view
// can be shared and reloaded; a change is announced as "filterschange" on the document.

import { clearChildren, el } from "../format.js";
import { NO_VALUE, OPERATOR_LABEL, cohortList, mountFilterRow } from "./filter-row.js";

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

export function mountFilterBar(form, ctx) {
  const chips = form.querySelector("[data-role=chips]");
  const formError = form.querySelector("[data-role=filter-form-error]");
  const row = mountFilterRow(form.querySelector("[data-role=filter-row]"), ctx, { prefix: "filter" });
  const cohortNames = new Map();
  let filters = filtersFromUrl();

  // The chips name cohorts, not ids; until the list is in, they show "#id". The list is asked for
  // only once a chip needs it (most pages have no cohort filter); the row's picker asks for
  // itself when its type is set to cohort, and both share cohortList's one request.
  let namesAsked = false;
  async function loadCohortNames() {
    const isCohort = (f) => f.type === "cohort" || (Array.isArray(f.any) && f.any.some(isCohort));
    if (namesAsked || !filters.some(isCohort)) return;
    namesAsked = true;
    try {
      for (const cohort of await cohortList(ctx)) cohortNames.set(String(cohort.id), cohort.name);
      renderChips();
    } catch {
      namesAsked = false; // asked again with the next change; the row's picker says it failed
    }
  }

  // The other pages that honour the bar (reports, persons) open with the same filters.
  function carryToLinks() {
    for (const link of document.querySelectorAll("a[data-keeps-filters]")) {
      const url = new URL(link.href);
      if (filters.length) url.searchParams.set("filters", JSON.stringify(filters));
      else url.searchParams.delete("filters");
      link.href = url.toString();
    }
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
    carryToLinks();
    for (const slot of form.querySelectorAll("[data-error-for]")) slot.textContent = "";
    renderChips();
    loadCohortNames();
    document.dispatchEvent(new CustomEvent("filterschange", { detail: { filters: [...filters] } }));
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    formError.textContent = "";
    try {
      filters = [...filters, row.read()];
    } catch (error) {
      formError.textContent = error.message;
      return;
    }
    row.reset();
    changed();
  });
  renderChips();
  carryToLinks();
  loadCohortNames();

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
