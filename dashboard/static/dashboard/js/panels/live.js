// The live panel polls /live every few seconds with fetch. Polling stops while the tab is hidden
// (nobody is looking, and a background tab should not load the server) and resumes on return.

import { ensureChart, setSeries } from "../charts.js";
import { clearChildren, el, formatNumber } from "../format.js";
import { Panel } from "../panel.js";

// The per-minute series arrives oldest first; both key spellings are read so a renamed field
// shows up as an empty chart rather than a crash.
function minuteSeries(data) {
  const rows = data.events_per_minute || data.per_minute || [];
  return rows.map((row) => ({
    label: String(row.minute || row.time || row.start || "").slice(11, 16),
    value: row.count ?? row.events ?? row.value ?? 0,
  }));
}

export function mountLive(root, ctx) {
  // Live numbers ignore the date range: polling must not clear that range's error message.
  const panel = new Panel(root, { ...ctx, sharedErrorSlots: [] });
  const chart = panel.track(ensureChart(panel.$("[data-chart=live]"), "bar", {
    scales: { x: { ticks: { maxTicksLimit: 8 } }, y: { beginAtZero: true, ticks: { precision: 0 } } },
  }));
  let timer = null;

  async function poll() {
    const data = await panel.run((signal) => ctx.api.get("live", { filters: ctx.filters.param }, { signal }));
    if (!data) return;
    const series = minuteSeries(data);
    panel.$("[data-role=active-now]").textContent = formatNumber(data.active_users_5m ?? data.active_users);
    // An average over the window: the current minute is still filling and would always read low.
    const total = series.reduce((sum, p) => sum + p.value, 0);
    const average = series.length ? Math.round((10 * total) / series.length) / 10 : null;
    panel.$("[data-role=events-per-minute]").textContent = formatNumber(average);
    setSeries(
      chart,
      series.map((p) => p.label),
      [{ label: "Events", data: series.map((p) => p.value) }],
    );
    const list = panel.$("[data-role=live-top]");
    clearChildren(list);
    const top = data.top_events_1h || data.top_events || [];
    if (!top.length) list.append(el("li", { class: "muted", text: "No events in the last hour." }));
    for (const row of top) {
      list.append(el("li", {}, el("span", { text: row.event }), el("span", { class: "num", text: formatNumber(row.count) })));
    }
    const when = new Date().toLocaleTimeString([], { hour12: false, timeZone: ctx.timezone });
    panel.$("[data-role=updated]").textContent = `Updated ${when} · every ${ctx.livePollSeconds} s`;
  }

  function start() {
    if (timer !== null) return;
    poll();
    timer = window.setInterval(poll, ctx.livePollSeconds * 1000);
  }

  function stop() {
    window.clearInterval(timer);
    timer = null;
  }

  document.addEventListener("filterschange", poll);
  document.addEventListener("visibilitychange", () => (document.hidden ? stop() : start()));
  if (!document.hidden) start();
  return { poll, stop };
}
