// Inline SVG charts for the HTML reports (drift-check's report, drift history's trend): every
// chart has both axes with ticks and labels, and every bar or series is labelled. No scripts,
// no network: the page stays one self-contained file.

export const REFERENCE_COLOUR = '#4c78a8';
export const CURRENT_COLOUR = '#f58518';
const SERIES_COLOURS = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#ff9da6', '#9d755d', '#bab0ac', '#eeca3b'];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Numbers for people: 4 significant digits, exponent form for the very small and very large. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs < 1e-4 || abs >= 1e6) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

/** About `count` round tick values (1, 2 or 5 times a power of ten) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return ticks;
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function yAxis(frame: Frame, max: number, title: string, format: (v: number) => string, min = 0): { scale: (v: number) => number; svg: string } {
  const plotHeight = frame.height - frame.top - frame.bottom;
  const scale = (v: number): number => frame.top + plotHeight - ((v - min) / (max - min || 1)) * plotHeight;
  const parts = [`<g class="axis y"><line x1="${frame.left}" y1="${frame.top}" x2="${frame.left}" y2="${frame.top + plotHeight}" stroke="#999"/>`];
  for (const tick of niceTicks(min, max, 4)) {
    const y = scale(tick).toFixed(1);
    parts.push(
      `<line class="tick" x1="${frame.left - 4}" y1="${y}" x2="${frame.left}" y2="${y}" stroke="#999"/>` +
        `<line x1="${frame.left}" y1="${y}" x2="${frame.width - frame.right}" y2="${y}" stroke="#eee"/>` +
        `<text class="tick-label" x="${frame.left - 6}" y="${y}" dy="3" font-size="10" fill="#555" text-anchor="end">${escapeHtml(format(tick))}</text>`,
    );
  }
  parts.push(
    `<text class="axis-title" transform="translate(11 ${(frame.top + plotHeight / 2).toFixed(1)}) rotate(-90)" font-size="10" fill="#333" text-anchor="middle">${escapeHtml(title)}</text></g>`,
  );
  return { scale, svg: parts.join('') };
}

function svgOpen(frame: Frame, label: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${frame.width}" height="${frame.height}" viewBox="0 0 ${frame.width} ${frame.height}" role="img" aria-label="${escapeHtml(label)}">`;
}

const percent = (v: number): string => `${Number((v * 100).toPrecision(3))}%`;

export interface BarChartOptions {
  title: string;
  xTitle: string;
  /** Numeric bins: edges (bins + 1) label the x axis with round ticks; else every label is drawn. */
  edges?: readonly number[];
}

/** Side-by-side bars of reference and current shares per bin or category, with both axes. */
export function barChart(labels: readonly string[], reference: readonly number[], current: readonly number[], options: BarChartOptions): string {
  const shares = (counts: readonly number[]): number[] => {
    const total = counts.reduce((s, c) => s + c, 0);
    return counts.map((c) => (total > 0 ? c / total : 0));
  };
  const ref = shares(reference);
  const cur = shares(current);
  const categorical = options.edges === undefined;
  const longest = categorical ? Math.max(...labels.map((l) => Math.min(l.length, 18))) : 0;
  const frame: Frame = { width: 380, height: 150 + (categorical ? Math.min(90, longest * 5.2) : 12), left: 48, right: 10, top: 8, bottom: 34 + (categorical ? Math.min(90, longest * 5.2) : 0) };
  const plotWidth = frame.width - frame.left - frame.right;
  const max = Math.max(1e-9, ...ref, ...cur);
  const top = niceTicks(0, max, 4).at(-1)! >= max ? niceTicks(0, max, 4).at(-1)! : max;
  const y = yAxis(frame, top, 'share of rows', percent);
  const slot = plotWidth / Math.max(1, labels.length);
  const barWidth = Math.max(1, slot / 2 - 0.5);
  const base = frame.height - frame.bottom;
  const bars = labels.map((label, i) => {
    const x = frame.left + i * slot;
    const tip = `${escapeHtml(label)}: reference ${percent(ref[i]!)}, current ${percent(cur[i]!)}`;
    return (
      `<g><title>${tip}</title>` +
      `<rect x="${x.toFixed(2)}" y="${y.scale(ref[i]!).toFixed(2)}" width="${barWidth.toFixed(2)}" height="${(base - y.scale(ref[i]!)).toFixed(2)}" fill="${REFERENCE_COLOUR}"/>` +
      `<rect x="${(x + barWidth).toFixed(2)}" y="${y.scale(cur[i]!).toFixed(2)}" width="${barWidth.toFixed(2)}" height="${(base - y.scale(cur[i]!)).toFixed(2)}" fill="${CURRENT_COLOUR}"/></g>`
    );
  });
  const xParts = [`<g class="axis x"><line x1="${frame.left}" y1="${base}" x2="${frame.width - frame.right}" y2="${base}" stroke="#999"/>`];
  if (options.edges) {
    const edges = options.edges;
    const lo = edges[0]!;
    const hi = edges[edges.length - 1]!;
    const scale = (v: number): number => frame.left + ((v - lo) / (hi - lo || 1)) * plotWidth;
    for (const tick of niceTicks(lo, hi, 5)) {
      const x = scale(tick).toFixed(1);
      xParts.push(
        `<line class="tick" x1="${x}" y1="${base}" x2="${x}" y2="${base + 4}" stroke="#999"/>` +
          `<text class="tick-label" x="${x}" y="${base + 14}" font-size="10" fill="#555" text-anchor="middle">${escapeHtml(formatNumber(tick))}</text>`,
      );
    }
  } else {
    labels.forEach((label, i) => {
      const x = (frame.left + i * slot + slot / 2).toFixed(1);
      const shown = label.length > 18 ? `${label.slice(0, 17)}…` : label;
      xParts.push(
        `<line class="tick" x1="${x}" y1="${base}" x2="${x}" y2="${base + 4}" stroke="#999"/>` +
          `<text class="tick-label" transform="translate(${x} ${base + 10}) rotate(-45)" font-size="10" fill="#555" text-anchor="end">${escapeHtml(shown)}</text>`,
      );
    });
  }
  xParts.push(`<text class="axis-title" x="${(frame.left + plotWidth / 2).toFixed(1)}" y="${frame.height - 3}" font-size="10" fill="#333" text-anchor="middle">${escapeHtml(options.xTitle)}</text></g>`);
  return svgOpen(frame, options.title) + y.svg + bars.join('') + xParts.join('') + '</svg>';
}

