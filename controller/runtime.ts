// The controller manager: keeps the desired-state store (last valid spec of every resource, with its
// generation), the dependency graph and the status of every resource; feeds the work queue; gates each
// resource on its dependencies; runs the per-kind reconcilers; finalizes resources whose manifests are
// gone (dependents first); resyncs periodically; and exposes all of it as a ControllerView.
//
// Level-based throughout: a queued key means "look at this resource again", never "this happened".
import { readdir, stat } from 'node:fs/promises';
import { join, normalize, relative, resolve } from 'node:path';
import type { AnyResource, LoadedResource, ObjectRef, PhoenixEvent, ResourceStatus } from '../resources/types.js';
import {
  isReadyAt,
  markReady,
  markReconciling,
  markStalled,
  notReadyReason,
  conditionStatus,
  getCondition,
} from './conditions.js';
import { EventStore } from './events.js';
import { nextGeneration, ANNOTATION_PREFIX } from './generation.js';
import { errorMessage, silentLogger, type StructuredLogger } from './log.js';
import type { Metrics } from './metrics.js';
import { initControllerSeries } from './metrics.js';
import { WorkQueue, type BackoffOptions, type ReconcileResult } from './queue.js';
import type { DesiredRecord, StateStore } from './state.js';
import type {
  Clock,
  ControllerView,
  FinalizeContext,
  LoadResult,
  ManifestError,
  Plan,
  ReconcileContext,
  ReconcileOutcome,
  ReconcilerSet,
  ResourceKey,
  ResourceView,
  WatchEvent,
  WatchEventType,
  WaitWrapper,
} from './types.js';
import { formatManifestError, keyOf, refOfKey } from './types.js';
import { buildGraph } from './graph.js';
import { checkSet, parseManifestText, readManifestFile } from './manifests.js';
import { MANIFEST_FILE, watchManifests, type ManifestBatch, type ManifestWatcher } from './watch.js';
import { createDnsSync, type DnsSync, type DnsSyncSettings } from './dns/sync-hook.js';

export const PRUNE_ANNOTATION = `${ANNOTATION_PREFIX}prune`;

/** A status's JSON without lastReconcileTime (which changes on every pass). */
const withoutPassTime = (json: string) => json.replace(/"lastReconcileTime":"[^"]*",?/, '');

/** What the runtime needs from the dependency graph. */
export interface GraphView {
  dependenciesOf(key: ResourceKey): ResourceKey[];
  dependentsOf(key: ResourceKey): ResourceKey[];
  /** Scheduling priority: higher goes first when workers or Proxmox limits are short (default 0). */
  priorityOf?(key: ResourceKey): number;
  /** Keys that cannot act because of the graph (dangling reference, cycle), with reason and message. */
  problems: Map<ResourceKey, { reason: string; message: string }>;
}

export interface ManifestLoader {
  parseManifestText(file: string, text: string): LoadResult;
  checkSet(resources: LoadedResource[]): ManifestError[];
}

/** The runtime's view of controller/graph.ts: dangling references and cycles become per-key problems. */
export function graphViewOf(resources: AnyResource[]): GraphView {
  const g = buildGraph(resources);
  const problems = new Map<ResourceKey, { reason: string; message: string }>();
  for (const { from, to } of g.dangling) {
    const prev = problems.get(from);
    problems.set(from, {
      reason: 'DependencyMissing',
      message: prev ? `${prev.message}; depends on ${to}, which no manifest declares` : `depends on ${to}, which no manifest declares`,
    });
  }
  for (const cycle of g.cycles) {
    const message = `dependency cycle: ${cycle.join(' -> ')}`;
    for (const k of new Set(cycle)) if (!problems.has(k)) problems.set(k, { reason: 'DependencyCycle', message });
  }
  return { dependenciesOf: (k) => g.dependenciesOf(k), dependentsOf: (k) => g.dependentsOf(k), priorityOf: (k) => g.height(k), problems };
}

export interface RuntimeOptions {
  /** Directory holding the manifests. */
  manifestsDir: string;
  /** Source revision (a git commit) the manifests directory holds; shown as status.sourceRevision. */
  revision?: string;
  /** How manifest files are named in errors and status (default: manifestsDir as given). */
  displayRoot?: string;
  state: StateStore;
  reconcilers: ReconcilerSet;
  /** Default: controller/manifests.ts. */
  loader?: ManifestLoader;
  /** Default: graphViewOf (controller/graph.ts). */
  graph?: (resources: AnyResource[]) => GraphView;
  metrics: Metrics;
  log?: StructuredLogger;
  concurrency?: number;
  /** Full pass interval (ms); 0 disables. Jittered by up to +10%. */
  resyncMs?: number;
  /** Delete what phoenix owns when a manifest is removed (else only with the prune annotation). */
  prune?: boolean;
  backoff?: Partial<BackoffOptions>;
  clock?: Clock;
  /** Watch the manifests directory (default true). */
  watch?: boolean;
  debounceMs?: number;
  /** A removed resource is finalized only after staying removed this long (default 1000 ms). */
  deletionGraceMs?: number;
  /** Requeue delay when a reconciler reports progress without one (default 2000 ms). */
  progressRequeueMs?: number;
  random?: () => number;
  /** Keep DNS names and Traefik routes in step with the fleet (docs/dns.md); off without it. */
  dns?: DnsSyncSettings;
}

