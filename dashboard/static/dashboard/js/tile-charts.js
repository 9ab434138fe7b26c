// Draws a saved insight's answer (the `result` of GET insights/<id>/results: the report endpoint's
// own body) by its kind, with the panels' drawing functions, so a tile and the panel it was saved
// from look and count alike. Every kind also gets its numbers as a table (open or behind
// "Values"), which is what a reader without the chart, and the browser test, reads.

import { ensureChart, setSeries } from "./charts.js";
import { clearChildren, el, formatDuration, formatNumber, formatPercent } from "./format.js";
import { drawActiveUsers } from "./panels/active-users.js";
import { drawFunnelSteps, funnelChartOptions } from "./panels/funnel.js";
import { LIFECYCLE_OPTIONS, drawLifecycle } from "./panels/lifecycle.js";
import { drawPaths } from "./panels/paths.js";
import { drawRetention } from "./panels/retention.js";
import { drawStickiness } from "./panels/stickiness.js";
import { drawTrendChart, drawTrendTable, trendLines } from "./panels/trends-view.js";

function canvasBox(box, label) {
  const canvas = el("canvas", { role: "img", "aria-label": label });
  box.append(el("div", { class: "chart-box tile__chart" }, canvas));
  return canvas;
}

// A table of rows: `columns` are [heading, row → text, numeric?].
function table(columns, rows, caption) {
  const head = el("tr", {}, ...columns.map(([title, , num]) => el("th", { scope: "col", class: num ? "num" : "", text: title })));
  const body = el("tbody");
  for (const row of rows) {
    body.append(
      el(
        "tr",
        {},
        ...columns.map(([, cell, num], i) =>
          el(i === 0 ? "th" : "td", { class: num ? "num" : "", text: cell(row), ...(i === 0 ? { scope: "row" } : {}) }),
        ),
      ),
    );
  }
  if (!rows.length) body.append(el("tr", {}, el("td", { colSpan: columns.length, class: "muted", text: "No data in this range." })));
  return el("table", { class: "table" }, el("caption", { class: "visually-hidden", text: caption }), el("thead", {}, head), body);
}

function values(box, content) {
  box.append(el("details", { class: "table-wrap tile__values" }, el("summary", { text: "Values" }), content));
}

const num = (key) => (row) => formatNumber(row[key]);

const DRAW = {
  trends(box, result) {
    const shown = trendLines(result);
    const chart = ensureChart(canvasBox(box, "Trend of the saved series"), "line");
    drawTrendChart(chart, shown);
    const t = el("table", { class: "table", "data-role": "table" }, el("thead"), el("tbody"));
    drawTrendTable(t, shown);
    values(box, t);
    return chart;
  },
  "active-users"(box, result) {
    const chart = ensureChart(canvasBox(box, "Active users over time"), "line");
    drawActiveUsers(chart, result);
    values(box, table([["Date", (r) => r.date], ["Users", num("users"), true]], result.results || [], "Active users"));
    return chart;
  },
  sessions(box, result) {
    const rows = result.results || [];
    const chart = ensureChart(canvasBox(box, "Sessions per day"), "line");
    setSeries(chart, rows.map((r) => r.date), [{ label: "Sessions", data: rows.map((r) => r.sessions) }]);
    const columns = [
      ["Date", (r) => r.date],
      ["Sessions", num("sessions"), true],
      ["Average duration", (r) => formatDuration(r.avg_duration_seconds), true],
    ];
    values(box, table(columns, rows, "Sessions per day"));
    return chart;
  },
  lifecycle(box, result) {
    const rows = result.results || [];
    const chart = ensureChart(canvasBox(box, "Lifecycle per interval"), "bar", LIFECYCLE_OPTIONS);
    drawLifecycle(chart, rows);
    const keys = ["new", "returning", "resurrecting", "dormant"];
    const columns = [["Interval", (r) => r.date], ...keys.map((k) => [k[0].toUpperCase() + k.slice(1), num(k), true])];
    values(box, table(columns, rows, "Lifecycle per interval"));
    return chart;
  },
  stickiness(box, result) {
    const rows = result.results || [];
    const chart = ensureChart(canvasBox(box, "Persons by the number of intervals with the event"), "bar");
    drawStickiness(chart, rows);
    values(box, table([["Intervals", (r) => String(r.intervals)], ["Persons", num("persons"), true]], rows, "Stickiness"));
    return chart;
  },
  funnels(box, result, ctx) {
    const rows = result.results || [];
    const chart = ensureChart(canvasBox(box, "Users reaching each funnel step"), "bar", funnelChartOptions(() => rows, ctx.rates));
    const body = el("tbody");
    drawFunnelSteps(chart, body, rows, ctx.rates);
    const head = el("tr", {}, ...["Step", "Users", "From start", "From previous", "Median time"].map((t, i) => el("th", { scope: "col", class: i ? "num" : "", text: t })));
    values(box, el("table", { class: "table" }, el("thead", {}, head), body));
    return chart;
  },
  retention(box, result, ctx) {
    const head = el("thead");
    const body = el("tbody");
    drawRetention(head, body, result, { unit: result.period === "day" ? "Day" : "Week", rates: ctx.rates });
    box.append(el("div", { class: "table-wrap" }, el("table", { class: "table heatmap" }, head, body)));
    return null;
  },
  paths(box, result) {
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("class", "sankey");
    svg.setAttribute("data-height", "200");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Persons' paths, step by step");
    box.append(el("div", { class: "sankey-box" }, svg));
    if (result.nodes?.length) drawPaths(svg, result);
    else box.append(el("p", { class: "muted", text: "No paths in this range." }));
    const columns = [["From → to", (e) => `${e.source_step}. ${e.source} → ${e.target}`], ["Persons", num("users"), true]];
    values(box, table(columns, result.edges || [], "Persons from one step to the next"));
    return null;
  },
  "top-events"(box, result) {
    const columns = [["Event", (r) => r.event], ["Count", num("count"), true], ["Users", num("users"), true]];
    box.append(el("div", { class: "table-wrap" }, table(columns, result.results || [], "Most frequent events")));
    return null;
  },
  web(box, result) {
    const totals = [
      ["Visitors", formatNumber(result.visitors)],
      ["Pageviews", formatNumber(result.pageviews)],
      ["Visits", formatNumber(result.visits)],
      ["Views per visit", formatNumber(Math.round(result.views_per_visit * 100) / 100)],
      ["Bounce rate", formatPercent(result.bounce_rate, { isFraction: false })],
      ["Visit duration", formatDuration(result.visit_duration_seconds)],
    ];
    box.append(el("div", { class: "table-wrap" }, table([["Metric", (r) => r[0]], ["Value", (r) => r[1], true]], totals, "Web overview")));
    const pages = [["Page", (r) => r.value], ["Visitors", num("visitors"), true], ["Pageviews", num("pageviews"), true]];
    values(box, table(pages, result.pages || [], "Top pages"));
    return null;
  },
};

export const TILE_KINDS = Object.keys(DRAW);

// Replaces `box`'s content with the drawing of `answer` (the results endpoint's body). Returns the
// Chart.js instance it made, if any (for the annotations' markers).
export function renderInsightResult(box, answer, ctx) {
  for (const canvas of box.querySelectorAll("canvas")) window.Chart?.getChart(canvas)?.destroy();
  clearChildren(box);
  const draw = DRAW[answer.kind];
  if (!draw) {
    box.append(el("p", { class: "muted", text: `This kind of insight (${answer.kind}) cannot be drawn here.` }));
    return null;
  }
  return draw(box, answer.result || {}, ctx);
}
