// The HTML report as people see it: rendered by headless Chromium (apt-get install chromium),
// checked for what a reader needs, not pixels: both axes with ticks on every chart, every
// category labelled, the effect column, sorting by a click, the sample note. A screenshot is
// saved (.tmp/drift-report.png, gitignored) for a person to look at.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, mlops, tempDir } from '../support/cli.js';

const CHROMIUM = '/usr/bin/chromium';
const PARQUET = join(ROOT, 'test', 'fixtures', 'drift', 'parquet');
let dir: string;
let cleanup: () => Promise<void>;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  ({ dir, cleanup } = await tempDir('mlops-drift-browser-'));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});
afterAll(async () => {
  await browser?.close();
  await cleanup?.();
});

describe('drift report in a browser', () => {
  it('shows axes, ticks, every category, effect sizes, a sortable table and the sample note', async () => {
    const report = join(dir, 'report.html');
    const result = await mlops(
      ['drift-check', '--reference', join(PARQUET, 'ref-snappy.parquet'), '--current', join(PARQUET, 'cur-drifted.parquet'), '--max-rows', '1500', '--report', report],
      { cwd: dir },
    );
    expect(result.exitCode, result.stderr).toBe(1);
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const requests: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith('file:')) requests.push(request.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(pathToFileURL(report).href);

    const charts = await page.$$eval('svg', (svgs) =>
      svgs.map((svg) => ({
        label: svg.getAttribute('aria-label'),
        xTicks: svg.querySelectorAll('g.axis.x .tick').length,
        yTicks: svg.querySelectorAll('g.axis.y .tick').length,
        xLabels: [...svg.querySelectorAll('g.axis.x .tick-label')].map((t) => t.textContent),
        yLabels: [...svg.querySelectorAll('g.axis.y .tick-label')].map((t) => t.textContent),
        // Rendered, not just present: the labels take space on the page.
        labelWidths: [...svg.querySelectorAll('.tick-label')].map((t) => (t as unknown as { getBBox(): { width: number } }).getBBox().width),
      })),
    );
    expect(charts).toHaveLength(10);
    for (const chart of charts) {
      expect(chart.xTicks, chart.label!).toBeGreaterThanOrEqual(2);
      expect(chart.yTicks, chart.label!).toBeGreaterThanOrEqual(2);
      expect(chart.yLabels.every((l) => /%$/.test(l!))).toBe(true);
      expect(chart.labelWidths.every((w) => w > 0)).toBe(true);
    }
    const country = charts.find((c) => c.label === 'categories of country')!;
    expect([...country.xLabels].sort()).toEqual(['BR', 'DE', 'FR', 'IN', 'JP', 'US']);
    const level = charts.find((c) => c.label === 'categories of level')!;
    expect([...level.xLabels].sort()).toEqual(['1', '2', '3', '4']);

    const text = await page.textContent('body');
    expect(text).toContain('tested on a uniform sample of 1500 of 2000 rows');
    expect(text).toContain('Wasserstein distance between the two samples in reference standard deviations');

    // Sorting: a click on "effect" orders the rows by it, a second click reverses.
    const effects = async () => page.$$eval('table.sortable tbody tr', (rows) => rows.map((r) => Number(r.cells[6]!.getAttribute('data-v'))));
    await page.click('th:text-is("effect")');
    const ascending = await effects();
    expect(ascending).toEqual([...ascending].sort((a, b) => a - b));
    await page.click('th:text-is("effect")');
    const descending = await effects();
    expect(descending).toEqual([...ascending].reverse());
    const first = await page.textContent('table.sortable tbody tr:first-child td:first-child');
    expect(first).toBe('amount');

    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    const screenshot = join(ROOT, '.tmp', 'drift-report.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(statSync(screenshot).size).toBeGreaterThan(20_000);
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('draws the drift history trend with time and value axes and a legend per feature', async () => {
    const registry = join(dir, 'registry');
    const example = join(ROOT, 'examples', 'fraud');
    const run = (...args: string[]) => mlops(['--registry', registry, ...args], { cwd: dir });
    expect((await run('register', 'fraud', join(example, 'fraud-v1.onnx'), '--reference-data', join(example, 'reference.csv'))).exitCode).toBe(0);
    for (const current of ['current.csv', 'drifted.csv', 'current.csv']) await run('drift-check', 'fraud@v1.0.0', '--current', join(example, current), '--record');
    const trend = join(dir, 'trend.html');
    expect((await run('drift', 'history', 'fraud', '--report', trend)).exitCode).toBe(0);
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.goto(pathToFileURL(trend).href);
    const charts = await page.$$eval('svg', (svgs) =>
      svgs.map((svg) => ({
        xLabels: [...svg.querySelectorAll('g.axis.x .tick-label')].map((t) => t.textContent),
        yLabels: [...svg.querySelectorAll('g.axis.y .tick-label')].map((t) => t.textContent),
        legend: [...svg.querySelectorAll('.legend-label')].map((t) => t.textContent),
        points: svg.querySelectorAll('circle').length,
        threshold: svg.querySelectorAll('line.threshold').length,
      })),
    );
    expect(charts).toHaveLength(2);
    for (const chart of charts) {
      expect(chart.xLabels.length).toBeGreaterThanOrEqual(2);
      expect(chart.xLabels.every((l) => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/.test(l!))).toBe(true);
      expect(chart.yLabels.length).toBeGreaterThanOrEqual(2);
      expect(chart.legend).toContain('velocity');
      expect(chart.points).toBe(3 * 10);
    }
    expect(charts[0]!.threshold).toBe(1);
    await page.screenshot({ path: join(ROOT, '.tmp', 'drift-trend.png'), fullPage: true });
    await page.close();
  }, 120_000);
});
