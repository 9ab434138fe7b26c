// The "new cohort" form: person-property rows and behaviour rows (did an event at least / at most /
// exactly N times in the last D days), turned into the body of POST cohorts.

import { el } from "./format.js";
import { NO_VALUE, NUMERIC, OPERATORS } from "./panels/filter-row.js";

const COUNT_OPERATORS = [
  ["gte", "at least"],
  ["lte", "at most"],
  ["exact", "exactly"],
];

let counter = 0;

function labelled(text, control) {
  counter += 1;
  control.id = `cohort-row-${counter}`;
  return el("div", { class: "field" }, el("label", { htmlFor: control.id, text }), control);
}

function select(name, options, selected) {
  const node = el("select", { name });
  for (const [value, text] of options) node.append(el("option", { value, text, selected: value === selected }));
  return node;
}

function removable(list, row) {
  const remove = el("button", { type: "button", class: "icon-button", text: "×", "aria-label": "Remove this row" });
  remove.addEventListener("click", () => row.remove());
  row.append(remove);
  list.append(row);
  return row;
}

export function addPersonRow(list) {
  const key = el("input", { name: "person_key", autocomplete: "off", placeholder: "e.g. country" });
  key.setAttribute("list", "person-keys");
  const operator = select("person_operator", OPERATORS, "exact");
  const value = el("input", { name: "person_value", autocomplete: "off", placeholder: "e.g. FR" });
  operator.addEventListener("change", () => {
    value.disabled = NO_VALUE.has(operator.value);
  });
  const row = el(
    "li",
    { class: "series", "data-role": "person-row" },
    labelled("Person property", key),
    labelled("Operator", operator),
    labelled("Value", value),
  );
  return removable(list, row);
}

export function addBehaviourRow(list) {
  const event = el("input", { name: "behaviour_event", autocomplete: "off", placeholder: "e.g. purchase" });
  event.setAttribute("list", "event-names");
  const row = el(
    "li",
    { class: "series", "data-role": "behaviour-row" },
    labelled("Did event", event),
    labelled("How often", select("behaviour_operator", COUNT_OPERATORS, "gte")),
    labelled("Times", el("input", { name: "behaviour_count", type: "number", min: "0", value: "1", class: "input--short" })),
    labelled("In the last … days", el("input", { name: "behaviour_days", type: "number", min: "1", value: "30", class: "input--short" })),
  );
  return removable(list, row);
}

// The POST cohorts body; throws an Error saying what to fill in.
export function cohortBody(form) {
  const name = form.elements.name.value.trim();
  if (!name) throw new Error("Give the cohort a name.");
  const get = (row, field) => row.querySelector(`[name=${field}]`).value.trim();
  const filters = [...form.querySelectorAll("[data-role=person-row]")].map((row, i) => {
    const key = get(row, "person_key");
    if (!key) throw new Error(`Person property row ${i + 1}: pick a property, or remove the row.`);
    const operator = get(row, "person_operator");
    const filter = { type: "person", key, operator };
    if (!NO_VALUE.has(operator)) {
      const value = get(row, "person_value");
      if (!value) throw new Error(`Person property row ${i + 1}: type a value.`);
      filter.value = NUMERIC.has(operator) ? Number(value) : value;
    }
    return filter;
  });
  const behaviour = [...form.querySelectorAll("[data-role=behaviour-row]")].map((row, i) => {
    const event = get(row, "behaviour_event");
    if (!event) throw new Error(`Behaviour row ${i + 1}: pick an event, or remove the row.`);
    return {
      event,
      operator: get(row, "behaviour_operator"),
      count: Number(get(row, "behaviour_count")),
      days: Number(get(row, "behaviour_days")),
      filters: [],
    };
  });
  if (!filters.length && !behaviour.length) {
    throw new Error("Add at least one person property or behaviour row: a cohort needs a rule.");
  }
  return { name, kind: "dynamic", match: form.elements.match.value, filters, behaviour };
}
