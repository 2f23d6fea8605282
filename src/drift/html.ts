// renderHtmlReport: a DriftReport as one self-contained HTML page (inline CSS and SVG, a few
// lines of inline script to sort the table, no network): the verdict, the sample and other
// notes, a sortable per-feature table with an effect size, and reference-vs-current charts with
// both axes ticked and every category labelled.
import { CURRENT_COLOUR, REFERENCE_COLOUR, SORTABLE_SCRIPT, barChart, escapeHtml, formatNumber } from './svg.js';
import type { CategoricalHistogram, DriftReport, FeatureDrift, NumericHistogram } from './types.js';

function numericChart(feature: FeatureDrift, histogram: NumericHistogram): string {
  const labels = histogram.reference.map((_, i) => {
    const lo = histogram.edges[i]!;
    const hi = histogram.edges[i + 1]!;
    if (i === 0) return `≤ ${formatNumber(hi)}`;
    if (i === histogram.reference.length - 1) return `> ${formatNumber(lo)}`;
    return `${formatNumber(lo)} – ${formatNumber(hi)}`;
  });
  return barChart(labels, histogram.reference, histogram.current, {
    title: `histogram of ${feature.name}`,
    xTitle: `${feature.name} (end bins hold the outer 0.5% tails)`,
    edges: histogram.edges,
  });
}

function categoricalChart(feature: FeatureDrift, histogram: CategoricalHistogram): string {
  const labels = [...histogram.categories];
  const reference = [...histogram.reference];
  const current = [...histogram.current];
  if (histogram.otherReference + histogram.otherCurrent > 0) {
    labels.push('(other)');
    reference.push(histogram.otherReference);
    current.push(histogram.otherCurrent);
  }
  const top = histogram.otherReference + histogram.otherCurrent > 0 ? `top ${histogram.categories.length} categories + other` : 'category';
  return barChart(labels, reference, current, { title: `categories of ${feature.name}`, xTitle: `${feature.name}: ${top}` });
}

/** The effect size shown beside the p-value, in the units the header states. */
function effectOf(feature: FeatureDrift): { value: number; unit: string } {
  return feature.stats.kind === 'numeric'
    ? { value: feature.stats.wassersteinNormalized, unit: 'W/SD' }
    : { value: feature.stats.jensenShannon, unit: 'JS' };
}

function cell(text: string, sortValue?: number | null): string {
  const value = sortValue === undefined ? '' : ` data-v="${sortValue === null || !Number.isFinite(sortValue) ? -1 : sortValue}"`;
  return `<td class="num"${value}>${text}</td>`;
}

function featureRow(feature: FeatureDrift): string {
  const verdict = feature.drifted ? '<span class="bad">drift</span>' : feature.smallSample ? '<span class="warn">too few</span>' : '<span class="ok">ok</span>';
  const effect = effectOf(feature);
  const missing = feature.missingTest
    ? `${formatNumber(feature.missingTest.referenceShare * 100)}% → ${formatNumber(feature.missingTest.currentShare * 100)}%`
    : '–';
  return (
    `<tr${feature.drifted ? ' class="drifted"' : ''}>` +
    `<td><a href="#f-${encodeURIComponent(feature.name)}">${escapeHtml(feature.name)}</a></td>` +
    `<td>${feature.kind}</td><td>${feature.test}</td>` +
    cell(formatNumber(feature.statistic), feature.statistic) +
    cell(formatNumber(feature.pValue), feature.pValue) +
    cell(formatNumber(feature.adjustedPValue), feature.adjustedPValue) +
    cell(`${formatNumber(effect.value)} <span class="muted">${effect.unit}</span>`, effect.value) +
    cell(missing, feature.missingTest ? feature.missingTest.currentShare - feature.missingTest.referenceShare : 0) +
    `<td data-v="${feature.drifted ? 2 : feature.smallSample ? 1 : 0}">${verdict}</td>` +
    cell(`${feature.sampleSize.reference} / ${feature.sampleSize.current}`, Math.min(feature.sampleSize.reference, feature.sampleSize.current)) +
    cell(feature.stats.kind === 'numeric' ? formatNumber(feature.stats.meanShift) : '–', feature.stats.kind === 'numeric' ? feature.stats.meanShift : null) +
    cell(formatNumber(feature.stats.psi), feature.stats.psi) +
    `</tr>`
  );
}

