// The date range shared by every report panel: two date inputs plus 7/30/90-day presets.
// A change is announced as a "rangechange" event on the document; panels listen for it.

import { addDays } from "../format.js";

export function mountDateRange(form, ctx) {
  const from = form.querySelector("[name=from]");
  const to = form.querySelector("[name=to]");
  const presets = [...form.querySelectorAll("[data-days]")];
  const errorSlot = form.querySelector("[data-error-for]");
  from.value = ctx.defaultFrom;
  to.value = ctx.today;
  to.max = ctx.today;

  function markPreset() {
    for (const button of presets) {
      const matches = to.value === ctx.today && from.value === addDays(ctx.today, 1 - Number(button.dataset.days));
      button.setAttribute("aria-pressed", matches ? "true" : "false");
    }
  }

  function announce() {
    if (from.value && to.value && from.value > to.value) {
      errorSlot.textContent = "The start date must not be after the end date.";
      from.setAttribute("aria-invalid", "true");
      return;
    }
    errorSlot.textContent = "";
    from.removeAttribute("aria-invalid");
    markPreset();
    document.dispatchEvent(new CustomEvent("rangechange", { detail: { from: from.value, to: to.value } }));
  }

  for (const button of presets) {
    button.addEventListener("click", () => {
      to.value = ctx.today;
      from.value = addDays(ctx.today, 1 - Number(button.dataset.days));
      announce();
    });
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    announce();
  });
  markPreset();

  return {
    get value() {
      return { from: from.value, to: to.value };
    },
    // The range as a saved insight keeps it: a preset stays relative ("the last 30 days" moves
    // with the days), dates picked by hand stay those days.
    get saved() {
      const preset = presets.find((button) => button.getAttribute("aria-pressed") === "true");
      return preset ? { last_days: Number(preset.dataset.days) } : { from: from.value, to: to.value };
    },
  };
}
