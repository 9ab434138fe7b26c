// The Web page's list cards (pages, sources, countries, devices): each card has tabs over lists of
// the same overview answer (switching tabs asks nothing), and each row is a button that adds the
// row's value as a column filter to the filter bar, which reloads the page's numbers.

import { clearChildren, el, formatDuration, formatNumber, formatPercent } from "./format.js";
import { Panel } from "./panel.js";
import { WEB_RATES, countryName, flagEmoji, isUnset } from "./web-format.js";

// A page's bounce rate (of the visits that entered there) and time on page, on hover.
function pageDetail(row) {
  const known = (value) => value !== null && value !== undefined;
  const bounce = known(row.bounce_rate) ? `bounce rate ${formatPercent(row.bounce_rate, WEB_RATES)}` : "no visit entered here";
  const time = known(row.avg_time_on_page_seconds) ? `${formatDuration(row.avg_time_on_page_seconds)} on page` : "time on page unknown";
  return `${bounce} · ${time}`;
}

const VISITORS = { key: "visitors", label: "Visitors" };
const PAGEVIEWS = { key: "pageviews", label: "Pageviews" };

// Which overview list a tab shows, which events column its rows filter on, and what to do when
// it is empty. Declared once: the cards, the tabs and the click-to-filter all read this.
export const CARDS = {
  pages: [
    { field: "pages", tab: "Top pages", head: "Page", column: "pathname", columns: [VISITORS, PAGEVIEWS],
      empty: "No page views in this range.", detail: pageDetail },
    { field: "entry_pages", tab: "Entry pages", head: "Entry page", column: "pathname", columns: [VISITORS],
      empty: "No visits in this range." },
    { field: "exit_pages", tab: "Exit pages", head: "Exit page", column: "pathname", columns: [VISITORS],
      empty: "No visits in this range." },
  ],
  sources: [
    { field: "channels", tab: "Channels", head: "Channel", column: "channel", columns: [VISITORS],
      empty: "No visits in this range." },
    { field: "referrers", tab: "Referrers", head: "Referrer", column: "referrer_host", columns: [VISITORS],
      empty: "No referrers: every visit in this range came direct (typed, bookmarked or from an app)." },
    { field: "utm_sources", tab: "UTM sources", head: "UTM source", column: "utm_source", columns: [VISITORS],
      empty: "No UTM-tagged visits: add ?utm_source=…&utm_campaign=… to the links you share to see them here." },
    { field: "utm_campaigns", tab: "UTM campaigns", head: "UTM campaign", column: "utm_campaign", columns: [VISITORS],
      empty: "No UTM campaigns: add ?utm_campaign=… to the links of a campaign to see it here." },
  ],
  countries: [
    { field: "countries", tab: "Countries", head: "Country", column: "country", columns: [VISITORS],
      empty: "No visits in this range.", label: (v) => `${flagEmoji(v)} ${countryName(v)}`.trim() },
  ],
  devices: [
    { field: "devices", tab: "Devices", head: "Device", column: "device_type", columns: [VISITORS],
      empty: "No visits in this range.", label: (v) => v.charAt(0).toUpperCase() + v.slice(1) },
    { field: "browsers", tab: "Browsers", head: "Browser", column: "browser", columns: [VISITORS],
      empty: "No visits in this range." },
    { field: "os", tab: "Operating systems", head: "Operating system", column: "os", columns: [VISITORS],
      empty: "No visits in this range." },
  ],
};

// The filter a row stands for; a "(none)" row (no referrer, no UTM) is "is not set".
export function rowFilter(column, value) {
  if (isUnset(value)) return { type: "column", key: column, operator: "is_not_set" };
  return { type: "column", key: column, operator: "exact", value: String(value) };
}

// Adds the filter to the bar, replacing a filter on the same column (clicking Germany, then
// France, shows France, as in Plausible); the bar announces "filterschange".
export function addRowFilter(ctx, filter) {
  const others = ctx.filters.value.filter((f) => !(f.type === "column" && f.key === filter.key));
  ctx.filters.set([...others, filter]);
}

