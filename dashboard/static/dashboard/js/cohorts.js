// Boots the cohorts page: the project's cohorts (size, when computed), the form that creates one
// or changes one (PATCH), the upload of a static cohort from a CSV file, and the members of the
// cohort picked in the list, page by page. Viewers get the list and the members only: the page
// renders the forms for editors and admins alone, and their Edit and Delete are not offered.

import { ApiClient } from "./api.js";
import { CohortFormError, addBehaviourRow, addPersonRow, cohortBody, fillCohortForm } from "./cohort-form.js";
import { mountCohortUpload } from "./cohort-upload.js";
import { clearChildren, el, formatDateTime, formatNumber } from "./format.js";
import { Panel } from "./panel.js";
import { suggest } from "./panels/filter-row.js";
import { mayEdit } from "./roles.js";

const config = JSON.parse(document.getElementById("dashboard-config").textContent);
const ctx = { ...config, api: new ApiClient(config.apiBase, config.csrfToken), sharedErrorSlots: [] };
const MEMBERS_PAGE = 50;
const POLL_MS = 3000; // while a cohort is being computed (the job runs every 10 s)
const POLL_TRIES = 40;

const listPanel = new Panel(document.getElementById("cohort-list-panel"), ctx);
const createRoot = document.getElementById("cohort-create-panel"); // not rendered for viewers
const createPanel = createRoot && new Panel(createRoot, ctx);
const editor = mayEdit(ctx) && Boolean(createRoot);
const membersRoot = document.getElementById("cohort-members-panel");
const membersPanel = new Panel(membersRoot, ctx);
const rows = listPanel.$("[data-role=rows]");
const form = createPanel?.$("[data-role=form]");
const members = membersPanel.$("[data-role=members]");
const moreMembers = membersPanel.$("[data-action=more-members]");
let membersOf = null;
let membersCursor = null;
let pollTimer = null;
let pollTries = 0;
let editing = null; // the cohort the form changes; null while it creates one
let editingRule = false; // whether the form shows (and so sends) the cohort's definition

function computed(cohort) {
  return cohort.computed_at ? formatDateTime(cohort.computed_at, ctx.timezone) : "Computing…";
}

// A new or changed cohort has no size until the job has run: the list asks again until it has
// one, for a couple of minutes at most (then Reload does it).
function pollWhileComputing(cohorts) {
  window.clearTimeout(pollTimer);
  if (!cohorts.some((cohort) => !cohort.computed_at)) {
    pollTries = 0;
    return;
  }
  pollTries += 1;
  if (pollTries <= POLL_TRIES) pollTimer = window.setTimeout(loadCohorts, POLL_MS);
}

function editButton(cohort) {
  const edit = el("button", { type: "button", class: "link-button", text: "Edit" });
  edit.dataset.action = "edit-cohort";
  edit.addEventListener("click", () => startEditing(cohort));
  return edit;
}

function deleteButton(cohort) {
  const remove = el("button", { type: "button", class: "link-button", text: "Delete" });
  remove.dataset.action = "delete-cohort";
  remove.addEventListener("click", () => deleteCohort(cohort));
  return remove;
}

async function loadCohorts() {
  const data = await listPanel.run((signal) => ctx.api.get("cohorts", {}, { signal }));
  if (!data) return [];
  const cohorts = data.results || [];
  clearChildren(rows);
  if (!cohorts.length) {
    const text = editor
      ? "No cohorts yet: create one below, from person properties or what people did."
      : "No cohorts yet: an editor of the project can create them.";
    rows.append(el("tr", {}, el("td", { colSpan: 5, class: "muted", text })));
  }
  for (const cohort of cohorts) {
    const show = el("button", { type: "button", class: "link-button", text: "Members" });
    show.dataset.action = "show-members";
    show.addEventListener("click", () => loadMembers(cohort));
    const filtered = new URL(config.projectUrl, window.location.origin);
    filtered.searchParams.set("filters", JSON.stringify([{ type: "cohort", value: cohort.id }]));
    const report = el("a", { href: filtered.toString(), text: "Reports for this cohort" });
    const actions = editor ? [show, " · ", editButton(cohort), " · ", report, " · ", deleteButton(cohort)] : [show, " · ", report];
    const row = el(
      "tr",
      { "data-cohort-id": String(cohort.id) },
      el("th", { scope: "row", text: cohort.name }),
      el("td", { text: cohort.kind }),
      el("td", { class: "num", "data-role": "count", text: cohort.count === null ? "–" : formatNumber(cohort.count) }),
      el("td", { "data-role": "computed", text: computed(cohort) }),
      el("td", {}, ...actions),
    );
    rows.append(row);
  }
  pollWhileComputing(cohorts);
  return cohorts;
}

// Reports and other cohorts that filter on a deleted cohort are refused with "unknown cohort",
// so the question is asked first.
async function deleteCohort(cohort) {
  if (!window.confirm(`Delete the cohort “${cohort.name}”? Saved links filtered by it will stop working.`)) return;
  const done = await listPanel.run((signal) => ctx.api.delete(`cohorts/${cohort.id}`, { signal }));
  if (done === null) return;
  if (membersOf?.id === cohort.id) membersRoot.hidden = true;
  if (editing?.id === cohort.id) stopEditing(); // saving would only meet a 404
  loadCohorts();
}

