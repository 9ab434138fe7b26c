// Boots the project page: reads the server-rendered config, builds the API client, mounts the
// panels and triggers the first load. Panels talk to each other only through DOM events
// ("rangechange", "filterschange", "eventnames", "pickevent"), so each module stays small and independent.

import { mountAnnotationForm, mountAnnotations } from "./annotations.js";
import { ApiClient } from "./api.js";
import { mountBoard } from "./board.js";
import { mountActiveUsers } from "./panels/active-users.js";
import { mountDateRange } from "./panels/date-range.js";
import { mountFilterBar } from "./panels/filter-bar.js";
import { mountFunnel } from "./panels/funnel.js";
import { mountLifecycle } from "./panels/lifecycle.js";
import { mountLive } from "./panels/live.js";
import { mountPaths } from "./panels/paths.js";
import { mountRetention } from "./panels/retention.js";
import { mountStickiness } from "./panels/stickiness.js";
import { mountTopEvents } from "./panels/top-events.js";
import { mountTrends } from "./panels/trends.js";
import { mountUserLookup } from "./panels/user-lookup.js";

const config = JSON.parse(document.getElementById("dashboard-config").textContent);
const rangeForm = document.getElementById("date-range");
const filterForm = document.getElementById("filter-bar");

const ctx = {
  ...config,
  api: new ApiClient(config.apiBase, config.csrfToken),
  // The date range and the filter bar live outside the panels: their error slots are shared, so
  // a refused filter is explained next to the bar whichever panel asked.
  sharedErrorSlots: [...rangeForm.querySelectorAll("[data-error-for]"), ...filterForm.querySelectorAll("[data-error-for]")],
  // How the reporting API expresses rates (funnel conversions, retention_rate).
  rates: { isFraction: false },
};
ctx.range = mountDateRange(rangeForm, ctx);
ctx.filters = mountFilterBar(filterForm, ctx);

const panels = {
  live: mountLive(document.getElementById("live-panel"), ctx),
  activeUsers: mountActiveUsers(document.getElementById("active-users-panel"), ctx),
  topEvents: mountTopEvents(document.getElementById("top-events-panel"), ctx),
  trends: mountTrends(document.getElementById("trends-panel"), ctx),
  funnel: mountFunnel(document.getElementById("funnel-panel"), ctx),
  retention: mountRetention(document.getElementById("retention-panel"), ctx),
  stickiness: mountStickiness(document.getElementById("stickiness-panel"), ctx),
  lifecycle: mountLifecycle(document.getElementById("lifecycle-panel"), ctx),
  paths: mountPaths(document.getElementById("paths-panel"), ctx),
  users: mountUserLookup(document.getElementById("user-panel"), ctx),
};

// The default dashboard at the top; editors save a panel's current question onto it.
const board = mountBoard(document.getElementById("insights-board"), ctx);
board.attachSaveButtons({
  "trends-panel": panels.trends,
  "funnel-panel": panels.funnel,
  "retention-panel": panels.retention,
  "stickiness-panel": panels.stickiness,
  "lifecycle-panel": panels.lifecycle,
  "paths-panel": panels.paths,
  "active-users-panel": panels.activeUsers,
  "top-events-panel": panels.topEvents,
});
board.load();

document.querySelector("[data-role=project-switch]")?.addEventListener("change", (event) => {
  window.location.assign(event.target.value);
});

for (const name of ["activeUsers", "topEvents", "retention", "users"]) panels[name].refresh();

// The notes of the range, as markers on the time-series charts; editors get the form to add one.
const annotations = mountAnnotations(ctx);
for (const name of ["trends", "active-users"]) {
  annotations.attach(window.Chart.getChart(document.querySelector(`canvas[data-chart="${name}"]`)));
}
annotations.load();
const annotationsPanel = document.getElementById("annotations-panel");
if (annotationsPanel) mountAnnotationForm(annotationsPanel, ctx, annotations);

// For the browser test and for poking at the page from the console.
window.eventbaseDashboard = { ctx, panels, annotations, board };
