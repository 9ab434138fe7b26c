// Boots the Web page (Plausible's single page): the date range and the filter bar shared with the
// reports page, the overview (numbers row with the previous period, visitors chart), the list
// cards, live visitors and goals. One GET web answers everything but live; a row clicked in a
// card becomes a filter chip, and the filter change reloads the lot.

import { mountAnnotations } from "./annotations.js";
import { ApiClient } from "./api.js";
import { mountDateRange } from "./panels/date-range.js";
import { mountFilterBar } from "./panels/filter-bar.js";
import { mountWebGoals } from "./web-goals.js";
import { CARDS, mountWebCard } from "./web-lists.js";
import { mountWebLive } from "./web-live.js";
import { mountWebOverview } from "./web-overview.js";

const config = JSON.parse(document.getElementById("dashboard-config").textContent);
const rangeForm = document.getElementById("date-range");
const filterForm = document.getElementById("filter-bar");

const ctx = {
  ...config,
  api: new ApiClient(config.apiBase, config.csrfToken),
  // A refused range or filter is explained next to its control, whichever panel asked.
  sharedErrorSlots: [...rangeForm.querySelectorAll("[data-error-for]"), ...filterForm.querySelectorAll("[data-error-for]")],
};
ctx.range = mountDateRange(rangeForm, ctx);
ctx.filters = mountFilterBar(filterForm, ctx);

const overview = mountWebOverview(document.getElementById("web-overview-panel"), ctx);
const cards = Object.entries(CARDS).map(([name, tabs]) =>
  mountWebCard(document.querySelector(`[data-card=${name}]`), ctx, tabs),
);
const goals = mountWebGoals(document.getElementById("web-goals-card"), ctx, { changed: () => load() });
const live = mountWebLive(document.getElementById("web-live-panel"), ctx);

async function load() {
  for (const card of [...cards, goals]) card.setBusy(true);
  const data = await overview.load();
  if (data === undefined) return; // a newer load is under way
  for (const card of cards) card.show(data);
  goals.show(data);
  goals.setBusy(false);
}

document.addEventListener("rangechange", load);
// (The filter bar itself carries its filters to the other tabs' links.)
document.addEventListener("filterschange", load);
// Another project opens on its own Web page (the switcher's options are the projects' pages).
document.querySelector("[data-role=project-switch]")?.addEventListener("change", (event) => {
  window.location.assign(new URL("web/", new URL(event.target.value, window.location.href)));
});

load();

// The project's notes of the range, as markers on the visitors chart (added on the reports page).
const annotations = mountAnnotations(ctx);
annotations.attach(window.Chart.getChart(document.querySelector('canvas[data-chart="web-visitors"]')));
annotations.load();

// For the browser test and for poking at the page from the console.
window.eventbaseWeb = { ctx, overview, cards, goals, live, load, annotations };
