// mlops ui: a read-only web app over the registry on node:http. Every page has a JSON twin
// (Accept: application/json, or ?format=json). Bound beyond loopback it requires a token:
// `Authorization: Bearer TOKEN`, or `?token=TOKEN` once, which sets an HttpOnly cookie.
//
// Why no framework: six pages of server-rendered HTML, one route table and one small
// script. node:http plus inline SVG (as the drift report does) starts in well under a
// second, needs no build step and no client bundle, and adds no dependency to audit.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { isMlopsError, NotFoundError, UsageError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import { CSS, JS } from './assets.js';
import { comparePage, driftPage, experimentsPage, modelPage, modelsPage, versionPage } from './data.js';
import { renderCompare, renderDrift, renderError, renderExperiments, renderModel, renderModels, renderVersion } from './pages.js';

export interface UiOptions {
  registry: Registry;
  host: string;
  port: number;
  /** Required when host is not a loopback address. */
  token?: string;
  onEvent?: (event: { level: 'info' | 'warn' | 'error'; message: string }) => void;
}

export interface UiHandle {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

const COOKIE = 'mlops_ui_token';
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

interface Route {
  pattern: RegExp;
  load: (registry: Registry, params: string[], query: URLSearchParams) => Promise<unknown>;
  render: (data: never) => string;
}

const intParam = (value: string | null): number | undefined => (value && /^\d{1,6}$/.test(value) ? Number(value) : undefined);

const ROUTES: Route[] = [
  { pattern: /^\/(?:models\/?)?$/, load: (r, _p, q) => modelsPage(r, { q: q.get('q') || undefined, tag: q.get('tag') || undefined }), render: renderModels },
  { pattern: /^\/experiments\/?$/, load: (r) => experimentsPage(r), render: renderExperiments },
  {
    pattern: /^\/models\/([^/]+)\/?$/,
    load: (r, [name], q) => modelPage(r, name!, { sort: q.get('sort') ?? undefined, order: q.get('order') ?? undefined, page: intParam(q.get('page')), perPage: intParam(q.get('per_page')) }),
    render: renderModel,
  },
  { pattern: /^\/models\/([^/]+)\/versions\/([^/]+)\/?$/, load: (r, [name, version]) => versionPage(r, name!, version!), render: renderVersion },
  {
    pattern: /^\/models\/([^/]+)\/compare\/?$/,
    load: (r, [name], q) => comparePage(r, name!, [...q.getAll('v'), ...q.getAll('versions').flatMap((s) => s.split(','))].map((s) => s.trim()).filter(Boolean)),
    render: renderCompare,
  },
  { pattern: /^\/models\/([^/]+)\/drift\/?$/, load: (r, [name]) => driftPage(r, name!), render: renderDrift },
];

function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function cookieToken(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

function wantsJson(req: IncomingMessage, query: URLSearchParams): boolean {
  if (query.get('format') === 'json') return true;
  const accept = req.headers.accept ?? '';
  return /application\/json/.test(accept) && !/text\/html/.test(accept);
}

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}, head = false): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(head ? undefined : body);
}

export function handler(options: Pick<UiOptions, 'registry' | 'token' | 'onEvent'>) {
  const { registry, token } = options;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let url: URL;
    let path: string;
    try {
      url = new URL(req.url ?? '/', 'http://ui.invalid');
      path = decodeURIComponent(url.pathname);
    } catch {
      return send(res, 400, 'text/plain; charset=utf-8', 'bad request: the path is not valid URL encoding\n');
    }
    const json = wantsJson(req, url.searchParams);
    const fail = (status: number, code: string, message: string, hint?: string) =>
      json ? send(res, status, 'application/json', `${JSON.stringify({ error: { code, message, ...(hint ? { hint } : {}) } })}\n`) : send(res, status, 'text/html; charset=utf-8', renderError(status, message, hint));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return fail(405, 'method_not_allowed', `${req.method ?? '?'} is not allowed: the UI is read-only`);
    }
    if (token !== undefined) {
      const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const queried = url.searchParams.get('token');
      if (queried !== null && sameToken(queried, token)) {
        // Trade the token in the URL for a cookie, and drop it from the address bar and history.
        url.searchParams.delete('token');
        const location = `${url.pathname}${url.search}`;
        return send(res, 303, 'text/plain; charset=utf-8', `see ${location}\n`, { location, 'set-cookie': `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/` });
      }
      const given = bearer ?? cookieToken(req);
      if (given === undefined || !sameToken(given, token)) {
        return fail(401, 'unauthorized', 'this mlops ui needs its access token', 'send Authorization: Bearer TOKEN, or open the page once with ?token=TOKEN');
      }
    }
    const head = req.method === 'HEAD';
    if (path === '/assets/ui.css') return send(res, 200, 'text/css; charset=utf-8', CSS, { 'cache-control': 'max-age=300' }, head);
    if (path === '/assets/ui.js') return send(res, 200, 'text/javascript; charset=utf-8', JS, { 'cache-control': 'max-age=300' }, head);
    if (path === '/healthz') return send(res, 200, 'text/plain; charset=utf-8', 'ok\n', {}, head);
    if (path.includes('\0') || path.length > 2048) return fail(400, 'bad_path', 'bad path');
    for (const route of ROUTES) {
      const match = route.pattern.exec(path);
      if (!match) continue;
      try {
        const data = await route.load(registry, match.slice(1), url.searchParams);
        if (json) return send(res, 200, 'application/json', `${JSON.stringify(data)}\n`, {}, head);
        return send(res, 200, 'text/html; charset=utf-8', route.render(data as never), {}, head);
      } catch (error) {
        if (error instanceof NotFoundError) return fail(404, error.code, error.message, error.hint);
        if (error instanceof UsageError) return fail(error.code === 'invalid_record' ? 422 : 400, error.code, error.message, error.hint);
        if (isMlopsError(error)) {
          options.onEvent?.({ level: 'warn', message: `${path}: ${error.message}` });
          return fail(503, error.code, error.message, error.hint);
        }
        options.onEvent?.({ level: 'error', message: `${path}: internal error: ${(error as Error)?.stack ?? String(error)}` });
        return fail(500, 'internal', 'internal error in mlops ui (a bug; see the server log)');
      }
    }
    return fail(404, 'not_found', `no page at ${path}`, 'start at /');
  };
}

export async function startUi(options: UiOptions): Promise<UiHandle> {
  if (!isLoopback(options.host) && options.token === undefined) {
    throw new UsageError(`--host ${options.host} is beyond loopback, and the UI would be open to anyone who can reach it`, 'set a token in an environment variable and pass --auth-token-env NAME (or bind --host 127.0.0.1)', 'auth_required');
  }
  const handle = handler(options);
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.onEvent?.({ level: 'error', message: `internal error: ${String(error)}` });
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE') throw new UsageError(`port ${options.port} on ${options.host} is in use`, 'pick another with --port (0 picks a free one)', 'port_in_use');
    if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND' || error.code === 'EACCES') throw new UsageError(`cannot listen on ${options.host}:${options.port} (${error.code})`, 'pass --host with an address of this machine, and a --port above 1023', 'bad_listen');
    throw error;
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