interface FileEntry {
  /** Every key the file declares (valid or not; on a parse failure, also those it declared before). */
  keys: Set<ResourceKey>;
  valid: Map<ResourceKey, LoadedResource>;
  invalid: Map<ResourceKey, ManifestError>;
  errors: ManifestError[];
}

const EMPTY_STATUS = (): ResourceStatus => ({ conditions: [] });
const controllerName = (key: string) => refOfKey(key).kind.toLowerCase();

export class Runtime implements ControllerView {
  private readonly desired = new Map<ResourceKey, DesiredRecord>();
  /** Resources whose manifest is gone, awaiting finalize: their last desired state. */
  private readonly deleting = new Map<ResourceKey, DesiredRecord>();
  private readonly statuses = new Map<ResourceKey, ResourceStatus>();
  private readonly written = new Map<ResourceKey, string>();
  /** Every manifest file's latest parse. */
  private readonly files = new Map<string, FileEntry>();
  /** Keys per file as persisted by the previous run (used when a file fails to parse at startup). */
  private readonly restoredKeys = new Map<string, Set<ResourceKey>>();
  /** Resources whose current manifest is invalid: they keep their last valid spec and are Stalled. */
  private invalid = new Map<ResourceKey, ManifestError>();
  private setErrors: ManifestError[] = [];
  private revision: string | undefined;
  /** Errors of the newest source revision, which was refused as a whole (the previous one stays applied). */
  private rejected: ManifestError[] = [];
  private graphView: GraphView = { dependenciesOf: () => [], dependentsOf: () => [], problems: new Map() };
  private deleteGraph: GraphView = this.graphView;
  private readonly eventStore: EventStore;
  private readonly dns: DnsSync | undefined;
  readonly queue: WorkQueue<ResourceKey>;
  private readonly listeners = new Set<(ev: WatchEvent) => void>();
  private firstPassPending: Set<ResourceKey> | undefined;
  private firstPassDone = false;
  private resyncTimer: NodeJS.Timeout | undefined;
  private watcher: ManifestWatcher | undefined;
  private reloadChain: Promise<void> = Promise.resolve();
  private root: string;
  private readonly displayRoot: string;
  private readonly log: StructuredLogger;
  private readonly clock: Clock;
  private readonly loader: ManifestLoader;
  private readonly graphOf: (resources: AnyResource[]) => GraphView;
  private stopped = false;
  private fatal: string | undefined;
  /** Full passes started (startup is pass 1). */
  passes = 0;

  constructor(private readonly opts: RuntimeOptions) {
    this.root = resolve(opts.manifestsDir);
    this.revision = opts.revision;
    this.displayRoot = normalize(opts.displayRoot ?? opts.manifestsDir);
    this.log = opts.log ?? silentLogger;
    this.loader = opts.loader ?? { parseManifestText, checkSet };
    this.graphOf = opts.graph ?? graphViewOf;
    this.clock = opts.clock ?? { now: () => new Date() };
    this.eventStore = new EventStore(
      (key, list) => void this.opts.state.writeEvents(key as ResourceKey, list).catch((err) => this.log.error('writing events failed', { key, err })),
      () => this.clock.now(),
    );
    this.dns = opts.dns
      ? createDnsSync(opts.dns, {
          snapshot: () => ({ resources: [...this.desired.values()].map((r) => r.resource), statuses: this.statuses }),
          event: (key, type, reason, message) => void this.eventStore.record(key, 'dns-controller', type, reason, message),
          setNames: (key, names) => {
            const s = this.statuses.get(key);
            if (!s || !this.desired.has(key)) return;
            if (names) s.dnsNames = names;
            else delete s.dnsNames;
            void this.commit(key).catch((err) => this.log.error('writing status failed', { resource: key, err: errorMessage(err) }));
          },
          log: this.log,
        })
      : undefined;
    const concurrency = opts.concurrency ?? 4;
    initControllerSeries(opts.metrics, concurrency);
    this.queue = new WorkQueue<ResourceKey>({
      concurrency,
      backoff: opts.backoff,
      metrics: opts.metrics,
      controllerOf: controllerName,
      random: opts.random,
      handler: (key, signal, lend) => this.process(key, signal, lend),
      priorityOf: (key) => this.priorityOf(key),
      onError: (key, err, retryIn) => {
        if (retryIn >= 0) this.log.warn('reconcile failed', { resource: key, err: errorMessage(err), retryInMs: retryIn });
        else this.log.info('reconcile abandoned at shutdown', { resource: key, err: errorMessage(err) });
      },
    });
  }

