// What the three guest reconcilers share: the per-pass fleet cache, task running with the UPID
// persisted before waiting, lock retries, ownership checks, recovery of a lost create response,
// placement, conditions, and the observe -> plan -> act loop for an existing guest.
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { GuestResource, Kind, MountPoint, ResourceStatus } from '../../resources/types.js';
import { printable } from '../../resources/index.js';
import type { Metrics } from '../metrics.js';
import type { FinalizeContext, Plan, PlanStep, ReconcileContext, ReconcileOutcome } from '../types.js';
import { keyOf } from '../types.js';
import type { ClusterGuest, NodeInfo, Params, PveClient, StorageInfo } from '../pve/client.js';
import { PveError, TaskDeadlineError, TaskFailedError, isPveError } from '../pve/errors.js';
import type { Limits } from '../pve/limits.js';
import type { GuestType } from '../pve/normalize.js';
import { normTags } from '../pve/normalize.js';
import type { TaskPolling, TaskResult } from '../pve/tasks.js';
import { parseUpid, waitTask } from '../pve/tasks.js';
import type { DesiredGuest, GuestActions, ObservedGuest } from '../plan/guest.js';
import { planExisting } from '../plan/guest.js';
import { MARKER_TAG, desiredConfig, desiredDisks, desiredFirewall, guestTypeOf, ownerOf } from '../plan/desired.js';

export interface ReconcilerOptions {
  prune: boolean;
  /** Host directories LXC bind mounts may come from. */
  allowedHostPaths?: string[];
  /** Nodes placement may choose from (default: every online node). */
  allowedNodes?: string[];
  /** How often an unchanged guest's config is re-read for drift (ms, default 10 min). */
  driftIntervalMs?: number;
  /** Task polling (tests against a fast simulator poll faster). */
  polling?: Partial<TaskPolling>;
  /** Age after which the per-pass fleet list is re-read even without a new pass (ms, default 30 s). */
  fleetMaxAgeMs?: number;
  /** Retries of a call refused because the guest or a lock file is busy. */
  lockRetry?: { attempts?: number; baseMs?: number; maxMs?: number };
}

export interface Shared {
  pve: PveClient;
  metrics?: Metrics;
  options: ReconcilerOptions;
  limits: Limits;
  fleet: FleetCache;
  /** When each resource's config was last read (drift checks). */
  lastFullObserve: Map<string, number>;
}

/** One `GET /cluster/resources?type=vm` per pass for the whole fleet, plus per-pass node/storage lists. */
export class FleetCache {
  /** The pass's guests, by vmid (a pass over N guests looks each up once: no scan per lookup). */
  private guests?: Promise<Map<number, ClusterGuest>>;
  private nodeList?: Promise<NodeInfo[]>;
  private storageList?: Promise<StorageInfo[]>;
  private fetchedAt = 0;
  /**
   * @param maxAgeMs reconciles between passes (a manifest edit) must not act on an old picture:
   *   the list is re-read when older than this.
   */
  constructor(
    private readonly pve: PveClient,
    private readonly maxAgeMs = 30_000,
  ) {}
  invalidate(): void {
    this.guests = undefined;
    this.nodeList = undefined;
    this.storageList = undefined;
  }
  private index(): Promise<Map<number, ClusterGuest>> {
    if (this.guests && Date.now() - this.fetchedAt > this.maxAgeMs) this.invalidate();
    if (!this.guests) {
      this.fetchedAt = Date.now();
      const p = this.pve.clusterGuests().then((list) => new Map(list.map((g) => [g.vmid, g])));
      this.guests = p;
      p.catch(() => {
        if (this.guests === p) this.guests = undefined;
      });
    }
    return this.guests;
  }
  async all(): Promise<ClusterGuest[]> {
    return [...(await this.index()).values()];
  }
  async find(vmid: number): Promise<ClusterGuest | undefined> {
    return (await this.index()).get(vmid);
  }
  /** Record what phoenix just did so the rest of the pass sees it without another list call. */
  async note(g: ClusterGuest): Promise<void> {
    (await this.index()).set(g.vmid, g);
  }
  async forget(vmid: number): Promise<void> {
    (await this.index()).delete(vmid);
  }
  nodes(): Promise<NodeInfo[]> {
    this.nodeList ??= this.pve.nodes();
    return this.nodeList;
  }
  storages(): Promise<StorageInfo[]> {
    this.storageList ??= this.pve.storages();
    return this.storageList;
  }
}

// --- small helpers ------------------------------------------------------------------------------

export function revisionOf(spec: unknown): string {
  const stable = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(stable) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, stable((v as Record<string, unknown>)[k])])) : v;
  return `sha256:${createHash('sha256').update(JSON.stringify(stable(spec))).digest('hex').slice(0, 16)}`;
}

