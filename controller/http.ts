// The controller's HTTP endpoint: Prometheus metrics, health probes, and a read-only, kubectl-shaped
// JSON status API (plus two verbs: reconcile now, and server-side diff) over the ControllerView.
//
//   GET  /metrics /healthz /readyz                          always open
//   GET  /apis/phoenix.hypervisor/v1alpha1                  APIResourceList (discovery)
//   GET  /apis/phoenix.hypervisor/v1alpha1/{plural}         list (?labelSelector=, ?watch=1)
//   GET  /apis/phoenix.hypervisor/v1alpha1/{plural}/{name}  one resource (?watch=1)
//   GET  .../{plural}/{name}/events                         EventList
//   POST .../{plural}/{name}/reconcile                      queue a reconcile now (202)
//   POST /apis/phoenix.hypervisor/v1alpha1/diff             Plan[] for the posted resources
//   GET  /apis/phoenix.hypervisor/v1alpha1/manifesterrors   ManifestErrorList
//
// The /apis tree needs `Authorization: Bearer <token>` whenever a token is configured; bound to a
// non-loopback address the server refuses to start without one unless allowUnauthenticated is set.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse, Server } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ControllerView, Logger, ResourceView, WatchEvent } from './types.js';
import type { Metrics } from './metrics.js';
import { syncResourceMetrics } from './resource-metrics.js';
import { parseSelector, matchesSelector } from './labels.js';
import type { Requirement } from './labels.js';
import { API_GROUP, API_GROUP_VERSION, KIND_NAMES, kindOfPlural, pluralOf } from '../resources/kindnames.js';
import { API_VERSION, KINDS } from '../resources/types.js';
import type { AnyResource, Kind } from '../resources/types.js';

export interface HttpServerOptions {
  /** host:port, e.g. 127.0.0.1:9750, [::1]:9750, 0.0.0.0:9750; port 0 picks a free port. */
  listen: string;
  view: ControllerView;
  metrics: Metrics;
  /** Bearer token required on the /apis tree (the controller passes PHOENIX_API_TOKEN). */
  token?: string;
  /** Serve the /apis tree without a token on a non-loopback address. */
  allowUnauthenticated?: boolean;
  log?: Logger;
}

export interface HttpServerHandle {
  url: string;
  port: number;
  close(): Promise<void>;
}

export const API_PREFIX = `/apis/${API_GROUP}/${API_GROUP_VERSION}`;
const MAX_BODY = 8 * 1024 * 1024;

/** A kubernetes-style Status object describing a failure. */
export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  code: number;
  details?: { name?: string; kind?: string };
}

export function statusFailure(code: number, reason: string, message: string, details?: StatusObject['details']): StatusObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code, ...(details ? { details } : {}) };
}

/** Splits host:port; `[v6]:port` for IPv6; an empty host means every interface. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen.trim());
  if (!m) throw new Error(`invalid listen address "${listen}": expected host:port (e.g. 127.0.0.1:9750)`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid listen address "${listen}": port out of range`);
  return { host: m[1] ?? m[2] ?? '', port };
}

/** True for localhost, 127.0.0.0/8, ::1 and IPv4-mapped loopback. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time bearer-token check (hashing first makes the lengths equal). */
export function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  const given = digest(m ? m[1]! : '');
  return timingSafeEqual(given, expected) && m !== null;
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function sendStatus(res: ServerResponse, s: StatusObject, headers: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  sendJson(res, s.code, s);
}

function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function notFound(kind: Kind, name: string): StatusObject {
  return statusFailure(404, 'NotFound', `${pluralOf(kind)} "${name}" not found`, { name, kind: pluralOf(kind) });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw Object.assign(new Error(`request body larger than ${MAX_BODY} bytes`), { statusCode: 413 });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Accepts a bare array, a List ({items}) or {resources}; checks each item names a known kind and a name. */
export function parseDiffBody(text: string): AnyResource[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    throw new Error(`request body is not valid JSON: ${(e as Error).message}`);
  }
  const items = Array.isArray(body)
    ? body
    : body && typeof body === 'object'
      ? ((body as { items?: unknown }).items ?? (body as { resources?: unknown }).resources)
      : undefined;
  if (!Array.isArray(items)) throw new Error('request body must be an array of resources, or an object with "items"');
  items.forEach((it: unknown, i) => {
    const r = it as Partial<AnyResource> | null;
    if (!r || typeof r !== 'object') throw new Error(`items[${i}]: not an object`);
    if (r.apiVersion !== API_VERSION) throw new Error(`items[${i}]: apiVersion must be ${API_VERSION}`);
    if (!KINDS.includes(r.kind as Kind)) throw new Error(`items[${i}]: unknown kind ${JSON.stringify(r.kind)}`);
    if (typeof r.metadata?.name !== 'string' || r.metadata.name === '') throw new Error(`items[${i}]: metadata.name is required`);
  });
  return items as AnyResource[];
}

