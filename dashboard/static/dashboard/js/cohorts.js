// Boots the cohorts page: the project's cohorts (size, when computed), the form that creates one,
// and the members of the cohort picked in the list, page by page.

import { ApiClient } from "./api.js";
import { addBehaviourRow, addPersonRow, cohortBody } from "./cohort-form.js";
import { clearChildren, el, formatDateTime, formatNumber } from "./format.js";
import { Panel } from "./panel.js";
import { suggest } from "./panels/filter-row.js";

const config = JSON.parse(document.getElementById("dashboard-config").textContent);
const ctx = { ...config, api: new ApiClient(config.apiBase, config.csrfToken), sharedErrorSlots: [] };
const MEMBERS_PAGE = 50;
const POLL_MS = 3000; // while a cohort is being computed (the job runs every 10 s)
const POLL_TRIES = 40;

const listPanel = new Panel(document.getElementById("cohort-list-panel"), ctx);
const createPanel = new Panel(document.getElementById("cohort-create-panel"), ctx);
const membersRoot = document.getElementById("cohort-members-panel");
const membersPanel = new Panel(membersRoot, ctx);
const rows = listPanel.$("[data-role=rows]");
const form = createPanel.$("[data-role=form]");
const members = membersPanel.$("[data-role=members]");
const moreMembers = membersPanel.$("[data-action=more-members]");
let membersOf = null;
let membersCursor = null;
let pollTimer = null;
let pollTries = 0;

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

async function loadCohorts() {
  const data = await listPanel.run((signal) => ctx.api.get("cohorts", {}, { signal }));
  if (!data) return [];
  const cohorts = data.results || [];
  clearChildren(rows);
  if (!cohorts.length) {
    const text = "No cohorts yet: create one below, from person properties or what people did.";
    rows.append(el("tr", {}, el("td", { colSpan: 5, class: "muted", text })));
  }
  for (const cohort of cohorts) {
    const show = el("button", { type: "button", class: "link-button", text: "Members" });
    show.dataset.action = "show-members";
    show.addEventListener("click", () => loadMembers(cohort));
    const remove = el("button", { type: "button", class: "link-button", text: "Delete" });
    remove.dataset.action = "delete-cohort";
    remove.addEventListener("click", () => deleteCohort(cohort));
    const filtered = new URL(config.projectUrl, window.location.origin);
    filtered.searchParams.set("filters", JSON.stringify([{ type: "cohort", value: cohort.id }]));
    const row = el(
      "tr",
      { "data-cohort-id": String(cohort.id) },
      el("th", { scope: "row", text: cohort.name }),
      el("td", { text: cohort.kind }),
      el("td", { class: "num", "data-role": "count", text: cohort.count === null ? "–" : formatNumber(cohort.count) }),
      el("td", { text: computed(cohort) }),
      el("td", {}, show, " · ", el("a", { href: filtered.toString(), text: "Reports for this cohort" }), " · ", remove),
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

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const created = createPanel.$("[data-role=created]");
  created.textContent = "";
  let body;
  try {
    body = cohortBody(form);
  } catch (error) {
    createPanel.clearErrors();
    createPanel.$(":scope > [data-role=error]").textContent = error.message;
    return;
  }
  const cohort = await createPanel.run((signal) => ctx.api.post("cohorts", body, { signal }));
  if (!cohort) return;
  created.textContent = `Created “${cohort.name}”. Its members are being computed; its size shows in the list once done.`;
  pollTries = 0;
  form.reset();
  for (const row of form.querySelectorAll("[data-role=person-row], [data-role=behaviour-row]")) row.remove();
  addBehaviourRow(form.querySelector("[data-role=behaviour-rows]"));
  loadCohorts();
});

form.querySelector("[data-action=add-person-row]").addEventListener("click", () => {
  addPersonRow(form.querySelector("[data-role=person-rows]")).querySelector("input").focus();
});
form.querySelector("[data-action=add-behaviour-row]").addEventListener("click", () => {
  addBehaviourRow(form.querySelector("[data-role=behaviour-rows]")).querySelector("input").focus();
});
listPanel.$("[data-action=reload-cohorts]").addEventListener("click", () => {
  pollTries = 0;
  loadCohorts();
});
moreMembers.addEventListener("click", () => loadMembers(membersOf, { append: true }));
document.querySelector("[data-role=project-switch]")?.addEventListener("change", (event) => {
  window.location.assign(event.target.value);
});

addBehaviourRow(form.querySelector("[data-role=behaviour-rows]"));
suggest(ctx, document.getElementById("event-names"), "definitions/events", {}, (row) => row.name);
suggest(ctx, document.getElementById("person-keys"), "definitions/properties", { type: "person" }, (row) => row.key);
loadCohorts();

// For the browser test and for poking at the page from the console.
window.eventbaseCohorts = { ctx, loadCohorts };