  // --- lifecycle ------------------------------------------------------------------------------

  /** Load persisted state and the manifests, run the startup pass, then watch and resync. */
  async start(): Promise<void> {
    const st = await stat(this.root).catch(() => undefined);
    if (!st?.isDirectory()) throw new Error(`manifests directory ${this.displayRoot} does not exist or is not a directory`);
    const loaded = await this.opts.state.loadAll();
    for (const p of loaded.problems) this.log.warn('unreadable state file skipped', { problem: p });
    for (const [key, rec] of loaded.desired) {
      this.desired.set(key, rec);
      const set = this.restoredKeys.get(rec.source.file) ?? new Set();
      set.add(key);
      this.restoredKeys.set(rec.source.file, set);
    }
    for (const [key, s] of loaded.status) if (loaded.desired.has(key)) this.statuses.set(key, s);
    for (const [key, list] of loaded.events) if (loaded.desired.has(key)) this.eventStore.load(key, list);
    await this.reloadAll({ enqueue: false });
    if (this.opts.watch !== false) {
      this.watcher = watchManifests(this.root, {
        debounceMs: this.opts.debounceMs ?? 100,
        onBatch: (b) => void this.onBatch(b),
        onError: (err) => this.log.error('watching manifests failed', { err: errorMessage(err) }),
      });
      await this.watcher.ready;
    }
    this.fullPass();
    this.scheduleResync();
  }

  /** Stop watching and resyncing; let in-flight reconciles finish until the deadline, then abandon them. */
  async stop(deadlineMs = 10_000): Promise<ResourceKey[]> {
    this.stopped = true;
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    await this.watcher?.close();
    const abandoned = await this.queue.shutDown(deadlineMs);
    await this.reloadChain.catch(() => {});
    await this.dns?.close();
    await this.opts.state.flush();
    return abandoned;
  }

  /** Point the runtime at another directory (a new git revision) and reload it whole. */
  async switchRoot(dir: string, revision?: string): Promise<void> {
    this.root = resolve(dir);
    this.revision = revision;
    this.rejected = [];
    await this.serialReload(() => this.reloadAll({ enqueue: true }));
    // every resource is applied at the new revision, changed or not (as Flux reports it)
    if (revision) this.fullPass();
  }

  /** A new source revision failed validation: keep the applied one, report the new one's errors. */
  rejectRevision(revision: string, errors: ManifestError[]): void {
    this.rejected = errors.map((e) => ({ ...e, message: `revision ${revision.slice(0, 12)} not applied: ${e.message}` }));
    this.log.warn('source revision failed validation; the previous revision stays applied', { revision, errors: errors.length });
  }

  /** A full pass: reconcilers drop cached live state, every resource is queued. */
  fullPass(): void {
    this.passes++;
    this.opts.reconcilers.startPass();
    const keys = [...this.desired.keys(), ...this.deleting.keys()];
    if (!this.firstPassDone && !this.firstPassPending) {
      this.firstPassPending = new Set(keys);
      this.checkFirstPass();
    }
    for (const k of keys) this.queue.add(k);
    this.dns?.poke();
  }

  private scheduleResync(): void {
    const every = this.opts.resyncMs ?? 5 * 60_000;
    if (!every || this.stopped) return;
    const jitter = 1 + 0.1 * (this.opts.random ?? Math.random)();
    this.resyncTimer = setTimeout(() => {
      if (this.stopped) return;
      this.log.debug('resync: rescan the manifests, then a full pass');
      // a rescan catches any file event the watcher missed (level-based, like the rest)
      void this.serialReload(() => this.reloadAll({ enqueue: true }))
        .catch(() => {}) // logged by serialReload
        .finally(() => {
        if (this.stopped) return;
        this.fullPass();
        this.scheduleResync();
      });
    }, every * jitter);
    this.resyncTimer.unref();
  }

  private checkFirstPass(): void {
    if (this.firstPassPending && this.firstPassPending.size === 0 && !this.firstPassDone) {
      this.firstPassDone = true;
      this.firstPassPending = undefined;
      this.log.info('first full pass done');
    }
  }

  // --- loading --------------------------------------------------------------------------------

  private fileId(abs: string): string {
    return join(this.displayRoot, relative(this.root, abs));
  }

  private absOf(id: string): string {
    return join(this.root, relative(this.displayRoot, id));
  }

  private async listFiles(dir: string): Promise<string[]> {
    const out: string[] = [];
    for (const ent of await readdir(dir, { withFileTypes: true })) {
      if (ent.name.startsWith('.')) continue;
      const p = join(dir, ent.name);
      if (ent.isDirectory()) out.push(...(await this.listFiles(p)));
      // symlinks too (as the watcher reports them): the reader follows them only inside the directory
      else if ((ent.isFile() || ent.isSymbolicLink()) && MANIFEST_FILE.test(ent.name)) out.push(p);
    }
    return out;
  }