function featureSection(feature: FeatureDrift): string {
  const chart = feature.histogram.kind === 'numeric' ? numericChart(feature, feature.histogram) : categoricalChart(feature, feature.histogram);
  const pValue = feature.pValue === null ? '' : `, p = ${formatNumber(feature.pValue)} (adjusted ${formatNumber(feature.adjustedPValue)})`;
  const effect = effectOf(feature);
  const missing =
    feature.missing.reference + feature.missing.current > 0
      ? `<p class="muted">missing values: ${feature.missing.reference} reference, ${feature.missing.current} current${
          feature.missingTest ? ` (two-proportion p = ${formatNumber(feature.missingTest.pValue)}, adjusted ${formatNumber(feature.missingTest.adjustedPValue)})` : ''
        }</p>`
      : '';
  const note = feature.note ? `<p class="muted">${escapeHtml(feature.note)}</p>` : '';
  const verdict = feature.drifted ? '<span class="bad">drift</span>' : feature.smallSample ? '<span class="warn">too few values</span>' : '<span class="ok">ok</span>';
  return (
    `<section class="feature" id="f-${encodeURIComponent(feature.name)}">` +
    `<h3>${escapeHtml(feature.name)} ${verdict}</h3>` +
    `<p>${feature.test} statistic ${formatNumber(feature.statistic)}${pValue}, threshold ${formatNumber(feature.threshold)}; effect ${formatNumber(effect.value)} ${effect.unit}</p>` +
    chart +
    missing +
    note +
    `</section>`
  );
}

function datasetLine(label: string, dataset: DriftReport['reference']): string {
  const shadow = dataset.shadowRowsSkipped > 0 ? `, ${dataset.shadowRowsSkipped} shadow rows skipped` : '';
  const sample = dataset.sampledRows < dataset.rows ? `; tested on a uniform sample of ${dataset.sampledRows} of ${dataset.rows} rows` : '';
  return `<li><b>${label}</b>: ${escapeHtml(dataset.description ? `${dataset.description} (${dataset.path})` : dataset.path)} (${dataset.format}${dataset.gzip ? ', gzip' : ''}), ${dataset.rows} rows${shadow}${sample}</li>`;
}

/** The whole report as a standalone HTML document. */
export function renderHtmlReport(report: DriftReport): string {
  const verdict = report.drift
    ? `<p class="verdict bad">Drift: ${report.summary.drifted} of ${report.summary.features} features drifted</p>`
    : `<p class="verdict ok">No drift: ${report.summary.drifted} of ${report.summary.features} features drifted</p>`;
  const style = `
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#222;max-width:1250px}
h1{font-size:1.4rem}h3{font-size:1rem;margin:.2rem 0}
.verdict{font-size:1.2rem;font-weight:600}.bad{color:#b00020}.ok{color:#1b7f3b}.warn{color:#a15c00}.muted{color:#666;font-size:.85rem}
table{border-collapse:collapse;font-size:.9rem}th,td{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}
th{cursor:pointer;user-select:none;white-space:nowrap}th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.drifted{background:#fff3f3}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}
.notes li{color:#444}.warnings li{color:#a15c00}
.features{display:flex;flex-wrap:wrap;gap:1.2rem}.feature{border:1px solid #eee;padding:.6rem;border-radius:4px}`;
  const list = (items: string[], kind: string, title: string): string =>
    items.length === 0 ? '' : `<div class="${kind}"><b>${title}</b><ul>${items.map((item) => `<li>${escapeHtml(item)}</li>`).join('')}</ul></div>`;
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
    list(report.warnings ?? [], 'warnings', 'Warnings'),
    list(report.notes ?? [], 'notes', 'Notes'),
    '<p class="muted">Effect: W/SD is the Wasserstein distance between the two samples in reference standard deviations (numbers); ' +
      'JS is the Jensen-Shannon distance, base 2, from 0 (same) to 1 (disjoint) (categories). Click a column header to sort.</p>',
    '<table class="sortable"><thead><tr><th>feature</th><th>type</th><th>test</th><th>statistic</th><th>p-value</th><th>adjusted p</th>' +
      '<th>effect</th><th>missing (ref → cur)</th><th>verdict</th><th>n (ref / cur)</th><th>mean shift (SD)</th><th>PSI</th></tr></thead><tbody>',
    ...report.features.map(featureRow),
    '</tbody></table>',
    `<h2>Distributions</h2><p class="legend">share of rows per bin:<span style="background:${REFERENCE_COLOUR}"></span>reference<span style="background:${CURRENT_COLOUR}"></span>current</p>`,
    `<div class="features">${report.features.map(featureSection).join('')}</div>`,
    SORTABLE_SCRIPT,
    '</body></html>',
    '',
  ].join('\n');
}
