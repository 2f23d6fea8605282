// HTML building blocks for the UI: escaping, the page frame, tables and inline SVG charts.
// Every string that comes from the registry goes through esc() (or attr()) before it is
// written into a page; the helpers below take escaped HTML only where their name says so.

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A path segment for a link (names and versions are validated, but encode anyway). */
export const seg = (value: string) => encodeURIComponent(value);

/** Numbers for people: 4 significant digits, exponent form for the very small and large. */
export function fmt(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs < 1e-4 || abs >= 1e7) return value.toExponential(2);
  return String(Number(value.toPrecision(4)));
}

export function fmtSigned(value: number | null): string {
  if (value === null) return '–';
  return value > 0 ? `+${fmt(value)}` : fmt(value);
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** A time as written in the registry, shown shorter: 2026-12-04 16:40. */
export function when(iso: string | undefined | null): string {
  if (!iso) return '–';
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)/.exec(iso);
  return `<time datetime="${esc(iso)}" title="${esc(iso)}">${esc(m ? `${m[1]} ${m[2]}` : iso)}</time>`;
}

export function statusBadge(status: string): string {
  return `<span class="badge ${status === 'production' ? 'prod' : status === 'staging' ? 'stage' : 'arch'}">${esc(status)}</span>`;
}

export interface Frame {
  title: string;
  /** Escaped HTML of the breadcrumb trail. */
  crumbs?: string;
  body: string;
}

export function page({ title, crumbs, body }: Frame): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)} · mlops</title>`,
    '<link rel="stylesheet" href="/assets/ui.css">',
    '<script src="/assets/ui.js" defer></script>',
    '</head><body>',
    '<header><a class="brand" href="/">mlops</a><nav><a href="/">Models</a><a href="/experiments">Experiments</a></nav></header>',
    `<main>${crumbs ? `<p class="crumbs">${crumbs}</p>` : ''}`,
    body,
    '</main></body></html>',
    '',
  ].join('\n');
}

const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2'];

export interface Series {
  label: string;
  colour?: string;
  values: Array<number | null>;
  /** Points drawn in red (a drifted check). */
  marked?: boolean[];
}

/**
 * A small line chart (inline SVG): x is the index into `labels` (creation order or time),
 * one line per series; `threshold` draws a dashed horizontal line. Missing points are gaps.
 */
export function lineChart(opts: { title: string; labels: string[]; series: Series[]; width?: number; height?: number; threshold?: number; yMin?: number; yMax?: number; className?: string }): string {
  const width = opts.width ?? 420;
  const height = opts.height ?? 180;
  const m = { top: 14, right: 12, bottom: 30, left: 52 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const all = opts.series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v));
  if (opts.threshold !== undefined) all.push(opts.threshold);
  let lo = opts.yMin ?? Math.min(...all);
  let hi = opts.yMax ?? Math.max(...all);
  if (!all.length) [lo, hi] = [0, 1];
  if (hi === lo) [lo, hi] = [lo - (Math.abs(lo) || 1) * 0.05, hi + (Math.abs(hi) || 1) * 0.05];
  const n = opts.labels.length;
  const x = (i: number) => m.left + (n <= 1 ? pw / 2 : (i / (n - 1)) * pw);
  const y = (v: number) => m.top + ph - ((v - lo) / (hi - lo)) * ph;
  const parts: string[] = [];
  for (const t of [lo, (lo + hi) / 2, hi]) {
    parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.left - 4}" y="${(y(t) + 3).toFixed(1)}" font-size="10" fill="#555" text-anchor="end">${esc(fmt(t))}</text>`);
  }
  parts.push(`<line x1="${m.left}" x2="${width - m.right}" y1="${m.top + ph}" y2="${m.top + ph}" stroke="#999"/>`);
  if (opts.threshold !== undefined) {
    parts.push(`<line class="threshold" x1="${m.left}" x2="${width - m.right}" y1="${y(opts.threshold).toFixed(1)}" y2="${y(opts.threshold).toFixed(1)}" stroke="#b00020" stroke-dasharray="4 3"><title>threshold ${esc(fmt(opts.threshold))}</title></line>`);
  }
  const step = Math.max(1, Math.ceil(n / 6));
  opts.labels.forEach((label, i) => {
    if (i % step !== 0 && i !== n - 1) return;
    const anchor = n > 1 && i === 0 ? 'start' : n > 1 && i === n - 1 ? 'end' : 'middle';
    parts.push(`<text x="${x(i).toFixed(1)}" y="${height - 12}" font-size="10" fill="#555" text-anchor="${anchor}">${esc(label.length > 16 ? `${label.slice(0, 15)}…` : label)}</text>`);
  });
  opts.series.forEach((s, si) => {
    const colour = s.colour ?? PALETTE[si % PALETTE.length]!;
    let d = '';
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)} ${y(v).toFixed(1)}`;
      pen = true;
    });
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2"/>`);
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return;
      const marked = s.marked?.[i] === true;
      parts.push(`<circle class="point${marked ? ' marked' : ''}" cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="${marked ? 4.5 : 3.5}" fill="${marked ? '#b00020' : colour}"><title>${esc(`${s.label} ${opts.labels[i]}: ${fmt(v)}${marked ? ' (drift)' : ''}`)}</title></circle>`);
    });
  });
  const legend = opts.series.length > 1 ? `<p class="legend">${opts.series.map((s, si) => `<span style="background:${s.colour ?? PALETTE[si % PALETTE.length]}"></span>${esc(s.label)}`).join('')}</p>` : '';
  return (
    `<figure class="chart${opts.className ? ` ${opts.className}` : ''}"><figcaption>${esc(opts.title)}</figcaption>` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(opts.title)}">${parts.join('')}</svg>${legend}</figure>`
  );
}

/** A table; `head` is plain text (escaped here), `rows` are cells of escaped HTML. */
export function table(head: Array<string | { label: string; html: true }>, rows: string[][], attrs = ''): string {
  const th = head.map((h) => `<th>${typeof h === 'string' ? esc(h) : h.label}</th>`).join('');
  return `<table${attrs ? ` ${attrs}` : ''}><thead><tr>${th}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}
