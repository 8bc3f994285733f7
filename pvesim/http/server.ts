// pveproxy's wire format over node:http(s): routing, authentication, the injectable validator, fault
// injection, stats, and the /_sim admin API (same port, same authentication).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PveError, errorText } from '../model/errors.js';
import { LockTimeout } from '../model/locks.js';
import type { Caller, Params, Simulator } from '../model/simulator.js';
import type { FaultAction, FaultInjector } from '../faults.js';
import type { RequestValidator } from '../validate.js';
import type { Authenticator } from './auth.js';
import { RawBody, RawJson, Router, apiRoutes, type RouteContext } from './routes.js';
import type { SimStats, StatsCollector } from './stats.js';

export const JSON_TYPE = 'application/json;charset=UTF-8';
const API_PREFIX = '/api2/json';
const MAX_BODY = 1024 * 1024;

export interface ServerDeps {
  sim: Simulator;
  auth: Authenticator;
  faults: FaultInjector;
  stats: StatsCollector;
  validator: () => RequestValidator;
  log: (line: string) => void;
  snapshotStats: () => SimStats;
  /** Called just before any answer's head is written (the state file is flushed here). */
  beforeReply?: () => void;
}

/** The reason phrase: first line of the message, printable ASCII only (node rejects the rest). */
function reason(msg: string): string {
  const first = msg.split('\n')[0] ?? '';
  return first.replace(/[^\x20-\x7e]/g, '?').slice(0, 512) || 'Error';
}

function send(res: ServerResponse, status: number, phrase: string, body: string | Buffer): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, phrase, {
    'Content-Type': JSON_TYPE,
    'Content-Length': bytes.length,
    'Cache-Control': 'max-age=0',
    Pragma: 'no-cache',
    Server: 'pve-api-daemon/3.0',
  });
  res.end(bytes);
}

export function sendData(res: ServerResponse, data: unknown): number {
  const body = data instanceof RawJson ? data.json : data instanceof RawBody ? JSON.stringify(data.body) : JSON.stringify({ data: data === undefined ? null : data });
  send(res, 200, 'OK', body);
  return 200;
}

/** An error as pveproxy sends it. Returns the status code sent. */
export function sendError(res: ServerResponse, e: unknown): number {
  if (e instanceof PveError && e.errors) {
    send(res, e.status, reason(e.message), JSON.stringify({ data: null, errors: e.errors }));
    return e.status;
  }
  const status = e instanceof PveError ? e.status : 500;
  const msg = errorText(e).replace(/\n+$/, '');
  send(res, status, reason(msg), JSON.stringify({ data: null, message: `${msg}\n` }));
  return status;
}

/** 401: empty body, no content type. */
function sendUnauthorized(res: ServerResponse, why: string): number {
  res.writeHead(401, reason(why), { 'Content-Length': 0, Server: 'pve-api-daemon/3.0' });
  res.end();
  return 401;
}

function addParam(out: Params, k: string, v: string): void {
  const cur = out[k];
  if (cur === undefined) out[k] = v;
  else if (Array.isArray(cur)) cur.push(v);
  else out[k] = [cur, v];
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new PveError(413, 'request too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function readParams(req: IncomingMessage, url: URL): Promise<Params> {
  const params: Params = {};
  for (const [k, v] of url.searchParams) addParam(params, k, v);
  if (req.method === 'GET' || req.method === 'HEAD') return params;
  const body = await readBody(req);
  if (!body) return params;
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  const fromBody: Params = {};
  if (type.startsWith('application/json')) {
    let obj: unknown;
    try {
      obj = JSON.parse(body);
    } catch {
      throw new PveError(400, 'Parameter verification failed.', { body: 'unable to parse JSON body' });
    }
    if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
      for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
        const one = (x: unknown) => (x === true ? '1' : x === false ? '0' : typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x));
        if (Array.isArray(v)) for (const x of v) addParam(fromBody, k, one(x));
        else if (v !== null && v !== undefined) addParam(fromBody, k, one(v));
      }
    }
  } else {
    for (const [k, v] of new URLSearchParams(body)) addParam(fromBody, k, v);
  }
  return { ...params, ...fromBody };
}

