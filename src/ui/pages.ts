// The pages: each takes the data of its JSON twin (data.ts) and returns a whole HTML document.
import { formatShape } from '../model/signature.js';
import type { AuditEntry } from '../registry/types.js';
import type { comparePage, driftPage, experimentsPage, modelPage, modelsPage, versionPage } from './data.js';
import { keyMetricNames } from './data.js';
import { bytes, esc, fmt, fmtSigned, lineChart, page, seg, statusBadge, table, when } from './html.js';

type Data<F extends (...args: never[]) => unknown> = Awaited<ReturnType<F>>;

const modelLink = (name: string) => `<a href="/models/${seg(name)}">${esc(name)}</a>`;
const versionLink = (name: string, version: string) => `<a href="/models/${seg(name)}/versions/${seg(version)}">${esc(version)}</a>`;
const crumbs = (...parts: string[]) => ['<a href="/">Models</a>', ...parts].join(' / ');
const kv = (pairs: Record<string, string>) => Object.entries(pairs).map(([k, v]) => `<span class="tag">${esc(k)}${v === '' ? '' : `=${esc(v)}`}</span>`).join(' ');
const aliasChips = (aliases: string[]) => aliases.map((a) => `<span class="tag alias">@${esc(a)}</span>`).join(' ');

export function renderModels(data: Data<typeof modelsPage>): string {
  const rows = data.models.map((m) => {
    const metrics = m.production ? keyMetricNames(m.production.metrics).map((k) => `${esc(k)} ${esc(fmt(m.production!.metrics[k]))}`).join('<br>') : '';
    const aliases = Object.entries(m.aliases).map(([a, v]) => `<span class="tag alias">@${esc(a)}→${esc(v)}</span>`).join(' ');
    const drift = m.drift ? `${m.drift.drift === true ? '<span class="bad">drift</span>' : m.drift.drift === false ? '<span class="ok">no drift</span>' : 'unknown'} ${when(m.drift.at)}` : '<span class="muted">no recorded checks</span>';
    const deploy = m.last_deployment ? `${esc(m.last_deployment.version)} ${esc(m.last_deployment.outcome)} ${when(m.last_deployment.at)}` : '<span class="muted">never</span>';
    return [
      `${modelLink(m.name)}<div class="muted">${m.error ? `<span class="error">${esc(m.error)}</span>` : `${m.versions} version${m.versions === 1 ? '' : 's'}`}</div>`,
      m.production ? `${versionLink(m.name, m.production.version)} ${statusBadge('production')}` : '<span class="muted">none</span>',
      metrics,
      aliases,
      kv(m.tags),
      m.last_change ? `${esc(m.last_change.what)}<div class="muted">${when(m.last_change.at)} by ${esc(m.last_change.by)}</div>` : '',
      deploy,
      `<a href="/models/${seg(m.name)}/drift">${drift}</a>`,
    ];
  });
  const form =
    `<form class="filter" method="get" action="/"><label>name <input name="q" value="${esc(data.filter.q ?? '')}" placeholder="fraud"></label>` +
    `<label>tag <input name="tag" value="${esc(data.filter.tag ?? '')}" placeholder="team=risk"></label><button>Filter</button>` +
    (data.filter.q || data.filter.tag ? ' <a href="/">clear</a>' : '') +
    '</form>';
  const body = data.models.length
    ? table(['model', 'production', 'key metrics', 'aliases', 'tags', 'last change', 'last deployment', 'drift'], rows, 'id="models"')
    : `<p class="empty">${data.filter.q || data.filter.tag ? 'No model matches the filter.' : 'No models yet: register one with <code>mlops register NAME MODEL.onnx</code>.'}</p>`;
  return page({ title: 'Models', body: `<h1>Models</h1><p class="muted">registry ${esc(data.registry)}</p>${form}${body}` });
}

