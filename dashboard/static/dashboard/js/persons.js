// Boots the persons page: a search over ids and property values, the persons (last seen first,
// page by page) and one person's ids, properties, cohorts and timeline. ?person=<id> opens one
// (the cohorts page links its members here). The project's filter bar applies here too (same
// ?filters= as the reports page): the list keeps the persons with a matching event.

import { ApiClient } from "./api.js";
import { clearChildren, el, formatDateTime, formatNumber } from "./format.js";
import { Panel } from "./panel.js";
import { mountFilterBar } from "./panels/filter-bar.js";

const config = JSON.parse(document.getElementById("dashboard-config").textContent);
const filterForm = document.getElementById("filter-bar");
// A filter the API refuses is explained next to the bar, as on the reports page.
const ctx = {
  ...config,
  api: new ApiClient(config.apiBase, config.csrfToken),
  sharedErrorSlots: [...filterForm.querySelectorAll("[data-error-for]")],
};
ctx.filters = mountFilterBar(filterForm, ctx);
const PAGE = 25;
const TIMELINE_PAGE = 50;

const listPanel = new Panel(document.getElementById("persons-panel"), ctx);
const personRoot = document.getElementById("person-panel");
const personPanel = new Panel(personRoot, ctx);
const form = listPanel.$("[data-role=form]");
const rows = listPanel.$("[data-role=rows]");
const morePersons = listPanel.$("[data-action=more-persons]");
const timeline = personPanel.$("[data-role=timeline]");
const moreEvents = personPanel.$("[data-action=more-events]");
let cursor = null;
let shownPerson = null;
let timelineCursor = null;

const when = (iso) => (iso ? formatDateTime(iso, ctx.timezone) : "–");

async function loadPersons({ append = false } = {}) {
  const search = form.elements.search.value.trim();
  const params = { limit: PAGE, search, filters: ctx.filters.param, cursor: append ? cursor : null };
  const data = await listPanel.run((signal) => ctx.api.get("persons", params, { signal }));
  if (!data) return;
  if (!append) clearChildren(rows);
  const persons = data.results || [];
  cursor = data.next ?? null;
  morePersons.hidden = !cursor;
  if (!append && !persons.length) {
    let text = "No persons yet: persons appear once their events are stored (send events with a user id).";
    if (ctx.filters.value.length) text = "Nobody had an event matching the filters in the last 30 days: remove a filter.";
    if (search) text = `Nobody's ids or properties contain “${search}”: try a shorter text, or clear the search.`;
    rows.append(el("tr", {}, el("td", { colSpan: 4, class: "muted", text })));
  }
  for (const person of persons) {
    const open = el("button", { type: "button", class: "link-button", text: person.person_id });
    open.dataset.action = "open-person";
    open.addEventListener("click", () => loadPerson(person.person_id));
    rows.append(
      el(
        "tr",
        {},
        el("th", { scope: "row" }, open),
        el("td", { text: person.distinct_ids.join(", ") }),
        el("td", { text: when(person.last_seen) }),
        el("td", { class: "num", text: formatNumber(person.event_count) }),
      ),
    );
  }
}

function facts(node, pairs) {
  clearChildren(node);
  if (!pairs.length) node.append(el("dd", { class: "muted", text: "None." }));
  for (const [term, value] of pairs) node.append(el("dt", { text: term }), el("dd", { text: value }));
}

function showEvents(events) {
  for (const event of events) {
    const props = event.properties && Object.keys(event.properties).length ? JSON.stringify(event.properties) : "";
    timeline.append(
      el(
        "li",
        { class: "timeline__item" },
        el("time", { dateTime: event.timestamp, text: formatDateTime(event.timestamp, ctx.timezone) }),
        el("strong", { text: event.event }),
        el("span", { class: "muted", text: `as ${event.user_id}` }),
        props ? el("code", { class: "timeline__props", text: props }) : null,
      ),
    );
  }
}

async function loadPerson(personId, { append = false } = {}) {
  personRoot.hidden = false;
  const params = { limit: TIMELINE_PAGE, timeline_cursor: append ? timelineCursor : null };
  const path = `persons/${encodeURIComponent(personId)}`;
  const data = await personPanel.run((signal) => ctx.api.get(path, params, { signal }));
  if (!data) return;
  timelineCursor = data.timeline?.next ?? null;
  moreEvents.hidden = !timelineCursor;
  if (!append) {
    shownPerson = data.person_id;
    personPanel.$("[data-role=person-title]").textContent = `Person ${data.person_id}`;
    const cohorts = (data.cohorts || []).map((c) => c.name).join(", ") || "none";
    facts(personPanel.$("[data-role=facts]"), [
      ["Ids", data.distinct_ids.join(", ")],
      ["First seen", when(data.first_seen)],
      ["Last seen", when(data.last_seen)],
      ["Events", formatNumber(data.event_count)],
      ["Cohorts", cohorts],
    ]);
    const props = Object.entries(data.properties || {}).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]);
    facts(personPanel.$("[data-role=properties]"), props);
    clearChildren(timeline);
    if (!(data.timeline?.results || []).length) timeline.append(el("li", { class: "muted", text: "No stored events." }));
    const url = new URL(window.location.href);
    url.searchParams.set("person", data.person_id);
    window.history.replaceState(null, "", url);
  }
  showEvents(data.timeline?.results || []);
  personRoot.scrollIntoView({ block: "nearest" });
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  loadPersons();
});
morePersons.addEventListener("click", () => loadPersons({ append: true }));
document.addEventListener("filterschange", () => loadPersons());
moreEvents.addEventListener("click", () => loadPerson(shownPerson, { append: true }));
document.querySelector("[data-role=project-switch]")?.addEventListener("change", (event) => {
  window.location.assign(event.target.value);
});

loadPersons();
const wanted = new URLSearchParams(window.location.search).get("person");
if (wanted) loadPerson(wanted);
