// renderHtmlReport: a DriftReport as one self-contained HTML page (inline CSS and SVG, no
// scripts, no network): the verdict, the per-feature table and reference-vs-current histograms.
import type { CategoricalHistogram, DriftReport, FeatureDrift, NumericHistogram } from './types.js';

const REFERENCE_COLOUR = '#4c78a8';
const CURRENT_COLOUR = '#f58518';
const CHART_WIDTH = 360;
const CHART_HEIGHT = 140;
const MARGIN = { top: 8, right: 8, bottom: 22, left: 8 };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Numbers for people: 4 significant digits, exponent form for the very small p-values. */
function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs < 1e-4 || abs >= 1e6) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

function shares(counts: readonly number[]): number[] {
  const total = counts.reduce((s, c) => s + c, 0);
  return counts.map((c) => (total > 0 ? c / total : 0));
}

/** Side-by-side bars of the reference and current shares per bin (shares, so sizes may differ). */
function barChart(labels: string[], reference: number[], current: number[], title: string): string {
  const ref = shares(reference);
  const cur = shares(current);
  const max = Math.max(1e-12, ...ref, ...cur);
  const plotWidth = CHART_WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = CHART_HEIGHT - MARGIN.top - MARGIN.bottom;
  const slot = plotWidth / Math.max(1, labels.length);
  const barWidth = Math.max(1, slot / 2 - 0.5);
  const bars: string[] = [];
  labels.forEach((label, i) => {
    const x = MARGIN.left + i * slot;
    const rh = (ref[i]! / max) * plotHeight;
    const ch = (cur[i]! / max) * plotHeight;
    const tip = `${escapeHtml(label)}: reference ${(ref[i]! * 100).toFixed(1)}%, current ${(cur[i]! * 100).toFixed(1)}%`;
    bars.push(
      `<g><title>${tip}</title>` +
        `<rect x="${x.toFixed(2)}" y="${(MARGIN.top + plotHeight - rh).toFixed(2)}" width="${barWidth.toFixed(2)}" height="${rh.toFixed(2)}" fill="${REFERENCE_COLOUR}"/>` +
        `<rect x="${(x + barWidth).toFixed(2)}" y="${(MARGIN.top + plotHeight - ch).toFixed(2)}" width="${barWidth.toFixed(2)}" height="${ch.toFixed(2)}" fill="${CURRENT_COLOUR}"/></g>`,
    );
  });
  const axisY = MARGIN.top + plotHeight;
  const first = labels[0] ?? '';
  const last = labels[labels.length - 1] ?? '';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${CHART_WIDTH}" height="${CHART_HEIGHT}" viewBox="0 0 ${CHART_WIDTH} ${CHART_HEIGHT}" role="img" aria-label="${escapeHtml(title)}">` +
    bars.join('') +
    `<line x1="${MARGIN.left}" y1="${axisY}" x2="${CHART_WIDTH - MARGIN.right}" y2="${axisY}" stroke="#999"/>` +
    `<text x="${MARGIN.left}" y="${CHART_HEIGHT - 6}" font-size="10" fill="#555">${escapeHtml(first)}</text>` +
    `<text x="${CHART_WIDTH - MARGIN.right}" y="${CHART_HEIGHT - 6}" font-size="10" fill="#555" text-anchor="end">${escapeHtml(last)}</text>` +
    `</svg>`
  );
}

function numericChart(feature: FeatureDrift, histogram: NumericHistogram): string {
  const labels = histogram.reference.map((_, i) => {
    const lo = histogram.edges[i]!;
    const hi = histogram.edges[i + 1]!;
    if (i === 0) return `≤ ${formatNumber(hi)}`;
    if (i === histogram.reference.length - 1) return `> ${formatNumber(lo)}`;
    return `${formatNumber(lo)} – ${formatNumber(hi)}`;
  });
  return barChart(labels, histogram.reference, histogram.current, `histogram of ${feature.name}`);
}

function categoricalChart(feature: FeatureDrift, histogram: CategoricalHistogram): string {
  const labels = [...histogram.categories];
  const reference = [...histogram.reference];
  const current = [...histogram.current];
  if (histogram.otherReference + histogram.otherCurrent > 0) {
    labels.push('(other categories)');
    reference.push(histogram.otherReference);
    current.push(histogram.otherCurrent);
  }
  return barChart(labels, reference, current, `categories of ${feature.name}`);
}

