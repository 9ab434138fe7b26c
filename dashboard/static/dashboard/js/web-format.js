// Formatting of the Web page: flags, country names, its numbers and the change from the previous
// period. Plain functions, no DOM, so the rules are in one place.

import { formatDuration, formatNumber, formatPercent } from "./format.js";

// The overview's bounce_rate and conversion_rate are percentages (42.5), as the web API documents.
export const WEB_RATES = { isFraction: false };

// The rows the API answers for pageviews or visits without the value ("(none)"; "Direct / None"
// for referrers, as Plausible): these filter with "is not set" rather than "= (none)".
const UNSET_VALUES = new Set(["", "(none)", "direct / none"]);

export function isUnset(value) {
  return value === null || value === undefined || UNSET_VALUES.has(String(value).trim().toLowerCase());
}

// 🇩🇪 from "DE": the two regional indicator symbols of an ISO 3166 alpha-2 code.
export function flagEmoji(code) {
  if (!/^[A-Za-z]{2}$/.test(code || "")) return "";
  return String.fromCodePoint(...[...code.toUpperCase()].map((c) => 0x1f1e6 + c.charCodeAt(0) - 65));
}

const regionNames = typeof Intl.DisplayNames === "function" ? new Intl.DisplayNames(["en"], { type: "region" }) : null;

export function countryName(code) {
  if (!/^[A-Za-z]{2}$/.test(code || "")) return String(code);
  try {
    return regionNames?.of(code.toUpperCase()) || code;
  } catch {
    return code;
  }
}

// How each number of the row reads.
export const METRICS = {
  visitors: { format: formatNumber },
  visits: { format: formatNumber },
  pageviews: { format: formatNumber },
  views_per_visit: { format: (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(2)) },
  bounce_rate: { format: (v) => formatPercent(v, WEB_RATES), lowerIsBetter: true, points: true },
  visit_duration_seconds: { format: formatDuration },
};

// The change from the previous period: {text, direction: "up"|"down"|"flat", good: bool|null}.
// A rate (bounce rate) changes by percentage points, as Plausible shows it; the others by percent
// of the previous value. Nothing before and something now is "new", not an infinite percent.
export function metricChange(metric, current, previous) {
  if (previous === null || previous === undefined || current === null || current === undefined) return null;
  const spec = METRICS[metric] || {};
  let delta;
  let unit;
  if (spec.points) {
    const scale = WEB_RATES.isFraction ? 100 : 1;
    delta = Math.round((Number(current) - Number(previous)) * scale);
    unit = " pp";
  } else if (Number(previous) === 0) {
    if (Number(current) === 0) return { text: "0%", direction: "flat", good: null };
    return { text: "new", direction: "up", good: !spec.lowerIsBetter };
  } else {
    delta = Math.round(((Number(current) - Number(previous)) / Number(previous)) * 100);
    unit = "%";
  }
  if (delta === 0) return { text: `0${unit}`, direction: "flat", good: null };
  const direction = delta > 0 ? "up" : "down";
  return {
    text: `${delta > 0 ? "↑" : "↓"} ${Math.abs(delta)}${unit}`,
    direction,
    good: (direction === "up") !== Boolean(spec.lowerIsBetter),
  };
}
