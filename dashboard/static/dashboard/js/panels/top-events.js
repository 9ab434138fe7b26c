// Top events of the range. Their names also feed the event pickers (trends and funnel steps),
// and clicking one shows its trend.

import { clearChildren, el, formatNumber } from "../format.js";
import { Panel } from "../panel.js";

export function mountTopEvents(root, ctx) {
  const panel = new Panel(root, ctx);
  const body = panel.$("[data-role=rows]");
  const datalist = document.getElementById("event-names");

  async function refresh() {
    const data = await panel.run((signal) => ctx.api.get("top-events", { ...ctx.range.value, limit: 10, filters: ctx.filters.param }, { signal }));
    if (!data) return;
    const rows = data.results || [];
    clearChildren(body);
    if (!rows.length) {
      body.append(el("tr", {}, el("td", { colSpan: 3, class: "muted", text: "No events in this range." })));
    }
    for (const row of rows) {
      const pick = el("button", { type: "button", class: "link-button", text: row.event });
      pick.title = `Show the trend of ${row.event}`;
      pick.addEventListener("click", () => {
        document.dispatchEvent(new CustomEvent("pickevent", { detail: { event: row.event } }));
      });
      body.append(
        el(
          "tr",
          {},
          el("th", { scope: "row" }, pick),
          el("td", { class: "num", text: formatNumber(row.count) }),
          el("td", { class: "num", text: formatNumber(row.users) }),
        ),
      );
    }
    clearChildren(datalist);
    for (const row of rows) datalist.append(el("option", { value: row.event }));
    document.dispatchEvent(new CustomEvent("eventnames", { detail: { names: rows.map((row) => row.event) } }));
  }

  document.addEventListener("rangechange", refresh);
  document.addEventListener("filterschange", refresh);
  return {
    refresh,
    insight() {
      return { kind: "top-events", name: "Top events", query: { limit: 10, filters: ctx.filters.value } };
    },
  };
}
