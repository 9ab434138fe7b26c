// What POST trends answers, as lines for the chart and as a table: one column per line (series ×
// breakdown value, the formula, and the previous period's lines when compared), one row per bucket.

import { PALETTE, setSeries } from "../charts.js";
import { clearChildren, el, formatNumber } from "../format.js";

function lineLabel(entry, { previous = false } = {}) {
  const name = entry.series === "formula" ? `Formula: ${entry.label}` : `${entry.series}. ${entry.label}`;
  const split = entry.breakdown_value === null || entry.breakdown_value === undefined ? "" : ` · ${entry.breakdown_value}`;
  return `${name}${split}${previous ? " (previous period)" : ""}`;
}

// The lines in display order; the previous period's are aligned by position (same length).
export function trendLines(data) {
  const current = [...(data.series || []), ...(data.formula || [])].map((entry) => ({
    label: lineLabel(entry),
    values: entry.data.map((point) => point.value),
    dates: entry.data.map((point) => point.date),
    previous: false,
  }));
  const previous = (data.compare || []).map((entry) => ({
    label: lineLabel(entry, { previous: true }),
    values: entry.data.map((point) => point.value),
    dates: entry.data.map((point) => point.date),
    previous: true,
  }));
  const dates = current[0]?.dates || previous[0]?.dates || [];
  return { dates, lines: [...current, ...previous] };
}

export function drawTrendChart(chart, { dates, lines }) {
  setSeries(
    chart,
    dates,
    lines.map((line) => ({ label: line.label, data: line.values })),
  );
  // The previous period reads as a dashed echo of the line it compares with.
  const currentCount = lines.filter((line) => !line.previous).length;
  chart.data.datasets.forEach((dataset, i) => {
    if (!lines[i].previous) return;
    const color = PALETTE[(i - currentCount) % PALETTE.length];
    dataset.borderColor = color;
    dataset.borderDash = [6, 4];
    dataset.fill = false;
  });
  chart.update();
}

function formatValue(value) {
  return Number.isInteger(value) ? formatNumber(value) : formatNumber(Math.round(value * 100) / 100);
}

export function drawTrendTable(table, { dates, lines }) {
  const head = table.querySelector("thead");
  const body = table.querySelector("tbody");
  clearChildren(head);
  clearChildren(body);
  if (!lines.length) {
    body.append(el("tr", {}, el("td", { class: "muted", text: "No data: pick an event for series A and press Show." })));
    return;
  }
  head.append(
    el(
      "tr",
      {},
      el("th", { scope: "col", text: "Date" }),
      ...lines.map((line) => el("th", { scope: "col", class: "num", "data-role": "line-label", text: line.label })),
    ),
  );
  dates.forEach((date, row) => {
    body.append(
      el(
        "tr",
        {},
        el("th", { scope: "row", text: date }),
        ...lines.map((line) => el("td", { class: "num", text: formatValue(line.values[row] ?? 0) })),
      ),
    );
  });
}
