// User lookup: pick a recently seen user (or type an id) and see their daily activity and their
// latest events as a timeline.

import { ensureChart, setSeries } from "../charts.js";
import { clearChildren, el, formatDateTime, formatNumber } from "../format.js";
import { Panel } from "../panel.js";

export function mountUserLookup(root, ctx) {
  const panel = new Panel(root, ctx);
  const form = panel.$("[data-role=form]");
  const recent = panel.$("[data-role=recent]");
  const detail = panel.$("[data-role=detail]");
  const datalist = document.getElementById("recent-users");
  // Its own request and abort; the list ignores the date range, so it leaves that error slot alone.
  const listPanel = new Panel(panel.$(".user-recent"), { ...ctx, sharedErrorSlots: [] });
  let chart = null;

  async function loadRecent() {
    const data = await listPanel.run((signal) => ctx.api.get("users", { limit: 12 }, { signal }));
    if (!data) return;
    clearChildren(recent);
    clearChildren(datalist);
    const users = data.results || [];
    if (!users.length) recent.append(el("li", { class: "muted", text: "No users yet." }));
    for (const user of users) {
      const id = String(user.user_id ?? user.id);
      const button = el("button", { type: "button", class: "chip", text: id });
      button.addEventListener("click", () => {
        form.elements.user_id.value = id;
        lookup();
      });
      recent.append(el("li", {}, button));
      datalist.append(el("option", { value: id }));
    }
  }

  async function lookup() {
    const userId = form.elements.user_id.value.trim();
    if (!userId) return;
    const data = await panel.run((signal) =>
      ctx.api.get(`users/${encodeURIComponent(userId)}`, ctx.range.value, { signal }),
    );
    if (!data) return;
    detail.hidden = false;
    panel.$("[data-role=user-heading]").textContent = `User ${data.user_id ?? userId}`;
    const daily = data.daily || data.daily_event_counts || data.daily_counts || [];
    chart ??= panel.track(ensureChart(panel.$("[data-chart=user-daily]"), "bar"));
    setSeries(
      chart,
      daily.map((d) => d.date),
      [{ label: "Events", data: daily.map((d) => d.count ?? d.events ?? d.value ?? 0) }],
    );
    const timeline = panel.$("[data-role=timeline]");
    clearChildren(timeline);
    const events = data.recent_events || data.events || [];
    if (!events.length) timeline.append(el("li", { class: "muted", text: "No recent events." }));
    for (const event of events) {
      const raw = event.properties;
      const props = typeof raw === "string" ? raw : raw && Object.keys(raw).length ? JSON.stringify(raw) : "";
      timeline.append(
        el(
          "li",
          { class: "timeline__item" },
          el("time", { dateTime: event.timestamp, text: formatDateTime(event.timestamp, ctx.timezone) }),
          el("strong", { text: event.event ?? event.event_name }),
          props ? el("code", { class: "timeline__props", text: props }) : null,
        ),
      );
    }
    if (data.total_events !== undefined) {
      panel.$("[data-role=user-heading]").textContent += ` · ${formatNumber(data.total_events)} events`;
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    lookup();
  });
  document.addEventListener("rangechange", () => {
    if (!detail.hidden) lookup();
  });
  return { refresh: loadRecent, lookup };
}
