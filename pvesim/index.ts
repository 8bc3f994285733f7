// pvesim: an emulator of the Proxmox VE 9.1 API, for phoenix's built-in mode and end-to-end tests.
// startSim() builds the model (Simulator), loads persisted state, makes or reuses the TLS
// certificate and serves the API on one port (HTTPS unless `http`).
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { FaultInjector } from './faults.js';
import { Authenticator, parseToken } from './http/auth.js';
import { createRequestHandler } from './http/server.js';
import { StatsCollector, type SimStats } from './http/stats.js';
import { Simulator } from './model/simulator.js';
import { readState, restoreInto, saveState } from './model/state.js';
import type { StorageSpec } from './model/storage.js';
import { loadOrCreateCert } from './tls.js';
import { loadOrCreateCredentials } from './credentials.js';
import { defaultValidator, type RequestValidator } from './validate.js';

export { Simulator } from './model/simulator.js';
export type { Guest, Caller, AgentExecRecord } from './model/simulator.js';
export type { StorageSpec, StorageType } from './model/storage.js';
export { parseStorageArg } from './model/storage.js';
export type { SimStats } from './http/stats.js';
export { parseFaultSpec } from './faults.js';
export { defaultValidator, permissiveValidator, type RequestValidator } from './validate.js';

export interface SimOptions {
  /** host:port; port 0 = ephemeral. Default 127.0.0.1:0. */
  listen?: string;
  nodes?: string[];
  /** USER@REALM!TOKENID=SECRET (SECRET a lowercase UUID for the proxmox-api client); default: the one
   * stored beside statePath, else generated (and stored there). */
  token?: string;
  /** Ticket-login password of the token's user; default: stored beside statePath, else generated. */
  password?: string;
  timeScale?: number;
  faults?: string;
  statePath?: string;
  /**
   * With statePath: save pending changes before every answer, so a process killed at any moment
   * restarts with everything a client has seen (the CLI turns this on). A save costs ~70 ms at
   * 1,000 guests and 5,000 tasks on 2 cores, so an in-process user whose client dies with it (the
   * controller's built-in mode) leaves it off and keeps the debounced saves.
   */
  durableReplies?: boolean;
  http?: boolean;
  storages?: StorageSpec[];
  seed?: number;
  log?: (line: string) => void;
  /** Parameter validator; default: the PVE 9.1 parameter definitions of pvesim/params. */
  validator?: RequestValidator;
}

