// `mlops ui` in a real browser: Debian's Chromium driven by playwright-core, against a
// registry made through the built CLI (register, promote, rollback, drift-check). Clicks
// from the model list to a version, to a comparison, to the drift charts; saves the
// screenshots the README shows (docs/screenshots/).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from '../../src/registry/registry.js';
import { timeKey } from '../../src/registry/records.js';
import { BIN, EXAMPLE, ROOT, expectCleanError, mlops, tempDir } from '../support/cli.js';
import { browserSkipReason, launchBrowser, type TestBrowser } from '../support/browser.js';

const SHOTS = join(ROOT, 'docs', 'screenshots');
const HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';
const skip = browserSkipReason();

let dir: string;
let cleanup: () => Promise<void>;
let registry: string;

async function cli(...args: string[]): Promise<string> {
  const result = await mlops(['--registry', registry, ...args], { cwd: dir });
  if (result.exitCode !== 0 && !args.includes('drift-check')) throw new Error(`mlops ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

interface Ui {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  stop(): Promise<number | null>;
}

/** Start `mlops ui --port 0` and wait for its listening line. */
async function startUi(args: string[] = [], env: Record<string, string> = {}): Promise<Ui> {
  const child = spawn(process.execPath, [BIN, '--registry', registry, 'ui', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', CI: '1', ...env } });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line:\n${stderr}`)), 30_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => reject(new Error(`mlops ui exited ${code}:\n${stderr}`)));
  });
  return {
    url,
    child,
    stderr: () => stderr,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A drift check as `drift-check --record` writes it: models/<name>/drift/<ISO time>-<random>.json. */
async function recordDriftCheck(at: Date, current: string, wrap: boolean): Promise<void> {
  const out = await cli('drift-check', 'fraud@v1.0.0', '--current', join(EXAMPLE, current), '--json');
  const report = JSON.parse(out) as Record<string, unknown>;
  const key = timeKey('models/fraud/drift', at, randomBytes(4).toString('hex'), 'json');
  await mkdir(join(registry, 'models', 'fraud', 'drift'), { recursive: true });
  await writeFile(join(registry, key), JSON.stringify(wrap ? { at: at.toISOString(), model: 'fraud', version: 'v1.0.0', report } : report));
}

let ui: Ui;
let browser: TestBrowser;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('mlops-ui-'));
  registry = join(dir, 'registry');
  if (skip) return;
  const v1 = join(EXAMPLE, 'fraud-v1.onnx');
  const v2 = join(EXAMPLE, 'fraud-v2.onnx');
  await cli('register', 'fraud', v1, '--metrics-file', join(EXAMPLE, 'metrics-v1.json'), '--tag', 'team=risk', '--description', 'baseline logistic model', '--reference-data', join(EXAMPLE, 'reference.csv'));
  await cli('register', 'fraud', v2, '--metrics-file', join(EXAMPLE, 'metrics-v2.json'), '--tag', 'team=risk');
  await cli('register', 'fraud', v2, '--version', 'v1.1.0', '--metric', 'accuracy=0.91', '--metric', 'f1_score=0.58', '--metric', 'auc_roc=0.9', '--tag', 'team=risk', '--tag', `note=${HOSTILE}`, '--description', HOSTILE);
  await cli('promote', 'fraud', 'v1.0.0', '--to', 'production');
  await cli('promote', 'fraud', 'v1.1.0', '--to', 'production');
  await cli('rollback', 'fraud');
  await cli('register', 'churn', v1, '--metric', 'accuracy=0.8', '--tag', 'team=growth');
  // Three recorded checks a day apart: two in the wrapped shape, one a bare report.
  const day = 24 * 3600_000;
  const t0 = Date.now() - 3 * day;
  await recordDriftCheck(new Date(t0), 'current.csv', true);
  await recordDriftCheck(new Date(t0 + day), 'current.csv', false);
  await recordDriftCheck(new Date(t0 + 2 * day), 'drifted.csv', true);
  // A deployment as `mlops deploy` records it (the real one needs docker and a cluster).
  const reg = await Registry.open(registry);
  await reg.recordDeployment({ at: new Date().toISOString(), by: 'tester', model: 'fraud', version: 'v1.0.0', image: 'registry.local/fraud@sha256:abc', color: 'blue', namespace: 'prod', outcome: 'succeeded' });
  ui = await startUi();
  browser = await launchBrowser();
  await mkdir(SHOTS, { recursive: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await ui?.stop();
  await cleanup();
});

