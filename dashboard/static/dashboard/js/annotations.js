// Annotations: a project's dated notes ("v2 released"), drawn on the time-series charts as a
// dashed vertical line with a dot on top; hovering the dot shows the notes of that bucket. Drawn
// by a small Chart.js plugin of our own (registered once, for every chart; it draws only on the
// charts a store is attached to). The store fetches the notes of the shown range and redraws.

import { ApiError } from "./api.js";
import { clearChildren, el } from "./format.js";
import { Panel } from "./panel.js";

const Chart = window.Chart;
const COLOR = "#868e96";
const DOT = 4; // the dot's radius, px
const HIT = 7; // px around the dot that count as hovering it
const SHOWN_CHARS = 90; // a long note is cut on the canvas; the canvas's title has it whole

// Labels are bucket starts (days, weeks or months) in order, ISO dates: a note belongs to the last
// bucket that starts on or before its day.
function bucketOf(labels, date) {
  let found = -1;
  for (let i = 0; i < labels.length && String(labels[i]) <= date; i++) found = i;
  return found;
}

function markersOf(chart) {
  const notes = chart.$annotations?.items || [];
  const labels = chart.data.labels || [];
  const x = chart.scales.x;
  if (!notes.length || !labels.length || !x) return [];
  const byBucket = new Map();
  for (const note of notes) {
    const i = bucketOf(labels, note.date);
    if (i < 0) continue;
    if (!byBucket.has(i)) byBucket.set(i, []);
    byBucket.get(i).push(note);
  }
  return [...byBucket].map(([index, items]) => ({ index, label: labels[index], x: x.getPixelForValue(index), items }));
}

function noteLine(note) {
  const text = note.text.length > SHOWN_CHARS ? `${note.text.slice(0, SHOWN_CHARS - 1)}…` : note.text;
  return `${note.date} · ${text}`;
}

function drawLabel(chart, marker) {
  const { ctx, chartArea } = chart;
  const lines = marker.items.map(noteLine);
  ctx.font = `12px ${Chart.defaults.font.family}`;
  const width = Math.max(...lines.map((line) => ctx.measureText(line).width)) + 12;
  const height = lines.length * 16 + 8;
  const left = Math.min(Math.max(marker.x - width / 2, chartArea.left), Math.max(chartArea.right - width, chartArea.left));
  const top = chartArea.top + DOT * 2 + 4;
  ctx.fillStyle = "rgba(33, 37, 41, 0.92)";
  ctx.fillRect(left, top, width, height);
  ctx.fillStyle = "#fff";
  ctx.textBaseline = "top";
  lines.forEach((line, i) => ctx.fillText(line, left + 6, top + 5 + i * 16));
}