function timelineItem(e: AuditEntry): string {
  const extra = Object.entries(e)
    .filter(([k, v]) => !['at', 'by', 'action', 'model', 'version'].includes(k) && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'))
    .map(([k, v]) => `${esc(k)}=${esc(v)}`)
    .join(', ');
  return `<li class="ev-${esc(e.action)}">${when(e.at)} <b>${esc(e.action)}</b> ${typeof e.version === 'string' ? versionLink(e.model, e.version) : ''} by ${esc(e.by)}${extra ? ` <span class="muted">(${extra})</span>` : ''}</li>`;
}

export function renderModel(data: Data<typeof modelPage>): string {
  const sortLink = (key: string, label: string) => {
    const order = data.sort === key && data.order === 'desc' ? 'asc' : 'desc';
    const arrow = data.sort === key ? (data.order === 'desc' ? ' ▼' : ' ▲') : '';
    return { label: `<a class="sort" href="?sort=${encodeURIComponent(key)}&amp;order=${order}">${esc(label)}${arrow}</a>`, html: true as const };
  };
  const head = [
    { label: '<span title="pick 2 to 5 to compare">cmp</span>', html: true as const },
    sortLink('version', 'version'),
    sortLink('status', 'status'),
    'aliases',
    ...data.metric_names.map((m) => sortLink(`metric:${m}`, m)),
    sortLink('created', 'created'),
    sortLink('by', 'by'),
    'git commit',
    sortLink('size', 'size'),
    'sha256',
  ];
  const rows = data.versions.map((v) => [
    `<input type="checkbox" name="v" value="${esc(v.version)}" aria-label="compare ${esc(v.version)}">`,
    versionLink(data.name, v.version),
    statusBadge(v.status),
    aliasChips(v.aliases),
    ...data.metric_names.map((m) => `<span class="num">${esc(fmt(v.metrics[m]))}</span>`),
    when(v.created_at),
    esc(v.registered_by),
    v.git_commit ? `<code>${esc(v.git_commit.slice(0, 12))}</code>` : '',
    `<span class="num">${esc(bytes(v.size))}</span>`,
    `<code title="${esc(v.sha256)}">${esc(v.sha256.slice(0, 12))}</code>`,
  ]);
  const pager =
    data.pages > 1
      ? `<p class="pager">page ${data.page} of ${data.pages} (${data.total} versions) ` +
        (data.page > 1 ? `<a href="?sort=${encodeURIComponent(data.sort)}&amp;order=${data.order}&amp;page=${data.page - 1}">newer ←</a> ` : '') +
        (data.page < data.pages ? `<a href="?sort=${encodeURIComponent(data.sort)}&amp;order=${data.order}&amp;page=${data.page + 1}">→ older</a>` : '') +
        '</p>'
      : '';
  const deployments = data.deployments.length
    ? table(['at', 'version', 'outcome', 'image', 'where'], data.deployments.map((d) => [when(d.at), versionLink(data.name, d.version), esc(d.outcome), `<code>${esc(d.image)}</code>`, esc(`${d.namespace}/${d.color}`)]))
    : '<p class="muted">no deployments recorded</p>';
  const body =
    `<h1>${esc(data.name)}</h1>` +
    `<p>${data.total} version${data.total === 1 ? '' : 's'}; production ${data.production ? versionLink(data.name, data.production) : '<span class="muted">none</span>'} ${kv(Object.fromEntries(Object.entries(data.aliases).map(([a, v]) => [`@${a}`, v])))}` +
    ` · <a href="/models/${seg(data.name)}/drift">drift</a></p>` +
    `<form method="get" action="/models/${seg(data.name)}/compare" id="compare-form"><h2>Versions</h2>` +
    `<p><button type="submit" id="compare-button">Compare selected</button> <span class="muted">pick 2 to 5 versions</span></p>` +
    pager +
    table(head, rows, 'id="versions" class="versions"') +
    '</form>' +
    `<h2>History</h2>${data.timeline.length ? `<ol class="timeline">${data.timeline.map(timelineItem).join('')}</ol>` : '<p class="muted">no audit events</p>'}` +
    `<h2>Deployments</h2>${deployments}`;
  return page({ title: data.name, crumbs: crumbs(esc(data.name)), body });
}

export function renderVersion(data: Data<typeof versionPage>): string {
  const r = data.record;
  const sig = (label: string, specs: typeof r.signature.inputs) => table([label, 'type', 'shape'], specs.map((t) => [`<code>${esc(t.name)}</code>`, esc(t.type), `<code>${esc(formatShape(t.shape))}</code>`]), 'class="signature"');
  const fields: Array<[string, string]> = [
    ['model', modelLink(r.name)],
    ['version', esc(r.version)],
    ['status', statusBadge(r.status)],
    ['aliases', aliasChips(data.aliases) || '<span class="muted">none</span>'],
    ['created', `${when(r.created_at)} by ${esc(r.registered_by)}`],
    ['description', esc(r.description) || '<span class="muted">none</span>'],
    ['artifact', `${esc(r.artifact.file)}, ${esc(bytes(r.artifact.size))} (${r.artifact.size} bytes)`],
    ['sha256', `<code>${esc(r.artifact.sha256)}</code>`],
    ['source', `${esc(r.source.path)}${r.source.git_commit ? ` @ <code>${esc(r.source.git_commit)}</code>${r.source.git_dirty ? ' (modified)' : ''}` : ''}`],
    ['tags', kv(r.tags) || '<span class="muted">none</span>'],
  ];
  const metrics = Object.entries(r.metrics);
  const ref = r.reference_data;
  const reference = ref
    ? `<p>${ref.rows} rows${ref.source_rows > ref.rows ? ` (sampled from ${ref.source_rows})` : ''}, ${esc(bytes(ref.size))}, sha256 <code>${esc(ref.sha256.slice(0, 12))}</code></p>` +
      table(['column', 'min', 'max', 'mean', 'std'], (ref.columns ?? []).map((c) => [esc(c.name), esc(fmt(c.min)), esc(fmt(c.max)), esc(fmt(c.mean)), esc(fmt(c.std))]), 'class="reference"')
    : '<p class="muted">no reference data</p>';
  const deployments = data.deployments.length
    ? table(['at', 'outcome', 'image', 'where', 'by'], data.deployments.map((d) => [when(d.at), esc(d.outcome) + (d.step ? ` at ${esc(d.step)}` : ''), `<code>${esc(d.image)}</code>`, esc(`${d.namespace}/${d.color}`), esc(d.by)]))
    : '<p class="muted">never deployed</p>';
  const body =
    `<h1>${esc(r.name)} ${esc(r.version)} ${statusBadge(r.status)}</h1>` +
    `<dl class="fields">${fields.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>` +
    `<h2>Metrics</h2>${metrics.length ? table(['metric', 'value'], metrics.map(([k, v]) => [esc(k), `<span class="num">${esc(fmt(v))}</span>`]), 'class="metrics"') : '<p class="muted">no metrics</p>'}` +
    `<h2>Signature</h2>${sig('input', r.signature.inputs)}${sig('output', r.signature.outputs)}` +
    `<h2>Reference data</h2>${reference}` +
    `<h2>History</h2><ol class="timeline">${r.history.map((h) => `<li>${when(h.at)} <b>${esc(h.event)}</b> ${h.from ? `${esc(h.from)} → ` : ''}${esc(h.status)} by ${esc(h.by)}${h.note ? ` <span class="muted">(${esc(h.note)})</span>` : ''}</li>`).join('')}</ol>` +
    `<h2>Deployments</h2>${deployments}`;
  return page({ title: `${r.name} ${r.version}`, crumbs: crumbs(modelLink(r.name), esc(r.version)), body });
}

export function renderCompare(data: Data<typeof comparePage>): string {
  const labels = data.versions.map((v) => v.version);
  const head = ['metric', ...labels.flatMap((l, i) => (i === 0 ? [l] : [l, `Δ vs ${labels[0]}`]))];
  const rows = data.metrics.map((m) => [
    esc(m.metric),
    ...m.values.flatMap((v, i) => {
      const d = m.differences[i] ?? null;
      const cls = d === null || d === 0 ? '' : d > 0 ? 'up' : 'down';
      return i === 0 ? [`<span class="num">${esc(fmt(v))}</span>`] : [`<span class="num">${esc(fmt(v))}</span>`, `<span class="num diff ${cls}">${esc(fmtSigned(d))}</span>`];
    }),
  ]);
  const charts = data.metrics.map((m) => lineChart({ title: m.metric, labels, series: [{ label: m.metric, values: m.values }], className: 'metric-chart' })).join('');
  const body =
    `<h1>Compare ${esc(data.name)}: ${labels.map((l) => versionLink(data.name, l)).join(', ')}</h1>` +
    `<p class="muted">in creation order; differences are against the oldest, ${esc(labels[0])}</p>` +
    table(['version', 'status', 'created', 'by', 'sha256'], data.versions.map((v) => [versionLink(data.name, v.version), statusBadge(v.status), when(v.created_at), esc(v.registered_by), `<code>${esc(v.sha256.slice(0, 12))}</code>`])) +
    `<h2>Metrics</h2>${data.metrics.length ? table(head, rows, 'id="compare" class="compare"') : '<p class="muted">these versions record no metrics</p>'}` +
    `<div class="charts">${charts}</div>`;
  return page({ title: `Compare ${data.name}`, crumbs: crumbs(modelLink(data.name), 'compare'), body });
}

export function renderDrift(data: Data<typeof driftPage>): string {
  if (data.checks.length === 0) {
    return page({
      title: `${data.name} drift`,
      crumbs: crumbs(modelLink(data.name), 'drift'),
      body: `<h1>Drift of ${esc(data.name)}</h1><p class="empty">No recorded checks. Record one with <code>mlops drift-check ${esc(data.name)} --current DATA --record</code>.</p>`,
    });
  }
  const labels = data.checks.map((c) => c.at.slice(0, 16).replace('T', ' '));
  const checks = table(
    ['at', 'version', 'verdict', 'drifted features', 'report'],
    [...data.checks].reverse().map((c) => [
      when(c.at),
      c.version ? versionLink(data.name, c.version) : '',
      c.drift === true ? '<span class="bad">drift</span>' : c.drift === false ? '<span class="ok">no drift</span>' : 'unknown',
      esc(c.features.filter((f) => f.drifted).map((f) => f.name).join(', ')),
      c.report ? esc(c.report) : '<span class="muted">–</span>',
    ]),
    'id="checks"',
  );
  const charts = data.features
    .map((f) =>
      `<section class="feature"><h3>${esc(f.feature)}</h3>` +
      lineChart({ title: `${f.feature}: adjusted p-value`, labels, series: [{ label: 'p-value', values: f.points.map((p) => p.pValue), marked: f.points.map((p) => p.drifted === true) }], threshold: f.points.map((p) => p.threshold).filter((t): t is number => t !== null).pop(), yMin: 0, width: 360, height: 150, className: 'pvalue-chart' }) +
      lineChart({ title: `${f.feature}: effect size`, labels, series: [{ label: 'effect', colour: '#f58518', values: f.points.map((p) => p.effect), marked: f.points.map((p) => p.drifted === true) }], yMin: 0, width: 360, height: 150, className: 'effect-chart' }) +
      '</section>',
    )
    .join('');
  const body = `<h1>Drift of ${esc(data.name)}</h1><p>${data.checks.length} recorded check${data.checks.length === 1 ? '' : 's'}</p>${checks}<h2>Per feature</h2><div class="features">${charts}</div>`;
  return page({ title: `${data.name} drift`, crumbs: crumbs(modelLink(data.name), 'drift'), body });
}

export function renderExperiments(data: Data<typeof experimentsPage>): string {
  const body = data.experiments.length
    ? data.experiments.map((e) => `<section><h2>${modelLink(e.model)}</h2><pre>${esc(JSON.stringify(e.experiment, null, 2))}</pre></section>`).join('')
    : '<p class="empty">No experiment is running. Start one with <code>mlops serve --ab NAME@V1=90,NAME@V2=10</code>.</p>';
  return page({ title: 'Experiments', body: `<h1>Experiments</h1>${body}` });
}

export function renderError(status: number, message: string, hint?: string): string {
  return page({ title: `${status}`, body: `<h1>${status === 404 ? 'Not found' : status === 401 ? 'Sign-in needed' : 'Cannot show this'}</h1><p class="error">${esc(message)}</p>${hint ? `<p class="muted">${esc(hint)}</p>` : ''}<p><a href="/">back to the models</a></p>` });
}
