// The emulated Proxmox VE cluster: nodes, guests (LXC and QEMU), storages, tasks, locks and a clock.
// No HTTP here: every API operation is a method taking the request's parameters (strings, as on the
// wire) and returning the `data` to answer with, a UPID for tasks, or throwing PveError with the exact
// Proxmox text. Checks Proxmox makes before forking a worker throw (HTTP 500); checks it makes inside
// the worker end the task with that text as exitstatus.
import { randomUUID } from 'node:crypto';
import {
  CLOUDINIT_KEYS_RE,
  configText,
  diskVolume,
  isConfigKey,
  isDiskKey,
  isNetKey,
  netBridge,
  normaliseLxcNet,
  normaliseQemuNet,
  sha1,
  wireConfig,
  wireValue,
  type Config,
  type GuestType,
} from './config.js';
import { ExactTaskError, PveError, errorText, fail, paramFail } from './errors.js';
import { LockManager, LockTimeout } from './locks.js';
import {
  DEFAULT_STORAGES,
  NOBLE_IMAGE,
  NOBLE_VIRTUAL_SIZE,
  UBUNTU_VZTMPL,
  checkContent,
  outOfSpaceMessage,
  poolCapacity,
  poolUsed,
  supportsLinkedClone,
  volumeName,
  VolumeMap,
  shortName,
  type ContentType,
  type StoragePool,
  type StorageSpec,
  type Volume,
} from './storage.js';
import { TaskManager, type TaskContext, type TaskFault, type TaskRecord } from './tasks.js';
import { parseUpid } from './upid.js';
import { GiB, MiB, formatPropString, formatSize, generateMac, parsePropString, parseSize, seededRandom, unixNow } from './util.js';

export type { GuestType, Config } from './config.js';
export type Params = Record<string, string | string[]>;

/** Seconds (at time scale 1) that work takes; every figure is multiplied by the time scale. */
export const DURATIONS = {
  vzcreate: 6,
  qmcreate: 2,
  start: 2,
  stop: 1,
  vzshutdown: 3,
  qmshutdown: 4,
  reboot: 5,
  destroy: 1,
  resize: 1,
  qmtemplate: 2,
  qmconfig: 0.5,
  snapshot: 1,
  delsnapshot: 1,
  cloneBase: 1,
  /** Full clone / import copy speed: seconds per GiB, holding the target storage's lock. */
  copyPerGiB: 1,
  /** Guest agent answers this long after a VM starts. */
  agentBoot: 3,
};

/** Lock waits (seconds at time scale 1), as Proxmox's flock timeouts. */
export const LOCK_WAIT = { config: 10, create: 5, qemuClone: 1, storage: 10 };

export interface NodeState {
  name: string;
  maxcpu: number;
  maxmem: number;
  bootedAtMs: number;
}

export interface Snapshot {
  conf: Config;
  snaptime: number;
  description: string;
}

export interface Guest {
  vmid: number;
  type: GuestType;
  node: string;
  conf: Config;
  pending: Config;
  pendingDelete: string[];
  status: 'running' | 'stopped';
  startedAtMs?: number;
  snapshots: Record<string, Snapshot>;
  firewall: { options: Config; rules: Config[] };
  /** Cloud-init values baked into the drive at the last start / regenerate (QEMU). */
  ciGenerated?: Config;
}

export interface AgentExecRecord {
  node: string;
  vmid: number;
  pid: number;
  command: string[];
  inputData?: string;
  at: string;
  exitcode: number;
  outData: string;
  errData: string;
}

export interface Caller {
  /** Who runs it: the UPID's user (`root@pam` or `root@pam!tokenid`). */
  user: string;
  /** Injected fault for the task this call starts, if any. */
  taskFault?: TaskFault;
}

export interface SimulatorOptions {
  nodes?: string[];
  storages?: StorageSpec[];
  timeScale?: number;
  seed?: number;
  bridges?: string[];
  log?: (line: string) => void;
}

export class SimulatorClosed extends Error {
  override name = 'SimulatorClosed';
}

/** How every /cluster/resources answer starts. */
const PREFIX = '{"data":[';
const label = (t: GuestType): 'CT' | 'VM' => (t === 'lxc' ? 'CT' : 'VM');
const confPath = (node: string, t: GuestType, vmid: number) => `nodes/${node}/${t === 'lxc' ? 'lxc' : 'qemu-server'}/${vmid}.conf`;
const lockPath = (t: GuestType, vmid: number) => (t === 'lxc' ? `/run/lock/lxc/pve-config-${vmid}.lock` : `/var/lock/qemu-server/lock-${vmid}.conf`);
const str = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[v.length - 1] : v);
const bool = (v: string | string[] | undefined): boolean => str(v) === '1';

/** Parameters of create/update calls that are not config keys. */
const NON_CONFIG_PARAMS = new Set([
  'node', 'vmid', 'digest', 'delete', 'revert', 'skiplock', 'background_delay', 'force', 'ostemplate', 'storage', 'password',
  'ssh-public-keys', 'start', 'pool', 'restore', 'unique', 'ignore-unpack-errors', 'bwlimit', 'archive', 'live-restore',
  'import-working-storage', 'ha-managed',
]);

/** QEMU keys applied at once to a running VM (with the default hotplug "network,disk,usb"). */
const QEMU_HOT = /^(name|description|tags|onboot|protection|startup|lock|balloon|hotplug|net\d+|unused\d+|ciuser|cipassword|citype|ciupgrade|cicustom|sshkeys|nameserver|searchdomain|ipconfig\d+)$/;
/** LXC keys applied at once to a running container. */
const LXC_HOT = /^(hostname|description|tags|onboot|protection|startup|lock|memory|swap|cores|cpulimit|cpuunits|nameserver|searchdomain|net\d+|unused\d+)$/;

export class Simulator {
  readonly nodes = new Map<string, NodeState>();
  readonly storageSpecs = new Map<string, StorageSpec>();
  readonly pools = new Map<string, StoragePool>();
  readonly guests = new Map<number, Guest>();
  readonly locks = new LockManager();
  readonly tasks: TaskManager;
  readonly agentExecs: AgentExecRecord[] = [];
  readonly bridges: Set<string>;
  readonly timeScale: number;
  /** Decides what an agent command returns (tests replace it). Default: exit 0, no output. */
  agentExecHandler: (rec: { node: string; vmid: number; command: string[]; inputData?: string }) => { exitcode: number; outData?: string; errData?: string } = () => ({ exitcode: 0 });
  /** Called after any state change (persistence debounce hooks in here). */
  onChange: () => void = () => {};
  readonly log: (line: string) => void;
  private rand: () => number;
  private digests = new Map<number, string>();
  /** Per-guest figures derived from the config (for list answers), dropped whenever the guest changes. */
  private derived = new Map<number, { maxmem: number; maxcpu: number; maxdisk: number; name: string }>();
  /** Per-guest /cluster/resources row as UTF-8 JSON up to its value of `uptime` (which ticks), same lifetime. */
  private rowHead = new Map<number, Buffer>();
  /** Bumped on every change of a guest; with the current second it keys the answer caches below. */
  private stateVersion = 0;
  /**
   * The type=vm answer for one state and second (the all-types answer starts with it): row i of the
   * guests in `order` starts at `starts[i]` and ends with a comma (the last with `]`), so that the next
   * state or second can be built by copying the rows that did not change.
   */
  private guestRows?: { version: number; second: number; members: number; order: Guest[]; starts: Uint32Array; buf: Buffer };
  /** Guests changed since guestRows was built. */
  private dirtyRows = new Set<number>();
  /** Bumped whenever a guest is added or removed (the order of rows changes). */
  private members = 0;
  /** Whole /cluster/resources bodies by type, valid while their guest rows and other rows are unchanged. */
  private resourcesCache = new Map<string, { version: number; second: number; others: string; body: Buffer }>();
  /** Memory of running guests per node, for one state. */
  private nodeMem?: { version: number; used: Map<string, number> };
  private timers = new Set<{ timer: NodeJS.Timeout; reject: (e: Error) => void }>();
  private closed = false;
  private agentPid = 1000;

  constructor(opts: SimulatorOptions = {}) {
    this.timeScale = opts.timeScale ?? 1;
    this.rand = seededRandom(opts.seed ?? Date.now());
    this.log = opts.log ?? (() => {});
    this.bridges = new Set(opts.bridges ?? ['vmbr0']);
    for (const name of opts.nodes ?? ['pve']) {
      this.nodes.set(name, { name, maxcpu: 8, maxmem: 64 * GiB, bootedAtMs: Date.now() - 3600_000 });
    }
    const specs = [...DEFAULT_STORAGES];
    for (const s of opts.storages ?? []) {
      const i = specs.findIndex((x) => x.name === s.name);
      if (i >= 0) specs[i] = s;
      else specs.push(s);
    }
    for (const s of specs) this.addStorage(s);
    this.tasks = new TaskManager({ sleep: (s) => this.sleep(s) });
    this.tasks.onChange = () => this.onChange();
  }

  // ---------------------------------------------------------------------------------------------
  // clock

  /** Milliseconds for `seconds` of simulated time. */
  ms(seconds: number): number {
    return seconds * 1000 * this.timeScale;
  }

  sleep(seconds: number): Promise<void> {
    if (this.closed) return Promise.reject(new SimulatorClosed());
    return new Promise((resolve, reject) => {
      const entry = {
        timer: setTimeout(() => {
          this.timers.delete(entry);
          resolve();
        }, this.ms(seconds)),
        reject,
      };
      this.timers.add(entry);
    });
  }

  /** Stop all timers; running tasks stay "running" (persisted as such, resolved on restart). */
  close(): void {
    this.closed = true;
    this.onChange = () => {};
    for (const t of this.timers) {
      clearTimeout(t.timer);
      t.reject(new SimulatorClosed());
    }
    this.timers.clear();
  }

  private changed(g?: Guest): void {
    this.stateVersion++;
    if (g) {
      this.digests.delete(g.vmid);
      this.derived.delete(g.vmid);
      this.rowHead.delete(g.vmid);
      this.dirtyRows.add(g.vmid);
    }
    this.onChange();
  }