  private serialReload(f: () => Promise<void>): Promise<void> {
    const next = this.reloadChain.then(f, f);
    this.reloadChain = next.catch((err) => {
      // the store could not be updated (e.g. the state dir is not writable): report unhealthy
      this.fatal = errorMessage(err);
      this.log.error('reload failed', { err: this.fatal });
    });
    return next;
  }

  private async reloadAll(o: { enqueue: boolean }): Promise<void> {
    const st = await stat(this.root).catch(() => undefined);
    if (!st?.isDirectory()) {
      this.log.error('manifests directory is gone; keeping the last desired state of every resource', { dir: this.displayRoot });
      return;
    }
    const ids = new Set<string>([...this.files.keys(), ...this.restoredKeys.keys()]);
    for (const abs of await this.listFiles(this.root)) ids.add(this.fileId(abs));
    await this.reloadFiles(ids, o);
  }

  private onBatch(batch: ManifestBatch): Promise<void> {
    return this.serialReload(async () => {
      if (this.stopped) return;
      const st = await stat(this.root).catch(() => undefined);
      if (!st?.isDirectory()) {
        this.log.error('manifests directory is gone; keeping the last desired state of every resource', { dir: this.displayRoot });
        return;
      }
      const ids = new Set<string>();
      for (const f of batch.files) ids.add(this.fileId(f));
      for (const d of batch.removedDirs) {
        const prefix = `${this.fileId(d)}/`;
        for (const id of this.files.keys()) if (id.startsWith(prefix)) ids.add(id);
      }
      this.log.debug('manifests changed', { files: [...ids] });
      await this.reloadFiles(ids, { enqueue: true });
    });
  }