export interface Series {
  name: string;
  /** [time in ms, value] points, in time order. */
  points: Array<[number, number]>;
}

/** A time series chart with a time x axis and a linear or log10 y axis; a legend names each line. */
export function lineChart(series: readonly Series[], options: { title: string; yTitle: string; log?: boolean; threshold?: number }): string {
  const frame: Frame = { width: 660, height: 240, left: 76, right: 140, top: 10, bottom: 40 };
  const transform = (v: number): number => (options.log ? Math.log10(Math.max(v, 1e-300)) : v);
  const values = series.flatMap((s) => s.points.map(([, v]) => transform(v)));
  const times = series.flatMap((s) => s.points.map(([t]) => t));
  if (options.threshold !== undefined) values.push(transform(options.threshold));
  let min = Math.min(...values, options.log ? 0 : 0);
  let max = Math.max(...values, options.log ? 0 : 1e-9);
  if (options.log) {
    min = Math.floor(min);
    max = Math.ceil(max);
  }
  if (!(max > min)) max = min + 1;
  const y = yAxis(frame, max, options.yTitle, (v) => formatNumber(options.log ? 10 ** v : v), min);
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const plotWidth = frame.width - frame.left - frame.right;
  const xScale = (t: number): number => frame.left + (t1 > t0 ? ((t - t0) / (t1 - t0)) * plotWidth : plotWidth / 2);
  const base = frame.height - frame.bottom;
  const xParts = [`<g class="axis x"><line x1="${frame.left}" y1="${base}" x2="${frame.width - frame.right}" y2="${base}" stroke="#999"/>`];
  const tickCount = Math.min(6, Math.max(1, new Set(times).size));
  for (let i = 0; i < tickCount; i++) {
    const t = tickCount === 1 ? t0 : t0 + ((t1 - t0) * i) / (tickCount - 1);
    const x = xScale(t).toFixed(1);
    const label = new Date(t).toISOString().slice(0, 16).replace('T', ' ');
    xParts.push(
      `<line class="tick" x1="${x}" y1="${base}" x2="${x}" y2="${base + 4}" stroke="#999"/>` +
        `<text class="tick-label" x="${x}" y="${base + 14}" font-size="9" fill="#555" text-anchor="middle">${label}</text>`,
    );
  }
  xParts.push(`<text class="axis-title" x="${(frame.left + plotWidth / 2).toFixed(1)}" y="${frame.height - 3}" font-size="10" fill="#333" text-anchor="middle">time of the check (UTC)</text></g>`);
  const lines = series.map((s, i) => {
    const colour = SERIES_COLOURS[i % SERIES_COLOURS.length]!;
    const path = s.points.map(([t, v], j) => `${j === 0 ? 'M' : 'L'}${xScale(t).toFixed(1)},${y.scale(transform(v)).toFixed(1)}`).join('');
    const dots = s.points.map(([t, v]) => `<circle cx="${xScale(t).toFixed(1)}" cy="${y.scale(transform(v)).toFixed(1)}" r="2.5" fill="${colour}"><title>${escapeHtml(s.name)} ${new Date(t).toISOString()}: ${formatNumber(v)}</title></circle>`).join('');
    const legendY = frame.top + 12 + i * 14;
    return (
      `<g class="series"><path d="${path}" fill="none" stroke="${colour}" stroke-width="1.5"/>${dots}` +
      `<rect x="${frame.width - frame.right + 10}" y="${legendY - 8}" width="10" height="10" fill="${colour}"/>` +
      `<text class="legend-label" x="${frame.width - frame.right + 24}" y="${legendY}" font-size="10" fill="#333">${escapeHtml(s.name.length > 18 ? `${s.name.slice(0, 17)}…` : s.name)}</text></g>`
    );
  });
  const threshold =
    options.threshold === undefined
      ? ''
      : `<line class="threshold" x1="${frame.left}" y1="${y.scale(transform(options.threshold)).toFixed(1)}" x2="${frame.width - frame.right}" y2="${y.scale(transform(options.threshold)).toFixed(1)}" stroke="#b00020" stroke-dasharray="4 3"><title>threshold ${options.threshold}</title></line>`;
  return svgOpen(frame, options.title) + y.svg + xParts.join('') + threshold + lines.join('') + '</svg>';
}

/** A few lines of inline script: click a header to sort its table by that column. */
export const SORTABLE_SCRIPT = `<script>
document.querySelectorAll('table.sortable th').forEach(function (th, index) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0];
    var ascending = th.getAttribute('aria-sort') !== 'ascending';
    th.closest('tr').querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
    var key = function (row) { var cell = row.cells[index]; var v = cell.getAttribute('data-v'); return v === null ? cell.textContent : Number(v); };
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      var order = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return ascending ? order : -order;
    }).forEach(function (row) { body.appendChild(row); });
  });
});
</script>`;
