// Paths: what persons did step by step (POST paths), drawn as a Sankey diagram (../sankey.js)
// with the edges and drop-offs as tables beside it. Runs on load, on "Show", and when the range
// or the filters change.

import { clearChildren, el, formatDuration, formatNumber } from "../format.js";
import { Panel } from "../panel.js";
import { drawSankey } from "../sankey.js";
import { mountCountBy } from "./count-by.js";

// The Sankey diagram of a POST paths answer (the panel's and a dashboard tile's).
export function drawPaths(svg, data) {
  drawSankey(svg, data.nodes, data.edges, {
    describe: (edge) => `${formatNumber(edge.users)} persons, ${formatDuration(edge.average_conversion_seconds)} on average`,
  });
}

export function mountPaths(root, ctx) {
  const panel = new Panel(root, ctx);
  const form = panel.$("[data-role=form]");
  const svg = panel.$("[data-role=sankey]");
  const edgeRows = panel.$("[data-role=rows]");
  const dropRows = panel.$("[data-role=dropoffs]");
  const empty = panel.$("[data-role=empty]");
  const countBy = mountCountBy(form.elements.aggregation_group_type, ctx);
  let shown = null;
  let body = null;

  // The POST paths body without the range (what "Save as insight" stores).
  function query() {
    const f = form.elements;
    const out = {
      event_types: [...form.querySelectorAll("[name=event_types]:checked")].map((box) => box.value),
      steps: Number(f.steps.value),
      filters: ctx.filters.value ?? [],
    };
    if (f.path_key.value) out.path_key = f.path_key.value;
    const groupType = countBy.value();
    if (groupType) out.aggregation_group_type = groupType;
    if (f.start_event.value.trim()) out.start_event = f.start_event.value.trim();
    if (f.end_event.value.trim()) out.end_event = f.end_event.value.trim();
    const exclude = f.exclude.value.split(",").map((name) => name.trim()).filter(Boolean);
    if (exclude.length) out.exclude = exclude;
    return out;
  }

  function clear() {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    clearChildren(edgeRows);
    clearChildren(dropRows);
  }

  async function refresh() {
    body = { ...ctx.range.value, ...query() };
    const data = await panel.run((signal) => ctx.api.post("paths", body, { signal }));
    clear();
    shown = data;
    if (!data) return;
    empty.hidden = data.nodes.length > 0;
    drawPaths(svg, data);
    for (const edge of data.edges) {
      edgeRows.append(
        el(
          "tr",
          {},
          el("th", { scope: "row", text: `${edge.source_step}. ${edge.source} → ${edge.target}` }),
          el("td", { class: "num", text: formatNumber(edge.users) }),
          el("td", { class: "num", text: formatDuration(edge.average_conversion_seconds) }),
        ),
      );
    }
    for (const drop of data.dropoffs) {
      dropRows.append(el("tr", {}, el("th", { scope: "row", text: `${drop.step}. ${drop.name}` }), el("td", { class: "num", text: formatNumber(drop.users) })));
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    refresh();
  });
  form.elements.aggregation_group_type.addEventListener("change", refresh);
  document.addEventListener("rangechange", refresh);
  document.addEventListener("filterschange", refresh);
  refresh();
  return {
    refresh,
    insight() {
      const q = query();
      const ends = [q.start_event, q.end_event].filter(Boolean);
      return { kind: "paths", name: ends.length ? `Paths: ${ends.join(" … ")}` : "Paths", query: q };
    },
    // The last answer and the body that asked for it, for the browser test.
    get shown() {
      return shown;
    },
    get body() {
      return body;
    },
  };
}