async function loadMembers(cohort, { append = false } = {}) {
  membersRoot.hidden = false;
  if (!append) {
    membersOf = cohort;
    membersCursor = null;
    membersPanel.$("[data-role=members-title]").textContent = `Members of ${cohort.name}`;
  }
  const params = { limit: MEMBERS_PAGE, cursor: append ? membersCursor : null };
  const data = await membersPanel.run((signal) => ctx.api.get(`cohorts/${cohort.id}/persons`, params, { signal }));
  if (!data) return;
  if (!append) clearChildren(members);
  const found = data.results || [];
  membersCursor = data.next ?? null;
  moreMembers.hidden = !membersCursor;
  if (!append && !found.length) {
    const text = cohort.computed_at
      ? "Nobody matches this cohort's rules yet."
      : "Not computed yet: the job computes new cohorts within seconds; reload the list.";
    members.append(el("li", { class: "muted", text }));
  }
  for (const member of found) {
    const link = new URL(config.personsUrl, window.location.origin);
    link.searchParams.set("person", member.person_id);
    members.append(el("li", {}, el("a", { class: "chip", href: link.toString(), text: member.person_id })));
  }
  membersRoot.scrollIntoView({ block: "nearest" });
}

function resetForm() {
  form.reset();
  for (const row of form.querySelectorAll("[data-role=person-row], [data-role=behaviour-row]")) row.remove();
}

// The form becomes the editor of one cohort: its name always, its rules when it is dynamic and
// its definition fits the rows (see fillCohortForm). A static cohort's ids change by upload.
function startEditing(cohort) {
  resetForm();
  createPanel.clearErrors();
  editing = cohort;
  editingRule = fillCohortForm(form, ctx, cohort);
  for (const node of form.querySelectorAll("[data-role=definition], [data-role=match-field]")) node.hidden = !editingRule;
  createPanel.$("[data-role=form-title]").textContent = `Edit “${cohort.name}”`;
  createPanel.$("[data-role=created]").textContent = editingRule
    ? ""
    : "Only the name can be changed here: this cohort's rule is set by its ids or through the API.";
  form.querySelector("[data-action=create-cohort]").textContent = "Save changes";
  form.querySelector("[data-action=cancel-edit]").hidden = false;
  createRoot.scrollIntoView({ block: "nearest" });
  form.elements.name.focus();
}

function stopEditing() {
  editing = null;
  editingRule = false;
  resetForm();
  for (const node of form.querySelectorAll("[data-role=definition], [data-role=match-field]")) node.hidden = false;
  createPanel.$("[data-role=form-title]").textContent = "New cohort";
  form.querySelector("[data-action=create-cohort]").textContent = "Create cohort";
  form.querySelector("[data-action=cancel-edit]").hidden = true;
  addBehaviourRow(form.querySelector("[data-role=behaviour-rows]"));
}

// The body of the request: all of it to create, the name (and the rules shown) to change.
function requestBody() {
  if (editing && !editingRule) {
    const name = form.elements.name.value.trim();
    if (!name) throw new CohortFormError("name", "Give the cohort a name.");
    return { name };
  }
  return cohortBody(form);
}

// The forms, rendered for editors and admins only.
if (form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const created = createPanel.$("[data-role=created]");
    created.textContent = "";
    let body;
    try {
      body = requestBody();
    } catch (error) {
      // Shown where the API's 400 for the same field would be, before anything is sent.
      createPanel.clearErrors();
      const slot = form.querySelector(`[data-error-for~="${error.param}"]`);
      (slot || createPanel.$(":scope > [data-role=error]")).textContent = error.message;
      return;
    }
    const changing = editing;
    const cohort = await createPanel.run((signal) =>
      changing ? ctx.api.patch(`cohorts/${changing.id}`, body, { signal }) : ctx.api.post("cohorts", body, { signal }),
    );
    if (!cohort) return;
    // A changed rule is computed again (computed_at is null until then); a new name alone is not.
    created.textContent = changing
      ? `Saved “${cohort.name}”.${cohort.computed_at ? "" : " Its members are being computed again; the list shows the new size once done."}`
      : `Created “${cohort.name}”. Its members are being computed; its size shows in the list once done.`;
    pollTries = 0;
    if (changing) {
      stopEditing();
      if (membersOf?.id === cohort.id) loadMembers(cohort);
    } else {
      resetForm();
      addBehaviourRow(form.querySelector("[data-role=behaviour-rows]"));
    }
    loadCohorts();
  });

  form.querySelector("[data-action=cancel-edit]").addEventListener("click", () => {
    createPanel.clearErrors();
    createPanel.$("[data-role=created]").textContent = "";
    stopEditing();
  });
  mountCohortUpload(new Panel(document.getElementById("cohort-upload-panel"), ctx), ctx, {
    onCreated() {
      pollTries = 0;
      loadCohorts();
    },
  });
  form.querySelector("[data-action=add-person-row]").addEventListener("click", () => {
    addPersonRow(form.querySelector("[data-role=person-rows]"), ctx).querySelector("input").focus();
  });
  form.querySelector("[data-action=add-behaviour-row]").addEventListener("click", () => {
    addBehaviourRow(form.querySelector("[data-role=behaviour-rows]")).querySelector("input").focus();
  });
  addBehaviourRow(form.querySelector("[data-role=behaviour-rows]"));
}
listPanel.$("[data-action=reload-cohorts]").addEventListener("click", () => {
  pollTries = 0;
  loadCohorts();
});
moreMembers.addEventListener("click", () => loadMembers(membersOf, { append: true }));
document.querySelector("[data-role=project-switch]")?.addEventListener("change", (event) => {
  window.location.assign(event.target.value);
});

suggest(ctx, document.getElementById("event-names"), "definitions/events", {}, (row) => row.name);
loadCohorts();

// For the browser test and for poking at the page from the console.
window.eventbaseCohorts = { ctx, loadCohorts };
