// The connection to Proxmox VE and the typed request surface phoenix uses, over `proxmox-api`.
//
// TLS is verified by default through our own undici fetch handed to proxmox-api: either against a CA
// (PHOENIX_PVE_CA_FILE) or by pinning the server certificate's SHA-256 (PHOENIX_PVE_FINGERPRINT).
// PHOENIX_PVE_INSECURE=1 is an explicit opt-out that warns at every start. NODE_TLS_REJECT_UNAUTHORIZED
// is never touched. The token never leaves this module: every error is scrubbed before it is thrown.
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { ProxmoxEngine } from 'proxmox-api';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import type { Logger } from '../types.js';
import type { Metrics } from '../metrics.js';
import { PveError, scrub, toPveError } from './errors.js';
import type { GuestType } from './normalize.js';
import { normTags } from './normalize.js';

export type PveTls =
  | { mode: 'ca'; caPem: string; caFile?: string }
  | { mode: 'pin'; fingerprint: string }
  | { mode: 'insecure' }
  /** The system trust store (a server certificate signed by a public CA). */
  | { mode: 'system' };

export interface PveConfig {
  url: string;
  host: string;
  port: number;
  /** USER@REALM!TOKENID */
  tokenId: string;
  tokenSecret: string;
  tls: PveTls;
  /** Per-request timeout (proxmox-api's queryTimeout), ms. */
  queryTimeoutMs?: number;
}

export class PveConfigError extends Error {
  override readonly name = 'PveConfigError';
}

/** Colon hex, upper case, as Node prints `fingerprint256`. Accepts plain hex too. */
export function normaliseFingerprint(fp: string): string {
  const hex = fp.replace(/^sha256:/i, '').replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) throw new PveConfigError('PHOENIX_PVE_FINGERPRINT: expected a SHA-256 fingerprint (64 hex digits, colons optional)');
  return hex.match(/../g)!.join(':');
}

/** Read the connection settings from the environment; every problem names the variable. */
export function pveConfigFromEnv(env: Record<string, string | undefined> = process.env): PveConfig {
  const rawUrl = env.PHOENIX_PVE_URL;
  if (!rawUrl) throw new PveConfigError('PHOENIX_PVE_URL is not set (e.g. https://pve.example:8006)');
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new PveConfigError(`PHOENIX_PVE_URL: not a URL: ${JSON.stringify(rawUrl)}`);
  }
  if (url.protocol !== 'https:') throw new PveConfigError('PHOENIX_PVE_URL: must be https://');
  const token = env.PHOENIX_PVE_TOKEN;
  if (!token) throw new PveConfigError('PHOENIX_PVE_TOKEN is not set (USER@REALM!TOKENID=SECRET)');
  const m = /^([^@\s=]+@[^!\s=]+![^=\s]+)=(\S+)$/.exec(token);
  if (!m) throw new PveConfigError('PHOENIX_PVE_TOKEN: expected USER@REALM!TOKENID=SECRET');
  const tokenSecret = m[2]!;
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(tokenSecret)) {
    throw new PveConfigError('PHOENIX_PVE_TOKEN: the secret must be the lower-case UUID Proxmox issued');
  }
  const modes = [env.PHOENIX_PVE_CA_FILE, env.PHOENIX_PVE_FINGERPRINT, env.PHOENIX_PVE_INSECURE === '1' ? '1' : undefined].filter(Boolean);
  if (modes.length > 1) throw new PveConfigError('set only one of PHOENIX_PVE_CA_FILE, PHOENIX_PVE_FINGERPRINT and PHOENIX_PVE_INSECURE=1');
  let tls: PveTls = { mode: 'system' };
  if (env.PHOENIX_PVE_CA_FILE) {
    let caPem: string;
    try {
      caPem = readFileSync(env.PHOENIX_PVE_CA_FILE, 'utf8');
    } catch (e) {
      throw new PveConfigError(`PHOENIX_PVE_CA_FILE: cannot read ${env.PHOENIX_PVE_CA_FILE}: ${(e as Error).message}`);
    }
    if (!caPem.includes('-----BEGIN CERTIFICATE-----')) throw new PveConfigError(`PHOENIX_PVE_CA_FILE: ${env.PHOENIX_PVE_CA_FILE} holds no PEM certificate`);
    tls = { mode: 'ca', caPem, caFile: env.PHOENIX_PVE_CA_FILE };
  } else if (env.PHOENIX_PVE_FINGERPRINT) {
    tls = { mode: 'pin', fingerprint: normaliseFingerprint(env.PHOENIX_PVE_FINGERPRINT) };
  } else if (env.PHOENIX_PVE_INSECURE === '1') {
    tls = { mode: 'insecure' };
  }
  return {
    url: url.origin,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : 8006,
    tokenId: m[1]!,
    tokenSecret,
    tls,
  };
}