  /** Re-parse the given files (ids) and apply the result to the desired-state store. */
  private async reloadFiles(ids: Set<string>, o: { enqueue: boolean }): Promise<void> {
    const now = this.clock.now();
    for (const id of ids) {
      // a file that is gone (or is a directory) removes what it declared; a broken symlink, one that
      // leads out of the directory or an unreadable file is an error, and its resources stay as they were
      const res = await readManifestFile(this.root, this.absOf(id), id, (file, text) => this.loader.parseManifestText(file, text));
      if (!res) {
        this.files.delete(id);
        continue;
      }
      const entry: FileEntry = { keys: new Set(), valid: new Map(), invalid: new Map(), errors: res.errors };
      for (const lr of res.resources) {
        const k = keyOf(lr.resource);
        entry.keys.add(k);
        const first = entry.valid.get(k);
        if (first || entry.invalid.has(k)) {
          // two documents of one file declare the same resource: neither is taken
          entry.valid.delete(k);
          const at = (l: LoadedResource) => `${id}:${l.source.line}`;
          const message = `${k} is declared more than once (${first ? `${at(first)}, ` : ''}${at(lr)})`;
          entry.invalid.set(k, { file: id, line: lr.source.line, col: lr.source.col, path: 'metadata.name', message, resource: refOfKey(k) });
        } else entry.valid.set(k, lr);
      }
      const fileLevel: ManifestError[] = [];
      for (const e of res.errors) {
        if (!e.resource) {
          fileLevel.push(e);
          continue;
        }
        const k = keyOf(e.resource);
        entry.keys.add(k);
        entry.valid.delete(k);
        if (!entry.invalid.has(k)) entry.invalid.set(k, e);
      }
      // A file with any error: every resource it declared before is kept as it was, whether the
      // file does not parse or a document's name no longer reads right (a resource is removed only
      // by a file that is gone or valid). Also those it declared before it was deleted and written
      // again, while they await finalizing.
      if (res.errors.length) {
        const removedFromIt = [...this.deleting].filter(([, rec]) => rec.source.file === id).map(([k]) => k);
        for (const k of [...(this.files.get(id)?.keys ?? this.restoredKeys.get(id) ?? []), ...removedFromIt]) {
          if (entry.keys.has(k)) continue;
          entry.keys.add(k);
          entry.invalid.set(k, fileLevel[0] ?? res.errors[0]!);
        }
      }
      this.files.set(id, entry);
    }
    this.restoredKeys.clear();

    // Derive the desired set from every file's latest parse (cross-file duplicates and set checks).
    const owners = new Map<ResourceKey, string[]>();
    for (const [id, f] of this.files) for (const k of f.keys) owners.set(k, [...(owners.get(k) ?? []), id]);
    const candidates = new Map<ResourceKey, LoadedResource>();
    const invalid = new Map<ResourceKey, ManifestError>();
    for (const [k, ids2] of owners) {
      const f = this.files.get(ids2[0]!)!;
      const lr = f.valid.get(k);
      if (ids2.length > 1) {
        const at = this.files.get(ids2[1]!)!.valid.get(k)?.source;
        invalid.set(k, {
          file: ids2[1]!,
          line: at?.line ?? 1,
          col: at?.col ?? 1,
          path: 'metadata.name',
          message: `${k} is declared more than once (${ids2.join(', ')})`,
          resource: refOfKey(k),
        });
      } else if (lr) candidates.set(k, lr);
      else invalid.set(k, f.invalid.get(k)!);
    }
    // A resource whose manifest is invalid keeps its last valid spec, so references to it still
    // resolve (its dependents wait for it rather than being told it does not exist); its own
    // problem is reported already.
    const kept: LoadedResource[] = [];
    for (const k of invalid.keys()) {
      const rec = this.desired.get(k) ?? this.deleting.get(k);
      if (rec) kept.push({ resource: rec.resource, source: rec.source });
    }
    this.setErrors = this.loader.checkSet([...candidates.values(), ...kept]).filter((e) => !e.resource || candidates.has(keyOf(e.resource)));
    for (const e of this.setErrors) if (e.resource && !invalid.has(keyOf(e.resource))) invalid.set(keyOf(e.resource), e);
    for (const e of invalid.values()) if (e.message.includes('declared more than once')) this.setErrors.push(e);
    for (const k of invalid.keys()) candidates.delete(k);
    const invalidBefore = this.invalid;
    this.invalid = invalid;

    const touched = new Set<ResourceKey>();
    for (const k of invalid.keys()) {
      const rec = this.deleting.get(k);
      if (!rec) continue;
      // declared again (if invalid): no longer removed, it keeps its last valid spec
      this.deleting.delete(k);
      this.desired.set(k, rec);
      touched.add(k);
    }
    for (const [k, lr] of candidates) {
      const resurrected = this.deleting.get(k);
      const prev = this.desired.get(k) ?? resurrected;
      const g = nextGeneration(prev, lr.resource);
      const sourceMoved = !prev || prev.source.file !== lr.source.file || prev.source.line !== lr.source.line || prev.source.col !== lr.source.col;
      if (resurrected) this.deleting.delete(k);
      if (prev && g.digest === prev.digest && !sourceMoved && !resurrected) continue;
      const rec: DesiredRecord = {
        resource: { ...lr.resource, metadata: { ...lr.resource.metadata, generation: g.generation } } as AnyResource,
        source: lr.source,
        generation: g.generation,
        digest: g.digest,
        creationTimestamp: prev?.creationTimestamp ?? now.toISOString(),
      };
      this.desired.set(k, rec);
      await this.opts.state.writeDesired(k, rec);
      if (!prev || g.digest !== prev.digest || resurrected) {
        touched.add(k);
        this.log.info(prev ? 'resource changed' : 'resource added', { resource: k, generation: g.generation });
        this.notify(prev && !resurrected ? 'MODIFIED' : 'ADDED', k);
      }
    }

    // Resources no file declares any more: finalize them (after a short grace, in case the other
    // half of a rename arrives in the next batch).
    const removed: ResourceKey[] = [];
    for (const [k, rec] of this.desired) {
      if (owners.has(k)) continue;
      this.desired.delete(k);
      this.deleting.set(k, rec);
      removed.push(k);
      this.log.info('manifest removed; resource will be finalized', { resource: k, prune: this.pruneFor(rec) });
    }

    this.rebuildGraphs();
    this.dns?.poke(); // a service added or removed changes the names even if no status does
    for (const [k, e] of invalid) if (formatManifestError(e) !== (invalidBefore.has(k) ? formatManifestError(invalidBefore.get(k)!) : '')) touched.add(k);
    for (const k of invalidBefore.keys()) if (!invalid.has(k)) touched.add(k);
    for (const k of this.graphView.problems.keys()) touched.add(k);
    for (const k of this.desired.keys()) {
      const s = this.statuses.get(k);
      if (s && conditionStatus(s.conditions, 'Stalled') === 'True' && !invalid.has(k)) touched.add(k);
    }
    if (!o.enqueue) return;
    for (const k of touched) if (this.desired.has(k)) this.queue.add(k, { urgent: true });
    for (const k of removed) this.queue.addAfter(k, this.opts.deletionGraceMs ?? 1000);
  }

  private rebuildGraphs(): void {
    const desired = [...this.desired.values()].map((r) => r.resource);
    this.graphView = this.graphOf(desired);
    this.deleteGraph = this.deleting.size ? this.graphOf([...desired, ...[...this.deleting.values()].map((r) => r.resource)]) : this.graphView;
  }

  private pruneFor(rec: DesiredRecord): boolean {
    return Boolean(this.opts.prune) || rec.resource.metadata.annotations?.[PRUNE_ANNOTATION] === 'true';
  }

  // --- reconcile ------------------------------------------------------------------------------

