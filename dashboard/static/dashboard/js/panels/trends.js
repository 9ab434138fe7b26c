// Trends: one event over time, as totals or unique users, optionally broken down by a property
// (one line per property value).

import { ensureChart, setSeries } from "../charts.js";
import { Panel } from "../panel.js";

export function mountTrends(root, ctx) {
  const panel = new Panel(root, ctx);
  const form = panel.$("[data-role=form]");
  const chart = panel.track(ensureChart(panel.$("[data-chart=trends]"), "line"));

  async function refresh() {
    const event = form.elements.event.value.trim();
    if (!event) return;
    const params = {
      ...ctx.range.value,
      event,
      interval: form.elements.interval.value,
      math: form.elements.math.value,
      breakdown: form.elements.breakdown.value.trim(),
      filters: ctx.filters.param,
    };
    const data = await panel.run((signal) => ctx.api.get("trends", params, { signal }));
    if (!data) return;
    const series = data.series || [];
    // Series share the interval grid, but a breakdown value may lack buckets: align on dates.
    const labels = [...new Set(series.flatMap((s) => s.data.map((p) => p.date)))].sort();
    setSeries(
      chart,
      labels,
      series.map((s) => {
        const byDate = new Map(s.data.map((p) => [p.date, p.value]));
        return { label: s.label || event, data: labels.map((d) => byDate.get(d) ?? 0) };
      }),
    );
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    refresh();
  });
  for (const name of ["interval", "math"]) form.elements[name].addEventListener("change", refresh);
  document.addEventListener("rangechange", refresh);
  document.addEventListener("filterschange", refresh);
  document.addEventListener("pickevent", (e) => {
    form.elements.event.value = e.detail.event;
    refresh();
    root.scrollIntoView({ behavior: "smooth", block: "start" });
  });
  // Until someone picks an event, show the most frequent one rather than an empty chart.
  document.addEventListener("eventnames", (e) => {
    if (!form.elements.event.value && e.detail.names.length) {
      form.elements.event.value = e.detail.names[0];
      refresh();
    }
  });
  return { refresh };
}
