// The cohort form: person-property rows and behaviour rows (did an event at least / at most /
// exactly N times in the last D days), turned into the body of POST cohorts, or filled from a
// cohort's definition to change it with PATCH.

import { field, select } from "./fields.js";
import { el } from "./format.js";
import { mountFilterRow } from "./panels/filter-row.js";

const PERSON_ONLY = [["person", "Person property"]];
const COUNT_OPERATORS = [
  ["gte", "at least"],
  ["lte", "at most"],
  ["exact", "exactly"],
];

function removable(list, row) {
  const remove = el("button", { type: "button", class: "icon-button", text: "×", "aria-label": "Remove this row" });
  remove.addEventListener("click", () => row.remove());
  row.append(remove);
  list.append(row);
  return row;
}

// A person-property row is the shared filter row with the person type only, so it suggests
// keys and values and checks its value (a number for >, <, …) as every other filter does.
const personRows = new WeakMap(); // row → its filter row

export function addPersonRow(list, ctx, filter = null) {
  const row = el("li", { class: "series", "data-role": "person-row" });
  personRows.set(row, mountFilterRow(row, ctx, { prefix: "person", types: PERSON_ONLY, initial: filter }));
  return removable(list, row);
}

export function addBehaviourRow(list, { event: name = "", operator = "gte", count = 1, days = 30, filters = [] } = {}) {
  const event = el("input", { name: "behaviour_event", autocomplete: "off", placeholder: "e.g. purchase", value: name });
  event.setAttribute("list", "event-names");
  const row = el(
    "li",
    { class: "series", "data-role": "behaviour-row" },
    field("Did event", event),
    field("How often", select("behaviour_operator", COUNT_OPERATORS, operator)),
    field("Times", el("input", { name: "behaviour_count", type: "number", min: "0", value: String(count), class: "input--short" })),
    field("In the last … days", el("input", { name: "behaviour_days", type: "number", min: "1", value: String(days), class: "input--short" })),
  );
  // The form has no controls for a behaviour's own filters (only the API sets them): they are
  // kept as they are, so changing a cohort here does not drop them.
  row.dataset.filters = JSON.stringify(filters);
  return removable(list, row);
}

// Empties the rows and fills them from a dynamic cohort's definition. Answers false (and leaves
// the rows empty) when the definition holds what the rows cannot show (an OR group, a cohort
// filter, a list of values): the form then changes the name only, so saving cannot lose part of
// the rule.
export function fillCohortForm(form, ctx, cohort) {
  for (const row of form.querySelectorAll("[data-role=person-row], [data-role=behaviour-row]")) row.remove();
  form.elements.name.value = cohort.name;
  const definition = cohort.definition || {};
  const filters = definition.filters || [];
  if (cohort.kind !== "dynamic" || !filters.every((f) => f.type === "person" && !Array.isArray(f.value))) return false;
  form.elements.match.value = definition.match || "all";
  for (const filter of filters) addPersonRow(form.querySelector("[data-role=person-rows]"), ctx, filter);
  for (const row of definition.behaviour || []) addBehaviourRow(form.querySelector("[data-role=behaviour-rows]"), row);
  return true;
}

// What cohortBody refuses, with the body field it belongs to (the form shows it in that field's
// error slot, where the API's 400 for the same field would go).
export class CohortFormError extends Error {
  constructor(param, message) {
    super(message);
    this.param = param;
  }
}

// The POST cohorts body; throws a CohortFormError saying what to fill in.
export function cohortBody(form) {
  const name = form.elements.name.value.trim();
  if (!name) throw new CohortFormError("name", "Give the cohort a name.");
  const get = (row, control) => row.querySelector(`[name=${control}]`).value.trim();
  const filters = [...form.querySelectorAll("[data-role=person-row]")].map((row, i) => {
    try {
      return personRows.get(row).read();
    } catch (error) {
      throw new CohortFormError("filters", `Person property row ${i + 1}: ${error.message}`);
    }
  });
  const behaviour = [...form.querySelectorAll("[data-role=behaviour-row]")].map((row, i) => {
    const event = get(row, "behaviour_event");
    if (!event) throw new CohortFormError("behaviour", `Behaviour row ${i + 1}: pick an event, or remove the row.`);
    const number = (control, what) => {
      const text = get(row, control);
      if (!text || !Number.isFinite(Number(text))) {
        throw new CohortFormError("behaviour", `Behaviour row ${i + 1}: type the number of ${what}.`);
      }
      return Number(text);
    };
    return {
      event,
      operator: get(row, "behaviour_operator"),
      count: number("behaviour_count", "times"),
      days: number("behaviour_days", "days"),
      filters: JSON.parse(row.dataset.filters || "[]"),
    };
  });
  if (!filters.length && !behaviour.length) {
    throw new CohortFormError("filters", "Add at least one person property or behaviour row: a cohort needs a rule.");
  }
  return { name, kind: "dynamic", match: form.elements.match.value, filters, behaviour };
}
