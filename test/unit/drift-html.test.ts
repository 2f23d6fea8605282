// renderHtmlReport: a self-contained page (no scripts, no network) with the table and one
// histogram per feature, built from a real DriftReport.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDrift, renderHtmlReport, type DriftReport } from '../../src/drift/index.ts';
import { normalSampler, normalTable, seededRandom, toCsv } from '../fixtures/drift/data.ts';

let dir: string;
let report: DriftReport;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mlops-drift-html-'));
  const normal = normalSampler(seededRandom(8));
  const random = seededRandom(9);
  const header = ['amount', 'age <years>', 'plan'];
  const rows = (n: number, shift: number) =>
    normalTable(normal, n, 2, { 1: shift }).map((row) => [...row, random() < 0.3 + shift / 4 ? 'premium' : 'basic']);
  const reference = join(dir, 'reference.csv');
  const current = join(dir, 'current.csv');
  writeFileSync(reference, toCsv(header, rows(2000, 0)));
  writeFileSync(current, toCsv(header, rows(2000, 0.6)));
  report = await checkDrift({ reference, current });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('renderHtmlReport', () => {
  it('renders one standalone document with the verdict and a row per feature', () => {
    const html = renderHtmlReport(report);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('</html>');
    expect(html).toContain(report.drift ? 'Drift:' : 'No drift:');
    expect(html.match(/<tr[ >]/g)).toHaveLength(report.features.length + 1);
    expect(html).toContain(report.rule.description.replace(/</g, '&lt;').replace(/>/g, '&gt;'));
  });

  it('draws an inline SVG histogram per feature with bars for both samples', () => {
    const html = renderHtmlReport(report);
    expect(html.match(/<svg /g)).toHaveLength(report.features.length);
    const numeric = report.features.find((f) => f.name === 'amount')!;
    expect(numeric.histogram.kind).toBe('numeric');
    const bars = html.match(/<rect /g)!.length;
    // Numeric features: two bars per bin; the categorical one: two per category.
    expect(bars).toBe(2 * (30 + 30 + 2));
    expect(html).toContain('fill="#4c78a8"');
    expect(html).toContain('fill="#f58518"');
  });

  it('needs no network: one inline script (table sorting), no external resources', () => {
    const html = renderHtmlReport(report);
    expect(html).not.toMatch(/<script[^>]*src|<link|<img|@import|url\(|fetch\(|XMLHttpRequest/i);
    expect(html.match(/<script/g)).toHaveLength(1);
    const urls = html.match(/https?:\/\/[^"' )]+/g) ?? [];
    expect(urls.every((url) => url === 'http://www.w3.org/2000/svg')).toBe(true);
  });

  it('escapes names from the data', () => {
    const html = renderHtmlReport(report);
    expect(html).toContain('age &lt;years&gt;');
    expect(html).not.toContain('age <years>');
  });

  it('keeps what it draws in the report itself (histogram counts add up to the sample sizes)', () => {
    for (const feature of report.features) {
      const histogram = feature.histogram;
      const sum = (values: number[]): number => values.reduce((s, v) => s + v, 0);
      const other = histogram.kind === 'categorical' ? histogram.otherReference : 0;
      expect(sum(histogram.reference) + other).toBe(feature.sampleSize.reference);
    }
  });

  it('ticks both axes of every chart, labels every category, and has an effect column and sortable headers', () => {
    const html = renderHtmlReport(report);
    const charts = html.match(/<svg [\s\S]*?<\/svg>/g)!;
    expect(charts).toHaveLength(report.features.length);
    for (const chart of charts) {
      expect(chart).toMatch(/<g class="axis x">/);
      expect(chart).toMatch(/<g class="axis y">/);
      expect((chart.match(/class="tick-label"/g) ?? []).length).toBeGreaterThanOrEqual(5);
      expect(chart).toContain('share of rows');
    }
    for (const feature of report.features) {
      if (feature.histogram.kind !== 'categorical') continue;
      for (const category of feature.histogram.categories) expect(html).toContain(`>${category.length > 18 ? category.slice(0, 17) + '…' : category}</text>`);
    }
    expect(html).toMatch(/<th>effect<\/th>/);
    expect(html).toMatch(/Wasserstein distance between the two samples in reference standard deviations/);
    expect(html).toMatch(/<table class="sortable">/);
  });
});
