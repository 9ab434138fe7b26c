// "Count by" of the trends builder and of the stickiness, lifecycle and paths panels: persons (the
// default) or one of the project's group types (GET groups/types, asked once a page), sent as
// `aggregation_group_type`. Hidden while the project has no groups.

import { el } from "../format.js";

// `select` is the form's `aggregation_group_type` select, holding the persons option, inside its field.
export function mountCountBy(select, ctx) {
  const fieldBox = select.closest(".field");
  fieldBox.hidden = true;
  // Shared by every panel's select: one request a page (ApiClient.groupTypes).
  const loaded = ctx.api
    .groupTypes()
    .then((data) => {
      for (const row of data.results) {
        select.append(el("option", { value: row.group_type, text: row.group_type }));
      }
      fieldBox.hidden = !data.results.length;
    })
    // Without the list the builder still counts persons; nothing to tell.
    .catch(() => {});
  return {
    loaded,
    // The API's `aggregation_group_type`, undefined for persons.
    value() {
      return select.value || undefined;
    },
  };
}