  private async process(key: ResourceKey, signal: AbortSignal, lend: WaitWrapper): Promise<ReconcileResult | void> {
    try {
      if (this.deleting.has(key)) return await this.finalizeKey(key, signal, lend);
      if (this.desired.has(key)) return await this.reconcileKey(key, signal, lend);
    } finally {
      if (this.firstPassPending?.delete(key)) this.checkFirstPass();
    }
  }

  private statusOf(key: ResourceKey): ResourceStatus {
    let s = this.statuses.get(key);
    if (!s) this.statuses.set(key, (s = EMPTY_STATUS()));
    s.conditions ??= [];
    return s;
  }

  private async reconcileKey(key: ResourceKey, signal: AbortSignal, lend: WaitWrapper): Promise<ReconcileResult | void> {
    const rec = this.desired.get(key)!;
    const gen = rec.generation;
    const status = this.statusOf(key);
    const now = () => this.clock.now();

    const invalid = this.invalid.get(key);
    if (invalid) {
      if (markStalled(status, gen, 'ManifestInvalid', formatManifestError(invalid), now())) {
        this.eventStore.record(key, 'phoenix-runtime', 'Warning', 'ManifestInvalid', `${formatManifestError(invalid)} (keeping the last valid spec)`);
      }
      await this.commit(key);
      return;
    }
    const problem = this.graphView.problems.get(key);
    if (problem) {
      if (markStalled(status, gen, problem.reason, problem.message, now())) this.eventStore.record(key, 'phoenix-runtime', 'Warning', problem.reason, problem.message);
      await this.commit(key);
      return;
    }
    for (const dep of this.graphView.dependenciesOf(key)) {
      const depRec = this.desired.get(dep);
      const depStatus = this.statuses.get(dep);
      if (depRec && isReadyAt(depStatus, depRec.generation)) continue;
      const why = depRec ? notReadyReason(depStatus, depRec.generation) : 'not declared';
      markReconciling(status, gen, 'DependencyNotReady', `dependency ${dep} is not ready: ${why}`, now(), 'False');
      await this.commit(key);
      return; // queued again the moment the dependency becomes Ready
    }
    const reconciler = this.opts.reconcilers.get(rec.resource.kind);
    if (!reconciler) {
      markStalled(status, gen, 'NoReconciler', `no reconciler for kind ${rec.resource.kind}`, now());
      await this.commit(key);
      return;
    }

    const wasReady = isReadyAt(status, gen);
    if (!wasReady) {
      markReconciling(status, gen, 'Progressing', `reconciling generation ${gen}`, now());
      // Shown at once (API, watchers); on disk with the next write. Nothing a restart needs is in it:
      // a restarted controller re-reconciles any generation not Ready, and what must survive a crash
      // mid-action (the node chosen, a task's UPID) is written by the reconciler before it acts.
      this.notify('MODIFIED', key);
    }
    const log = this.log.with({ resource: key, generation: gen });
    const ctx: ReconcileContext = {
      resource: rec.resource,
      status,
      persist: () => this.commit(key),
      lookup: (ref) => this.lookup(ref),
      recorder: this.eventStore.recorderFor(key, `${controllerName(key)}-controller`),
      log,
      clock: this.clock,
      signal,
      whileWaiting: lend,
      priority: this.priorityOf(key),
    };
    let outcome: ReconcileOutcome;
    try {
      outcome = await reconciler.reconcile(ctx);
    } catch (err) {
      if (signal.aborted) {
        await this.commit(key);
        throw err;
      }
      const msg = errorMessage(err);
      status.lastError = msg;
      if (isPermanent(err)) {
        markStalled(status, gen, errReason(err) ?? 'ReconcileFailed', msg, now());
        this.eventStore.record(key, `${controllerName(key)}-controller`, 'Warning', errReason(err) ?? 'ReconcileFailed', msg);
        await this.commit(key);
        return;
      }
      markReconciling(status, gen, errReason(err) ?? 'ReconcileError', msg, now(), 'False');
      this.eventStore.record(key, `${controllerName(key)}-controller`, 'Warning', errReason(err) ?? 'ReconcileError', msg);
      await this.commit(key);
      throw err;
    }
    status.lastReconcileTime = now().toISOString();
    return this.conclude(key, gen, outcome, wasReady);
  }

  /** Apply a reconcile/finalize outcome to the status; returns the queue's instruction. */
  private async conclude(key: ResourceKey, gen: number, outcome: ReconcileOutcome, wasReady: boolean): Promise<ReconcileResult | void> {
    const status = this.statusOf(key);
    const now = this.clock.now();
    switch (outcome.state) {
      case 'Ready': {
        delete status.lastError;
        if (this.revision) status.sourceRevision = this.revision;
        markReady(status, gen, outcome.message ?? '', now);
        await this.commit(key);
        if (!wasReady) {
          // event-driven: dependents waiting on this one go now
          this.queueDependents(key, () => true);
        }
        return outcome.requeueAfterMs ? { requeueAfterMs: outcome.requeueAfterMs } : undefined;
      }
      case 'Progressing':
        markReconciling(status, gen, outcome.reason, outcome.message, now);
        await this.commit(key);
        return { requeueAfterMs: outcome.requeueAfterMs ?? this.opts.progressRequeueMs ?? 2000 };
      case 'Stalled':
        if (markStalled(status, gen, outcome.reason, outcome.message, now)) {
          this.eventStore.record(key, `${controllerName(key)}-controller`, 'Warning', outcome.reason, outcome.message);
        }
        await this.commit(key);
        return undefined;
    }
  }

