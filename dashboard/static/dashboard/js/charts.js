// Thin helpers over Chart.js (loaded as a classic script from the vendored UMD build, which
// sets window.Chart). Panels keep one chart per canvas and swap its data on refresh, instead of
// destroying and recreating it, so refreshes do not flicker.

const Chart = window.Chart;

export const PALETTE = ["#3b5bdb", "#e8590c", "#2b8a3e", "#c2255c", "#6741d9", "#0b7285", "#e67700", "#5c940d"];

const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

if (Chart) {
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#495057";
  Chart.defaults.maintainAspectRatio = false;
  if (reducedMotion) Chart.defaults.animation = false;
}

function baseOptions(extra = {}) {
  return {
    responsive: true,
    interaction: { mode: "index", intersect: false },
    plugins: { legend: { display: false } },
    scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
    ...extra,
  };
}

export function ensureChart(canvas, type, options = {}) {
  const existing = Chart.getChart(canvas);
  if (existing) return existing;
  return new Chart(canvas, { type, data: { labels: [], datasets: [] }, options: baseOptions(options) });
}

export function setSeries(chart, labels, series) {
  chart.data.labels = labels;
  chart.data.datasets = series.map((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    return {
      label: s.label,
      data: s.data,
      borderColor: color,
      backgroundColor: chart.config.type === "bar" ? color : `${color}22`,
      fill: chart.config.type === "line" && series.length === 1,
      tension: 0.25,
      pointRadius: s.data.length > 60 ? 0 : 2,
    };
  });
  chart.options.plugins.legend.display = series.length > 1;
  chart.update();
}
