// Number, date and rate formatting shared by the panels.

const numberFormat = new Intl.NumberFormat();

export function formatNumber(value) {
  return value === null || value === undefined ? "–" : numberFormat.format(value);
}

// Rates may arrive as fractions (0.42) or percentages (42.0) depending on the endpoint; the
// caller says which, so no guessing happens here.
export function formatPercent(value, { isFraction = false } = {}) {
  if (value === null || value === undefined || Number.isNaN(Number(value))) return "–";
  const pct = isFraction ? Number(value) * 100 : Number(value);
  return `${pct.toFixed(pct >= 10 || pct === 0 ? 0 : 1)}%`;
}

// 0 → "0s", 75 → "1m 15s", 3725 → "1h 2m", 93600 → "1d 2h": a visit's length, a time on page,
// a funnel's time to convert; "–" for none.
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return "–";
  const total = Math.round(Number(seconds));
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

// "complete until 12:03:05" in the project's time zone; the date is added when it is not today.
export function formatCompleteUntil(iso, timeZone) {
  if (!iso) return "";
  const instant = new Date(iso);
  if (Number.isNaN(instant.getTime())) return "";
  const day = new Intl.DateTimeFormat("en-CA", { timeZone, dateStyle: "short" });
  const time = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12: false,
  });
  const sameDay = day.format(instant) === day.format(new Date());
  return `Complete until ${sameDay ? "" : `${day.format(instant)} `}${time.format(instant)}`;
}

export function formatDateTime(iso, timeZone) {
  const instant = new Date(iso);
  if (Number.isNaN(instant.getTime())) return String(iso);
  return new Intl.DateTimeFormat("en-GB", { timeZone, dateStyle: "medium", timeStyle: "medium" }).format(
    instant,
  );
}

// YYYY-MM-DD arithmetic in UTC so that no local daylight-saving shift moves a day.
export function addDays(isoDate, days) {
  const date = new Date(`${isoDate}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

export function clearChildren(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    // Through the CSSOM: a style attribute would be an inline style, which the pages' CSP refuses.
    else if (key === "style") node.style.cssText = value;
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role") node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}