export function setCondition(status: ResourceStatus, type: string, st: 'True' | 'False', reason: string, message: string, now: Date, generation?: number): void {
  status.conditions ??= [];
  const i = status.conditions.findIndex((c) => c.type === type);
  const prev = i >= 0 ? status.conditions[i] : undefined;
  const c = {
    type,
    status: st,
    reason,
    message,
    lastTransitionTime: prev && prev.status === st ? prev.lastTransitionTime : now.toISOString(),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  if (i >= 0) status.conditions[i] = c;
  else status.conditions.push(c);
}

export function hasCondition(status: ResourceStatus, type: string): boolean {
  return (status.conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

export function clearCondition(status: ResourceStatus, type: string, reason: string, now: Date): void {
  if (hasCondition(status, type)) setCondition(status, type, 'False', reason, '', now);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type AnyCtx = ReconcileContext<GuestResource> | FinalizeContext;

/** Wait on Proxmox lending the reconcile's worker to others meanwhile, where the context can. */
const whileWaiting = <T>(ctx: AnyCtx, wait: () => Promise<T>): Promise<T> => (ctx.whileWaiting ? ctx.whileWaiting(wait) : wait());

/** Retry a call that Proxmox refused because the guest or a lock file was busy (nothing was done). */
export async function withLockRetry<T>(sh: Shared, ctx: AnyCtx, what: string, fn: () => Promise<T>): Promise<T> {
  const attempts = sh.options.lockRetry?.attempts ?? 6;
  let wait = sh.options.lockRetry?.baseMs ?? 500;
  const max = sh.options.lockRetry?.maxMs ?? 8000;
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (!isPveError(e, 'Locked', 'LockTimeout') || i >= attempts || ctx.signal.aborted) throw e;
      ctx.log.info(`${what}: ${e.pveMessage}; retrying`, { attempt: i, waitMs: wait });
      await whileWaiting(ctx, () => sleep(wait));
      wait = Math.min(max, wait * 2);
    }
  }
}

/** Persist the UPID, then wait on it; a restarted controller resumes from status.taskInFlight. */
export async function runTask(sh: Shared, ctx: AnyCtx, step: string, upid: string): Promise<TaskResult> {
  const u = parseUpid(upid);
  ctx.status.taskInFlight = { upid, node: u.node, type: u.type, startedAt: ctx.clock.now().toISOString(), step };
  await ctx.persist();
  return awaitInFlight(sh, ctx);
}

/** Wait on status.taskInFlight; clears it when the task ends (success or failure). */
export async function awaitInFlight(sh: Shared, ctx: AnyCtx): Promise<TaskResult> {
  const t = ctx.status.taskInFlight;
  if (!t) throw new Error('no task in flight');
  try {
    const wait = () => waitTask(sh.pve, t.upid, { polling: sh.options.polling, signal: ctx.signal, metrics: sh.metrics, startedAtMs: Date.parse(t.startedAt) });
    const res = await whileWaiting(ctx, wait);
    if (res.warnings > 0) ctx.recorder.event('Warning', 'TaskWarnings', `${t.step} (${res.type}) finished with ${res.warnings} warning(s); see task ${res.upid}`);
    // Not persisted here: the reconcile's next status write carries it. Until then a restart finds the
    // finished UPID and resumes it harmlessly, while the caller (say, the next clone of a template
    // waiting on its lock) goes on without waiting for a disk sync.
    delete ctx.status.taskInFlight;
    return res;
  } catch (e) {
    if (e instanceof TaskDeadlineError) throw e; // keep waiting next time
    if (e instanceof TaskFailedError || isPveError(e, 'NotFound')) {
      delete ctx.status.taskInFlight;
      await ctx.persist();
    }
    throw e;
  }
}

const CREATE_TASKS = new Set(['vzcreate', 'qmcreate', 'vzclone', 'qmclone']);

/**
 * The running create/clone task that made `vmid` (used when a create's answer was lost). A create
 * task carries the new vmid as its id; a clone task carries its source's vmid.
 */
async function activeTaskFor(sh: Shared, node: string, vmid: number, sourceVmid?: number): Promise<{ upid: string; type: string; user?: string } | undefined> {
  const list = await sh.pve.tasks(node, { source: 'active' });
  const t = list.find(
    (x) =>
      CREATE_TASKS.has(x.type) &&
      !x.endtime &&
      (/create$/.test(x.type) ? x.id === String(vmid) : sourceVmid !== undefined ? x.id === String(sourceVmid) : isOursByTask(sh, x.user)),
  );
  return t ? { upid: t.upid, type: t.type, ...(t.user ? { user: t.user } : {}) } : undefined;
}

export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

function isOursByTask(sh: Shared, user: string | undefined): boolean {
  return user !== undefined && (user === sh.pve.tokenId || sh.pve.tokenId.startsWith(`${user}!`) || user === sh.pve.tokenId.split('!')[0]);
}

/**
 * Send a create/clone and wait for it. An "already exists" answer (proxmox-api silently retries a
 * POST after a network error, so the first attempt may have worked) is accepted only when the guest
 * at the vmid is phoenix's own: its marker names this resource, or it is still being created by a
 * task phoenix's token started.
 */
export async function provisionIdempotent(
  sh: Shared,
  ctx: ReconcileContext<GuestResource>,
  opts: { step: string; node: string; guestNode?: string; type: GuestType; vmid: number; sourceVmid?: number; send: () => Promise<string> },
): Promise<'done' | 'recovered'> {
  let upid: string;
  try {
    upid = await withLockRetry(sh, ctx, opts.step, opts.send);
  } catch (e) {
    if (!isPveError(e, 'AlreadyExists')) throw e;
    await recoverLostCreate(sh, ctx, opts);
    return 'recovered';
  }
  await runTask(sh, ctx, opts.step, upid);
  return 'done';
}

async function recoverLostCreate(sh: Shared, ctx: ReconcileContext<GuestResource>, o: { step: string; node: string; guestNode?: string; type: GuestType; vmid: number; sourceVmid?: number }): Promise<void> {
  const { type, vmid, step } = o;
  const node = o.guestNode ?? o.node;
  const key = keyOf(ctx.resource);
  const readOwner = async () => {
    try {
      return ownerOf((await sh.pve.guestConfig(node, type, vmid)).description);
    } catch (e) {
      if (isPveError(e, 'NotFound')) throw new ConflictError(`vmid ${vmid} is taken by a guest on another node or of another type`);
      throw e;
    }
  };
  let owner = await readOwner();
  const task = await activeTaskFor(sh, o.node, vmid, o.sourceVmid);
  if (task && (owner === key || (owner === undefined && isOursByTask(sh, task.user)))) {
    ctx.log.info(`${step}: the guest already exists and its ${task.type} task is running; waiting on it`, { upid: task.upid });
    await runTask(sh, ctx, step, task.upid);
    owner = await readOwner();
  }
  if (owner !== key) throw new ConflictError(`vmid ${vmid} already holds a guest that phoenix did not create for ${key}`);
  ctx.recorder.event('Normal', 'Recovered', `${step}: the answer to phoenix's request was lost; the guest at ${vmid} carries this resource's marker, so it is taken as created`);
}

/** Pick the allowed online node with the most free memory. */
export async function placeNode(sh: Shared): Promise<string> {
  const nodes = (await sh.fleet.nodes()).filter((n) => n.status === 'online' && (!sh.options.allowedNodes || sh.options.allowedNodes.includes(n.node)));
  if (!nodes.length) throw new PveError({ kind: 'Transient', status: 0, pveMessage: 'no allowed Proxmox node is online' });
  nodes.sort((a, b) => (b.maxmem ?? 0) - (b.mem ?? 0) - ((a.maxmem ?? 0) - (a.mem ?? 0)) || a.node.localeCompare(b.node));
  return nodes[0]!.node;
}

const within = (base: string, p: string) => p === base || p.startsWith(base.endsWith(sep) ? base : base + sep);

/** The real path of p's deepest existing ancestor, with the part that does not exist yet appended. */
function realDeepest(p: string): string | undefined {
  let dir = p;
  let tail = '';
  for (;;) {
    try {
      return join(realpathSync.native(dir), tail);
    } catch {
      const up = dirname(dir);
      if (up === dir) return undefined;
      tail = join(basename(dir), tail);
      dir = up;
    }
  }
}

function realIfExists(p: string): string | undefined {
  try {
    return realpathSync.native(p);
  } catch {
    return undefined;
  }
}

/**
 * Why a bind-mount source may not be used, or undefined when it lies under an allowed host path.
 * Lexical first ('..', '//', trailing '/' resolved; '/srv/data-x' is not under '/srv/data'). Then,
 * where the allowed directory exists on this machine (the controller runs on the Proxmox host, as
 * `pct exec` needs), symbolic links are followed: a link inside it that leads out is refused too.
 */
export function hostPathProblem(p: string, allowed: string[] | undefined): string | undefined {
  const abs = resolve(p);
  const bases = (allowed ?? []).map((a) => resolve(a));
  const list = bases.join(', ') || 'none allowed';
  const under = bases.filter((b) => within(b, abs));
  if (!under.length) return `bind mount source ${printable(p)} is not under an allowed host path (${list})`;
  const real = realDeepest(abs);
  const ok = real === undefined || under.some((b) => {
    const rb = realIfExists(b);
    return rb === undefined || within(rb, real);
  });
  return ok ? undefined : `bind mount source ${printable(p)} is not under an allowed host path (${list}): a symbolic link on the way leads to ${printable(real)}`;
}

/** The first bind mount of a container whose source is not allowed, as `spec.mountPoints[i].hostPath: why`. */
export function mountPointsProblem(mps: MountPoint[] | undefined, allowed: string[] | undefined): string | undefined {
  for (const [i, m] of (mps ?? []).entries()) {
    const why = m.hostPath === undefined ? undefined : hostPathProblem(m.hostPath, allowed);
    if (why) return `spec.mountPoints[${i}].hostPath: ${why}`;
  }
  return undefined;
}

// --- the shared converge loop for an existing guest -----------------------------------------------

export interface ConvergeResult {
  plan: Plan;
  outcome: ReconcileOutcome;
}

export function desiredGuest(r: GuestResource, powerDefault: 'running' | 'stopped' | undefined): DesiredGuest {
  const d: DesiredGuest = { type: guestTypeOf(r), config: desiredConfig(r), disks: desiredDisks(r) };
  const fw = desiredFirewall(r);
  if (fw) d.firewall = fw;
  if (r.kind !== 'Template') {
    d.power = r.spec.powerState ?? powerDefault;
    if (r.spec.restartPolicy) d.restartPolicy = r.spec.restartPolicy;
  }
  if (r.kind === 'LxcContainer' && r.spec.unprivileged !== undefined) d.immutable = { unprivileged: r.spec.unprivileged ? 1 : 0 };
  return d;
}

/**
 * Can the guest at this cluster entry be touched for this resource? The `phoenix` tag answers from
 * the cluster list alone; without it (a foreign guest, or a tag removed by hand) the description's
 * marker decides, at the cost of one config read.
 */
export async function ownershipProblem(sh: Shared, r: GuestResource, g: ClusterGuest): Promise<string | undefined> {
  const type = guestTypeOf(r);
  if (g.type !== type) return `vmid ${g.vmid} holds a ${g.type === 'lxc' ? 'container' : 'VM'} on ${g.node}, not the ${type === 'lxc' ? 'container' : 'VM'} ${keyOf(r)} declares`;
  if (g.tags.includes(MARKER_TAG) || r.spec.adopt) return undefined;
  const owner = ownerOf((await sh.pve.guestConfig(g.node, g.type, g.vmid)).description);
  if (owner === keyOf(r)) return undefined;
  return `vmid ${g.vmid} on ${g.node} holds a guest phoenix did not create for ${keyOf(r)} (no '${MARKER_TAG}' marker); set spec.adopt: true to take it over`;
}

/** The description marker check, once the config is read. */
export function markerProblem(r: GuestResource, config: Record<string, unknown>): string | undefined {
  const owner = ownerOf(config.description);
  const key = keyOf(r);
  if (owner === key) return undefined;
  if (owner) return `vmid ${r.spec.vmid} is managed by phoenix for ${owner}, not ${key}`;
  if (r.spec.adopt) return undefined;
  return `vmid ${r.spec.vmid} carries the '${MARKER_TAG}' tag but no marker naming ${key}; set spec.adopt: true to take it over`;
}

export function conflict(sh: Shared, ctx: ReconcileContext<GuestResource>, message: string): ReconcileOutcome {
  const now = ctx.clock.now();
  setCondition(ctx.status, 'Conflict', 'True', 'Conflict', message, now, ctx.resource.metadata.generation);
  ctx.recorder.event('Warning', 'Conflict', message);
  return { state: 'Stalled', reason: 'Conflict', message };
}

/** Whether the cluster entry alone shows a difference (so the config must be read). */
function cheapMismatch(d: DesiredGuest, g: ClusterGuest): boolean {
  const want = normTags(String(d.config.tags ?? '')).join(';');
  if (g.tags.join(';') !== want) return true;
  const name = d.type === 'lxc' ? d.config.hostname : d.config.name;
  if (name !== undefined && g.name !== undefined && g.name !== String(name)) return true;
  if (d.config.memory !== undefined && g.maxmem && g.maxmem !== Number(d.config.memory) * 1024 * 1024) return true;
  return false;
}

export interface ExistingOptions {
  /** Templates: differences are reported, never applied. */
  reportOnly?: boolean;
  /** Just created/cloned: the config must be read. */
  fresh?: boolean;
  dryRun: boolean;
}

/**
 * Converge an existing guest that phoenix may touch. Reads config only when the desired state
 * changed, a drift check is due, a condition needs re-checking, or the cluster entry differs.
 */
export async function convergeExisting(sh: Shared, ctx: ReconcileContext<GuestResource>, g: ClusterGuest, o: ExistingOptions): Promise<ConvergeResult> {
  const r = ctx.resource;
  const key = keyOf(r);
  const ref = { kind: r.kind as Kind, name: r.metadata.name };
  const d = desiredGuest(r, r.kind === 'Template' ? undefined : 'running');
  const rev = revisionOf(r.spec);
  const now = ctx.clock.now();
  const running = g.status === 'running';
  const steps: PlanStep[] = [];
  const driftDue = Date.now() - (sh.lastFullObserve.get(key) ?? 0) >= (sh.options.driftIntervalMs ?? 600_000);
  const full = o.fresh || o.dryRun || ctx.status.lastAppliedRevision !== rev || driftDue || hasCondition(ctx.status, 'RestartRequired') || cheapMismatch(d, g);

  let actions: GuestActions;
  let observed: ObservedGuest | undefined;
  if (full) {
    const config = await sh.pve.guestConfig(g.node, g.type, g.vmid);
    const mp = markerProblem(r, config);
    if (mp) return { plan: { ref, steps, blocked: { reason: 'Conflict', message: mp } }, outcome: o.dryRun ? { state: 'Ready' } : conflict(sh, ctx, mp) };
    observed = { type: g.type, node: g.node, vmid: g.vmid, running, template: g.template, config };
    if (d.firewall) {
      observed.firewallOptions = await sh.pve.firewallOptions(g.node, g.type, g.vmid);
      if (d.firewall.rules !== undefined) observed.firewallRules = await sh.pve.firewallRules(g.node, g.type, g.vmid);
    }
    if (running && hasCondition(ctx.status, 'RestartRequired')) observed.pending = await pendingOrEmpty(sh, g);
    actions = planExisting(d, observed);
  } else {
    // Nothing changed since the last full observe: only the power state can differ.
    actions = planExisting({ ...d, config: {}, disks: [], firewall: undefined }, { type: g.type, node: g.node, vmid: g.vmid, running, template: g.template, config: {} });
  }
  if (actions.blocked) {
    const out: ReconcileOutcome = { state: 'Stalled', reason: actions.blocked.reason, message: actions.blocked.message };
    return { plan: { ref, steps: [], blocked: actions.blocked }, outcome: out };
  }
  if (o.reportOnly) {
    const changed = actions.steps.filter((s) => s.action === 'update' || s.action === 'resize' || s.action === 'firewall');
    const plan: Plan = { ref, steps: changed.map((s) => ({ ...s, description: `not applied (templates are never modified): ${s.description}` })) };
    if (!o.dryRun && full) {
      if (changed.length && ctx.status.lastAppliedRevision !== rev) {
        const fields = changed.flatMap((s) => s.changes ?? []).map((c) => c.field).join(', ');
        ctx.recorder.event('Warning', 'TemplateChanged', `the spec differs from template ${g.vmid} (${fields}); existing templates and their clones are not changed — create a new Template to roll out the change`);
      }
      sh.lastFullObserve.set(key, Date.now());
    }
    Object.assign(ctx.status, { vmid: g.vmid, node: g.node, powerState: running ? 'running' : 'stopped', template: g.template, lastAppliedRevision: rev, observedGeneration: r.metadata.generation });
    return { plan, outcome: { state: 'Ready', ...(changed.length ? { message: 'template differs from its spec; not modified' } : {}) } };
  }
  const plan: Plan = { ref, steps: actions.steps };
  if (o.dryRun) return { plan, outcome: { state: 'Ready' } };

  // --- act ---
  const wasApplied = ctx.status.lastAppliedRevision === rev && !o.fresh;
  let powerState = running ? 'running' : 'stopped';
  const corrected: string[] = [];
  if (actions.update && observed) {
    await applyUpdate(sh, ctx, g, d, observed, actions);
    corrected.push(...actions.update.changes.map((c) => c.field));
    ctx.recorder.event('Normal', 'Configured', `updated ${actions.update.changes.map((c) => c.field).join(', ')} in place`);
  }
  for (const rz of actions.resizes) {
    const upid = await withLockRetry(sh, ctx, 'resize', () => sh.pve.resizeDisk(g.node, g.type, g.vmid, rz.disk, rz.size));
    if (upid) await runTask(sh, ctx, `resize ${rz.disk}`, upid);
    corrected.push(rz.disk);
    ctx.recorder.event('Normal', 'Resized', `grew ${rz.disk} to ${rz.size}`);
  }
  if (actions.firewall) {
    const fw = actions.firewall;
    if (fw.options) await sh.pve.setFirewallOptions(g.node, g.type, g.vmid, fw.options);
    if (fw.rules) {
      const existing = [...(observed?.firewallRules ?? [])].sort((a, b) => b.pos - a.pos);
      for (const rule of existing) await sh.pve.deleteFirewallRule(g.node, g.type, g.vmid, rule.pos);
      for (let i = 0; i < fw.rules.length; i++) await sh.pve.addFirewallRule(g.node, g.type, g.vmid, { ...fw.rules[i], pos: i });
    }
    corrected.push(...fw.changes.map((c) => c.field));
    ctx.recorder.event('Normal', 'FirewallConfigured', `firewall: ${fw.changes.map((c) => c.field).join(', ')}`);
  }
  // restart-only changes
  let restartKeys = actions.update?.restartKeys ?? [];
  if (running && actions.update) {
    // Proxmox tells exactly what waits for a restart
    const pend = await pendingOrEmpty(sh, g);
    restartKeys = pend.filter((p) => p.pending !== undefined || p.delete).map((p) => p.key);
  } else if (running && observed?.pending && !actions.update) {
    restartKeys = observed.pending.filter((p) => p.pending !== undefined || p.delete).map((p) => p.key);
  }
  // A running VM reads its (regenerated) cloud-init drive only at boot.
  if (running && g.type === 'qemu' && actions.update) {
    for (const k of Object.keys(actions.update.params)) if (CLOUD_INIT_KEY.test(k) && !restartKeys.includes(k)) restartKeys.push(k);
  }
  if (running && restartKeys.length) {
    if (d.restartPolicy === 'IfRequired') {
      await runTask(sh, ctx, 'restart', await withLockRetry(sh, ctx, 'reboot', () => sh.pve.power(g.node, g.type, g.vmid, 'reboot')));
      clearCondition(ctx.status, 'RestartRequired', 'Restarted', now);
      ctx.recorder.event('Normal', 'Restarted', `restarted to apply ${restartKeys.join(', ') || 'pending changes'}`);
    } else {
      const msg = `${restartKeys.join(', ')} take effect at the next restart (restartPolicy: IfRequired lets phoenix restart it)`;
      if (!hasCondition(ctx.status, 'RestartRequired')) ctx.recorder.event('Warning', 'RestartRequired', msg);
      setCondition(ctx.status, 'RestartRequired', 'True', 'RestartRequired', msg, now, r.metadata.generation);
    }
  } else if (full) {
    clearCondition(ctx.status, 'RestartRequired', running ? 'Applied' : 'Stopped', now);
  }
  if (actions.power) {
    const act = actions.power;
    // Stopping is a clean shutdown, forced only after its timeout: a guest kept stopped by its
    // manifest is not pulled out from under its filesystems.
    const call = act === 'start' ? () => sh.pve.power(g.node, g.type, g.vmid, 'start') : () => sh.pve.power(g.node, g.type, g.vmid, 'shutdown', { timeout: 120, forceStop: 1 });
    await runTask(sh, ctx, act, await withLockRetry(sh, ctx, act, call));
    powerState = act === 'start' ? 'running' : 'stopped';
    ctx.recorder.event('Normal', act === 'start' ? 'Started' : 'Stopped', `${act === 'start' ? 'started' : 'stopped'} ${g.type === 'lxc' ? 'CT' : 'VM'} ${g.vmid}`);
    await sh.fleet.note({ ...g, status: powerState });
  }
  if (corrected.length && wasApplied) {
    sh.metrics?.driftCorrections.inc({ kind: r.kind });
    ctx.recorder.event('Normal', 'DriftCorrected', `live state had drifted from the spec; corrected ${[...new Set(corrected)].join(', ')}`);
  }
  if (corrected.length) await sh.fleet.note({ ...g, status: powerState, tags: normTags(String(d.config.tags ?? '')) });
  if (full) sh.lastFullObserve.set(key, Date.now());
  clearCondition(ctx.status, 'Conflict', 'Resolved', now);
  Object.assign(ctx.status, { vmid: g.vmid, node: g.node, powerState, template: g.template, lastAppliedRevision: rev, observedGeneration: r.metadata.generation });
  const addresses = staticAddresses(r);
  if (addresses.length) ctx.status.addresses = addresses;
  else delete ctx.status.addresses;
  return { plan, outcome: { state: 'Ready' } };
}

async function pendingOrEmpty(sh: Shared, g: ClusterGuest) {
  try {
    return await sh.pve.guestPending(g.node, g.type, g.vmid);
  } catch (e) {
    if (isPveError(e, 'Invalid', 'NotFound')) return [];
    throw e;
  }
}

/** Static addresses from the spec (LXC networks, VM cloud-init), for display. */
export function staticAddresses(r: GuestResource): string[] {
  const ips: (string | undefined)[] = [];
  if (r.kind === 'LxcContainer') for (const n of r.spec.networks ?? []) ips.push(n.ip, n.ip6);
  if (r.kind === 'VirtualMachine') for (const c of r.spec.cloudInit?.ipConfig ?? []) ips.push(c.ip, c.ip6);
  return ips.filter((ip): ip is string => !!ip && ip.includes('/')).map((ip) => ip.slice(0, ip.indexOf('/')));
}

const CLOUD_INIT_KEY = /^(ciuser|sshkeys|ipconfig\d+|nameserver|searchdomain|ciupgrade|cipassword)$/;

/** PUT config with the digest; a stale digest re-reads and re-plans once. */
async function applyUpdate(sh: Shared, ctx: ReconcileContext<GuestResource>, g: ClusterGuest, d: DesiredGuest, observed: ObservedGuest, actions: GuestActions): Promise<void> {
  const send = (params: Params) => withLockRetry(sh, ctx, 'update config', () => sh.pve.updateConfig(g.node, g.type, g.vmid, params));
  try {
    await send(actions.update!.params);
  } catch (e) {
    if (!isPveError(e, 'Modified')) throw e;
    const config = await sh.pve.guestConfig(g.node, g.type, g.vmid);
    const again = planExisting({ ...d, firewall: undefined }, { ...observed, config });
    if (again.update) await send(again.update.params);
    actions.update = again.update ?? actions.update;
  }
  const changed = Object.keys(actions.update!.params);
  if (g.type === 'qemu' && changed.some((k) => CLOUD_INIT_KEY.test(k))) {
    await sh.pve.regenerateCloudInit(g.node, g.vmid);
  }
}

/** Delete a guest phoenix owns (prune): stop, then destroy with purge. */
export async function finalizeGuest(sh: Shared, ctx: FinalizeContext): Promise<ReconcileOutcome> {
  const r = ctx.lastResource as GuestResource;
  const key = keyOf(r);
  const vmid = r.spec.vmid;
  if (ctx.status.taskInFlight) await awaitInFlight(sh, ctx);
  const g = await sh.fleet.find(vmid);
  if (!ctx.prune && !sh.options.prune) {
    ctx.recorder.event('Normal', 'Orphaned', `manifest removed; guest ${vmid} stays (phoenix deletes only with --prune)`);
    return { state: 'Ready', message: 'orphaned' };
  }
  if (!g) return { state: 'Ready', message: 'guest already gone' };
  const type = guestTypeOf(r);
  if (g.type !== type || !g.tags.includes(MARKER_TAG)) {
    const message = `not deleting vmid ${vmid}: it does not carry phoenix's marker`;
    ctx.recorder.event('Warning', 'Conflict', message);
    return { state: 'Stalled', reason: 'Conflict', message };
  }
  const config = await sh.pve.guestConfig(g.node, g.type, vmid);
  if (ownerOf(config.description) !== key) {
    const message = `not deleting vmid ${vmid}: its marker names ${ownerOf(config.description) ?? 'no resource'}, not ${key}`;
    ctx.recorder.event('Warning', 'Conflict', message);
    return { state: 'Stalled', reason: 'Conflict', message };
  }
  await destroyGuest(sh, ctx, g);
  ctx.recorder.event('Normal', 'Deleted', `deleted ${g.type === 'lxc' ? 'CT' : 'VM'} ${vmid} (prune)`);
  return { state: 'Ready', message: 'deleted' };
}

/** Stop (if running) and delete with purge a guest whose marker the caller has verified. */
export async function destroyGuest(sh: Shared, ctx: AnyCtx, g: ClusterGuest): Promise<void> {
  if (g.status === 'running') {
    await runTask(sh, ctx, 'stop', await withLockRetry(sh, ctx, 'stop', () => sh.pve.power(g.node, g.type, g.vmid, 'stop')));
  }
  const params: Params = { purge: 1, 'destroy-unreferenced-disks': 1 };
  await runTask(sh, ctx, 'delete', await withLockRetry(sh, ctx, 'delete', () => sh.pve.deleteGuest(g.node, g.type, g.vmid, params)));
  await sh.fleet.forget(g.vmid);
}

/** Resume a task a previous reconcile (or controller) left in flight. Returns an outcome to stop on. */
export async function resumeInFlight(sh: Shared, ctx: ReconcileContext<GuestResource>): Promise<ReconcileOutcome | undefined> {
  if (!ctx.status.taskInFlight) return undefined;
  const step = ctx.status.taskInFlight.step;
  try {
    await awaitInFlight(sh, ctx);
    sh.fleet.invalidate();
  } catch (e) {
    if (e instanceof TaskFailedError && !e.retryable) {
      ctx.recorder.event('Warning', 'TaskFailed', `${step}: ${e.exitstatus}`);
      return { state: 'Stalled', reason: 'TaskFailed', message: `${step}: ${e.exitstatus}` };
    }
    if (isPveError(e, 'NotFound')) return undefined;
    throw e;
  }
  return undefined;
}

/** Wrap a reconcile body: conflicts become Stalled, terminal errors become Stalled, the rest throw. */
export async function guard(sh: Shared, ctx: ReconcileContext<GuestResource>, body: () => Promise<ReconcileOutcome>): Promise<ReconcileOutcome> {
  try {
    return await body();
  } catch (e) {
    // Whatever went wrong, the next attempt starts from a fresh picture of the fleet.
    sh.fleet.invalidate();
    if (e instanceof ConflictError) return conflict(sh, ctx, e.message);
    if (e instanceof TaskFailedError && !e.retryable) {
      ctx.recorder.event('Warning', 'TaskFailed', e.message.split('\n')[0]!);
      return { state: 'Stalled', reason: 'TaskFailed', message: e.message };
    }
    // Invalid requests cannot succeed without a manifest change; auth/TLS/network problems are the
    // operator's or the network's to fix, so they are thrown and retried with backoff.
    if (e instanceof PveError && e.kind === 'Invalid') {
      return { state: 'Stalled', reason: 'Invalid', message: e.message };
    }
    throw e;
  }
}

// --- the reconciler shape shared by LxcContainer and VirtualMachine ---------------------------------

export interface ProvisionFn<R extends GuestResource> {
  (ctx: ReconcileContext<R>, dryRun: boolean): Promise<{ steps: PlanStep[]; outcome?: ReconcileOutcome; created?: ClusterGuest }>;
}

/** A create/clone lock with no task of ours in flight: wait on the task holding it (a lost answer). */
export async function waitOnForeignLock(sh: Shared, ctx: ReconcileContext<GuestResource>, g: ClusterGuest): Promise<ClusterGuest | ReconcileOutcome> {
  if (g.lock === 'create' || g.lock === 'clone') {
    const task = await activeTaskFor(sh, g.node, g.vmid);
    if (task) {
      await runTask(sh, ctx, 'resume', task.upid);
      sh.fleet.invalidate();
      const again = await sh.fleet.find(g.vmid);
      if (again && !again.lock) return again;
    }
  }
  return { state: 'Progressing', reason: 'Locked', message: `vmid ${g.vmid} is locked (${g.lock}); waiting for the lock to clear`, requeueAfterMs: 2000 };
}

export function blockedPlan(ref: { kind: Kind; name: string }, steps: PlanStep[], outcome: ReconcileOutcome): Plan {
  return outcome.state === 'Stalled' ? { ref, steps, blocked: { reason: outcome.reason, message: outcome.message } } : { ref, steps };
}

export function isOutcome(x: unknown): x is ReconcileOutcome {
  return typeof x === 'object' && x !== null && 'state' in x;
}

export function guestReconciler<R extends GuestResource>(sh: Shared, kind: Kind, provision: ProvisionFn<R>, validate?: (r: R) => string | undefined) {
  async function run(ctx: ReconcileContext<R>, dryRun: boolean): Promise<ConvergeResult> {
    const c = ctx as unknown as ReconcileContext<GuestResource>;
    const r = ctx.resource;
    const ref = { kind, name: r.metadata.name };
    const invalid = validate?.(r);
    if (invalid) {
      const outcome: ReconcileOutcome = { state: 'Stalled', reason: 'Invalid', message: invalid };
      return { plan: blockedPlan(ref, [], outcome), outcome };
    }
    if (!dryRun) {
      const stop = await resumeInFlight(sh, c);
      if (stop) return { plan: blockedPlan(ref, [], stop), outcome: stop };
    }
    let g = await sh.fleet.find(r.spec.vmid);
    let pre: PlanStep[] = [];
    let fresh = false;
    if (!g) {
      const p = await provision(ctx, dryRun);
      if (p.outcome) return { plan: blockedPlan(ref, p.steps, p.outcome), outcome: p.outcome };
      if (dryRun) {
        const power = r.kind !== 'Template' && (r.spec.powerState ?? 'running') === 'running';
        return { plan: { ref, steps: [...p.steps, ...(power ? [{ action: 'start' as const, description: `start ${r.spec.vmid}` }] : [])] }, outcome: { state: 'Ready' } };
      }
      g = p.created!;
      pre = p.steps;
      fresh = true;
    } else {
      const prob = (await ownershipProblem(sh, r, g)) ?? (g.template && r.kind !== 'Template' ? `vmid ${g.vmid} is a template, not the guest ${keyOf(r)} declares` : undefined);
      if (prob) return { plan: { ref, steps: [], blocked: { reason: 'Conflict', message: prob } }, outcome: dryRun ? { state: 'Ready' } : conflict(sh, c, prob) };
      if (g.lock) {
        if (dryRun) return { plan: { ref, steps: [] }, outcome: { state: 'Ready' } };
        const w = await waitOnForeignLock(sh, c, g);
        if (isOutcome(w)) return { plan: { ref, steps: [] }, outcome: w };
        g = w;
        fresh = true;
      }
    }
    let res = await convergeExisting(sh, c, g, { fresh, dryRun });
    if (res.plan.blocked?.reason === 'ReplaceRequired' && r.kind !== 'Template' && r.spec.allowReplace) {
      // Only with allowReplace: the marker was verified by the full observe that found the change.
      const del: PlanStep = { action: 'delete', destructive: true, description: `delete ${g.type === 'lxc' ? 'CT' : 'VM'} ${g.vmid} to recreate it (allowReplace: ${res.plan.blocked.message})` };
      if (dryRun) {
        const p = await provision(ctx, true);
        return { plan: { ref, steps: [del, ...p.steps] }, outcome: { state: 'Ready' } };
      }
      const why = res.plan.blocked.message;
      await destroyGuest(sh, c, g);
      ctx.recorder.event('Warning', 'Replaced', `deleted ${g.vmid} to recreate it: ${why}`);
      const p = await provision(ctx, false);
      if (p.outcome) return { plan: blockedPlan(ref, p.steps, p.outcome), outcome: p.outcome };
      res = await convergeExisting(sh, c, p.created!, { fresh: true, dryRun });
      pre = [del, ...p.steps];
    }
    res.plan.steps = [...pre, ...res.plan.steps];
    return res;
  }
  return {
    kind,
    plan: async (ctx: ReconcileContext<R>): Promise<Plan> => (await run(ctx, true)).plan,
    reconcile: (ctx: ReconcileContext<R>): Promise<ReconcileOutcome> => guard(sh, ctx as unknown as ReconcileContext<GuestResource>, async () => (await run(ctx, false)).outcome),
    finalize: (ctx: FinalizeContext): Promise<ReconcileOutcome> => finalizeGuest(sh, ctx),
  };
}
