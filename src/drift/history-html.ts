// The drift history of a model as one self-contained HTML page: per-feature p-value (log scale,
// with the threshold) and effect over time as line charts, and the runs as a sortable table.
import type { History } from './history.js';
import { SORTABLE_SCRIPT, escapeHtml, formatNumber, lineChart, type Series } from './svg.js';

export function renderHistoryHtml(history: History, threshold = 0.01): string {
  const names = [...new Set(history.records.flatMap((r) => r.features.map((f) => f.name)))];
  const series = (pick: (f: History['records'][number]['features'][number]) => number | null): Series[] =>
    names.map((name) => ({
      name,
      points: history.records.flatMap((r) => {
        const feature = r.features.find((f) => f.name === name);
        const value = feature ? pick(feature) : null;
        return value === null ? [] : [[Date.parse(r.time), value] as [number, number]];
      }),
    }));
  const empty = history.records.length === 0;
  const pChart = empty ? '<p>No recorded checks in this period.</p>' : lineChart(series((f) => f.adjustedPValue ?? f.pValue), { title: 'adjusted p-value over time', yTitle: 'adjusted p-value (log10)', log: true, threshold });
  const effectChart = empty ? '' : lineChart(series((f) => f.effect), { title: 'effect over time', yTitle: 'effect (W/SD or JS)' });
  const rows = history.records.map((r) => {
    const drifted = r.features.filter((f) => f.drifted).map((f) => f.name);
    return (
      `<tr${r.drift ? ' class="drifted"' : ''}><td data-v="${Date.parse(r.time)}">${escapeHtml(r.time)}</td><td>${escapeHtml(r.version ?? '–')}</td>` +
      `<td data-v="${r.drift ? 1 : 0}">${r.drift ? '<span class="bad">drift</span>' : '<span class="ok">ok</span>'}</td>` +
      `<td>${escapeHtml(drifted.join(', ') || '–')}</td><td class="num" data-v="${r.current.rows}">${r.current.rows}</td>` +
      `<td class="num" data-v="${Math.min(...r.features.map((f) => f.adjustedPValue ?? 1))}">${formatNumber(Math.min(...r.features.map((f) => f.adjustedPValue ?? 1)))}</td></tr>`
    );
  });
  const style = `body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}.bad{color:#b00020}.ok{color:#1b7f3b}
table{border-collapse:collapse;font-size:.9rem}th,td{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}th{cursor:pointer}
td.num{text-align:right}tr.drifted{background:#fff3f3}.muted{color:#666;font-size:.85rem}`;
  const skipped = history.skipped.length
    ? `<p class="muted">${history.skipped.length} record file(s) skipped: ${history.skipped.map((s) => escapeHtml(`${s.file} (${s.reason})`)).join('; ')}</p>`
    : '';
  return [
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
    `<title>Drift history: ${escapeHtml(history.model)}</title><style>${style}</style></head><body>`,
    `<h1>Drift history of ${escapeHtml(history.model)}</h1>`,
    `<p>${history.records.length} recorded checks${history.records.length ? `, ${escapeHtml(history.records[0]!.time)} to ${escapeHtml(history.records.at(-1)!.time)}` : ''}.</p>`,
    skipped,
    '<h2>Adjusted p-value per feature</h2><p class="muted">Lower is stronger evidence of drift; the dashed line is the threshold.</p>',
    pChart,
    '<h2>Effect per feature</h2><p class="muted">W/SD: Wasserstein distance in reference standard deviations (numbers); JS: Jensen-Shannon distance, base 2, 0 to 1 (categories).</p>',
    effectChart,
    '<h2>Checks</h2><table class="sortable"><thead><tr><th>time</th><th>version</th><th>verdict</th><th>drifted features</th><th>current rows</th><th>lowest adjusted p</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
    SORTABLE_SCRIPT,
    '</body></html>',
    '',
  ].join('\n');
}
