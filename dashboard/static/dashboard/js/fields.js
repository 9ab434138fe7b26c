// The small builders of form controls the panels and forms share: a labelled field and a select
// of [value, text] options.

import { el } from "./format.js";

let counter = 0;

// A `.field` box: the label, tied to `control` (given an id when it has none), then the control.
export function field(labelText, control, extra = {}) {
  counter += 1;
  control.id ||= `field-${counter}`;
  return el("div", { class: "field", ...extra }, el("label", { htmlFor: control.id, text: labelText }), control);
}

export function select(name, options, selected) {
  const node = el("select", { name });
  for (const [value, text] of options) node.append(el("option", { value, text, selected: value === selected }));
  return node;
}