export const annotationMarkers = {
  id: "eventbaseAnnotations",
  afterDatasetsDraw(chart) {
    const markers = markersOf(chart);
    chart.$annotationMarkers = markers; // read by afterEvent, and by the browser test
    if (!markers.length) return;
    const { ctx, chartArea } = chart;
    ctx.save();
    ctx.strokeStyle = COLOR;
    ctx.fillStyle = COLOR;
    ctx.lineWidth = 1;
    for (const marker of markers) {
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(marker.x, chartArea.top + DOT);
      ctx.lineTo(marker.x, chartArea.bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.beginPath();
      ctx.arc(marker.x, chartArea.top + DOT, marker.index === chart.$annotationHovered?.index ? DOT + 1.5 : DOT, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.restore();
  },
  // Drawn after the tooltip, so the note is not hidden under it.
  afterDraw(chart) {
    const marker = chart.$annotationHovered;
    if (!marker || !chart.$annotationMarkers?.some((m) => m.index === marker.index)) return;
    chart.ctx.save();
    drawLabel(chart, marker);
    chart.ctx.restore();
  },
  afterEvent(chart, args) {
    const { event } = args;
    const top = chart.chartArea.top + DOT;
    const near = (m) => Math.abs(m.x - event.x) <= HIT && Math.abs(top - event.y) <= HIT;
    const hovered = event.type === "mouseout" ? null : (chart.$annotationMarkers || []).find(near) || null;
    if ((hovered?.index ?? null) === (chart.$annotationHovered?.index ?? null)) return;
    chart.$annotationHovered = hovered;
    // The whole text, for a note cut on the canvas (and for the screen reader's label).
    chart.canvas.title = hovered ? hovered.items.map((note) => `${note.date}: ${note.text}`).join("\n") : "";
    args.changed = true;
  },
};

if (Chart) Chart.register(annotationMarkers);

// The notes of the shown range, for the charts it is attached to; reloaded when the range changes.
export function mountAnnotations(ctx) {
  const charts = new Set();
  const listeners = new Set(); // called with the notes after each load (the editors' list)
  let items = [];
  let latest = 0;

  function redraw() {
    for (const chart of charts) chart.update("none");
    for (const listener of listeners) listener(items);
  }

  async function load() {
    const request = ++latest;
    const { from, to } = ctx.range.value;
    let found = [];
    try {
      found = (await ctx.api.get("annotations", { from, to })).results || [];
    } catch (error) {
      // A bad range is already explained by the date range's own slot; anything else is a bug.
      if (!(error instanceof ApiError)) console.error(error);
    }
    if (request !== latest) return;
    items = found;
    redraw();
  }

  document.addEventListener("rangechange", load);
  return {
    load,
    get items() {
      return items;
    },
    onChange(listener) {
      listeners.add(listener);
    },
    attach(chart) {
      chart.$annotations = this;
      charts.add(chart);
      chart.update("none");
      return chart;
    },
  };
}

// The "Add annotation" form and the range's notes with Edit and Delete (editors only: the page
// renders the panel for them alone).
export function mountAnnotationForm(root, ctx, store) {
  const panel = new Panel(root, { ...ctx, sharedErrorSlots: [] });
  const form = panel.$("[data-role=annotation-form]");
  const added = panel.$("[data-role=annotation-added]");
  form.elements.date.value = ctx.today;
  form.elements.date.max = ctx.today;
  // Made here rather than in the page's markup: the list is the notes the store loaded.
  const list = el("ul", { class: "annotation-list", "data-role": "annotation-list", "aria-label": "Notes of the date range" });
  form.after(list);
  store.onChange((items) => showNotes(list, items, { panel, ctx, store }));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    added.textContent = "";
    const body = { date: form.elements.date.value, text: form.elements.text.value.trim() };
    const note = await panel.run((signal) => ctx.api.post("annotations", body, { signal }));
    if (!note) return;
    added.textContent = `Added the note of ${note.date}.`;
    form.elements.text.value = "";
    await store.load();
  });
  return { panel };
}

function button(text, action, label) {
  const node = el("button", { type: "button", class: "button button--small button--ghost", text });
  node.dataset.action = action;
  node.setAttribute("aria-label", label);
  return node;
}

// One line a note: its date and text, Edit (the line becomes a small form: PATCH) and Delete.
function showNotes(list, items, { panel, ctx, store }) {
  clearChildren(list);
  for (const note of items) {
    const item = el("li", { "data-annotation-id": String(note.id) });
    const view = () => {
      clearChildren(item);
      const edit = button("Edit", "edit-annotation", `Edit the note of ${note.date}`);
      const remove = button("Delete", "delete-annotation", `Delete the note of ${note.date}`);
      edit.addEventListener("click", editing);
      remove.addEventListener("click", async () => {
        if (!window.confirm(`Delete the note of ${note.date}, “${note.text}”?`)) return;
        const done = await panel.run((signal) => ctx.api.delete(`annotations/${note.id}`, { signal }));
        if (done) await store.load();
      });
      item.append(el("span", { class: "muted", text: note.date }), el("span", { "data-role": "annotation-text", text: note.text }), edit, remove);
    };
    const editing = () => {
      clearChildren(item);
      const date = el("input", { type: "date", name: "date", value: note.date, max: ctx.today, required: true });
      date.setAttribute("aria-label", "Date");
      const text = el("input", { name: "text", value: note.text, maxLength: 400, required: true, autocomplete: "off" });
      text.setAttribute("aria-label", "Note");
      const save = el("button", { type: "submit", class: "button button--small", text: "Save" });
      const cancel = button("Cancel", "cancel-annotation", "Cancel the change");
      const form = el("form", { class: "controls", "data-role": "annotation-edit" }, date, text, save, cancel);
      cancel.addEventListener("click", view);
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const body = { date: date.value, text: text.value.trim() };
        const saved = await panel.run((signal) => ctx.api.patch(`annotations/${note.id}`, body, { signal }));
        if (saved) await store.load();
      });
      item.append(form);
      text.focus();
    };
    view();
    list.append(item);
  }
}
