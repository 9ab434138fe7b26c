// Retention cohorts as a triangle heat-map: one row per cohort, one column per period after it;
// a cell's shade is its retention rate. Optional start and return events narrow who starts a cohort
// (their first such event) and what counts as coming back.

import { clearChildren, el, formatNumber, formatPercent } from "../format.js";
import { Panel } from "../panel.js";

// Rows in the cohorts answer; read defensively so a renamed key degrades to an empty cell.
function cohortRows(data) {
  return (data.cohorts || data.results || []).map((cohort) => ({
    start: cohort.start_date || cohort.start || cohort.cohort || cohort.date,
    size: cohort.cohort_size ?? cohort.size ?? cohort.users ?? 0,
    cells: cohort.retention || cohort.periods || [],
  }));
}

// The heat-map's head and rows from a retention/cohorts answer (the panel's and a dashboard tile's).
export function drawRetention(head, body, data, { unit, rates }) {
  const rows = cohortRows(data);
  const width = Math.max(0, ...rows.map((row) => row.cells.length));
  clearChildren(head);
  const headRow = el("tr", {}, el("th", { scope: "col", text: "Cohort" }), el("th", { scope: "col", class: "num", text: "Users" }));
  for (let k = 0; k < width; k += 1) headRow.append(el("th", { scope: "col", class: "heatmap__period", text: `${unit} ${k}` }));
  head.append(headRow);
  clearChildren(body);
  if (!rows.length) {
    body.append(el("tr", {}, el("td", { colSpan: 2, class: "muted", text: "No cohorts in this range: widen the dates, or pick a start event people did." })));
  }
  for (const row of rows) {
    const tr = el("tr", {}, el("th", { scope: "row", text: row.start }), el("td", { class: "num", text: formatNumber(row.size) }));
    for (let k = 0; k < width; k += 1) {
      const cell = row.cells[k];
      if (!cell) {
        tr.append(el("td", { class: "heatmap__empty", "aria-label": "not yet measured" }));
        continue;
      }
      const rate = Number(cell.retention_rate ?? 0);
      const share = rates.isFraction ? rate : rate / 100;
      const td = el("td", { class: "num heatmap__cell", text: formatPercent(rate, rates) });
      td.style.setProperty("--heat", Math.min(1, Math.max(0, share)).toFixed(3));
      if (share > 0.5) td.classList.add("heatmap__cell--dark");
      td.title = `${formatNumber(cell.retained_users)} of ${formatNumber(row.size)} users`;
      tr.append(td);
    }
    body.append(tr);
  }
}

export function mountRetention(root, ctx) {
  const panel = new Panel(root, ctx);
  const period = panel.$("[name=period]");
  const form = panel.$("[data-role=events]");
  const head = panel.$("[data-role=head]");
  const body = panel.$("[data-role=rows]");

  async function refresh() {
    const data = await panel.run((signal) =>
      ctx.api.get(
        "retention/cohorts",
        {
          ...ctx.range.value,
          period: period.value,
          filters: ctx.filters.param,
          // Empty means "any event" on either side, as the API's default.
          start_event: form.elements.start_event.value.trim(),
          return_event: form.elements.return_event.value.trim(),
        },
        { signal },
      ),
    );
    if (!data) return;
    drawRetention(head, body, data, { unit: period.value === "day" ? "Day" : "Week", rates: ctx.rates });
  }

  period.addEventListener("change", refresh);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    refresh();
  });
  document.addEventListener("rangechange", refresh);
  document.addEventListener("filterschange", refresh);
  return {
    refresh,
    // What "Save as insight" stores: the query as GET retention/cohorts takes it, without the range.
    insight() {
      const query = { period: period.value, filters: ctx.filters.value };
      for (const name of ["start_event", "return_event"]) {
        const value = form.elements[name].value.trim();
        if (value) query[name] = value;
      }
      const events = [query.start_event || "any event", query.return_event || "any event"];
      return { kind: "retention", name: `Retention: ${events.join(" → ")}`, query };
    },
  };
}