/**
 * `/api2/json/nodes/pve/lxc/101/config` -> `/nodes/{node}/lxc/{vmid}/config`: the metric label never
 * carries ids, names or UPIDs.
 */
export function pathTemplate(pathname: string): string {
  const segs = pathname.replace(/^\/api2\/json/, '').split('/').filter(Boolean);
  const after: Record<string, string> = {
    nodes: '{node}',
    lxc: '{vmid}',
    qemu: '{vmid}',
    tasks: '{upid}',
    storage: '{storage}',
    snapshot: '{snapname}',
    rules: '{pos}',
    content: '{volume}',
    ipset: '{name}',
    aliases: '{name}',
    groups: '{group}',
  };
  const out: string[] = [];
  for (let i = 0; i < segs.length; i++) {
    const prev = segs[i - 1];
    const s = segs[i]!;
    const placeholder = prev !== undefined ? after[prev] : undefined;
    if (placeholder && !(prev === 'tasks' && i === 1)) out.push(placeholder);
    else if (/^\d+$/.test(s) || /[:%@]/.test(s)) out.push('{id}');
    else out.push(s);
  }
  return `/${out.join('/')}`;
}

// ---------------------------------------------------------------------------------------------
// Shapes of the answers phoenix reads

export interface ClusterGuest {
  /** "lxc/101" */
  id: string;
  vmid: number;
  node: string;
  type: GuestType;
  /** running | stopped | ... */
  status: string;
  name?: string;
  template: boolean;
  lock?: string;
  tags: string[];
  maxmem?: number;
  maxcpu?: number;
  maxdisk?: number;
}

export interface NodeInfo {
  node: string;
  status: string;
  mem?: number;
  maxmem?: number;
}

export interface StorageInfo {
  storage: string;
  type: string;
  shared: boolean;
  content: string[];
  /** Nodes the storage is available on; undefined: all. */
  nodes?: string[];
}

export interface PendingEntry {
  key: string;
  value?: unknown;
  pending?: unknown;
  delete?: number;
}

export interface TaskStatus {
  upid: string;
  node: string;
  type: string;
  id?: string;
  user?: string;
  status: 'running' | 'stopped' | string;
  exitstatus?: string;
  starttime?: number;
}

export interface TaskListEntry {
  upid: string;
  type: string;
  id?: string;
  user?: string;
  starttime?: number;
  endtime?: number;
  status?: string;
}

export interface FirewallRuleObserved {
  pos: number;
  type: string;
  action: string;
  enable?: number;
  [k: string]: unknown;
}

export type Params = Record<string, string | number | boolean | undefined | null | string[]>;

export interface PveRequestStats {
  /** Requests by HTTP method, including proxmox-api's silent retry. */
  byMethod: Record<string, number>;
  total: number;
  writes: number;
}

