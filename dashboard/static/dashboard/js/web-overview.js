// The Web page's overview panel: one GET web request per range or filter change, whose answer
// fills the numbers row (with the change from the previous period), the visitors/pageviews chart,
// and is handed to the list cards and the goals card by the caller (web.js).

import { ensureChart, setSeries } from "./charts.js";
import { clearChildren, el } from "./format.js";
import { Panel } from "./panel.js";
import { METRICS, metricChange } from "./web-format.js";

const LIST_LIMIT = 20;

function daysBetween(from, to) {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86400000) + 1;
}

export function mountWebOverview(root, ctx) {
  const panel = new Panel(root, ctx);
  const chart = panel.track(
    ensureChart(panel.$("[data-chart=web-visitors]"), "line", {
      scales: { x: { ticks: { maxTicksLimit: 10 } }, y: { beginAtZero: true, ticks: { precision: 0 } } },
    }),
  );
  const empty = panel.$("[data-role=empty]");
  const compareLabel = panel.$("[data-role=compare-label]");
  let latest = 0;

  function showNumbers(data) {
    for (const item of root.querySelectorAll("[data-metric]")) {
      const metric = item.dataset.metric;
      const spec = METRICS[metric];
      item.querySelector("[data-role=value]").textContent = data ? spec.format(data[metric]) : "–";
      const change = data ? metricChange(metric, data[metric], data.compare?.[metric]) : null;
      const node = item.querySelector("[data-role=change]");
      node.textContent = change ? change.text : "";
      node.dataset.direction = change ? change.direction : "";
      node.dataset.good = change && change.good !== null ? String(change.good) : "";
      node.title = change && data.compare ? `Previous period: ${spec.format(data.compare[metric])}` : "";
    }
  }

  // Says what to do next: with no filter, nothing was tracked (add the snippet); with filters,
  // nothing matched (loosen them).
  function showEmpty(data) {
    clearChildren(empty);
    const nothing = data && !data.visitors && !data.pageviews;
    empty.hidden = !nothing;
    if (!nothing) return;
    if (ctx.filters.value.length) {
      empty.append(
        el("p", { text: "No visitors match these filters in this range: remove a filter above, or pick a longer range." }),
      );
      return;
    }
    const snippet = `<script src="${ctx.trackerUrl}" data-key="<ingest key>"></script>`;
    empty.append(
      el("p", {}, el("strong", { text: "No pageviews in this range." }), " To count visits, add this to every page of your site:"),
      el("pre", {}, el("code", { "data-role": "snippet", text: snippet })),
      el("p", {
        class: "muted",
        text: "The ingest key is the project's key of scope “ingest” (Admin → API keys). Page views then appear here within seconds; or pick a longer range.",
      }),
    );
  }

  // Answers the data, null when the request failed (the panel says why), or undefined when a
  // newer load superseded this one (its answer must not overwrite the newer).
  async function load() {
    const request = ++latest;
    const { from, to } = ctx.range.value;
    const params = { from, to, filters: ctx.filters.param, compare: "true", limit: LIST_LIMIT };
    const data = await panel.run((signal) => ctx.api.get("web", params, { signal }));
    if (request !== latest) return undefined;
    showNumbers(data);
    showEmpty(data);
    compareLabel.textContent = data?.compare ? `vs. the previous ${daysBetween(from, to)} days` : "";
    const series = data?.series || [];
    setSeries(
      chart,
      series.map((point) => point.date),
      [
        { label: "Visitors", data: series.map((point) => point.visitors) },
        { label: "Pageviews", data: series.map((point) => point.pageviews) },
      ],
    );
    return data;
  }

  return { load, panel };
}