  private async finalizeKey(key: ResourceKey, signal: AbortSignal, lend: WaitWrapper): Promise<ReconcileResult | void> {
    const rec = this.deleting.get(key)!;
    const gen = rec.generation;
    const status = this.statusOf(key);
    const prune = this.pruneFor(rec);
    const blockers = this.deleteGraph.dependentsOf(key).filter((d) => this.deleting.has(d) || (prune && this.desired.has(d)));
    if (blockers.length) {
      markReconciling(status, gen, 'DependentsExist', `waiting for ${blockers.join(', ')} to go first`, this.clock.now());
      await this.commit(key);
      return;
    }
    const reconciler = this.opts.reconcilers.get(rec.resource.kind);
    let outcome: ReconcileOutcome = { state: 'Ready' };
    if (reconciler) {
      markReconciling(status, gen, 'Finalizing', prune ? 'manifest removed: pruning' : 'manifest removed: orphaning', this.clock.now());
      await this.commit(key);
      const ctx: FinalizeContext = {
        ref: refOfKey(key),
        lastResource: rec.resource,
        status,
        persist: () => this.commit(key),
        prune,
        recorder: this.eventStore.recorderFor(key, `${controllerName(key)}-controller`),
        log: this.log.with({ resource: key, finalize: true }),
        clock: this.clock,
        signal,
        whileWaiting: lend,
      };
      try {
        outcome = await reconciler.finalize(ctx);
      } catch (err) {
        if (!signal.aborted) {
          status.lastError = errorMessage(err);
          markReconciling(status, gen, errReason(err) ?? 'FinalizeError', status.lastError, this.clock.now(), 'False');
          this.eventStore.record(key, `${controllerName(key)}-controller`, 'Warning', errReason(err) ?? 'FinalizeError', status.lastError);
        }
        await this.commit(key);
        throw err;
      }
    }
    if (outcome.state !== 'Ready') return this.conclude(key, gen, outcome, false);
    // gone for good: forget it everywhere
    this.deleting.delete(key);
    this.statuses.delete(key);
    this.written.delete(key);
    this.eventStore.delete(key);
    await this.opts.state.remove(key);
    this.log.info(prune ? 'resource pruned' : 'resource orphaned and forgotten', { resource: key });
    this.listenersEmit({ type: 'DELETED', object: this.viewOf(key, rec, status) });
    const deps = this.deleteGraph.dependenciesOf(key).filter((d) => this.deleting.has(d));
    this.rebuildGraphs();
    for (const d of deps) this.queue.add(d);
  }

  private lookup(ref: ObjectRef): { resource: AnyResource; status: ResourceStatus } | undefined {
    const k = keyOf(ref);
    const rec = this.desired.get(k);
    return rec ? { resource: rec.resource, status: this.statuses.get(k) ?? EMPTY_STATUS() } : undefined;
  }

  /** Persist a resource's status (when changed) and tell watchers and metrics. */
  private async commit(key: ResourceKey): Promise<void> {
    const status = this.statuses.get(key);
    if (!status) return;
    const json = JSON.stringify(status);
    if (this.written.get(key) === json) return;
    const before = this.written.get(key);
    this.written.set(key, json);
    // A pass that changed nothing but lastReconcileTime is news for watchers (phoenixctl waits on it),
    // not for the disk: a steady resync of N in-sync guests then syncs no file at all.
    if (before === undefined || withoutPassTime(before) !== withoutPassTime(json)) await this.opts.state.writeStatus(key, status);
    this.notify('MODIFIED', key);
    this.dns?.poke();
    // dependents waiting on this one re-evaluate (no API call while gated), so their message is current
    this.queueDependents(key, (d) => getCondition(this.statuses.get(d)?.conditions, 'Ready')?.reason === 'DependencyNotReady');
  }

  /**
   * Queue the dependents of `key` that `which` picks, longest chain first: dependents released
   * together race for the same slots (two clones of one template), and a free slot goes to whoever
   * asks first.
   */
  private queueDependents(key: ResourceKey, which: (d: ResourceKey) => boolean): void {
    const ds = this.graphView.dependentsOf(key).filter(which);
    for (const d of ds.sort((a, b) => this.priorityOf(b) - this.priorityOf(a))) this.queue.add(d);
  }

  /** Scheduling priority: the longest chain of dependents behind the resource (graph height). */
  private priorityOf(key: ResourceKey): number {
    return this.graphView.priorityOf?.(key) ?? 0;
  }