export function mountWebCard(root, ctx, tabs) {
  const panel = new Panel(root, ctx); // its busy flag; the overview shows this card's errors
  let current = 0;
  let data = null;
  const id = root.id;
  const tablist = tabs.length > 1 ? el("div", { class: "web-tabs", role: "tablist", "aria-label": "Show" }) : null;
  const buttons = tabs.map((spec, index) => {
    const button = el("button", { type: "button", class: "web-tab", role: "tab", id: `${id}-tab-${index}`, text: spec.tab });
    button.dataset.tab = spec.field;
    button.setAttribute("aria-controls", `${id}-list`);
    button.addEventListener("click", () => select(index));
    button.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      event.preventDefault();
      select((index + step + tabs.length) % tabs.length);
      buttons[current].focus();
    });
    tablist?.append(button);
    return button;
  });
  if (tablist) root.querySelector(".card__head").append(tablist);
  const head = el("thead");
  const body = el("tbody", { "data-role": "rows" }, el("tr", {}, el("td", { class: "muted", text: "Loading…" })));
  const table = el("table", { class: "table web-table" }, head, body);
  const region = el("div", { class: "table-wrap web-list", id: `${id}-list`, role: tabs.length > 1 ? "tabpanel" : "region" }, table);
  region.setAttribute("aria-labelledby", tabs.length > 1 ? `${id}-tab-0` : root.getAttribute("aria-labelledby"));
  root.append(region);

  function select(index) {
    current = index;
    buttons.forEach((button, i) => {
      button.setAttribute("aria-selected", i === index ? "true" : "false");
      button.tabIndex = i === index ? 0 : -1;
    });
    if (tablist) region.setAttribute("aria-labelledby", buttons[index].id);
    render();
  }

  function render() {
    const spec = tabs[current];
    root.dataset.shows = spec.field;
    clearChildren(head);
    head.append(
      el("tr", {}, el("th", { scope: "col", text: spec.head }), ...spec.columns.map((c) => el("th", { scope: "col", class: "num", text: c.label }))),
    );
    clearChildren(body);
    const span = spec.columns.length + 1;
    if (!data) {
      body.append(el("tr", {}, el("td", { colSpan: span, class: "muted", text: "Not loaded: see the message above the chart." })));
      return;
    }
    const rows = data[spec.field] || [];
    if (!rows.length) {
      const hint = ctx.filters.value.length ? " Or remove a filter." : "";
      body.append(el("tr", {}, el("td", { colSpan: span, class: "muted", text: spec.empty + hint })));
      return;
    }
    const top = Math.max(1, ...rows.map((row) => Number(row.visitors) || 0));
    for (const row of rows) {
      const unset = isUnset(row.value);
      const label = unset ? String(row.value || "(none)") : spec.label ? spec.label(row.value) : String(row.value);
      const filter = rowFilter(spec.column, row.value);
      const button = el("button", { type: "button", class: "web-row__button", text: label });
      button.dataset.action = "filter-by";
      button.title = unset ? `Show only visits without ${spec.head.toLowerCase()}` : `Show only ${spec.head.toLowerCase()} ${row.value}`;
      if (spec.detail) button.title += ` (${spec.detail(row)})`;
      button.addEventListener("click", () => addRowFilter(ctx, filter));
      const bar = el("span", { class: "web-bar", "aria-hidden": "true" });
      bar.style.width = `${((Number(row.visitors) || 0) / top) * 100}%`;
      const tr = el(
        "tr",
        { class: "web-row" },
        el("th", { scope: "row", class: "web-row__label" }, bar, button),
        ...spec.columns.map((c) => el("td", { class: "num", "data-col": c.key, text: formatNumber(row[c.key]) })),
      );
      tr.dataset.value = String(row.value ?? "");
      body.append(tr);
    }
  }

  select(0);
  return {
    // The overview answer, null when it failed, undefined while it loads.
    show(answer) {
      data = answer ?? null;
      panel.setBusy(false);
      render();
    },
    setBusy: (busy) => panel.setBusy(busy),
    select,
  };
}
