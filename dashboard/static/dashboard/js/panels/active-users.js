import { ensureChart, setSeries } from "../charts.js";
import { Panel } from "../panel.js";

// The line of a GET active-users answer (the panel's and a dashboard tile's).
export function drawActiveUsers(chart, data) {
  const rows = data.results || [];
  setSeries(
    chart,
    rows.map((row) => row.date),
    [{ label: "Active users", data: rows.map((row) => row.users) }],
  );
}

export function mountActiveUsers(root, ctx) {
  const panel = new Panel(root, ctx);
  const interval = panel.$("[name=interval]");
  const chart = panel.track(ensureChart(panel.$("[data-chart=active-users]"), "line"));

  async function refresh() {
    const data = await panel.run((signal) =>
      ctx.api.get("active-users", { ...ctx.range.value, interval: interval.value, filters: ctx.filters.param }, { signal }),
    );
    if (data) drawActiveUsers(chart, data);
  }

  interval.addEventListener("change", refresh);
  document.addEventListener("rangechange", refresh);
  document.addEventListener("filterschange", refresh);
  return {
    refresh,
    insight() {
      const query = { interval: interval.value, filters: ctx.filters.value };
      return { kind: "active-users", name: `Active users (${interval.selectedOptions[0].text.toLowerCase()})`, query };
    },
  };
}