function featureRow(feature: FeatureDrift): string {
  const verdict = feature.drifted ? '<span class="bad">drift</span>' : '<span class="ok">ok</span>';
  return (
    `<tr${feature.drifted ? ' class="drifted"' : ''}>` +
    `<td><a href="#f-${encodeURIComponent(feature.name)}">${escapeHtml(feature.name)}</a></td>` +
    `<td>${feature.kind}</td><td>${feature.test}</td>` +
    `<td class="num">${formatNumber(feature.statistic)}</td>` +
    `<td class="num">${formatNumber(feature.pValue)}</td>` +
    `<td class="num">${formatNumber(feature.adjustedPValue)}</td>` +
    `<td class="num">${formatNumber(feature.threshold)}</td>` +
    `<td>${verdict}</td>` +
    `<td class="num">${feature.sampleSize.reference} / ${feature.sampleSize.current}</td>` +
    `<td class="num">${feature.stats.kind === 'numeric' ? formatNumber(feature.stats.meanShift) : '–'}</td>` +
    `<td class="num">${formatNumber(feature.stats.psi)}</td>` +
    `</tr>`
  );
}

function featureSection(feature: FeatureDrift): string {
  const chart =
    feature.histogram.kind === 'numeric'
      ? numericChart(feature, feature.histogram)
      : categoricalChart(feature, feature.histogram);
  const pValue = feature.pValue === null ? '' : `, p = ${formatNumber(feature.pValue)} (adjusted ${formatNumber(feature.adjustedPValue)})`;
  const missing =
    feature.missing.reference + feature.missing.current > 0
      ? `<p class="muted">missing values: ${feature.missing.reference} reference, ${feature.missing.current} current</p>`
      : '';
  const note = feature.note ? `<p class="muted">${escapeHtml(feature.note)}</p>` : '';
  return (
    `<section class="feature" id="f-${encodeURIComponent(feature.name)}">` +
    `<h3>${escapeHtml(feature.name)} ${feature.drifted ? '<span class="bad">drift</span>' : '<span class="ok">ok</span>'}</h3>` +
    `<p>${feature.test} statistic ${formatNumber(feature.statistic)}${pValue}, threshold ${formatNumber(feature.threshold)}</p>` +
    chart +
    missing +
    note +
    `</section>`
  );
}

function datasetLine(label: string, dataset: DriftReport['reference']): string {
  const shadow = dataset.shadowRowsSkipped > 0 ? `, ${dataset.shadowRowsSkipped} shadow rows skipped` : '';
  return `<li><b>${label}</b>: ${escapeHtml(dataset.description ? `${dataset.description} (${dataset.path})` : dataset.path)} (${dataset.format}${dataset.gzip ? ', gzip' : ''}), ${dataset.rows} rows${shadow}</li>`;
}

/** The whole report as a standalone HTML document. */
export function renderHtmlReport(report: DriftReport): string {
  const verdict = report.drift
    ? `<p class="verdict bad">Drift: ${report.summary.drifted} of ${report.summary.features} features drifted</p>`
    : `<p class="verdict ok">No drift: ${report.summary.drifted} of ${report.summary.features} features drifted</p>`;
  const style = `
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222;max-width:1200px}
h1{font-size:1.4rem}h3{font-size:1rem;margin:.2rem 0}
.verdict{font-size:1.2rem;font-weight:600}.bad{color:#b00020}.ok{color:#1b7f3b}.muted{color:#666;font-size:.85rem}
table{border-collapse:collapse;font-size:.9rem}th,td{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.drifted{background:#fff3f3}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}
.features{display:flex;flex-wrap:wrap;gap:1.2rem}.feature{border:1px solid #eee;padding:.6rem;border-radius:4px}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Drift report: ${escapeHtml(report.current.path)}</title>`,
    `<style>${style}</style></head><body>`,
    '<h1>Data drift report</h1>',
    verdict,
    `<p>${escapeHtml(report.rule.description)}.</p>`,
    `<ul>${datasetLine('Reference', report.reference)}${datasetLine('Current', report.current)}</ul>`,
    '<table><thead><tr><th>feature</th><th>type</th><th>test</th><th>statistic</th><th>p-value</th><th>adjusted p</th>' +
      '<th>threshold</th><th>verdict</th><th>n (ref / cur)</th><th>mean shift (SD)</th><th>PSI</th></tr></thead><tbody>',
    ...report.features.map(featureRow),
    '</tbody></table>',
    `<h2>Distributions</h2><p class="legend">shares per bin:<span style="background:${REFERENCE_COLOUR}"></span>reference<span style="background:${CURRENT_COLOUR}"></span>current</p>`,
    `<div class="features">${report.features.map(featureSection).join('')}</div>`,
    '</body></html>',
    '',
  ].join('\n');
}