export interface PveClient {
  /** USER@REALM!TOKENID: the `user` Proxmox records on tasks phoenix starts. */
  readonly tokenId: string;
  request<T = unknown>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', template: string, vars?: Record<string, string | number>, params?: Params): Promise<T>;
  clusterGuests(): Promise<ClusterGuest[]>;
  nodes(): Promise<NodeInfo[]>;
  storages(): Promise<StorageInfo[]>;
  guestConfig(node: string, type: GuestType, vmid: number): Promise<Record<string, unknown>>;
  guestPending(node: string, type: GuestType, vmid: number): Promise<PendingEntry[]>;
  createGuest(node: string, type: GuestType, params: Params): Promise<string>;
  cloneGuest(node: string, type: GuestType, vmid: number, params: Params): Promise<string>;
  updateConfig(node: string, type: GuestType, vmid: number, params: Params): Promise<void>;
  resizeDisk(node: string, type: GuestType, vmid: number, disk: string, size: string): Promise<string | null>;
  power(node: string, type: GuestType, vmid: number, action: 'start' | 'stop' | 'shutdown' | 'reboot'): Promise<string>;
  convertToTemplate(node: string, type: GuestType, vmid: number): Promise<string | null>;
  snapshots(node: string, type: GuestType, vmid: number): Promise<{ name: string }[]>;
  createSnapshot(node: string, type: GuestType, vmid: number, snapname: string, description?: string): Promise<string>;
  regenerateCloudInit(node: string, vmid: number): Promise<void>;
  firewallOptions(node: string, type: GuestType, vmid: number): Promise<Record<string, unknown>>;
  setFirewallOptions(node: string, type: GuestType, vmid: number, params: Params): Promise<void>;
  firewallRules(node: string, type: GuestType, vmid: number): Promise<FirewallRuleObserved[]>;
  addFirewallRule(node: string, type: GuestType, vmid: number, params: Params): Promise<void>;
  deleteFirewallRule(node: string, type: GuestType, vmid: number, pos: number): Promise<void>;
  deleteGuest(node: string, type: GuestType, vmid: number, params?: Params): Promise<string>;
  taskStatus(node: string, upid: string): Promise<TaskStatus>;
  taskLog(node: string, upid: string, start?: number, limit?: number): Promise<{ n: number; t: string }[]>;
  tasks(node: string, filter?: { vmid?: number; source?: 'active' | 'archive' | 'all'; limit?: number }): Promise<TaskListEntry[]>;
  stats(): PveRequestStats;
  close(): Promise<void>;
}

export interface PveClientOptions {
  log?: Pick<Logger, 'warn'>;
}

function makeDispatcher(tls: PveTls): Agent {
  if (tls.mode === 'ca') return new Agent({ connect: { ca: tls.caPem, rejectUnauthorized: true } });
  if (tls.mode === 'insecure') return new Agent({ connect: { rejectUnauthorized: false } });
  if (tls.mode === 'system') return new Agent();
  // Pin: the chain is not judged (a self-signed Proxmox certificate has none), the leaf is compared
  // with the pinned SHA-256 before a single byte of the request is written. No session reuse, so
  // every connection presents its certificate.
  const base = buildConnector({ rejectUnauthorized: false, maxCachedSessions: 0 });
  const want = tls.fingerprint;
  return new Agent({
    connect(opts, cb) {
      base(opts, (err, socket) => {
        if (err || !socket) return cb(err ?? new Error('TLS connect failed'), null);
        const got = (socket as TLSSocket).getPeerCertificate?.()?.fingerprint256;
        if (got !== want) {
          socket.destroy();
          const e = new Error(
            `TLS certificate fingerprint mismatch: the server presented ${got ?? 'no certificate'}, PHOENIX_PVE_FINGERPRINT pins ${want}`,
          ) as Error & { code: string };
          e.code = 'ERR_TLS_CERT_FINGERPRINT_MISMATCH';
          return cb(e, null);
        }
        cb(null, socket);
      });
    },
  });
}

