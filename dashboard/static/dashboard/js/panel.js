// What every panel shares: its error slots, its "complete until" line and a request guard so
// that an answer to an older request never overwrites a newer one.

import { ApiError } from "./api.js";
import { setSeries } from "./charts.js";
import { clearChildren, el, formatCompleteUntil } from "./format.js";

export class Panel {
  constructor(root, ctx) {
    this.root = root;
    this.ctx = ctx;
    this.controller = null;
    this.charts = []; // emptied when a request fails, so no stale numbers sit beside an error
  }

  track(chart) {
    this.charts.push(chart);
    return chart;
  }

  $(selector) {
    return this.root.querySelector(selector);
  }

  // Aborts the panel's previous request and returns the signal for the new one.
  nextSignal() {
    this.controller?.abort();
    this.controller = new AbortController();
    return this.controller.signal;
  }

  clearErrors() {
    for (const node of this.errorSlots()) node.textContent = "";
    for (const input of this.root.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    const general = this.$(":scope > [data-role=error]");
    if (general) general.textContent = "";
  }

  errorSlots() {
    // The date-range controls live outside the panels, so their slot is shared by all panels.
    return [...this.root.querySelectorAll("[data-error-for]"), ...this.ctx.sharedErrorSlots];
  }

  // Shows a 400 next to the control named by the server, or at the foot of the panel.
  showError(error) {
    if (error?.name === "AbortError") return;
    const message = error instanceof ApiError ? error.message : "Something went wrong while loading this panel.";
    if (!(error instanceof ApiError)) console.error(error);
    const param = error instanceof ApiError ? error.param : null;
    if (param) {
      const slot = this.errorSlots().find((node) => node.dataset.errorFor.split(" ").includes(param));
      if (slot) {
        clearChildren(slot);
        // Several messages for one control (rejected lines of an upload) read one per line.
        for (const line of error.messages) slot.append(el("span", { class: "field-error__line", text: line }));
        const scope = slot.closest("form, .field, section") || this.root;
        scope.querySelector(`[name="${CSS.escape(param)}"]`)?.setAttribute("aria-invalid", "true");
        return;
      }
    }
    const general = this.$(":scope > [data-role=error]");
    if (general) general.textContent = param ? `${param}: ${message}` : message;
  }

  showCompleteUntil(data) {
    const node = this.$(":scope > [data-role=complete-until]");
    if (node && data) node.textContent = formatCompleteUntil(data.complete_until, this.ctx.timezone);
  }

  setBusy(busy) {
    this.root.setAttribute("aria-busy", busy ? "true" : "false");
  }

  // Runs one request cycle: clears errors, marks the panel busy, shows what went wrong.
  async run(work) {
    const signal = this.nextSignal();
    this.clearErrors();
    this.setBusy(true);
    try {
      const data = await work(signal);
      if (signal.aborted) return null;
      this.showCompleteUntil(data);
      return data;
    } catch (error) {
      if (!signal.aborted) {
        this.showError(error);
        for (const chart of this.charts) setSeries(chart, [], []);
        const until = this.$(":scope > [data-role=complete-until]");
        if (until) until.textContent = "";
      }
      return null;
    } finally {
      if (!signal.aborted) this.setBusy(false);
    }
  }
}
