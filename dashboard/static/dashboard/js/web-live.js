// "N visitors in the last 5 minutes": polls web/live like the reports page's live panel, and
// stops while the tab is hidden. Neither the date range nor the filters apply (web/live takes
// none), which the line says while filters are set.

import { formatNumber } from "./format.js";
import { Panel } from "./panel.js";

export function mountWebLive(root, ctx) {
  // Live numbers ignore the date range: polling must not clear that range's error message.
  const panel = new Panel(root, { ...ctx, sharedErrorSlots: [] });
  let timer = null;

  async function poll() {
    const data = await panel.run((signal) => ctx.api.get("web/live", {}, { signal }));
    if (!data) return;
    panel.$("[data-role=live-visitors]").textContent = formatNumber(data.visitors);
    panel.$("[data-role=live-noun]").textContent = data.visitors === 1 ? "visitor" : "visitors";
    const top = (data.pages || [])[0];
    root.title = top ? `Most viewed now: ${top.value} (${formatNumber(top.visitors)})` : "";
    const when = new Date().toLocaleTimeString([], { hour12: false, timeZone: ctx.timezone });
    showScope();
    panel.$("[data-role=live-updated]").textContent = `· updated ${when}`;
  }

  function showScope() {
    panel.$("[data-role=live-scope]").textContent = ctx.filters.value.length ? "(all traffic: filters do not apply)" : "";
  }

  function start() {
    if (timer !== null) return;
    poll();
    timer = window.setInterval(poll, ctx.livePollSeconds * 1000);
  }

  function stop() {
    window.clearInterval(timer);
    timer = null;
  }

  document.addEventListener("filterschange", showScope);
  document.addEventListener("visibilitychange", () => (document.hidden ? stop() : start()));
  if (!document.hidden) start();
  return { poll, stop };
}