describe.skipIf(skip !== undefined)(`mlops ui in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('the models page lists each model with production version, metrics, last change, deployment and drift; filters by name and tag', async () => {
    const page = await browser.context.newPage();
    const response = await page.goto(ui.url);
    expect(response?.status()).toBe(200);
    const fraud = page.locator('#models tr', { hasText: 'fraud' });
    await expect(fraud.innerText()).resolves.toMatch(/v1\.0\.0/);
    const text = await fraud.innerText();
    expect(text).toMatch(/accuracy 0\.8614/);
    expect(text).toMatch(/team=risk/);
    expect(text).toMatch(/rolled back v1\.0\.0 to production/);
    expect(text).toMatch(/v1\.0\.0 succeeded/);
    expect(text).toMatch(/drift/);
    expect(await page.locator('#models tr', { hasText: 'churn' }).innerText()).toMatch(/none/);
    await page.screenshot({ path: join(SHOTS, 'models.png'), fullPage: true });

    await page.fill('input[name=tag]', 'team=growth');
    await page.click('text=Filter');
    await page.waitForURL(/tag=team%3Dgrowth/);
    expect(await page.locator('#models tbody tr').count()).toBe(1);
    expect(await page.locator('#models tbody').innerText()).toMatch(/churn/);
    await page.goto(`${ui.url}/?q=fra`);
    expect(await page.locator('#models tbody tr').count()).toBe(1);
    await page.goto(`${ui.url}/?q=nothing-like-this`);
    expect(await page.locator('.empty').innerText()).toMatch(/No model matches/);
    await page.close();
  });

  it('clicks from the list to a model, sorts its versions, and on to a version with its signature, reference data and deployments', async () => {
    const page = await browser.context.newPage();
    await page.goto(ui.url);
    await page.click('#models a:text-is("fraud")');
    await page.waitForURL(/\/models\/fraud$/);
    const versions = () => page.locator('#versions tbody tr td:nth-child(2)').allInnerTexts();
    expect(await versions()).toEqual(['v1.1.0', 'v1.0.1', 'v1.0.0']);
    expect(await page.locator('#versions').innerText()).toMatch(/production[\s\S]*archived|archived[\s\S]*production/);
    expect(await page.locator('ol.timeline').innerText()).toMatch(/rollback[\s\S]*promote[\s\S]*register/);
    await page.screenshot({ path: join(SHOTS, 'model.png'), fullPage: true });
    await page.click('#versions th a:text("auc_roc")');
    await page.waitForURL(/sort=metric%3Aauc_roc&order=desc/);
    expect(await versions()).toEqual(['v1.1.0', 'v1.0.0', 'v1.0.1']);
    await page.click('#versions th a:text("auc_roc")');
    await page.waitForURL(/sort=metric%3Aauc_roc&order=asc/);
    expect(await versions()).toEqual(['v1.0.1', 'v1.0.0', 'v1.1.0']);

    await page.click('#versions a:text-is("v1.0.0")');
    await page.waitForURL(/\/models\/fraud\/versions\/v1\.0\.0$/);
    expect(await page.locator('h1').innerText()).toMatch(/fraud v1\.0\.0 production/);
    expect(await page.locator('table.signature').first().innerText()).toMatch(/features\s+float32\s+\[batch, 10\]/);
    expect(await page.locator('table.signature').nth(1).innerText()).toMatch(/probabilities/);
    expect(await page.locator('table.reference').innerText()).toMatch(/merchant_risk/);
    expect(await page.locator('dl.fields').innerText()).toMatch(/baseline logistic model/);
    expect(await page.locator('body').innerText()).toMatch(/registry\.local\/fraud@sha256:abc/);
    await page.screenshot({ path: join(SHOTS, 'version.png'), fullPage: true });
    await page.close();
  });

  it('compares versions picked on the model page: differences and one chart per metric', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${ui.url}/models/fraud`);
    expect(await page.locator('#compare-button').isDisabled()).toBe(true);
    for (const v of ['v1.0.0', 'v1.0.1', 'v1.1.0']) await page.check(`input[value="${v}"]`);
    await page.click('#compare-button');
    await page.waitForURL(/\/models\/fraud\/compare\?v=/);
    const table = await page.locator('#compare').innerText();
    expect(table).toMatch(/accuracy\s+0\.8614\s+0\.8748\s+\+0\.0134\s+0\.91\s+\+0\.0486/);
    const charts = page.locator('figure.metric-chart svg');
    expect(await charts.count()).toBeGreaterThanOrEqual(3);
    expect(await page.locator('figure.metric-chart', { hasText: 'accuracy' }).locator('circle.point').count()).toBe(3);
    await page.screenshot({ path: join(SHOTS, 'compare.png'), fullPage: true });
    await page.close();
  });

  it('shows the recorded drift checks over time with a p-value and an effect-size chart per feature', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${ui.url}/models/fraud`);
    await page.click('a:text-is("drift")');
    await page.waitForURL(/\/models\/fraud\/drift$/);
    expect(await page.locator('body').innerText()).toMatch(/3 recorded checks/);
    const checks = await page.locator('#checks tbody tr').allInnerTexts();
    expect(checks[0]).toMatch(/drift/);
    expect(checks[2]).toMatch(/no drift/);
    const features = page.locator('.features section.feature');
    expect(await features.count()).toBe(10);
    expect(await page.locator('figure.pvalue-chart svg').count()).toBe(10);
    expect(await page.locator('figure.effect-chart svg').count()).toBe(10);
    expect(await page.locator('figure.pvalue-chart').first().locator('circle.point').count()).toBe(3);
    // The drifted check of a drifted feature is marked on both charts; the alpha line is drawn.
    const amount = page.locator('section.feature').filter({ has: page.locator('h3', { hasText: /^amount$/ }) });
    expect(await amount.locator('circle.marked').count()).toBe(2);
    expect(await amount.locator('figure.pvalue-chart line.threshold').count()).toBe(1);
    const foreign = page.locator('section.feature').filter({ has: page.locator('h3', { hasText: /^foreign$/ }) });
    expect(await foreign.locator('circle.marked').count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, 'drift.png'), fullPage: true });
    await page.goto(`${ui.url}/models/churn/drift`);
    expect(await page.locator('.empty').innerText()).toMatch(/No recorded checks/);
    await page.close();
  });

  it('says when no experiment runs', async () => {
    const page = await browser.context.newPage();
    await page.goto(ui.url);
    await page.click('header a:text("Experiments")');
    expect(await page.locator('.empty').innerText()).toMatch(/No experiment is running/);
    await page.close();
  });

  it('escapes a hostile tag and description: shown as text, never run', async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    for (const path of ['/models/fraud/versions/v1.1.0', '/models/fraud', '/', '/models/fraud/compare?v=v1.1.0&v=v1.0.0']) {
      await page.goto(`${ui.url}${path}`);
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    }
    await page.goto(`${ui.url}/models/fraud/versions/v1.1.0`);
    expect(await page.locator('dl.fields').innerText()).toContain(HOSTILE);
    expect(await page.locator('dl.fields script, dl.fields img').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe.skipIf(skip !== undefined)('mlops ui over HTTP', () => {
  it('every page has a JSON twin', async () => {
    const get = async (path: string) => {
      const r = await fetch(`${ui.url}${path}`, { headers: { accept: 'application/json' } });
      expect(r.headers.get('content-type')).toBe('application/json');
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    expect((await get('/')).body.models).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'fraud', production: expect.objectContaining({ version: 'v1.0.0' }) })]));
    expect((await get('/models/fraud')).body).toMatchObject({ name: 'fraud', total: 3, production: 'v1.0.0' });
    expect((await get('/models/fraud/versions/v1.1.0')).body).toMatchObject({ record: { version: 'v1.1.0', status: 'archived', tags: { note: HOSTILE } } });
    expect((await get('/models/fraud/compare?versions=v1.0.0,v1.1.0')).body).toMatchObject({ versions: [{ version: 'v1.0.0' }, { version: 'v1.1.0' }] });
    expect(((await get('/models/fraud/drift')).body.checks as unknown[]).length).toBe(3);
    expect((await get('/experiments')).body).toEqual({ experiments: [] });
    expect(await get('/models/nope')).toMatchObject({ status: 404, body: { error: { code: 'model_not_found' } } });
  });

  it.each([
    ['/models/nope', 404],
    ['/models/NOPE', 404],
    ['/models/fraud/versions/v9.9.9', 404],
    ['/models/fraud/versions/latest', 404],
    ['/models/nope/versions/v1.0.0', 404],
    ['/models/nope/drift', 404],
    ['/models/..%2f..%2fetc/versions/v1.0.0', 404],
    ['/models/fraud/versions/..%2f..%2fstate', 404],
    ['/models/fraud/compare?v=v1.0.0', 400],
    ['/models/fraud/compare?v=a&v=b&v=c&v=d&v=e&v=f', 400],
    ['/models/fraud/compare?v=v1.0.0&v=v7.0.0', 404],
    ['/models/fraud?sort=%3Cscript%3E&page=999999999', 200],
    ['/%E0%A4%A', 400],
    ['/models/fraud/versions/v1.0.0%00', 400],
    ['/assets/../etc/passwd', 404],
    ['/nothing/here', 404],
  ])('GET %s answers %i, never 500', async (path, status) => {
    const r = await fetch(`${ui.url}${path}`);
    expect(r.status).toBe(status);
    expect(await r.text()).not.toMatch(/internal error|\n\s+at /);
  });

  it('is read-only: other methods get 405', async () => {
    const r = await fetch(`${ui.url}/models/fraud`, { method: 'POST', body: 'x' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, HEAD');
  });

  it('serves its own script and style, and forbids anything else by CSP', async () => {
    const r = await fetch(`${ui.url}/models/fraud`);
    const html = await r.text();
    expect(r.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(html).not.toMatch(/https?:\/\//);
    expect((await fetch(`${ui.url}/assets/ui.js`)).status).toBe(200);
    expect((await fetch(`${ui.url}/assets/ui.css`)).status).toBe(200);
  });

  it('a corrupt drift record is skipped; a hand-edited state gives a 4xx page, not a crash', async () => {
    await writeFile(join(registry, 'models', 'churn', 'drift.txt'), 'x').catch(() => undefined);
    await mkdir(join(registry, 'models', 'churn', 'drift'), { recursive: true });
    await writeFile(join(registry, 'models', 'churn', 'drift', '20260101T000000000Z-0000.json'), '{not json');
    expect((await fetch(`${ui.url}/models/churn/drift`)).status).toBe(200);
    await writeFile(join(registry, 'models', 'churn', 'state.yaml'), 'format: 2\nname: churn\nproduction: ../../etc\n');
    const r = await fetch(`${ui.url}/models/churn`);
    expect(r.status).toBe(422);
    expect(await r.text()).toMatch(/edited by hand/);
    const list = await fetch(ui.url);
    expect(list.status).toBe(200);
    expect(await list.text()).toMatch(/churn[\s\S]*production &#39;\.\.\/\.\.\/etc&#39; is not a version/);
  });
});

describe.skipIf(skip !== undefined)('mlops ui access token', () => {
  it('refuses to bind beyond loopback without a token', async () => {
    const result = await mlops(['--registry', registry, 'ui', '--host', '0.0.0.0', '--port', '0']);
    expect(result.exitCode).toBe(2);
    expect(expectCleanError(result)).toMatch(/beyond loopback/);
    const unset = await mlops(['--registry', registry, 'ui', '--auth-token-env', 'NO_SUCH_VAR_FOR_UI', '--port', '0']);
    expect(unset.exitCode).toBe(2);
    expect(expectCleanError(unset)).toMatch(/NO_SUCH_VAR_FOR_UI/);
  });

  it('with --auth-token-env: 401 without it, bearer works, ?token= sets a cookie the browser keeps', async () => {
    const token = randomBytes(12).toString('hex');
    const secured = await startUi(['--host', '0.0.0.0', '--auth-token-env', 'UI_TEST_TOKEN'], { UI_TEST_TOKEN: token });
    try {
      const url = secured.url.replace('0.0.0.0', '127.0.0.1');
      expect((await fetch(`${url}/models/fraud`)).status).toBe(401);
      expect((await fetch(`${url}/models/fraud`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await fetch(`${url}/models/fraud?token=wrong`)).status).toBe(401);
      expect((await fetch(`${url}/models/fraud`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      const page = await browser.context.newPage();
      await page.goto(`${url}/models/fraud?token=${token}`);
      expect(page.url()).toBe(`${url}/models/fraud`);
      expect(await page.locator('h1').innerText()).toBe('fraud');
      await page.click('#versions a:text-is("v1.0.0")');
      expect(await page.locator('h1').innerText()).toMatch(/fraud v1\.0\.0/);
      await page.close();
    } finally {
      expect(await secured.stop()).toBe(0);
    }
  });
});

describe.skipIf(skip !== undefined)('mlops ui while the registry changes', () => {
  it('start-up errors are one line with a documented exit code', async () => {
    const missing = await mlops(['--registry', join(dir, 'no-registry-here'), 'ui', '--port', '0']);
    expect(missing.exitCode).toBe(3);
    expect(expectCleanError(missing)).toMatch(/no registry/);
    const port = new URL(ui.url).port;
    const taken = await mlops(['--registry', registry, 'ui', '--port', port]);
    expect(taken.exitCode).toBe(2);
    expect(expectCleanError(taken)).toMatch(new RegExp(`port ${port} .* in use`));
  });

  it('pages follow registrations and promotions made while it runs, under concurrent requests', async () => {
    const model = async () => (await (await fetch(`${ui.url}/models/fraud`, { headers: { accept: 'application/json' } })).json()) as { total: number; production: string; versions: Array<{ version: string; status: string }> };
    expect((await model()).total).toBe(3); // warm: the records are in memory now
    const statuses: number[] = [];
    let writing = true;
    const load = (async () => {
      while (writing) {
        const rs = await Promise.all(['/', '/models/fraud', '/models/fraud/versions/v1.0.0', '/models/fraud/drift'].map((p) => fetch(`${ui.url}${p}`)));
        for (const r of rs) {
          statuses.push(r.status);
          await r.arrayBuffer();
        }
      }
    })();
    await cli('register', 'fraud', join(EXAMPLE, 'fraud-v2.onnx'), '--version', 'v1.2.0', '--metric', 'accuracy=0.95');
    let after = await model();
    expect(after.total).toBe(4);
    expect(after.versions[0]).toMatchObject({ version: 'v1.2.0', status: 'staging' });
    await cli('promote', 'fraud', 'v1.2.0', '--to', 'production');
    writing = false;
    await load;
    after = await model();
    expect(after.production).toBe('v1.2.0');
    expect(after.versions.find((v) => v.version === 'v1.0.0')?.status).toBe('archived');
    const list = (await (await fetch(ui.url, { headers: { accept: 'application/json' } })).json()) as { models: Array<{ name: string; production: { version: string } | null; last_change: { what: string } }> };
    expect(list.models.find((m) => m.name === 'fraud')).toMatchObject({ production: { version: 'v1.2.0' }, last_change: { what: 'promoted v1.2.0 to production' } });
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });
});