export function createPveClient(config: PveConfig, metrics?: Metrics, options: PveClientOptions = {}): PveClient {
  const log = options.log ?? { warn: (m: string) => console.warn(m) };
  if (config.tls.mode === 'insecure') {
    log.warn('PHOENIX_PVE_INSECURE=1: the Proxmox server certificate is NOT verified; anyone on the path can read the API token. Set PHOENIX_PVE_CA_FILE or PHOENIX_PVE_FINGERPRINT.');
  }
  const secrets = [config.tokenSecret, `${config.tokenId}=${config.tokenSecret}`];
  const dispatcher = makeDispatcher(config.tls);
  const stats: PveRequestStats = { byMethod: {}, total: 0, writes: 0 };

  const instrumentedFetch = async (input: string | URL, init?: Record<string, unknown>): Promise<unknown> => {
    const u = new URL(String(input));
    const method = String(init?.method ?? 'GET').toUpperCase();
    const path = pathTemplate(u.pathname);
    stats.byMethod[method] = (stats.byMethod[method] ?? 0) + 1;
    stats.total++;
    if (method !== 'GET') stats.writes++;
    const end = metrics?.pveApiDuration.startTimer({ method, path });
    try {
      const res = await undiciFetch(u, { ...(init as object), dispatcher } as Parameters<typeof undiciFetch>[1]);
      metrics?.pveApiRequests.inc({ method, path, code: String(res.status) });
      return res;
    } catch (e) {
      metrics?.pveApiRequests.inc({ method, path, code: '0' });
      throw e;
    } finally {
      end?.();
    }
  };

  const engine = new ProxmoxEngine({
    host: config.host.includes(':') ? `[${config.host}]` : config.host,
    port: config.port,
    schema: 'https',
    tokenID: config.tokenId,
    tokenSecret: config.tokenSecret,
    queryTimeout: config.queryTimeoutMs ?? 60_000,
    fetch: instrumentedFetch as never,
  });

  async function request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', template: string, vars: Record<string, string | number> = {}, params?: Params): Promise<T> {
    const path = template.replace(/\{(\w+)\}/g, (_, k: string) => {
      const v = vars[k];
      if (v === undefined) throw new Error(`pve request ${template}: missing path value ${k}`);
      return encodeURIComponent(String(v));
    });
    const body: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== null) body[k] = v;
    try {
      return (await engine.doRequest(method, `/api2/json${path}`, `/api2/json${template}`, Object.keys(body).length ? body : undefined)) as T;
    } catch (e) {
      throw toPveError(e, secrets);
    }
  }

  const base = (type: GuestType) => `/nodes/{node}/${type}/{vmid}`;
  const asUpid = (v: unknown, what: string): string => {
    if (typeof v !== 'string' || !v.startsWith('UPID:')) throw new PveError({ kind: 'Transient', status: 200, pveMessage: `${what}: expected a task id, got ${scrub(JSON.stringify(v) ?? 'nothing', secrets)}` });
    return v;
  };

  return {
    tokenId: config.tokenId,
    request,
    async clusterGuests() {
      const rows = await request<Record<string, unknown>[]>('GET', '/cluster/resources', {}, { type: 'vm' });
      return (rows ?? [])
        .filter((r) => r.type === 'lxc' || r.type === 'qemu')
        .map((r) => {
          const g: ClusterGuest = {
            id: String(r.id),
            vmid: Number(r.vmid),
            node: String(r.node),
            type: r.type as GuestType,
            status: String(r.status ?? 'unknown'),
            template: Number(r.template ?? 0) === 1,
            tags: normTags(r.tags),
          };
          if (r.name !== undefined) g.name = String(r.name);
          if (r.lock !== undefined && r.lock !== '') g.lock = String(r.lock);
          if (r.maxmem !== undefined) g.maxmem = Number(r.maxmem);
          if (r.maxcpu !== undefined) g.maxcpu = Number(r.maxcpu);
          if (r.maxdisk !== undefined) g.maxdisk = Number(r.maxdisk);
          return g;
        });
    },
    async nodes() {
      const rows = await request<Record<string, unknown>[]>('GET', '/nodes');
      return (rows ?? []).map((r) => ({ node: String(r.node), status: String(r.status ?? 'unknown'), mem: Number(r.mem ?? 0), maxmem: Number(r.maxmem ?? 0) }));
    },
    async storages() {
      // The cluster view lists every storage once per node; one call serves every node.
      const rows = await request<Record<string, unknown>[]>('GET', '/cluster/resources', {}, { type: 'storage' });
      const byName = new Map<string, StorageInfo>();
      for (const r of rows ?? []) {
        const name = String(r.storage);
        const s = byName.get(name) ?? {
          storage: name,
          type: String(r.plugintype ?? r.type ?? ''),
          shared: Number(r.shared ?? 0) === 1,
          content: String(r.content ?? '').split(',').filter(Boolean),
          nodes: [],
        };
        if (r.node !== undefined) s.nodes!.push(String(r.node));
        byName.set(name, s);
      }
      return [...byName.values()];
    },
    guestConfig: (node, type, vmid) => request('GET', `${base(type)}/config`, { node, vmid }),
    async guestPending(node, type, vmid) {
      return (await request<PendingEntry[]>('GET', `${base(type)}/pending`, { node, vmid })) ?? [];
    },
    async createGuest(node, type, params) {
      return asUpid(await request('POST', `/nodes/{node}/${type}`, { node }, params), 'create');
    },
    async cloneGuest(node, type, vmid, params) {
      return asUpid(await request('POST', `${base(type)}/clone`, { node, vmid }, params), 'clone');
    },
    async updateConfig(node, type, vmid, params) {
      await request('PUT', `${base(type)}/config`, { node, vmid }, params);
    },
    async resizeDisk(node, type, vmid, disk, size) {
      const r = await request('PUT', `${base(type)}/resize`, { node, vmid }, { disk, size });
      return typeof r === 'string' && r.startsWith('UPID:') ? r : null;
    },
    async power(node, type, vmid, action) {
      return asUpid(await request('POST', `${base(type)}/status/${action}`, { node, vmid }), action);
    },
    async convertToTemplate(node, type, vmid) {
      const r = await request('POST', `${base(type)}/template`, { node, vmid });
      return typeof r === 'string' && r.startsWith('UPID:') ? r : null;
    },
    async snapshots(node, type, vmid) {
      const rows = (await request<{ name: string }[]>('GET', `${base(type)}/snapshot`, { node, vmid })) ?? [];
      return rows.filter((s) => s.name !== 'current');
    },
    async createSnapshot(node, type, vmid, snapname, description) {
      return asUpid(await request('POST', `${base(type)}/snapshot`, { node, vmid }, { snapname, description }), 'snapshot');
    },
    async regenerateCloudInit(node, vmid) {
      await request('PUT', '/nodes/{node}/qemu/{vmid}/cloudinit', { node, vmid });
    },
    async firewallOptions(node, type, vmid) {
      return (await request<Record<string, unknown>>('GET', `${base(type)}/firewall/options`, { node, vmid })) ?? {};
    },
    async setFirewallOptions(node, type, vmid, params) {
      await request('PUT', `${base(type)}/firewall/options`, { node, vmid }, params);
    },
    async firewallRules(node, type, vmid) {
      return (await request<FirewallRuleObserved[]>('GET', `${base(type)}/firewall/rules`, { node, vmid })) ?? [];
    },
    async addFirewallRule(node, type, vmid, params) {
      await request('POST', `${base(type)}/firewall/rules`, { node, vmid }, params);
    },
    async deleteFirewallRule(node, type, vmid, pos) {
      await request('DELETE', `${base(type)}/firewall/rules/{pos}`, { node, vmid, pos });
    },
    async deleteGuest(node, type, vmid, params) {
      return asUpid(await request('DELETE', base(type), { node, vmid }, params), 'delete');
    },
    async taskStatus(node, upid) {
      return request<TaskStatus>('GET', '/nodes/{node}/tasks/{upid}/status', { node, upid });
    },
    async taskLog(node, upid, start = 0, limit = 50) {
      return (await request<{ n: number; t: string }[]>('GET', '/nodes/{node}/tasks/{upid}/log', { node, upid }, { start, limit })) ?? [];
    },
    async tasks(node, filter = {}) {
      return (await request<TaskListEntry[]>('GET', '/nodes/{node}/tasks', { node }, { vmid: filter.vmid, source: filter.source, limit: filter.limit })) ?? [];
    },
    stats: () => ({ byMethod: { ...stats.byMethod }, total: stats.total, writes: stats.writes }),
    close: () => dispatcher.close(),
  };
}