  // --- metrics and watchers -------------------------------------------------------------------

  private notify(type: WatchEventType, key: ResourceKey): void {
    if (!this.listeners.size) return;
    const v = this.get(refOfKey(key));
    if (v) this.listenersEmit({ type, object: v });
  }

  private listenersEmit(ev: WatchEvent): void {
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch (err) {
        this.log.warn('watch listener failed', { err: errorMessage(err) });
      }
    }
  }

  private viewOf(key: ResourceKey, rec: DesiredRecord, status: ResourceStatus): ResourceView {
    const r = rec.resource;
    return {
      apiVersion: r.apiVersion,
      kind: r.kind,
      metadata: {
        name: r.metadata.name,
        ...(r.metadata.labels ? { labels: r.metadata.labels } : {}),
        ...(r.metadata.annotations ? { annotations: r.metadata.annotations } : {}),
        generation: rec.generation,
        creationTimestamp: rec.creationTimestamp,
        source: `${rec.source.file}:${rec.source.line}`,
      },
      spec: r.spec,
      status: structuredClone(status),
    };
  }

  // --- ControllerView -------------------------------------------------------------------------

  list(): ResourceView[] {
    const out: ResourceView[] = [];
    for (const [k, rec] of [...this.desired, ...this.deleting]) out.push(this.viewOf(k, rec, this.statuses.get(k) ?? EMPTY_STATUS()));
    return out.sort((a, b) => (a.kind === b.kind ? a.metadata.name.localeCompare(b.metadata.name) : a.kind.localeCompare(b.kind)));
  }

  get(ref: ObjectRef): ResourceView | undefined {
    const k = keyOf(ref);
    const rec = this.desired.get(k) ?? this.deleting.get(k);
    return rec ? this.viewOf(k, rec, this.statuses.get(k) ?? EMPTY_STATUS()) : undefined;
  }

  events(ref: ObjectRef): PhoenixEvent[] {
    return this.eventStore.list(keyOf(ref));
  }

  watch(listener: (ev: WatchEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  requestReconcile(ref: ObjectRef): boolean {
    const k = keyOf(ref);
    if (!this.desired.has(k) && !this.deleting.has(k)) return false;
    this.queue.add(k, { urgent: true });
    return true;
  }

  async diff(resources: AnyResource[]): Promise<Plan[]> {
    const given = new Map<ResourceKey, AnyResource>(resources.map((r) => [keyOf(r), r]));
    const plans: Plan[] = [];
    for (const r of resources) {
      const k = keyOf(r);
      const ref = refOfKey(k);
      const reconciler = this.opts.reconcilers.get(r.kind);
      if (!reconciler) {
        plans.push({ ref, steps: [], blocked: { reason: 'NoReconciler', message: `no reconciler for kind ${r.kind}` } });
        continue;
      }
      const prev = this.desired.get(k);
      const generation = nextGeneration(prev, r).generation;
      const ctx: ReconcileContext = {
        resource: { ...r, metadata: { ...r.metadata, generation } } as AnyResource,
        status: structuredClone(this.statuses.get(k) ?? EMPTY_STATUS()),
        persist: async () => {},
        lookup: (ref2) => {
          const g = given.get(keyOf(ref2));
          if (g) return { resource: g, status: structuredClone(this.statuses.get(keyOf(ref2)) ?? EMPTY_STATUS()) };
          return this.lookup(ref2);
        },
        recorder: { event: () => {} },
        log: this.log.with({ resource: k, dryRun: true }),
        clock: this.clock,
        signal: AbortSignal.timeout(60_000),
      };
      try {
        plans.push(await reconciler.plan(ctx));
      } catch (err) {
        plans.push({ ref, steps: [], blocked: { reason: errReason(err) ?? 'PlanFailed', message: errorMessage(err) } });
      }
    }
    return plans;
  }

  manifestErrors(): ManifestError[] {
    const out: ManifestError[] = [];
    for (const f of this.files.values()) out.push(...f.errors);
    out.push(...this.setErrors, ...this.rejected);
    return out;
  }

  isReady(): boolean {
    return this.firstPassDone && !this.stopped;
  }

  isHealthy(): boolean {
    return !this.fatal && !this.stopped;
  }

  /** Resolves when nothing is queued or running (for tests and one-shot runs). */
  whenIdle(): Promise<void> {
    return this.queue.whenIdle();
  }
}

/** Thrown errors are retried with backoff unless they say they are permanent. */
function isPermanent(err: unknown): boolean {
  const e = err as { permanent?: unknown } | null;
  return Boolean(e && typeof e === 'object' && e.permanent === true);
}

function errReason(err: unknown): string | undefined {
  const r = (err as { reason?: unknown } | null)?.reason;
  return typeof r === 'string' && /^[A-Z][A-Za-z]+$/.test(r) ? r : undefined;
}