function discovery(): unknown {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: API_VERSION,
    resources: KINDS.map((k) => ({
      name: KIND_NAMES[k].plural,
      singularName: KIND_NAMES[k].singular,
      namespaced: false,
      kind: k,
      shortNames: KIND_NAMES[k].shortNames,
      verbs: ['get', 'list', 'watch'],
    })),
  };
}

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServerHandle> {
  const { view, metrics, log } = opts;
  const { host, port } = parseListen(opts.listen);
  const token = opts.token && opts.token.length > 0 ? opts.token : undefined;
  const loopback = host !== '' && isLoopbackHost(host);
  if (!loopback && !token && !opts.allowUnauthenticated) {
    throw new Error(
      `refusing to serve the status API on non-loopback address ${opts.listen} without a bearer token: ` +
        'set PHOENIX_API_TOKEN, bind to 127.0.0.1, or allow unauthenticated access explicitly',
    );
  }
  if (!loopback && !token) log?.warn('status API served without authentication on a non-loopback address', { listen: opts.listen });
  const expected = token ? digest(token) : undefined;
  const streams = new Set<ServerResponse>();

  function authorised(req: IncomingMessage): boolean {
    return expected === undefined || bearerMatches(req.headers.authorization, expected);
  }

  function startWatch(req: IncomingMessage, res: ServerResponse, filter: (r: ResourceView) => boolean): void {
    const sse = (req.headers.accept ?? '').includes('text/event-stream');
    res.writeHead(200, {
      'content-type': sse ? 'text/event-stream' : 'application/x-ndjson',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.flushHeaders();
    const send = (ev: WatchEvent) => {
      const line = JSON.stringify(ev);
      res.write(sse ? `event: ${ev.type}\ndata: ${line}\n\n` : `${line}\n`);
    };
    streams.add(res);
    // Subscribe before listing: both run synchronously, so no change falls between them.
    const pending: WatchEvent[] = [];
    let live = false;
    const unsubscribe = view.watch((ev) => {
      if (!filter(ev.object)) return;
      if (live) send(ev);
      else pending.push(ev);
    });
    for (const r of view.list()) if (filter(r)) send({ type: 'ADDED', object: r });
    live = true;
    for (const ev of pending) send(ev);
    const done = () => {
      unsubscribe();
      streams.delete(res);
    };
    res.on('close', done);
    req.on('close', done);
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL, segs: string[]): Promise<void> {
    const method = req.method ?? 'GET';
    if (!authorised(req)) {
      sendStatus(res, statusFailure(401, 'Unauthorized', 'Unauthorized'), { 'www-authenticate': 'Bearer realm="phoenix"' });
      return;
    }
    if (segs.length === 0) {
      if (method !== 'GET') return sendStatus(res, statusFailure(405, 'MethodNotAllowed', `method ${method} is not allowed here`));
      return sendJson(res, 200, discovery());
    }
    const [first, name, sub, ...rest] = segs;
    if (first === 'diff' && segs.length === 1) {
      if (method !== 'POST') return sendStatus(res, statusFailure(405, 'MethodNotAllowed', 'diff takes POST'));
      let resources: AnyResource[];
      try {
        resources = parseDiffBody(await readBody(req));
      } catch (e) {
        const code = (e as { statusCode?: number }).statusCode ?? 400;
        return sendStatus(res, statusFailure(code, code === 413 ? 'RequestEntityTooLarge' : 'BadRequest', (e as Error).message));
      }
      const plans = await view.diff(resources);
      return sendJson(res, 200, plans);
    }
    if (first === 'manifesterrors' && segs.length === 1) {
      if (method !== 'GET') return sendStatus(res, statusFailure(405, 'MethodNotAllowed', 'manifesterrors is read-only'));
      return sendJson(res, 200, { kind: 'ManifestErrorList', apiVersion: API_VERSION, items: view.manifestErrors() });
    }
    const kind = kindOfPlural(first!);
    if (!kind) return sendStatus(res, statusFailure(404, 'NotFound', `the server could not find the requested resource "${first}"`));
    if (rest.length > 0) return sendStatus(res, statusFailure(404, 'NotFound', `the server could not find the requested resource`));
    const watch = ['1', 'true'].includes(url.searchParams.get('watch') ?? '');
    let selector: Requirement[] = [];
    try {
      selector = parseSelector(url.searchParams.get('labelSelector') ?? '');
    } catch (e) {
      return sendStatus(res, statusFailure(400, 'BadRequest', (e as Error).message));
    }
    const field = url.searchParams.get('fieldSelector');
    const fieldName = field ? /^metadata\.name==?(.+)$/.exec(field)?.[1] : undefined;
    if (field && fieldName === undefined) return sendStatus(res, statusFailure(400, 'BadRequest', `unsupported field selector "${field}": only metadata.name=NAME`));
    const onlyName = name ?? fieldName;
    const filter = (r: ResourceView) =>
      r.kind === kind && (onlyName === undefined || r.metadata.name === onlyName) && matchesSelector(selector, r.metadata.labels);

    if (name === undefined) {
      if (method !== 'GET') return sendStatus(res, statusFailure(405, 'MethodNotAllowed', `method ${method} is not allowed on a collection`));
      if (watch) return startWatch(req, res, filter);
      const items = view.list().filter(filter);
      return sendJson(res, 200, { apiVersion: API_VERSION, kind: `${kind}List`, metadata: { resourceVersion: '' }, items });
    }
    const ref = { kind, name };
    if (sub === undefined) {
      if (method !== 'GET') return sendStatus(res, statusFailure(405, 'MethodNotAllowed', `method ${method} is not allowed on a resource`));
      if (watch) return startWatch(req, res, filter);
      const r = view.get(ref);
      return r ? sendJson(res, 200, r) : sendStatus(res, notFound(kind, name));
    }
    if (sub === 'events') {
      if (method !== 'GET') return sendStatus(res, statusFailure(405, 'MethodNotAllowed', 'events are read-only'));
      if (!view.get(ref)) return sendStatus(res, notFound(kind, name));
      const items = view.events(ref).map((e) => ({ ...e, involvedObject: { apiVersion: API_VERSION, kind, name } }));
      return sendJson(res, 200, { apiVersion: 'v1', kind: 'EventList', metadata: {}, items });
    }
    if (sub === 'reconcile') {
      if (method !== 'POST') return sendStatus(res, statusFailure(405, 'MethodNotAllowed', 'reconcile takes POST'));
      if (!view.requestReconcile(ref)) return sendStatus(res, notFound(kind, name));
      log?.info('reconcile requested through the API', { kind, name });
      return sendJson(res, 202, view.get(ref) ?? {});
    }
    return sendStatus(res, statusFailure(404, 'NotFound', `the server could not find the requested resource "${sub}"`));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://phoenix.invalid');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    if (path === '/healthz' || path === '/readyz' || path === '/metrics') {
      if (method !== 'GET' && method !== 'HEAD') return sendText(res, 405, 'method not allowed\n');
      if (path === '/healthz') return view.isHealthy() ? sendText(res, 200, 'ok\n') : sendText(res, 500, 'unhealthy\n');
      if (path === '/readyz') return view.isReady() ? sendText(res, 200, 'ok\n') : sendText(res, 503, 'not ready: first full pass not finished\n');
      syncResourceMetrics(metrics, view);
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
      res.end(text);
      return;
    }
    if (path === API_PREFIX || path.startsWith(`${API_PREFIX}/`)) {
      let segs: string[];
      try {
        segs = path.slice(API_PREFIX.length).split('/').filter(Boolean).map(decodeURIComponent);
      } catch {
        return sendStatus(res, statusFailure(400, 'BadRequest', 'malformed path'));
      }
      return handleApi(req, res, url, segs);
    }
    if (path.startsWith('/apis') && !authorised(req)) {
      return sendStatus(res, statusFailure(401, 'Unauthorized', 'Unauthorized'), { 'www-authenticate': 'Bearer realm="phoenix"' });
    }
    sendStatus(res, statusFailure(404, 'NotFound', `the server could not find the requested resource (${method} ${path})`));
  }

  const server: Server = createServer((req, res) => {
    const started = Date.now();
    res.on('finish', () => log?.debug('http request', { method: req.method, path: req.url?.split('?')[0], code: res.statusCode, ms: Date.now() - started }));
    handle(req, res).catch((err: unknown) => {
      log?.error('http handler failed', { path: req.url?.split('?')[0], error: err instanceof Error ? err.message : String(err) });
      if (!res.headersSent) sendStatus(res, statusFailure(500, 'InternalError', err instanceof Error ? err.message : String(err)));
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: host === '' ? undefined : host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const urlHost = host === '' ? '0.0.0.0' : addr.family === 'IPv6' || addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  const url = `http://${urlHost}:${addr.port}`;
  log?.info('http endpoint listening', { url, auth: expected ? 'bearer' : 'none' });
  return {
    url,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const s of streams) s.end();
        streams.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
