// The breakdown picker of the trends and funnel builders: none, an event or person property
// (suggested from the taxonomy), one of the built-in columns, or a set of cohorts. Both builders
// send the same `breakdown` object, so both pick it with the same controls.

import { field, select } from "../fields.js";
import { clearChildren, el } from "../format.js";
import { COLUMNS, cohortList, sharedKeyList } from "./filter-row.js";

// `form` holds a `breakdown_type` select, a `breakdown_key` input in a [data-role=breakdown-key-field]
// (suggested from the page's shared key list of the type) and an empty [data-role=breakdown-cohorts] box.
export function mountBreakdownPicker(form, ctx) {
  const type = form.elements.breakdown_type;
  const key = form.elements.breakdown_key;
  const keyField = form.querySelector("[data-role=breakdown-key-field]");
  const cohortBox = form.querySelector("[data-role=breakdown-cohorts]");
  const column = select("breakdown_column", COLUMNS);
  const columnField = field("Column", column);
  keyField.after(columnField);

  async function loadCohorts() {
    clearChildren(cohortBox);
    try {
      const rows = await cohortList(ctx);
      if (!rows.length) cohortBox.append(el("p", { class: "muted", text: "No cohorts yet: create one on the Cohorts page." }));
      for (const row of rows) {
        const box = el("input", { type: "checkbox", name: "breakdown_cohort", value: String(row.id) });
        cohortBox.append(el("label", { class: "check" }, box, ` ${row.name}`));
      }
    } catch (error) {
      cohortBox.append(el("p", { class: "panel-error", text: `Cohorts could not be loaded: ${error.message}` }));
    }
  }

  function sync() {
    const kind = type.value;
    keyField.hidden = kind !== "event" && kind !== "person";
    columnField.hidden = kind !== "column";
    cohortBox.hidden = kind !== "cohort";
    if (!keyField.hidden) key.setAttribute("list", sharedKeyList(ctx, kind).id);
    if (kind === "cohort" && !cohortBox.children.length) loadCohorts();
  }

  type.addEventListener("change", sync);
  sync();
  return {
    // The API's `breakdown`, undefined for none; throws an Error saying what to pick.
    value() {
      const kind = type.value;
      if (!kind) return undefined;
      if (kind === "column") return { type: "column", key: column.value };
      if (kind === "cohort") {
        const values = [...cohortBox.querySelectorAll("input:checked")].map((box) => Number(box.value));
        if (!values.length) throw new Error("Tick at least one cohort to break down by.");
        return { type: "cohort", values };
      }
      const k = key.value.trim();
      if (!k) throw new Error("Type or pick the property to break down by.");
      return { type: kind, key: k };
    },
  };
}