  /** A guest came or went: the next /cluster/resources rows are built afresh, in the new order. */
  private membersChanged(): void {
    this.members++;
    this.dirtyRows.clear();
  }

  /**
   * Drop every figure cached per guest (digests, list figures, /cluster/resources rows): for code
   * that changes guests without going through the model's operations, e.g. restoring saved state.
   */
  invalidate(): void {
    this.digests.clear();
    this.derived.clear();
    this.rowHead.clear();
    this.guestRows = undefined;
    this.membersChanged();
    this.resourcesCache.clear();
    this.nodeMem = undefined;
    this.stateVersion++;
  }

  // ---------------------------------------------------------------------------------------------
  // storages

  addStorage(spec: StorageSpec): void {
    this.storageSpecs.set(spec.name, spec);
    const keys = spec.shared ? [`*/${spec.name}`] : [...this.nodes.keys()].map((n) => `${n}/${spec.name}`);
    for (const key of keys) {
      if (this.pools.has(key)) {
        this.pools.get(key)!.spec = spec;
        continue;
      }
      const node = spec.shared ? undefined : key.slice(0, key.indexOf('/'));
      const pool: StoragePool = node === undefined ? { spec, volumes: new VolumeMap() } : { spec, node, volumes: new VolumeMap() };
      this.pools.set(key, pool);
      if (spec.name === 'local') {
        const ctime = unixNow() - 86400;
        pool.volumes.set(UBUNTU_VZTMPL, { volid: UBUNTU_VZTMPL, size: 141 * MiB, content: 'vztmpl', format: 'tzst', ctime });
        pool.volumes.set(NOBLE_IMAGE, { volid: NOBLE_IMAGE, size: 598 * MiB, content: 'import', format: 'raw', ctime });
      }
    }
  }

  pool(node: string, storage: string): StoragePool {
    const spec = this.storageSpecs.get(storage);
    if (!spec) fail(`storage '${storage}' does not exist`);
    return this.pools.get(spec.shared ? `*/${storage}` : `${node}/${storage}`)!;
  }

  private storageLockKey(p: StoragePool): string {
    return `storage:${p.node ?? '*'}/${p.spec.name}`;
  }

