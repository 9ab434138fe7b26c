// User lookup: pick a user from the list (the API pages users in first-seen order, "More" loads
// the next page) or type an id, and see their daily activity and latest events as a timeline.

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
  const more = panel.$("[data-action=more-users]");
  let chart = null;
  let cursor = null;

  async function loadUsers({ append = false } = {}) {
    const params = { limit: 12, cursor: append ? cursor : null, filters: ctx.filters.param };
    const data = await listPanel.run((signal) => ctx.api.get("users", params, { signal }));
    if (!data) return;
    if (!append) {
      clearChildren(recent);
      clearChildren(datalist);
    }
    const users = data.results || [];
    cursor = data.next ?? null;
    more.hidden = !cursor;
    if (!users.length && !append) recent.append(el("li", { class: "muted", text: "No users yet." }));
    for (const user of users) {
      const id = String(user.user_id ?? user.id);
      const button = el("button", { type: "button", class: "chip", text: id });
      if (user.last_seen) button.title = `Last seen ${formatDateTime(user.last_seen, ctx.timezone)}`;
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
      ctx.api.get(`users/${encodeURIComponent(userId)}`, {}, { signal }).catch((error) => {
        if (error.status === 404) error.param = "user_id"; // an unknown id: say so at the input
        throw error;
      }),
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
    if (data.event_count !== undefined) {
      panel.$("[data-role=user-heading]").textContent += ` · ${formatNumber(data.event_count)} events`;
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    lookup();
  });
  more.addEventListener("click", () => loadUsers({ append: true }));
  document.addEventListener("filterschange", () => loadUsers());
  return { refresh: () => loadUsers(), lookup };
}