/** A form field sent empty reaches Proxmox's checks as undefined: drop it. */
function dropEmpty(p: Params): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(p)) if (v !== '') out[k] = v;
  return out;
}

function lockFaultMessage(path: string, params: Params): string {
  const m = /\/(lxc|qemu)\/(\d+)(\/|$)/.exec(path);
  const type = m?.[1] ?? (/\/lxc(\/|$)/.test(path) ? 'lxc' : /\/qemu(\/|$)/.test(path) ? 'qemu' : undefined);
  const vmid = m?.[2] ?? (typeof params.vmid === 'string' ? params.vmid : undefined);
  if (type && vmid) {
    const file = type === 'lxc' ? `/run/lock/lxc/pve-config-${vmid}.lock` : `/var/lock/qemu-server/lock-${vmid}.conf`;
    return new LockTimeout(file).message;
  }
  return new LockTimeout('/var/lock/pve-manager/pve-storage-local-lvm').message;
}

export function createRequestHandler(deps: ServerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const router = new Router(apiRoutes());
  const { sim, auth, faults, stats } = deps;

  const admin = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<number> => {
    const a = auth.authenticate(req);
    if (!a.ok) return sendUnauthorized(res, a.reason);
    const params = await readParams(req, url);
    const segs = url.pathname.split('/').filter(Boolean).slice(1);
    const m = req.method;
    const p0 = segs[0];
    if (p0 === 'stats' && segs.length === 1) {
      if (m === 'GET') return sendData(res, deps.snapshotStats());
      if (m === 'DELETE') {
        stats.reset();
        return sendData(res, null);
      }
    }
    if (p0 === 'faults' && segs.length === 1) {
      if (m === 'GET') return sendData(res, { spec: faults.spec, rules: faults.list() });
      if (m === 'PUT' || m === 'POST') {
        const spec = typeof params.spec === 'string' ? params.spec : '';
        try {
          faults.set(spec);
        } catch (e) {
          throw new PveError(400, 'Parameter verification failed.', { spec: errorText(e) });
        }
        return sendData(res, { spec: faults.spec });
      }
      if (m === 'DELETE') {
        faults.set(null);
        return sendData(res, null);
      }
    }
    if (p0 === 'agent' && segs[1] === 'exec' && m === 'GET') return sendData(res, sim.agentExecs);
    if (p0 === 'tasks' && m === 'GET') return sendData(res, sim.tasks.all());
    if (p0 === 'guests' && segs[1]) {
      const vmid = segs[1];
      if (segs.length === 2 && m === 'GET') {
        const g = sim.guests.get(Number(vmid));
        if (!g) throw new PveError(404, `no guest with vmid ${vmid}`);
        return sendData(res, { ...g, digest: sim.digest(g) });
      }
      if (segs.length === 2 && m === 'DELETE') {
        sim.removeGuestByHand(vmid);
        return sendData(res, null);
      }
      if (segs[2] === 'config' && (m === 'PUT' || m === 'POST')) {
        const set: Record<string, string> = {};
        let del: string[] = [];
        for (const [k, v] of Object.entries(params)) {
          const val = Array.isArray(v) ? v[v.length - 1]! : v;
          if (k === 'delete') del = val.split(/[,;\s]+/).filter(Boolean);
          else set[k] = val;
        }
        sim.editConfig(vmid, set, del);
        return sendData(res, null);
      }
      if (segs[2] === 'power' && (m === 'PUT' || m === 'POST')) {
        const state = params.state;
        if (state !== 'running' && state !== 'stopped') throw new PveError(400, 'Parameter verification failed.', { state: "value must be 'running' or 'stopped'" });
        sim.setPower(vmid, state);
        return sendData(res, null);
      }
    }
    throw new PveError(501, `Method '${m} ${url.pathname}' not implemented`);
  };

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL, statKey: { key: string }): Promise<number | 'dropped'> => {
    const method = req.method ?? 'GET';
    const rel = url.pathname.slice(API_PREFIX.length) || '/';
    const match = router.match(method, rel);
    statKey.key = `${method} ${match.route?.template ?? match.template ?? '(unknown)'}`;
    if (rel === '/access/ticket' && (method === 'POST' || method === 'GET')) {
      statKey.key = `${method} /access/ticket`;
      return method === 'POST' ? login(req, res, url) : sendData(res, null);
    }
    const a = auth.authenticate(req);
    if (!a.ok) return sendUnauthorized(res, a.reason);
    const who = a;
    if (!match.route) throw new PveError(501, `Method '${method} ${rel}' not implemented`);
    const params = await readParams(req, url);
    const fault = faults.pick(method, rel);
    const caller: Caller = { user: who.upidUser };
    if (fault) {
      const r = await applyFault(fault, req, res, rel, params, caller);
      if (r !== undefined) return r;
    }
    const all: Params = { ...dropEmpty(params), ...match.path };
    validate(method, match.route.template, all);
    const ctx: RouteContext = { sim, params: all, path: match.path, caller };
    const data = await match.route.handler(ctx);
    return sendData(res, data);
  };

  const validate = (method: string, template: string, params: Params): void => {
    const v = deps.validator()(method, template, params);
    if (v.errors && Object.keys(v.errors).length > 0) throw new PveError(400, 'Parameter verification failed.', v.errors);
  };

  const login = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<number> => {
    const p = dropEmpty(await readParams(req, url));
    validate('POST', '/access/ticket', p);
    const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
    const t = auth.login(one(p.username), one(p.password), one(p.realm));
    if (!t) return sendUnauthorized(res, 'authentication failure');
    return sendData(res, t);
  };

  /** Apply a fault; returns the status sent when it answered, undefined to carry on normally. */
  const applyFault = async (f: FaultAction, req: IncomingMessage, res: ServerResponse, rel: string, params: Params, caller: Caller): Promise<number | 'dropped' | undefined> => {
    switch (f.kind) {
      case 'lock':
        return sendError(res, new PveError(500, lockFaultMessage(rel, params)));
      case 'noworker':
        return sendError(res, new PveError(500, 'got no worker upid'));
      case '503':
        return sendError(res, new PveError(503, 'Service Unavailable'));
      case 'drop':
        req.socket.destroy();
        return 'dropped';
      case 'slow':
        await new Promise((r) => setTimeout(r, Number(f.arg ?? 2000)));
        return undefined;
      case 'taskfail':
        caller.taskFault = { kind: 'fail', status: f.arg ?? 'unexpected status' };
        return undefined;
      case 'taskhang':
        caller.taskFault = { kind: 'hang' };
        return undefined;
      default:
        return undefined;
    }
  };

  return (req, res) => {
    if (deps.beforeReply) {
      const hook = deps.beforeReply;
      const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
      res.writeHead = ((...a: unknown[]) => {
        hook();
        return writeHead(...a);
      }) as typeof res.writeHead;
    }
    const statKey = { key: `${req.method} (unknown)` };
    const done = (status: number | 'dropped') => stats.record(statKey.key, status);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://pvesim');
    } catch {
      done(sendError(res, new PveError(400, 'bad request')));
      return;
    }
    const run = async (): Promise<number | 'dropped'> => {
      if (url.pathname === '/_sim' || url.pathname.startsWith('/_sim/')) {
        statKey.key = `${req.method} /_sim`;
        return admin(req, res, url);
      }
      if (url.pathname.startsWith(`${API_PREFIX}/`) || url.pathname === API_PREFIX) return api(req, res, url, statKey);
      const a = auth.authenticate(req);
      if (!a.ok) return sendUnauthorized(res, a.reason);
      throw new PveError(501, `Method '${req.method} ${url.pathname}' not implemented`);
    };
    run().then(done, (e: unknown) => {
      if (res.headersSent || res.destroyed) {
        done(500);
        return;
      }
      if (!(e instanceof PveError)) deps.log(`internal error on ${req.method} ${url.pathname}: ${errorText(e)}`);
      done(sendError(res, e));
    });
  };
}