  /** Hold a storage's lock while fn runs (Proxmox: /var/lock/pve-manager/pve-storage-ID, or cfs-lock when shared). */
  private async withStorageLock<T>(p: StoragePool, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.locks.with(this.storageLockKey(p), `/var/lock/pve-manager/pve-storage-${p.spec.name}`, this.ms(LOCK_WAIT.storage), fn);
    } catch (e) {
      if (e instanceof LockTimeout && p.spec.shared) throw new Error(`cfs-lock 'storage-${p.spec.name}' error: got lock request timeout`);
      throw e;
    }
  }

  private findVolume(node: string, volid: string): { pool: StoragePool; vol: Volume } | undefined {
    const i = volid.indexOf(':');
    if (i < 0) return undefined;
    const spec = this.storageSpecs.get(volid.slice(0, i));
    if (!spec) return undefined;
    const pool = this.pools.get(spec.shared ? `*/${spec.name}` : `${node}/${spec.name}`);
    const vol = pool?.volumes.get(volid);
    return pool && vol ? { pool, vol } : undefined;
  }

  /** Allocate a new volume (throws the storage's out-of-space text). */
  private allocVolume(node: string, storage: string, guest: GuestType, vmid: number, size: number, content: ContentType, opts: { base?: boolean; parent?: string; cloudinit?: boolean } = {}): Volume {
    const pool = this.pool(node, storage);
    checkContent(pool.spec, content === 'images' || content === 'rootdir' ? content : 'images');
    let name: string;
    let format: string;
    if (opts.cloudinit) {
      const dir = pool.spec.type === 'dir' || pool.spec.type === 'nfs';
      name = dir ? `${vmid}/vm-${vmid}-cloudinit.qcow2` : `vm-${vmid}-cloudinit`;
      format = dir ? 'qcow2' : 'raw';
    } else {
      let n = 0;
      for (;;) {
        const a = volumeName(pool.spec, guest, vmid, n, false).name;
        const b = volumeName(pool.spec, guest, vmid, n, true).name;
        if (!pool.volumes.hasName(shortName(a)) && !pool.volumes.hasName(shortName(b))) break;
        n++;
      }
      ({ name, format } = volumeName(pool.spec, guest, vmid, n, opts.base));
    }
    if (opts.parent) {
      const baseName = opts.parent.slice(opts.parent.indexOf(':') + 1);
      name = `${baseName}/${name}`;
    } else {
      const free = poolCapacity(pool) - poolUsed(pool);
      if (size > free) throw new Error(outOfSpaceMessage(pool.spec, name, size, free));
    }
    const vol: Volume = { volid: `${storage}:${name}`, size, content, format, vmid, ctime: unixNow() };
    if (opts.parent) vol.parent = opts.parent;
    pool.volumes.set(vol.volid, vol);
    return vol;
  }

  private freeVolume(node: string, volid: string): void {
    const f = this.findVolume(node, volid);
    if (f) f.pool.volumes.delete(volid);
  }

  // ---------------------------------------------------------------------------------------------
  // lookups and checks

  checkNode(node: string): NodeState {
    const n = this.nodes.get(node);
    if (!n) fail(`hostname lookup '${node}' failed - failed to get address info for: ${node}: Name or service not known`);
    return n;
  }

  guest(node: string, type: GuestType, vmid: number | string): Guest {
    this.checkNode(node);
    const id = Number(vmid);
    const g = this.guests.get(id);
    if (!g || g.type !== type || g.node !== node) fail(`Configuration file '${confPath(node, type, id)}' does not exist`);
    return g;
  }

  digest(g: Guest): string {
    let d = this.digests.get(g.vmid);
    if (!d) {
      d = sha1(configText(g.conf, g.pending, g.pendingDelete, g.snapshots));
      this.digests.set(g.vmid, d);
    }
    return d;
  }

  private checkLock(g: Guest): void {
    if (g.conf.lock) fail(`${label(g.type)} is locked (${g.conf.lock})`);
  }

  /** Hold the guest's config file lock while fn runs; times out with Proxmox's flock text. */
  private withConfigLock<T>(g: { type: GuestType; vmid: number }, fn: () => Promise<T> | T, waitSeconds = LOCK_WAIT.config, prefix = ''): Promise<T> {
    return this.locks
      .with(`${g.type}:${g.vmid}`, lockPath(g.type, g.vmid), this.ms(waitSeconds), fn)
      .catch((e: unknown) => {
        if (e instanceof LockTimeout && prefix) throw new PveError(500, prefix + e.message);
        if (e instanceof LockTimeout) throw new PveError(500, e.message);
        throw e;
      });
  }

  private guestName(g: Guest): string {
    return (g.type === 'lxc' ? g.conf.hostname : g.conf.name) ?? `${label(g.type)} ${g.vmid}`;
  }

  /** Volumes a config references (disk keys and unusedN), with their keys. */
  private guestDisks(g: Guest, conf: Config = g.conf): Array<{ key: string; volid: string }> {
    const out: Array<{ key: string; volid: string }> = [];
    for (const [k, v] of Object.entries(conf)) {
      if (!isDiskKey(g.type, k) && !/^unused\d+$/.test(k)) continue;
      const volid = /^unused\d+$/.test(k) ? v : diskVolume(v);
      if (volid && this.findVolume(g.node, volid)) out.push({ key: k, volid });
    }
    return out;
  }

  private diskSize(value: string): number {
    const size = parsePropString(value).kv.get('size');
    return (size && parseSize(size)) || 0;
  }

  private maxdisk(g: Guest): number {
    if (g.type === 'lxc') return g.conf.rootfs ? this.diskSize(g.conf.rootfs) : 0;
    for (const k of Object.keys(g.conf).sort()) if (/^(scsi|virtio|sata|ide)\d+$/.test(k) && !g.conf[k]!.includes('media=cdrom')) return this.diskSize(g.conf[k]!);
    return 0;
  }

  private memoryMiB(g: Guest): number {
    const m = g.conf.memory;
    if (!m) return g.type === 'lxc' ? 512 : 2048;
    const p = parsePropString(m);
    return Number(p.kv.get('current') ?? p.head ?? m) || 512;
  }

  private uptime(g: Guest): number {
    return g.status === 'running' && g.startedAtMs ? Math.floor((Date.now() - g.startedAtMs) / 1000) : 0;
  }

  private mac = (): string => generateMac(this.rand);

  /** Random number in [0,1) from the seeded generator (faults use it too). */
  random(): number {
    return this.rand();
  }

  // ---------------------------------------------------------------------------------------------
  // cluster / nodes

  version(): Record<string, string> {
    return { version: '9.1.1', release: '9.1', repoid: '42ab81d5c9e6a7f2' };
  }

  private nodeMemUsed(node: string): number {
    if (this.nodeMem?.version !== this.stateVersion) {
      const used = new Map<string, number>();
      for (const g of this.guests.values()) if (g.status === 'running') used.set(g.node, (used.get(g.node) ?? 0) + this.derivedOf(g).maxmem);
      this.nodeMem = { version: this.stateVersion, used };
    }
    return 3 * GiB + (this.nodeMem.used.get(node) ?? 0);
  }

  private nodeEntry(n: NodeState): Record<string, unknown> {
    const rootTotal = 96 * GiB;
    return {
      id: `node/${n.name}`,
      type: 'node',
      node: n.name,
      status: 'online',
      cpu: 0.02,
      maxcpu: n.maxcpu,
      mem: this.nodeMemUsed(n.name),
      maxmem: n.maxmem,
      disk: 12 * GiB,
      maxdisk: rootTotal,
      uptime: Math.floor((Date.now() - n.bootedAtMs) / 1000),
      level: '',
    };
  }

  listNodes(): Array<Record<string, unknown>> {
    return [...this.nodes.values()].map((n) => {
      const e = this.nodeEntry(n);
      delete e.type;
      return e;
    });
  }

  nodeStatus(node: string): Record<string, unknown> {
    const n = this.checkNode(node);
    const used = this.nodeMemUsed(node);
    return {
      uptime: Math.floor((Date.now() - n.bootedAtMs) / 1000),
      cpu: 0.02,
      wait: 0,
      idle: 0,
      loadavg: ['0.12', '0.09', '0.05'],
      cpuinfo: { cpus: n.maxcpu, cores: n.maxcpu / 2, sockets: 1, model: 'pvesim virtual CPU', mhz: '2999.999', hvm: '1', flags: '', user_hz: 100 },
      memory: { total: n.maxmem, used, free: n.maxmem - used, available: n.maxmem - used },
      swap: { total: 8 * GiB, used: 0, free: 8 * GiB },
      rootfs: { total: 96 * GiB, used: 12 * GiB, free: 84 * GiB, avail: 84 * GiB },
      ksm: { shared: 0 },
      kversion: 'Linux 6.17.2-1-pve #1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z) x86_64',
      'current-kernel': { sysname: 'Linux', release: '6.17.2-1-pve', version: '#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z)', machine: 'x86_64' },
      pveversion: 'pve-manager/9.1.1/42ab81d5c9e6a7f2',
      'boot-info': { mode: 'efi', secureboot: 0 },
    };
  }

  clusterStatus(): Array<Record<string, unknown>> {
    const nodes = [...this.nodes.values()];
    const out: Array<Record<string, unknown>> = [];
    if (nodes.length > 1) out.push({ type: 'cluster', id: 'cluster', name: 'pvesim', nodes: nodes.length, quorate: 1, version: nodes.length + 1 });
    nodes.forEach((n, i) => out.push({ type: 'node', id: `node/${n.name}`, name: n.name, nodeid: i + 1, ip: `192.0.2.${10 + i}`, online: 1, local: i === 0 ? 1 : 0, level: '' }));
    return out;
  }

  private derivedOf(g: Guest): { maxmem: number; maxcpu: number; maxdisk: number; name: string } {
    let d = this.derived.get(g.vmid);
    if (!d) {
      d = {
        maxmem: this.memoryMiB(g) * MiB,
        maxcpu: Number(g.conf.cores ?? 1) * (g.type === 'qemu' ? Number(g.conf.sockets ?? 1) : 1),
        maxdisk: this.maxdisk(g),
        name: this.guestName(g),
      };
      this.derived.set(g.vmid, d);
    }
    return d;
  }

  private guestResource(g: Guest): Record<string, unknown> {
    const { maxmem, maxcpu, maxdisk, name } = this.derivedOf(g);
    const running = g.status === 'running';
    const r: Record<string, unknown> = {
      id: `${g.type}/${g.vmid}`,
      type: g.type,
      vmid: g.vmid,
      node: g.node,
      name,
      status: g.status,
      template: g.conf.template === '1' ? 1 : 0,
      maxmem,
      mem: running ? Math.floor(maxmem * 0.4) : 0,
      maxcpu,
      cpu: running ? 0.01 : 0,
      maxdisk,
      disk: 0,
      uptime: this.uptime(g),
      netin: 0,
      netout: 0,
      diskread: 0,
      diskwrite: 0,
    };
    if (g.conf.lock) r.lock = g.conf.lock;
    if (g.conf.tags) r.tags = g.conf.tags;
    return r;
  }

  private storageResource(p: StoragePool, node: string): Record<string, unknown> {
    const used = poolUsed(p);
    return {
      id: `storage/${node}/${p.spec.name}`,
      type: 'storage',
      storage: p.spec.name,
      node,
      status: 'available',
      plugintype: p.spec.type,
      content: p.spec.content.join(','),
      shared: p.spec.shared ? 1 : 0,
      disk: used,
      maxdisk: poolCapacity(p),
    };
  }

  clusterResources(type?: string, withGuests = true): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    if (withGuests && (!type || type === 'vm')) for (const g of this.guests.values()) out.push(this.guestResource(g));
    if (!type || type === 'node') for (const n of this.nodes.values()) out.push(this.nodeEntry(n));
    if (!type || type === 'storage') {
      for (const n of this.nodes.keys()) for (const s of this.storageSpecs.values()) out.push(this.storageResource(this.pool(n, s.name), n));
    }
    return out;
  }

  /** A guest's row as UTF-8 JSON up to the value of its `uptime`, which goes last: `{"id":...,"uptime":`. */
  private rowHeadOf(g: Guest): Buffer {
    let head = this.rowHead.get(g.vmid);
    if (head === undefined) {
      const r = this.guestResource(g);
      delete r.uptime;
      // unpooled: a pooled slice would keep its whole 8 KiB slab alive for as long as the row lives
      const text = `${JSON.stringify(r).slice(0, -1)},"uptime":`;
      head = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
      head.write(text);
      this.rowHead.set(g.vmid, head);
    }
    return head;
  }

  /**
   * The type=vm answer `{"data":[row,...]}`, with uptimes as of `second`. Built from the previous one
   * when no guest came or went: only the rows of guests changed since, and (in a new second) of running
   * guests, whose uptimes tick, are written again; the rest are copied over in runs. One new buffer
   * each time (an answer still being sent is never touched).
   */
  private guestRowBytes(second: number): Buffer {
    const prev = this.guestRows;
    if (prev && prev.version === this.stateVersion && prev.second === second) return prev.buf;
    const patch = prev !== undefined && prev.members === this.members && prev.order.length === this.guests.size && this.dirtyRows.size <= prev.order.length / 4;
    const order = patch ? prev.order : [...this.guests.values()];
    const n = order.length;
    const newSecond = !patch || prev.second !== second;
    // rows to write: their index, head and uptime; the others are copied from the previous answer
    const redo: number[] = [];
    const heads: Buffer[] = [];
    const uptimes: string[] = [];
    // `{"data":[`, then `row,` per guest, the last comma becoming `]` and followed by `}`
    let size = patch ? prev.starts[n]! : PREFIX.length;
    for (let i = 0; i < n; i++) {
      const g = order[i]!;
      if (patch && !this.dirtyRows.has(g.vmid) && !(newSecond && g.status === 'running')) continue;
      const head = this.rowHeadOf(g);
      const uptime = String(this.uptime(g));
      redo.push(i);
      heads.push(head);
      uptimes.push(uptime);
      size += head.length + uptime.length + 2 - (patch ? prev.starts[i + 1]! - prev.starts[i]! : 0);
    }
    const buf = Buffer.allocUnsafe(size + (n > 0 ? 1 : 2));
    const starts = new Uint32Array(n + 1);
    let at = buf.write(PREFIX, 0, 'latin1');
    let next = 0; // the first row not yet placed
    const copyUpTo = (end: number) => {
      if (!patch || next >= end) return;
      const from = prev.starts[next]!;
      const shift = at - from;
      for (let r = next; r < end; r++) starts[r] = prev.starts[r]! + shift;
      buf.set(prev.buf.subarray(from, prev.starts[end]!), at);
      at += prev.starts[end]! - from;
    };
    for (let j = 0; j < redo.length; j++) {
      const i = redo[j]!;
      copyUpTo(i);
      starts[i] = at;
      buf.set(heads[j]!, at);
      at += heads[j]!.length;
      at += buf.write(uptimes[j]!, at, 'latin1');
      buf[at++] = 0x7d; // }
      buf[at++] = 0x2c; // ,
      next = i + 1;
    }
    copyUpTo(n);
    starts[n] = at;
    if (n > 0) buf[at - 1] = 0x5d; // ] in place of the last comma
    else buf[at++] = 0x5d;
    buf[at] = 0x7d; // }
    this.dirtyRows.clear();
    this.guestRows = { version: this.stateVersion, second, members: this.members, order, starts, buf };
    return buf;
  }

  /**
   * The /cluster/resources answer body `{"data":[...]}` as UTF-8, fast at tens of thousands of guests:
   * each guest's row is serialised once per change of the guest and copied in with its uptime, once a
   * second; the few node and storage rows are computed on every call, and the whole body is reused
   * while all rows stay the same. Guest uptimes are those of the second's first answer (Proxmox
   * itself serves these figures from pvestatd's periodic updates, not live).
   */
  clusterResourcesBody(type?: string): Buffer {
    // guest rows only change with the state or, through uptimes, with the second
    const second = Math.floor(Date.now() / 1000);
    if (type === 'vm') return this.guestRowBytes(second);
    const others = this.clusterResources(type, false).map((r) => JSON.stringify(r)).join(',');
    const key = type ?? '';
    const hit = this.resourcesCache.get(key);
    if (hit && hit.version === this.stateVersion && hit.second === second && hit.others === others) return hit.body;
    // all types: the guests' answer up to its closing `]}`, then the others
    const guests = type ? undefined : this.guestRowBytes(second);
    const rows = guests && guests.length > PREFIX.length + 2 ? guests.subarray(PREFIX.length, guests.length - 2) : Buffer.alloc(0);
    const tail = `${rows.length && others ? ',' : ''}${others}]}`;
    const body = Buffer.allocUnsafe(PREFIX.length + rows.length + Buffer.byteLength(tail));
    body.write(PREFIX, 0, 'latin1');
    body.set(rows, PREFIX.length);
    body.write(tail, PREFIX.length + rows.length);
    this.resourcesCache.set(key, { version: this.stateVersion, second, others, body });
    return body;
  }

  nextId(vmid?: string): string {
    if (vmid !== undefined) {
      if (this.guests.has(Number(vmid))) paramFail({ vmid: `VM ${vmid} already exists` });
      return String(Number(vmid));
    }
    for (let id = 100; id < 1_000_000_000; id++) if (!this.guests.has(id)) return String(id);
    fail('unable to get any free VMID in range [100, 999999999]');
  }

  // ---------------------------------------------------------------------------------------------
  // guest lists and status

  listGuests(node: string, type: GuestType): Array<Record<string, unknown>> {
    this.checkNode(node);
    const out: Array<Record<string, unknown>> = [];
    for (const g of this.guests.values()) {
      if (g.node !== node || g.type !== type) continue;
      const r = this.guestResource(g);
      delete r.id;
      delete r.node;
      r.cpus = r.maxcpu;
      delete r.maxcpu;
      if (type === 'lxc') r.type = 'lxc';
      else delete r.type;
      if (!r.template) delete r.template;
      out.push(r);
    }
    return out;
  }

  guestStatus(node: string, type: GuestType, vmid: string): Record<string, unknown> {
    const g = this.guest(node, type, vmid);
    const r = this.guestResource(g);
    delete r.id;
    delete r.node;
    r.cpus = r.maxcpu;
    delete r.maxcpu;
    r.ha = { managed: 0 };
    if (!r.template) delete r.template;
    if (type === 'lxc') {
      r.type = 'lxc';
      r.maxswap = Number(g.conf.swap ?? 512) * MiB;
      r.swap = 0;
    } else {
      delete r.type;
      r.qmpstatus = g.status;
      if (this.agentEnabled(g)) r.agent = 1;
      if (g.status === 'running') {
        r['running-machine'] = 'pc-i440fx-10.1+pve0';
        r['running-qemu'] = '10.1.2';
      }
    }
    if (g.status === 'running') r.pid = 10000 + (g.vmid % 50000);
    return r;
  }

  // ---------------------------------------------------------------------------------------------
  // config

  getConfig(node: string, type: GuestType, vmid: string, current = false): Record<string, string | number> {
    const g = this.guest(node, type, vmid);
    let conf = g.conf;
    if (!current && (Object.keys(g.pending).length > 0 || g.pendingDelete.length > 0)) {
      conf = { ...g.conf, ...g.pending };
      for (const k of g.pendingDelete) delete conf[k];
    }
    const out = wireConfig(type, conf);
    if (type === 'qemu' && out.cipassword !== undefined) out.cipassword = '**********';
    out.digest = this.digest(g);
    return out;
  }

  getPending(node: string, type: GuestType, vmid: string): Array<Record<string, unknown>> {
    const g = this.guest(node, type, vmid);
    const keys = new Set([...Object.keys(g.conf), ...Object.keys(g.pending), ...g.pendingDelete]);
    const out: Array<Record<string, unknown>> = [];
    for (const key of [...keys].sort()) {
      const e: Record<string, unknown> = { key };
      if (g.conf[key] !== undefined) e.value = wireValue(type, key, g.conf[key]!);
      if (g.pending[key] !== undefined) e.pending = wireValue(type, key, g.pending[key]!);
      if (g.pendingDelete.includes(key)) e.delete = 1;
      if (key === 'cipassword') {
        if (e.value !== undefined) e.value = '**********';
        if (e.pending !== undefined) e.pending = '**********';
      }
      out.push(e);
    }
    return out;
  }

  /** Check the parts of a config update that are parameter errors (before any lock or task). */
  private configParamChecks(type: GuestType, params: Params): { set: Config; del: string[]; revert: string[] } {
    const set: Config = {};
    for (const [k, v] of Object.entries(params)) {
      if (NON_CONFIG_PARAMS.has(k)) continue;
      if (!isConfigKey(type, k)) paramFail({ [k]: 'property is not defined in schema and the schema does not allow additional properties' });
      set[k] = str(v) ?? '';
    }
    const list = (v: string | string[] | undefined) => (str(v) ?? '').split(/[,;\s]+/).filter(Boolean);
    const del = list(params.delete);
    for (const k of del) if (!isConfigKey(type, k)) paramFail({ delete: `unknown option '${k}'` });
    for (const k of del) if (k in set) paramFail({ delete: `cannot set and delete '${k}' at the same time` });
    const revert = list(params.revert);
    return { set, del, revert };
  }

  /** PUT config (LXC, QEMU): synchronous, returns null. */
  async updateConfig(node: string, type: GuestType, vmid: string, params: Params): Promise<null> {
    this.guest(node, type, vmid);
    const checked = this.configParamChecks(type, params);
    await this.withConfigLock({ type, vmid: Number(vmid) }, () => this.applyUpdate(node, type, vmid, params, checked));
    return null;
  }

  /** POST config (QEMU): the same update in a qmconfig task. */
  async updateConfigAsync(node: string, vmid: string, params: Params, caller: Caller): Promise<string> {
    this.guest(node, 'qemu', vmid);
    const checked = this.configParamChecks('qemu', params);
    return this.tasks.start(node, 'qmconfig', vmid, caller.user, async (t) => {
      await this.withConfigLock({ type: 'qemu', vmid: Number(vmid) }, async () => {
        await t.work(DURATIONS.qmconfig);
        this.applyUpdate(node, 'qemu', vmid, params, checked);
      });
    }, caller.taskFault).upid;
  }

  private applyUpdate(node: string, type: GuestType, vmid: string, params: Params, c: { set: Config; del: string[]; revert: string[] }): void {
    const g = this.guest(node, type, vmid);
    const digest = str(params.digest);
    if (digest && digest !== this.digest(g)) {
      fail(type === 'lxc' ? 'detected modified configuration - file changed by other user? Try again.' : 'checksum mismatch (file change by other user?)');
    }
    if (Object.keys(c.set).length === 0 && c.del.length === 0 && c.revert.length === 0) fail('no options specified');
    if (!bool(params.skiplock)) this.checkLock(g);
    const running = g.status === 'running';
    const hot = (k: string) => !running || (type === 'qemu' ? QEMU_HOT : LXC_HOT).test(k);
    for (const k of c.revert) {
      delete g.pending[k];
      g.pendingDelete = g.pendingDelete.filter((x) => x !== k);
    }
    for (const k of c.del) {
      if (hot(k)) {
        this.deleteKey(g, k);
        delete g.pending[k];
      } else if (!g.pendingDelete.includes(k)) g.pendingDelete.push(k);
    }
    for (const [k, value] of Object.entries(c.set)) {
      let v = value;
      if (isNetKey(k)) {
        const old = g.pending[k] ?? g.conf[k];
        v = this.keepMac(type, v, old);
      } else if (isDiskKey(type, k)) {
        v = this.allocDiskValue(g, k, v);
        if (g.conf[k] === undefined || !running) {
          g.conf[k] = v;
          continue;
        }
      } else if (k === 'cipassword') {
        v = `$5$pvesim$${sha1(v).slice(0, 32)}`;
      }
      if (hot(k)) {
        g.conf[k] = v;
        delete g.pending[k];
        g.pendingDelete = g.pendingDelete.filter((x) => x !== k);
      } else {
        g.pending[k] = v;
      }
    }
    this.changed(g);
  }

  private keepMac(type: GuestType, value: string, old: string | undefined): string {
    let oldMac: string | undefined;
    if (old) {
      const p = parsePropString(old);
      oldMac = type === 'lxc' ? p.kv.get('hwaddr') : [...p.kv.values()][0];
    }
    const mac = () => oldMac ?? this.mac();
    return type === 'lxc' ? normaliseLxcNet(value, mac) : normaliseQemuNet(value, mac);
  }

  /** `store:SIZE` in a disk value means "allocate a new volume of SIZE GiB"; anything else is kept. */
  private allocDiskValue(g: Guest, key: string, value: string): string {
    const p = parsePropString(value);
    const m = p.head ? /^([a-zA-Z][a-zA-Z0-9\-_.]*):(\d+(?:\.\d+)?)$/.exec(p.head) : null;
    if (!m || !this.storageSpecs.has(m[1]!)) {
      if (p.head && /^[a-zA-Z][a-zA-Z0-9\-_.]*:cloudinit$/.test(p.head) && g.type === 'qemu') {
        const vol = this.allocVolume(g.node, p.head.split(':')[0]!, 'qemu', g.vmid, 4 * MiB, 'images', { cloudinit: true });
        p.head = vol.volid;
        p.kv.set('media', 'cdrom');
        return formatPropString(p);
      }
      return value;
    }
    const storage = m[1]!;
    let size = Math.round(Number(m[2]) * GiB);
    const importFrom = p.kv.get('import-from');
    if (importFrom) {
      const src = this.findVolume(g.node, importFrom);
      if (!src) fail(`volume '${importFrom}' does not exist`);
      size = src.vol.content === 'import' && src.vol.volid === NOBLE_IMAGE ? NOBLE_VIRTUAL_SIZE : src.vol.size;
      p.kv.delete('import-from');
    }
    const vol = this.allocVolume(g.node, storage, g.type, g.vmid, size, g.type === 'lxc' ? 'rootdir' : 'images');
    p.head = vol.volid;
    p.kv.set('size', formatSize(size));
    return this.sortDiskOpts(p, g.type);
  }

  private sortDiskOpts(p: ReturnType<typeof parsePropString>, type: GuestType): string {
    const kv = new Map<string, string>();
    if (type === 'lxc' && p.kv.has('mp')) kv.set('mp', p.kv.get('mp')!);
    for (const k of [...p.kv.keys()].sort()) if (!kv.has(k)) kv.set(k, p.kv.get(k)!);
    return formatPropString({ head: p.head!, kv });
  }

  /** Delete a config key: a disk becomes unusedN; deleting unusedN frees the volume. */
  private deleteKey(g: Guest, k: string): void {
    const v = g.conf[k];
    if (v === undefined) return;
    delete g.conf[k];
    if (/^unused\d+$/.test(k)) {
      this.freeVolume(g.node, v);
    } else if (isDiskKey(g.type, k)) {
      const volid = diskVolume(v);
      if (volid && this.findVolume(g.node, volid)) {
        if (volid.includes('cloudinit')) this.freeVolume(g.node, volid);
        else {
          let n = 0;
          while (g.conf[`unused${n}`] !== undefined) n++;
          g.conf[`unused${n}`] = volid;
        }
      }
    }
  }

  private applyPending(g: Guest): void {
    for (const k of g.pendingDelete) this.deleteKey(g, k);
    Object.assign(g.conf, g.pending);
    g.pending = {};
    g.pendingDelete = [];
  }

  // ---------------------------------------------------------------------------------------------
  // create

  private newGuest(vmid: number, type: GuestType, node: string, conf: Config): Guest {
    const g: Guest = { vmid, type, node, conf, pending: {}, pendingDelete: [], status: 'stopped', snapshots: {}, firewall: { options: {}, rules: [] } };
    this.guests.set(vmid, g);
    this.membersChanged();
    this.changed(g);
    return g;
  }

  private removeGuest(g: Guest, freeVolumes: boolean): void {
    if (freeVolumes) {
      for (const d of this.guestDisks(g)) {
        const f = this.findVolume(g.node, d.volid);
        if (f && f.vol.vmid === g.vmid) f.pool.volumes.delete(d.volid);
      }
      for (const s of Object.values(g.snapshots)) {
        for (const d of this.guestDisks(g, s.conf)) {
          const f = this.findVolume(g.node, d.volid);
          if (f && f.vol.vmid === g.vmid) f.pool.volumes.delete(d.volid);
        }
      }
    }
    if (this.guests.get(g.vmid) === g) {
      this.guests.delete(g.vmid);
      this.membersChanged();
    }
    this.changed(g);
  }

  /** Copy config keys of a create call, normalising nets; disks are allocated later by the task. */
  private createConf(type: GuestType, params: Params, conf: Config): { disks: Array<[string, string]> } {
    const { set } = this.configParamChecks(type, params);
    const disks: Array<[string, string]> = [];
    for (const [k, v] of Object.entries(set)) {
      if (isNetKey(k)) conf[k] = type === 'lxc' ? normaliseLxcNet(v, this.mac) : normaliseQemuNet(v, this.mac);
      else if (isDiskKey(type, k)) disks.push([k, v]);
      else if (k === 'cipassword') conf[k] = `$5$pvesim$${sha1(v).slice(0, 32)}`;
      else conf[k] = v;
    }
    return { disks };
  }

  /** Remove the `lock:` a task set, under the config lock. */
  private clearLock(g: Guest): Promise<void> {
    return this.withConfigLock(g, () => {
      delete g.conf.lock;
      this.changed(g);
    });
  }

  /** A create/clone task failed: remove the half-made guest and fail with the wrapped message. */
  private rollbackNew(g: Guest, e: unknown, wrap: (msg: string) => string): never {
    if (e instanceof SimulatorClosed) throw e;
    this.removeGuest(g, true);
    if (e instanceof ExactTaskError) throw e;
    throw new Error(wrap(errorText(e)));
  }

  private taken(vmid: number): string | undefined {
    const e = this.guests.get(vmid);
    return e ? `${label(e.type)} ${vmid} already exists on node '${e.node}'` : undefined;
  }

  async createLxc(node: string, params: Params, caller: Caller): Promise<string> {
    this.checkNode(node);
    const vmid = Number(str(params.vmid));
    const ostemplate = str(params.ostemplate);
    if (!ostemplate) paramFail({ ostemplate: 'property is missing and it is not optional' });
    const storage = str(params.storage) ?? 'local';
    const conf: Config = {};
    const { disks } = this.createConf('lxc', { ...params, rootfs: params.rootfs ?? `${storage}:4` }, conf);
    for (const [, v] of disks) {
      const head = parsePropString(v).head ?? '';
      const m = /^([a-zA-Z][a-zA-Z0-9\-_.]*):(\d+(?:\.\d+)?)$/.exec(head);
      if (m) checkContent(this.pool(node, m[1]!).spec, 'rootdir');
    }
    const prefix = `unable to create CT ${vmid} - `;
    const g = await this.withConfigLock({ type: 'lxc', vmid }, () => {
      const t = this.taken(vmid);
      if (t) fail(t);
      const base: Config = { arch: 'amd64', hostname: `CT${vmid}`, memory: '512', swap: '512', ostype: ostemplate.includes('ubuntu') ? 'ubuntu' : 'debian', unprivileged: '1' };
      return this.newGuest(vmid, 'lxc', node, { ...base, ...conf, lock: 'create' });
    }, LOCK_WAIT.create, prefix);
    return this.tasks.start(node, 'vzcreate', String(vmid), caller.user, async (t) => {
      try {
        const tmpl = this.findVolume(node, ostemplate);
        if (!tmpl || tmpl.vol.content !== 'vztmpl') throw new Error(`volume '${ostemplate}' does not exist`);
        for (const [k, v] of disks) {
          const m = /^([^:]+):/.exec(v);
          const pool = m ? this.pool(node, m[1]!) : undefined;
          if (pool) {
            await this.withStorageLock(pool, async () => {
              g.conf[k] = this.allocDiskValue(g, k, v);
              this.changed(g);
            });
          } else {
            g.conf[k] = v;
            this.changed(g);
          }
        }
        t.log(`extracting archive '/var/lib/vz/template/cache/${ostemplate.split('/').pop()}'`);
        await t.work(DURATIONS.vzcreate);
        t.log('Total bytes read: 530585600 (506MiB, 1.1GiB/s)');
        t.log('Detected container architecture: amd64');
        t.log('Creating SSH host key \'ssh_host_ed25519_key\' - this may take some time ...');
        await this.clearLock(g);
      } catch (e) {
        this.rollbackNew(g, e, (msg) => prefix + msg.replace(/^unable to create (CT|VM) \d+ - /, ''));
      }
      if (bool(params.start)) await this.startWork(g, t);
    }, caller.taskFault).upid;
  }

  async createQemu(node: string, params: Params, caller: Caller): Promise<string> {
    this.checkNode(node);
    const vmid = Number(str(params.vmid));
    const conf: Config = {};
    const { disks } = this.createConf('qemu', params, conf);
    const prefix = `unable to create VM ${vmid} - `;
    const g = await this.withConfigLock({ type: 'qemu', vmid }, () => {
      const t = this.taken(vmid);
      if (t) fail(prefix + t);
      const uuid = randomUUID();
      const base: Config = {
        meta: `creation-qemu=10.1.2,ctime=${unixNow()}`,
        smbios1: `uuid=${uuid}`,
        vmgenid: randomUUID(),
      };
      if (!conf.boot) {
        const order = [...disks.map(([k]) => k), ...Object.keys(conf).filter(isNetKey)].filter((k) => k !== 'ide2' || !disks.find(([d, v]) => d === k && v.includes('cloudinit')));
        if (order.length) base.boot = `order=${order.sort().join(';')}`;
      }
      return this.newGuest(vmid, 'qemu', node, { ...base, ...conf, lock: 'create' });
    }, LOCK_WAIT.create, prefix);
    return this.tasks.start(node, 'qmcreate', String(vmid), caller.user, async (t) => {
      try {
        for (const [k, v] of disks) {
          const m = /^([^:]+):/.exec(v);
          const pool = m && this.storageSpecs.has(m[1]!) ? this.pool(node, m[1]!) : undefined;
          const importFrom = parsePropString(v).kv.get('import-from');
          if (pool) {
            await this.withStorageLock(pool, async () => {
              g.conf[k] = this.allocDiskValue(g, k, v);
              this.changed(g);
              if (importFrom) {
                t.log(`importing disk '${importFrom}' to VM ${vmid} ...`);
                await t.work(DURATIONS.copyPerGiB * (this.diskSize(g.conf[k]!) / GiB));
                t.log(`Successfully imported disk as '${k}:${diskVolume(g.conf[k]!)}'`);
              }
            });
          } else {
            g.conf[k] = v;
            this.changed(g);
          }
        }
        await t.work(DURATIONS.qmcreate);
        await this.clearLock(g);
      } catch (e) {
        this.rollbackNew(g, e, (msg) => prefix + msg.replace(/^unable to create (CT|VM) \d+ - /, ''));
      }
      if (bool(params.start)) await this.startWork(g, t);
    }, caller.taskFault).upid;
  }

  // ---------------------------------------------------------------------------------------------
  // clone

  async clone(node: string, type: GuestType, vmid: string, params: Params, caller: Caller): Promise<string> {
    const src = this.guest(node, type, vmid);
    const newid = Number(str(params.newid));
    const snapname = str(params.snapname);
    const target = str(params.target) ?? node;
    this.checkNode(target);
    const isTemplate = src.conf.template === '1';
    const full = params.full !== undefined ? bool(params.full) : !isTemplate;
    const storage = str(params.storage);

    const prepare = (): Guest => {
      this.checkLock(src);
      if (this.guests.has(newid)) {
        if (type === 'lxc') fail(this.taken(newid)!);
        fail(`unable to create VM ${newid}: config file already exists`);
      }
      if (snapname && !src.snapshots[snapname]) fail(`snapshot '${snapname}' does not exist`);
      const baseConf = snapname ? src.snapshots[snapname]!.conf : src.conf;
      if (!full && storage) fail(`parameter 'storage' not allowed for linked clones`);
      const disks = this.guestDisks(src, baseConf).filter((d) => !/^unused\d+$/.test(d.key) && !d.volid.includes('cloudinit'));
      if (type === 'lxc' && full && src.status === 'running' && !snapname) fail('Full clone of a running container is only possible from a snapshot');
      if (!full) {
        for (const d of disks) {
          const f = this.findVolume(src.node, d.volid)!;
          if (!isTemplate || !supportsLinkedClone(f.pool.spec.type, type)) {
            if (type === 'lxc') fail(`Linked clone feature for '${d.volid}' is not available`);
            fail(`Linked clone feature is not supported for '${d.volid}' (${d.key})`);
          }
        }
      }
      if (storage) checkContent(this.pool(target, storage).spec, type === 'lxc' ? 'rootdir' : 'images');
      if (target !== node) {
        for (const d of disks) {
          const f = this.findVolume(src.node, d.volid)!;
          if (!f.pool.spec.shared && !(full && storage && this.storageSpecs.get(storage)?.shared)) {
            fail(`can't clone to node '${target}' (${d.key}: storage '${f.pool.spec.name}' is not shared)`);
          }
        }
      }
      const conf: Config = {};
      for (const [k, v] of Object.entries(baseConf)) {
        if (k === 'template' || k === 'lock' || k === 'parent' || k === 'snaptime' || k === 'vmstate' || /^unused\d+$/.test(k)) continue;
        if (isDiskKey(type, k) && diskVolume(v) && this.findVolume(src.node, diskVolume(v)!)) continue;
        if (isNetKey(k)) conf[k] = type === 'lxc' ? normaliseLxcNet(v, this.mac, true) : normaliseQemuNet(v, this.mac, true);
        else conf[k] = v;
      }
      if (type === 'lxc') {
        if (str(params.hostname)) conf.hostname = str(params.hostname)!;
      } else {
        conf.name = str(params.name) ?? (baseConf.name ? `Copy-of-VM-${baseConf.name}` : `Copy-of-VM-${vmid}`);
        conf.smbios1 = `uuid=${randomUUID()}`;
        conf.vmgenid = randomUUID();
      }
      if (str(params.description) !== undefined) conf.description = str(params.description)!;
      conf.lock = type === 'lxc' ? 'create' : 'clone';
      if (type === 'lxc') {
        src.conf.lock = 'disk';
        this.changed(src);
      }
      const dst = this.newGuest(newid, type, target, conf);
      (dst as Guest & { _cloneDisks?: unknown })._cloneDisks = disks.map((d) => ({ ...d, value: baseConf[d.key]! }));
      return dst;
    };

    const dst = type === 'lxc' ? await this.withConfigLock(src, prepare) : prepare();
    const disks = (dst as Guest & { _cloneDisks?: Array<{ key: string; volid: string; value: string }> })._cloneDisks!;
    delete (dst as Guest & { _cloneDisks?: unknown })._cloneDisks;

    const copy = async (t: TaskContext) => {
      await t.work(DURATIONS.cloneBase);
      for (const d of disks) {
        const f = this.findVolume(src.node, d.volid)!;
        const p = parsePropString(d.value);
        if (full) {
          const storeName = storage ?? f.pool.spec.name;
          const pool = this.pool(target, storeName);
          t.log(`create full clone of drive ${d.key} (${d.volid})`);
          await this.withStorageLock(pool, async () => {
            const vol = this.allocVolume(target, storeName, type, newid, f.vol.size, type === 'lxc' ? 'rootdir' : 'images');
            p.head = vol.volid;
            t.log(`volume ${vol.volid} created`);
            await t.work(DURATIONS.copyPerGiB * (f.vol.size / GiB));
          });
        } else {
          t.log(`create linked clone of drive ${d.key} (${d.volid})`);
          const vol = this.allocVolume(target, f.pool.spec.name, type, newid, f.vol.size, type === 'lxc' ? 'rootdir' : 'images', { parent: d.volid });
          p.head = vol.volid;
          t.log(`volume ${vol.volid} created`);
        }
        dst.conf[d.key] = formatPropString(p);
        this.changed(dst);
      }
    };

    const taskType = type === 'lxc' ? 'vzclone' : 'qmclone';
    return this.tasks.start(node, taskType, vmid, caller.user, async (t) => {
      try {
        if (type === 'lxc') {
          await copy(t);
        } else {
          const mode = src.status === 'running' ? 'exclusive' : 'shared';
          await this.locks.with(`qemu:${vmid}`, lockPath('qemu', Number(vmid)), this.ms(LOCK_WAIT.qemuClone), () => copy(t), mode);
        }
        await this.clearLock(dst);
      } catch (e) {
        this.rollbackNew(dst, e, (msg) => `clone failed: ${msg}`);
      } finally {
        if (!this.closed && type === 'lxc' && src.conf.lock === 'disk' && this.guests.get(src.vmid) === src) {
          await this.clearLock(src).catch(() => {});
        }
      }
    }, caller.taskFault).upid;
  }

  // ---------------------------------------------------------------------------------------------
  // delete

  async destroy(node: string, type: GuestType, vmid: string, params: Params, caller: Caller): Promise<string> {
    const g = this.guest(node, type, vmid);
    this.checkLock(g);
    if (g.conf.protection === '1') fail(`can't remove ${label(type)} ${vmid} - protection mode enabled`);
    const force = type === 'lxc' && bool(params.force);
    if (g.status === 'running' && !force) {
      if (type === 'lxc') fail(`unable to destroy CT ${vmid} - container is running`);
      fail(`VM ${vmid} is running - destroy failed`);
    }
    return this.tasks.start(node, type === 'lxc' ? 'vzdestroy' : 'qmdestroy', vmid, caller.user, async (t) => {
      await this.withConfigLock(g, async () => {
        if (g.status === 'running') {
          await t.work(DURATIONS.stop);
          g.status = 'stopped';
          delete g.startedAtMs;
          this.changed(g);
        }
        await t.work(DURATIONS.destroy);
        for (const d of this.guestDisks(g)) {
          const users = [...this.pools.values()].flatMap((p) => [...p.volumes.values()]).filter((v) => v.parent === d.volid);
          if (users.length > 0) throw new Error(`base volume '${d.volid.split(':')[1]}' is still in use by linked cloned`);
        }
        for (const d of this.guestDisks(g)) t.log(`Removing image: 100% complete...done. (${d.volid})`);
        this.removeGuest(g, true);
      });
    }, caller.taskFault).upid;
  }

  // ---------------------------------------------------------------------------------------------
  // power

  private agentEnabled(g: Guest): boolean {
    const a = g.conf.agent;
    if (!a) return false;
    const p = parsePropString(a);
    return p.head === '1' || p.kv.get('enabled') === '1';
  }

  /** The start itself (inside a task, holding no lock). */
  private async startWork(g: Guest, t: TaskContext): Promise<void> {
    if (g.conf.template === '1') throw new Error(g.type === 'lxc' ? "you can't start a CT if it's a template" : "you can't start a vm if it's a template");
    if (g.status === 'running') throw new Error(`${label(g.type)} ${g.vmid} already running`);
    const conf = { ...g.conf, ...g.pending };
    for (const [k, v] of Object.entries(conf)) {
      if (!isNetKey(k)) continue;
      const b = netBridge(v);
      if (b && !this.bridges.has(b)) throw new Error(`bridge '${b}' does not exist`);
    }
    await t.work(DURATIONS.start);
    this.applyPending(g);
    g.status = 'running';
    g.startedAtMs = Date.now();
    if (g.type === 'qemu') g.ciGenerated = this.ciValues(g.conf);
    this.changed(g);
  }

  private async powerTask(node: string, type: GuestType, vmid: string, action: 'start' | 'stop' | 'shutdown' | 'reboot', params: Params, caller: Caller): Promise<string> {
    const g = this.guest(node, type, vmid);
    const skiplock = bool(params.skiplock);
    if (!skiplock) this.checkLock(g);
    if (action === 'start' && type === 'lxc' && g.status === 'running') fail(`CT ${vmid} already running`);
    if (action !== 'start' && g.status !== 'running' && !(action === 'stop' && type === 'qemu')) fail(`${label(type)} ${vmid} not running`);
    const prefix = type === 'lxc' ? 'vz' : 'qm';
    return this.tasks.start(node, `${prefix}${action}`, vmid, caller.user, async (t) => {
      await this.withConfigLock(g, async () => {
        if (action === 'start') return this.startWork(g, t);
        if (action === 'reboot') {
          if (g.status !== 'running') throw new Error(`${label(type)} ${vmid} not running`);
          await t.work(DURATIONS.reboot);
          this.applyPending(g);
          g.startedAtMs = Date.now();
          if (g.type === 'qemu') g.ciGenerated = this.ciValues(g.conf);
          this.changed(g);
          return;
        }
        if (action === 'shutdown' && g.status !== 'running') throw new Error(`${label(type)} ${vmid} not running`);
        await t.work(action === 'stop' ? DURATIONS.stop : type === 'lxc' ? DURATIONS.vzshutdown : DURATIONS.qmshutdown);
        g.status = 'stopped';
        delete g.startedAtMs;
        this.changed(g);
      });
    }, caller.taskFault).upid;
  }

  start(node: string, type: GuestType, vmid: string, params: Params, caller: Caller): Promise<string> {
    return this.powerTask(node, type, vmid, 'start', params, caller);
  }
  stop(node: string, type: GuestType, vmid: string, params: Params, caller: Caller): Promise<string> {
    return this.powerTask(node, type, vmid, 'stop', params, caller);
  }
  shutdown(node: string, type: GuestType, vmid: string, params: Params, caller: Caller): Promise<string> {
    return this.powerTask(node, type, vmid, 'shutdown', params, caller);
  }
  reboot(node: string, type: GuestType, vmid: string, params: Params, caller: Caller): Promise<string> {
    return this.powerTask(node, type, vmid, 'reboot', params, caller);
  }

  // ---------------------------------------------------------------------------------------------
  // template

  private templateChecks(g: Guest): void {
    // in qemu-server's order: lock, snapshots, already a template, running
    this.checkLock(g);
    if (Object.keys(g.snapshots).length > 0) fail(`unable to create template, because ${label(g.type)} contains snapshots`);
    if (g.conf.template === '1') fail("you can't convert a template to a template");
    if (g.status === 'running') fail(g.type === 'lxc' ? "you can't convert a CT to template if the CT is running" : "you can't convert a VM to template if VM is running");
  }

  private convertToTemplate(g: Guest): void {
    for (const d of this.guestDisks(g)) {
      if (/^unused\d+$/.test(d.key) || d.volid.includes('cloudinit')) continue;
      const f = this.findVolume(g.node, d.volid)!;
      const newVolid = f.vol.volid.replace(/(^|[:/])vm-(\d+)-disk-/, '$1base-$2-disk-').replace(/:subvol-/, ':basevol-');
      f.pool.volumes.delete(f.vol.volid);
      f.vol.volid = newVolid;
      f.pool.volumes.set(newVolid, f.vol);
      const p = parsePropString(g.conf[d.key]!);
      p.head = newVolid;
      g.conf[d.key] = formatPropString(p);
    }
    g.conf.template = '1';
    this.changed(g);
  }

  /** LXC: synchronous, returns null. */
  async templateLxc(node: string, vmid: string): Promise<null> {
    const g = this.guest(node, 'lxc', vmid);
    await this.withConfigLock(g, () => {
      this.templateChecks(g);
      this.convertToTemplate(g);
    });
    return null;
  }

  async templateQemu(node: string, vmid: string, caller: Caller): Promise<string> {
    const g = this.guest(node, 'qemu', vmid);
    this.templateChecks(g);
    return this.tasks.start(node, 'qmtemplate', vmid, caller.user, async (t) => {
      await this.withConfigLock(g, async () => {
        this.templateChecks(g);
        await t.work(DURATIONS.qmtemplate);
        this.convertToTemplate(g);
      });
    }, caller.taskFault).upid;
  }

  // ---------------------------------------------------------------------------------------------
  // resize

  async resize(node: string, type: GuestType, vmid: string, params: Params, caller: Caller): Promise<string> {
    const g = this.guest(node, type, vmid);
    const disk = str(params.disk) ?? '';
    const sizeArg = str(params.size) ?? '';
    const plan = await this.withConfigLock(g, () => {
      const digest = str(params.digest);
      if (digest && digest !== this.digest(g)) fail(type === 'lxc' ? 'detected modified configuration - file changed by other user? Try again.' : 'checksum mismatch (file change by other user?)');
      if (!bool(params.skiplock)) this.checkLock(g);
      const value = g.conf[disk];
      if (!value || !isDiskKey(type, disk)) fail(`disk '${disk}' does not exist`);
      const volid = diskVolume(value);
      const f = volid ? this.findVolume(g.node, volid) : undefined;
      if (!f) fail(`disk '${disk}' has no volume to resize`);
      const m = /^(\+?)(\d+(?:\.\d+)?[KMGT]?)$/.exec(sizeArg);
      if (!m) paramFail({ size: `value does not match the regex pattern` });
      const delta = parseSize(m[2]!)!;
      const newSize = m[1] ? f.vol.size + delta : delta;
      if (newSize < f.vol.size) fail(type === 'lxc' ? 'unable to shrink disk size' : 'shrinking disks is not supported');
      return { f, newSize };
    });
    return this.tasks.start(node, 'resize', vmid, caller.user, async (t) => {
      await this.withConfigLock(g, async () => {
        await t.work(DURATIONS.resize);
        const { f, newSize } = plan;
        const free = poolCapacity(f.pool) - poolUsed(f.pool);
        if (!f.vol.parent && newSize - f.vol.size > free) throw new Error(outOfSpaceMessage(f.pool.spec, f.vol.volid.split(':')[1]!, newSize - f.vol.size, free));
        t.log(`Size of logical volume ${f.vol.volid} changed from ${formatSize(f.vol.size)} to ${formatSize(newSize)}.`);
        f.pool.volumes.delete(f.vol.volid);
        f.vol.size = newSize;
        f.pool.volumes.set(f.vol.volid, f.vol);
        const p = parsePropString(g.conf[disk]!);
        p.kv.set('size', formatSize(newSize));
        g.conf[disk] = formatPropString(p);
        this.changed(g);
      });
    }, caller.taskFault).upid;
  }

  // ---------------------------------------------------------------------------------------------
  // snapshots

  listSnapshots(node: string, type: GuestType, vmid: string): Array<Record<string, unknown>> {
    const g = this.guest(node, type, vmid);
    const out: Array<Record<string, unknown>> = [];
    for (const [name, s] of Object.entries(g.snapshots)) {
      const e: Record<string, unknown> = { name, description: s.description, snaptime: s.snaptime };
      if (s.conf.parent) e.parent = s.conf.parent;
      out.push(e);
    }
    const cur: Record<string, unknown> = { name: 'current', description: 'You are here!', running: g.status === 'running' ? 1 : 0 };
    if (g.conf.parent) cur.parent = g.conf.parent;
    out.push(cur);
    return out;
  }

  async snapshot(node: string, type: GuestType, vmid: string, params: Params, caller: Caller): Promise<string> {
    const g = this.guest(node, type, vmid);
    const name = str(params.snapname) ?? '';
    this.checkLock(g);
    if (name === 'current' || g.snapshots[name]) fail(`snapshot name '${name}' already used`);
    return this.tasks.start(node, type === 'lxc' ? 'vzsnapshot' : 'qmsnapshot', vmid, caller.user, async (t) => {
      await this.withConfigLock(g, () => {
        this.checkLock(g);
        g.conf.lock = 'snapshot';
        this.changed(g);
      });
      try {
        await t.work(DURATIONS.snapshot);
      } finally {
        await this.withConfigLock(g, () => {
          delete g.conf.lock;
          this.changed(g);
        });
      }
      const conf = { ...g.conf };
      g.snapshots[name] = { conf, snaptime: unixNow(), description: str(params.description) ?? '' };
      g.conf.parent = name;
      this.changed(g);
    }, caller.taskFault).upid;
  }

  async deleteSnapshot(node: string, type: GuestType, vmid: string, snapname: string, caller: Caller): Promise<string> {
    const g = this.guest(node, type, vmid);
    if (!g.snapshots[snapname]) fail(`snapshot '${snapname}' does not exist`);
    this.checkLock(g);
    return this.tasks.start(node, type === 'lxc' ? 'vzdelsnapshot' : 'qmdelsnapshot', vmid, caller.user, async (t) => {
      await this.withConfigLock(g, () => {
        g.conf.lock = 'snapshot-delete';
        this.changed(g);
      });
      await t.work(DURATIONS.delsnapshot);
      await this.withConfigLock(g, () => {
        const parent = g.snapshots[snapname]?.conf.parent;
        delete g.snapshots[snapname];
        for (const s of Object.values(g.snapshots)) {
          if (s.conf.parent === snapname) {
            if (parent) s.conf.parent = parent;
            else delete s.conf.parent;
          }
        }
        if (g.conf.parent === snapname) {
          if (parent) g.conf.parent = parent;
          else delete g.conf.parent;
        }
        delete g.conf.lock;
        this.changed(g);
      });
    }, caller.taskFault).upid;
  }

  // ---------------------------------------------------------------------------------------------
  // firewall

  private fwDigest(g: Guest): string {
    const lines = Object.entries(g.firewall.options).map(([k, v]) => `${k}: ${v}`);
    for (const r of g.firewall.rules) lines.push(JSON.stringify(r));
    return sha1(lines.join('\n'));
  }

  private fwCheckDigest(g: Guest, params: Params): void {
    const d = str(params.digest);
    if (d && d !== this.fwDigest(g)) fail('detected modified configuration - file changed by other user? Try again.');
  }

  private ruleWire(r: Config, pos: number): Record<string, unknown> {
    const out: Record<string, unknown> = { pos };
    for (const [k, v] of Object.entries(r)) out[k] = k === 'enable' ? Number(v) : v;
    return out;
  }

  private static RULE_FIELDS = ['type', 'action', 'macro', 'proto', 'source', 'dest', 'dport', 'sport', 'iface', 'comment', 'enable', 'log', 'icmp-type', 'ipversion'];

  listRules(node: string, type: GuestType, vmid: string): Array<Record<string, unknown>> {
    const g = this.guest(node, type, vmid);
    return g.firewall.rules.map((r, i) => this.ruleWire(r, i));
  }

  getRule(node: string, type: GuestType, vmid: string, pos: string): Record<string, unknown> {
    const g = this.guest(node, type, vmid);
    const r = g.firewall.rules[Number(pos)];
    if (!r) fail('no rule at specified position');
    return this.ruleWire(r, Number(pos));
  }

  createRule(node: string, type: GuestType, vmid: string, params: Params): null {
    const g = this.guest(node, type, vmid);
    this.fwCheckDigest(g, params);
    const rule: Config = {};
    for (const f of Simulator.RULE_FIELDS) if (str(params[f]) !== undefined) rule[f] = str(params[f])!;
    if (!rule.type) paramFail({ type: 'property is missing and it is not optional' });
    if (!rule.action) paramFail({ action: 'property is missing and it is not optional' });
    const pos = str(params.pos) !== undefined ? Math.min(Number(str(params.pos)), g.firewall.rules.length) : 0;
    g.firewall.rules.splice(pos, 0, rule);
    this.changed(g);
    return null;
  }

  updateRule(node: string, type: GuestType, vmid: string, pos: string, params: Params): null {
    const g = this.guest(node, type, vmid);
    this.fwCheckDigest(g, params);
    const i = Number(pos);
    const r = g.firewall.rules[i];
    if (!r) fail('no rule at specified position');
    const moveto = str(params.moveto);
    if (moveto !== undefined) {
      g.firewall.rules.splice(i, 1);
      g.firewall.rules.splice(Math.min(Number(moveto), g.firewall.rules.length), 0, r);
    } else {
      for (const f of Simulator.RULE_FIELDS) if (str(params[f]) !== undefined) r[f] = str(params[f])!;
      for (const k of (str(params.delete) ?? '').split(/[,;\s]+/).filter(Boolean)) delete r[k];
    }
    this.changed(g);
    return null;
  }

  deleteRule(node: string, type: GuestType, vmid: string, pos: string, params: Params): null {
    const g = this.guest(node, type, vmid);
    this.fwCheckDigest(g, params);
    const i = Number(pos);
    if (!g.firewall.rules[i]) fail('no rule at specified position');
    g.firewall.rules.splice(i, 1);
    this.changed(g);
    return null;
  }

  getFirewallOptions(node: string, type: GuestType, vmid: string): Record<string, unknown> {
    const g = this.guest(node, type, vmid);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(g.firewall.options)) out[k] = /^(enable|dhcp|ndp|radv|macfilter|ipfilter)$/.test(k) ? Number(v) : v;
    out.digest = this.fwDigest(g);
    return out;
  }

  setFirewallOptions(node: string, type: GuestType, vmid: string, params: Params): null {
    const g = this.guest(node, type, vmid);
    this.fwCheckDigest(g, params);
    for (const k of ['enable', 'dhcp', 'ndp', 'radv', 'macfilter', 'ipfilter', 'log_level_in', 'log_level_out', 'policy_in', 'policy_out']) {
      if (str(params[k]) !== undefined) g.firewall.options[k] = str(params[k])!;
    }
    for (const k of (str(params.delete) ?? '').split(/[,;\s]+/).filter(Boolean)) delete g.firewall.options[k];
    this.changed(g);
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // cloud-init (QEMU)

  private ciValues(conf: Config): Config {
    const out: Config = {};
    for (const [k, v] of Object.entries(conf)) if (CLOUDINIT_KEYS_RE.test(k)) out[k] = v;
    return out;
  }

  getCloudinit(node: string, vmid: string): Array<Record<string, unknown>> {
    const g = this.guest(node, 'qemu', vmid);
    const cur = this.ciValues(g.conf);
    const gen = g.ciGenerated;
    const keys = new Set([...Object.keys(cur), ...Object.keys(gen ?? {})]);
    const mask = (k: string, v: string) => (k === 'cipassword' ? '**********' : v);
    const out: Array<Record<string, unknown>> = [];
    for (const key of [...keys].sort()) {
      const now = cur[key];
      if (!gen) {
        out.push({ key, value: mask(key, now!) });
        continue;
      }
      const old = gen[key];
      const e: Record<string, unknown> = { key };
      if (old !== undefined) e.value = mask(key, old);
      if (now === undefined) e.delete = 1;
      else if (now !== old) e.pending = mask(key, now);
      out.push(e);
    }
    return out;
  }

  async regenerateCloudinit(node: string, vmid: string): Promise<null> {
    const g = this.guest(node, 'qemu', vmid);
    await this.withConfigLock(g, () => {
      g.ciGenerated = this.ciValues(g.conf);
      this.changed(g);
    });
    return null;
  }

  // ---------------------------------------------------------------------------------------------
  // guest agent (QEMU)

  private agentReady(g: Guest): void {
    if (!this.agentEnabled(g)) fail('No QEMU guest agent configured');
    if (g.status !== 'running') fail(`VM ${g.vmid} is not running`);
    if (!g.startedAtMs || Date.now() - g.startedAtMs < this.ms(DURATIONS.agentBoot)) fail('QEMU guest agent is not running');
  }

  agentExec(node: string, vmid: string, params: Params): { pid: number } {
    const g = this.guest(node, 'qemu', vmid);
    this.agentReady(g);
    const raw = params.command;
    const command = Array.isArray(raw) ? raw : raw !== undefined ? [raw] : [];
    if (command.length === 0) paramFail({ command: 'property is missing and it is not optional' });
    const inputData = str(params['input-data']);
    const result = this.agentExecHandler({ node, vmid: g.vmid, command, ...(inputData !== undefined ? { inputData } : {}) });
    const rec: AgentExecRecord = {
      node,
      vmid: g.vmid,
      pid: ++this.agentPid,
      command,
      at: new Date().toISOString(),
      exitcode: result.exitcode,
      outData: result.outData ?? '',
      errData: result.errData ?? '',
    };
    if (inputData !== undefined) rec.inputData = inputData;
    this.agentExecs.push(rec);
    if (this.agentExecs.length > 10000) this.agentExecs.shift();
    this.log(`agent exec on VM ${g.vmid}: ${command.join(' ')}`);
    return { pid: rec.pid };
  }

  agentExecStatus(node: string, vmid: string, pid: string): Record<string, unknown> {
    const g = this.guest(node, 'qemu', vmid);
    this.agentReady(g);
    const rec = this.agentExecs.find((r) => r.vmid === g.vmid && r.pid === Number(pid));
    if (!rec) fail(`Agent error: Invalid parameter 'pid'`);
    const out: Record<string, unknown> = { exited: 1, exitcode: rec.exitcode };
    if (rec.outData) out['out-data'] = rec.outData;
    if (rec.errData) out['err-data'] = rec.errData;
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // storage API

  listStorage(node: string, params: Params): Array<Record<string, unknown>> {
    this.checkNode(node);
    const content = str(params.content);
    const only = str(params.storage);
    const out: Array<Record<string, unknown>> = [];
    for (const spec of this.storageSpecs.values()) {
      if (only && spec.name !== only) continue;
      if (content && !content.split(',').every((c) => spec.content.includes(c))) continue;
      const p = this.pool(node, spec.name);
      const total = poolCapacity(p);
      const used = poolUsed(p);
      out.push({
        storage: spec.name,
        type: spec.type,
        content: spec.content.join(','),
        active: 1,
        enabled: 1,
        shared: spec.shared ? 1 : 0,
        total,
        used,
        avail: total - used,
        used_fraction: total ? used / total : 0,
      });
    }
    return out;
  }

  storageContent(node: string, storage: string, params: Params): Array<Record<string, unknown>> {
    this.checkNode(node);
    const p = this.pool(node, storage);
    const content = str(params.content);
    const vmid = str(params.vmid);
    const out: Array<Record<string, unknown>> = [];
    for (const v of p.volumes.values()) {
      if (content && v.content !== content) continue;
      if (vmid && String(v.vmid) !== vmid) continue;
      const e: Record<string, unknown> = { volid: v.volid, format: v.format, size: v.size, content: v.content, ctime: v.ctime };
      if (v.vmid !== undefined) e.vmid = v.vmid;
      if (v.parent) e.parent = v.parent.split(':')[1];
      out.push(e);
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // tasks API

  private taskEntry(t: TaskRecord): Record<string, unknown> {
    const e: Record<string, unknown> = { upid: t.upid, node: t.node, pid: t.pid, pstart: t.pstart, starttime: t.starttime, type: t.type, id: t.id, user: t.user };
    if (t.status === 'stopped') {
      e.endtime = t.endtime;
      e.status = t.exitstatus;
    }
    return e;
  }

  listTasks(node: string, params: Params): Array<Record<string, unknown>> {
    this.checkNode(node);
    const source = str(params.source) ?? 'archive';
    const vmid = str(params.vmid);
    const typefilter = str(params.typefilter);
    const userfilter = str(params.userfilter);
    const errors = bool(params.errors);
    const statusfilter = str(params.statusfilter)?.split(',');
    const since = str(params.since);
    const until = str(params.until);
    const start = Number(str(params.start) ?? 0);
    const limit = Number(str(params.limit) ?? 50);
    const list = this.tasks
      .all()
      .filter((t) => t.node === node)
      .filter((t) => source === 'all' || (source === 'active' ? t.status === 'running' : t.status === 'stopped'))
      .filter((t) => !vmid || t.id === vmid)
      .filter((t) => !typefilter || t.type === typefilter)
      .filter((t) => !userfilter || t.user.includes(userfilter))
      .filter((t) => !errors || (t.status === 'stopped' && t.exitstatus !== 'OK'))
      .filter((t) => {
        if (!statusfilter) return true;
        const st = t.status === 'running' ? 'active' : t.exitstatus === 'OK' ? 'ok' : t.exitstatus?.startsWith('WARNINGS') ? 'warning' : 'error';
        return statusfilter.includes(st);
      })
      .filter((t) => !since || t.starttime >= Number(since))
      .filter((t) => !until || t.starttime <= Number(until))
      .sort((a, b) => b.startedAtMs - a.startedAtMs);
    return list.slice(start, start + limit).map((t) => this.taskEntry(t));
  }

  private task(node: string, upid: string): TaskRecord {
    this.checkNode(node);
    if (!parseUpid(upid)) paramFail({ upid: `unable to parse worker upid '${upid}'` });
    const t = this.tasks.get(upid);
    if (!t) paramFail({ upid: 'no such task' });
    return t;
  }

  taskStatus(node: string, upid: string): Record<string, unknown> {
    const t = this.task(node, upid);
    const e: Record<string, unknown> = { upid: t.upid, node: t.node, pid: t.pid, pstart: t.pstart, starttime: t.starttime, type: t.type, id: t.id, user: t.user, status: t.status };
    if (t.status === 'stopped') e.exitstatus = t.exitstatus;
    return e;
  }

  taskLog(node: string, upid: string, params: Params): { data: Array<{ n: number; t: string }>; total: number } {
    const t = this.task(node, upid);
    const start = Number(str(params.start) ?? 0);
    const limit = Number(str(params.limit) ?? 50);
    const lines = t.log.length ? t.log : ['no content'];
    return { data: lines.slice(start, start + limit).map((line, i) => ({ n: start + i + 1, t: line })), total: lines.length };
  }

  // ---------------------------------------------------------------------------------------------
  // out-of-band changes (drift tests): as if someone used the web UI or the shell on the node

  private anyGuest(vmid: number | string): Guest {
    const g = this.guests.get(Number(vmid));
    if (!g) throw new PveError(404, `no guest with vmid ${vmid}`);
    return g;
  }

  /** Set and delete config keys directly, bypassing locks, pending and checks. */
  editConfig(vmid: number | string, set: Record<string, string | number> = {}, del: string[] = []): void {
    const g = this.anyGuest(vmid);
    for (const [k, v] of Object.entries(set)) g.conf[k] = String(v);
    for (const k of del) delete g.conf[k];
    this.changed(g);
  }

  /** Power a guest on or off at once (like `pct stop` / `qm start` on the node, without a task). */
  setPower(vmid: number | string, state: 'running' | 'stopped'): void {
    const g = this.anyGuest(vmid);
    g.status = state;
    if (state === 'running') g.startedAtMs = Date.now();
    else delete g.startedAtMs;
    this.changed(g);
  }

  /** Remove a guest and its volumes at once. */
  removeGuestByHand(vmid: number | string): void {
    this.removeGuest(this.anyGuest(vmid), true);
  }

  /**
   * Put a guest straight into the state (no task): for benchmarks and fixtures. Disks given as
   * `store:SIZE` are allocated as in a create.
   */
  addGuest(node: string, type: GuestType, vmid: number, conf: Config, status: 'running' | 'stopped' = 'stopped'): Guest {
    this.checkNode(node);
    const t = this.taken(vmid);
    if (t) fail(t);
    const g = this.newGuest(vmid, type, node, {});
    for (const [k, v] of Object.entries(conf)) {
      if (isNetKey(k)) g.conf[k] = type === 'lxc' ? normaliseLxcNet(v, this.mac) : normaliseQemuNet(v, this.mac);
      else if (isDiskKey(type, k)) g.conf[k] = this.allocDiskValue(g, k, v);
      else g.conf[k] = v;
    }
    if (status === 'running') this.setPower(vmid, 'running');
    this.changed(g);
    return g;
  }
}