export interface SimHandle {
  /** e.g. https://127.0.0.1:PORT */
  url: string;
  host: string;
  port: number;
  /** USER@REALM!TOKENID=SECRET */
  token: string;
  tokenId: string;
  tokenSecret: string;
  password: string;
  /** SHA-256, colon-separated uppercase hex ('' with http). */
  fingerprint: string;
  certPem: string;
  close(): Promise<void>;
  stats(): SimStats;
  setFaults(spec: string | null): void;
  sim: Simulator;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (!m) throw new Error(`--listen ${listen}: expected HOST:PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`--listen ${listen}: port out of range`);
  return { host: m[1] ?? m[2]!, port };
}

const SAVE_DEBOUNCE_MS = 500;

export async function startSim(opts: SimOptions = {}): Promise<SimHandle> {
  const log = opts.log ?? (() => {});
  const { host, port } = parseListen(opts.listen ?? '127.0.0.1:0');
  if (opts.token) parseToken(opts.token); // refuse a malformed token before it is stored
  const { token, password } = loadOrCreateCredentials(opts.statePath, { ...(opts.token ? { token: opts.token } : {}), ...(opts.password ? { password: opts.password } : {}) });
  const { tokenId, tokenSecret, user } = parseToken(token);
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(tokenSecret)) {
    log(`note: the secret of token ${tokenId} is not a lowercase UUID; the proxmox-api client will refuse it`);
  }
  const seed = opts.seed ?? (Date.now() & 0x7fffffff);

  const state = opts.statePath ? readState(opts.statePath) : undefined;
  const nodes = [...new Set([...(state?.nodes.map((n) => n.name) ?? []), ...(opts.nodes ?? (state ? [] : ['pve']))])];
  const storages = [...(state?.storages ?? [])];
  for (const s of opts.storages ?? []) {
    const i = storages.findIndex((x) => x.name === s.name);
    if (i >= 0) storages[i] = s;
    else storages.push(s);
  }
  const sim = new Simulator({ nodes, storages, timeScale: opts.timeScale ?? 1, seed, log });
  if (state && opts.statePath) {
    const r = restoreInto(sim, state);
    log(`restored ${sim.guests.size} guests from ${opts.statePath}` + (r.interrupted ? `; ${r.interrupted} interrupted task(s) ended as "unexpected status"` : '') + (r.rolledBack.length ? `; rolled back unfinished ${r.rolledBack.join(', ')}` : ''));
  }

  // Saves are debounced; with durableReplies no answer leaves before the state it may reveal is on
  // disk (as a Proxmox node's pmxcfs commits a config write before the API answers): a pvesim
  // killed at any moment restarts with everything any client has seen.
  let saveTimer: NodeJS.Timeout | undefined;
  let dirty = false;
  const save = () => {
    if (saveTimer) clearTimeout(saveTimer);
    saveTimer = undefined;
    dirty = false;
    if (opts.statePath) saveState(opts.statePath, sim);
  };
  const trySave = () => {
    try {
      save();
    } catch (e) {
      log(`saving state failed: ${(e as Error).message}`);
    }
  };
  if (opts.statePath) {
    sim.onChange = () => {
      dirty = true;
      saveTimer ??= setTimeout(trySave, SAVE_DEBOUNCE_MS);
    };
    save();
  }
  const beforeReply = opts.statePath && opts.durableReplies ? () => void (dirty && trySave()) : undefined;

  const faults = new FaultInjector(seed);
  if (opts.faults) faults.set(opts.faults);
  const stats = new StatsCollector();
  const validator = opts.validator ?? defaultValidator;
  const auth = new Authenticator({ tokenId, tokenSecret, password, user });
  const snapshotStats = (): SimStats => {
    const tasks = { running: 0, stopped: 0, ok: 0, failed: 0 };
    for (const t of sim.tasks.all()) {
      if (t.status === 'running') tasks.running++;
      else {
        tasks.stopped++;
        if (t.exitstatus === 'OK' || t.exitstatus?.startsWith('WARNINGS')) tasks.ok++;
        else tasks.failed++;
      }
    }
    const f = { ...faults.injected };
    return {
      startedAt: stats.startedAt,
      totalRequests: stats.total,
      requests: { ...stats.requests },
      statuses: { ...stats.statuses },
      faults: f,
      faultsTotal: Object.values(f).reduce((a, b) => a + b, 0),
      tasks,
      guests: sim.guests.size,
    };
  };
  const handler = createRequestHandler({ sim, auth, faults, stats, validator: () => validator, log, snapshotStats, ...(beforeReply ? { beforeReply } : {}) });

  let server: Server;
  let fingerprint = '';
  let certPem = '';
  if (opts.http) {
    server = createHttpServer({ keepAlive: true }, handler);
  } else {
    const tls = await loadOrCreateCert(opts.statePath, [host]);
    fingerprint = tls.fingerprint;
    certPem = tls.certPem;
    server = createHttpsServer({ key: tls.keyPem, cert: tls.certPem, keepAlive: true }, handler);
  }
  server.keepAliveTimeout = 10_000;
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('secureConnection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `${opts.http ? 'http' : 'https'}://${urlHost}:${addr.port}`;
  log(`pvesim listening on ${url} (nodes ${nodes.join(', ')}, time scale ${sim.timeScale})`);

  let closed: Promise<void> | undefined;
  return {
    url,
    host,
    port: addr.port,
    token,
    tokenId,
    tokenSecret,
    password,
    fingerprint,
    certPem,
    sim,
    stats: snapshotStats,
    setFaults: (spec) => faults.set(spec),
    close: () => {
      closed ??= (async () => {
        sim.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const s of sockets) s.destroy();
        });
        if (opts.statePath) save();
      })();
      return closed;
    },
  };
}
