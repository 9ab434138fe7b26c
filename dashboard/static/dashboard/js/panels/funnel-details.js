// What a funnel answers beside its bars: the time to convert (ten bins from first to last step)
// and, with a breakdown, one row per value of the step-1 event that starts each path.

import { clearChildren, el, formatDuration, formatNumber, formatPercent } from "../format.js";

export function drawTimeToConvert(list, bins) {
  clearChildren(list);
  const total = bins.reduce((sum, bin) => sum + bin.persons, 0);
  if (!total) {
    list.append(el("li", { class: "muted", text: "Nobody completed every step in this range yet." }));
    return;
  }
  for (const bin of bins) {
    const share = bin.persons / total;
    const bar = el("span", { class: "bin__bar", style: `width: ${Math.round(share * 100)}%` });
    list.append(
      el(
        "li",
        { class: "bin" },
        el("span", { class: "bin__range", text: `${formatDuration(bin.from_seconds)} – ${formatDuration(bin.to_seconds)}` }),
        el("span", { class: "bin__track" }, bar),
        el("span", { class: "num", text: formatNumber(bin.persons) }),
      ),
    );
  }
}

export function drawBreakdown(table, breakdown, steps, rates) {
  const head = table.querySelector("thead");
  const body = table.querySelector("tbody");
  clearChildren(head);
  clearChildren(body);
  head.append(
    el(
      "tr",
      {},
      el("th", { scope: "col", text: "Value" }),
      ...steps.map((step, i) => el("th", { scope: "col", class: "num", text: `${i + 1}. ${step.event}` })),
      el("th", { scope: "col", class: "num", text: "Converted" }),
    ),
  );
  if (!breakdown.length) {
    body.append(el("tr", {}, el("td", { colSpan: steps.length + 2, class: "muted", text: "No value to break down by." })));
  }
  for (const part of breakdown) {
    const rows = part.results || [];
    const last = rows[rows.length - 1];
    body.append(
      el(
        "tr",
        {},
        el("th", { scope: "row", text: part.value === null ? "(none)" : String(part.value) }),
        ...rows.map((row) => el("td", { class: "num", text: formatNumber(row.users) })),
        el("td", { class: "num", text: formatPercent(last?.conversion_from_start, rates) }),
      ),
    );
  }
}
