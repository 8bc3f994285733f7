// The work queue: one key per resource, processed level-based (the handler reads current state, never
// the event that queued the key). Semantics follow client-go's util/workqueue:
// - a key that is queued is not queued twice (dedup through the `dirty` set);
// - a key never runs twice at once: a key added while it is being processed is parked in `dirty` and
//   queued exactly once more when the running pass is done;
// - failures requeue with a per-key exponential backoff that a success resets (forget);
// - delayed adds (requeueAfter) keep only the earliest pending time per key.
// Concurrency is bounded globally by a p-queue whose slots are the workers. A handler that waits on
// Proxmox (a task running, a node or storage limit) lends its slot meanwhile (`lend`), so a long clone
// does not keep an independent branch from starting; it takes a slot back, ahead of new keys, to go on.
import PQueue from 'p-queue';
import type { Metrics } from './metrics.js';
import type { WaitWrapper } from './types.js';

export interface ReconcileResult {
  /** Requeue with the rate limiter's backoff (counted as a retry). */
  requeue?: boolean;
  /** Requeue after this delay (resets the backoff). */
  requeueAfterMs?: number;
}

/**
 * A handler's third argument, `lend(wait)`: runs `wait` without holding a worker slot; the slot goes to
 * other keys while `wait` is pending and is taken back (before any newly queued key) when it settles.
 * For waiting on Proxmox, not for work.
 */
export type QueueHandler<K extends string> = (key: K, signal: AbortSignal, lend: WaitWrapper) => Promise<ReconcileResult | void>;

export interface BackoffOptions {
  /** First retry delay (ms). */
  baseMs: number;
  /** Upper bound of the retry delay (ms). */
  maxMs: number;
  /** Fraction (0..1) by which a delay is randomly shortened, so that retries of many keys spread out. */
  jitter: number;
}

/** Priority of a handler taking its worker back after a lent wait: ahead of every key not started yet. */
const RETURNING = Number.MAX_SAFE_INTEGER;
/** Added to an urgent key's priority (graph heights stay far below it), as controller-runtime's priority
 * queue puts changes ahead of what a resync or the initial list queued. */
const URGENT = 1_000_000;

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 5 * 60_000, jitter: 0.2 };

/**
 * The delay before retry number `failures + 1` of a key: base * 2^failures capped at max, then shortened
 * by up to `jitter` of itself (never longer than max).
 */
export function backoffDelay(failures: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const raw = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(failures, 62));
  return Math.max(0, Math.round(raw * (1 - opts.jitter * random())));
}

export interface WorkQueueOptions<K extends string> {
  handler: QueueHandler<K>;
  /** Reconciles running at once, across all keys (default 4). */
  concurrency?: number;
  backoff?: Partial<BackoffOptions>;
  metrics?: Metrics;
  /** The `controller` (and workqueue `name`) label of a key's metrics. */
  controllerOf?: (key: K) => string;
  /** Higher runs first when every worker is busy (default 0 for all: first come, first served). */
  priorityOf?: (key: K) => number;
  /** Called with every error a handler throws (after the retry is scheduled). */
  onError?: (key: K, err: unknown, retryInMs: number) => void;
  random?: () => number;
}

interface Delayed {
  at: number;
  timer: NodeJS.Timeout;
}

export class WorkQueue<K extends string> {
  private readonly dirty = new Set<K>();
  /** Keys queued by an urgent add, not yet started. */
  private readonly urgent = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly enqueuedAt = new Map<K, number>();
  private readonly startedAt = new Map<K, number>();
  private readonly delayed = new Map<K, Delayed>();
  private readonly failures = new Map<K, number>();
  private readonly aborts = new Map<K, AbortController>();
  private readonly pq: PQueue;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  private readonly controllerOf: (key: K) => string;
  private readonly gaugeTimer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];
  /** Handlers back from a lent wait, waiting for a slot; released at once on shutdown. */
  private readonly returning = new Set<() => void>();
  private stopping = false;
  readonly concurrency: number;

  constructor(private readonly opts: WorkQueueOptions<K>) {
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.pq = new PQueue({ concurrency: this.concurrency });
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.random = opts.random ?? Math.random;
    this.controllerOf = opts.controllerOf ?? (() => 'phoenix');
    if (opts.metrics) {
      this.gaugeTimer = setInterval(() => this.updateRunningGauges(), 1000);
      this.gaugeTimer.unref();
    }
  }

  /**
   * Queue a key now (no-op when it is already queued; parked until done when it is running). An urgent
   * add (a manifest edit, a requested reconcile) goes ahead of routine work such as a resync pass, and
   * lifts the key if a routine add already queued it.
   */
  add(key: K, opts: { urgent?: boolean } = {}): void {
    if (this.stopping) return;
    if (opts.urgent && !this.urgent.has(key)) {
      this.urgent.add(key);
      if (this.dirty.has(key) && !this.processing.has(key)) {
        try {
          this.pq.setPriority(`key:${key}`, this.priorityFor(key));
        } catch {
          /* already started */
        }
      }
    }
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    this.enqueuedAt.set(key, performance.now());
    this.labelled(key, (m, l) => m.workqueueAdds.inc(l));
    if (this.processing.has(key)) return;
    this.schedule(key);
  }

  /** Queue a key after a delay; an earlier pending delayed add of the same key wins. */
  addAfter(key: K, delayMs: number): void {
    if (this.stopping) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  /** Queue a key after its backoff delay, counting a failure; returns the delay. */
  addRateLimited(key: K): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = backoffDelay(n, this.backoff, this.random);
    this.labelled(key, (m, l) => m.workqueueRetries.inc(l));
    this.addAfter(key, delay);
    return delay;
  }

  /** Reset a key's backoff. */
  forget(key: K): void {
    this.failures.delete(key);
  }

  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /** Keys queued and not yet started. */
  len(): number {
    let n = 0;
    for (const k of this.dirty) if (!this.processing.has(k)) n++;
    return n;
  }

  isProcessing(key: K): boolean {
    return this.processing.has(key);
  }

  isQueued(key: K): boolean {
    return this.dirty.has(key);
  }

  inFlight(): K[] {
    return [...this.processing];
  }

  /** Resolves when nothing is queued or running (delayed adds may still be pending). */
  whenIdle(): Promise<void> {
    if (this.dirty.size === 0 && this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stop taking work: drop queued and delayed keys, let running handlers finish until the deadline,
   * then abort them (their signal fires) and wait up to `graceMs` more. Returns the keys still running.
   */
  async shutDown(deadlineMs = 10_000, graceMs = 2_000): Promise<K[]> {
    this.stopping = true;
    if (this.gaugeTimer) clearInterval(this.gaugeTimer);
    for (const d of this.delayed.values()) clearTimeout(d.timer);
    this.delayed.clear();
    this.pq.clear();
    for (const back of this.returning) back();
    this.returning.clear();
    for (const k of [...this.dirty]) if (!this.processing.has(k)) this.dirty.delete(k);
    if (!(await this.waitProcessing(deadlineMs))) {
      for (const ac of this.aborts.values()) ac.abort(new Error('controller shutting down'));
      await this.waitProcessing(graceMs);
    }
    return [...this.processing];
  }

  get shuttingDown(): boolean {
    return this.stopping;
  }

  private async waitProcessing(ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    while (this.processing.size > 0 && Date.now() < until) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(50, Math.max(1, until - Date.now())));
        this.idleWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.processing.size === 0;
  }

  private schedule(key: K): void {
    this.labelled(key, (m, l) => m.workqueueDepth.inc(l));
    this.slot(this.priorityFor(key), (release) => void this.work(key, { release }), `key:${key}`);
  }

  private priorityFor(key: K): number {
    return (this.opts.priorityOf?.(key) ?? 0) + (this.urgent.has(key) ? URGENT : 0);
  }

  /** Take a worker slot (a p-queue job lasting until `release` is called); `granted` runs as it starts. */
  private slot(priority: number, granted: (release: () => void) => void, id?: string): void {
    void this.pq.add(() => new Promise<void>((release) => granted(release)), { priority, ...(id ? { id } : {}) });
  }

  private lender(hold: { release: (() => void) | undefined }): WaitWrapper {
    return async <T>(wait: () => Promise<T>): Promise<T> => {
      if (!hold.release) return wait(); // already lent (nested waits)
      hold.release();
      hold.release = undefined;
      try {
        return await wait();
      } finally {
        if (!this.stopping) {
          // shutDown() releases a handler still queued for its slot, so it can finish or abort
          let back!: () => void;
          const stopped = new Promise<() => void>((r) => (back = () => r(() => {})));
          this.returning.add(back);
          hold.release = await Promise.race([new Promise<() => void>((r) => this.slot(RETURNING, r)), stopped]);
          this.returning.delete(back);
        }
      }
    };
  }

  private async work(key: K, hold: { release: (() => void) | undefined }): Promise<void> {
    this.labelled(key, (m, l) => m.workqueueDepth.dec(l));
    if (this.stopping || !this.dirty.has(key)) {
      hold.release?.();
      return;
    }
    this.dirty.delete(key);
    this.urgent.delete(key);
    this.processing.add(key);
    const queuedFor = (performance.now() - (this.enqueuedAt.get(key) ?? performance.now())) / 1000;
    this.enqueuedAt.delete(key);
    const started = performance.now();
    this.startedAt.set(key, started);
    const controller = this.controllerOf(key);
    const m = this.opts.metrics;
    m?.workqueueQueueDuration.observe({ name: controller, controller }, queuedFor);
    m?.activeWorkers.inc({ controller });
    const ac = new AbortController();
    this.aborts.set(key, ac);
    try {
      const result = await this.opts.handler(key, ac.signal, this.lender(hold));
      if (result?.requeueAfterMs && result.requeueAfterMs > 0) {
        this.forget(key);
        this.addAfter(key, result.requeueAfterMs);
        m?.reconcileTotal.inc({ controller, result: 'requeue_after' });
      } else if (result?.requeue) {
        this.addRateLimited(key);
        m?.reconcileTotal.inc({ controller, result: 'requeue' });
      } else {
        this.forget(key);
        m?.reconcileTotal.inc({ controller, result: 'success' });
      }
    } catch (err) {
      m?.reconcileTotal.inc({ controller, result: 'error' });
      m?.reconcileErrors.inc({ controller });
      if (ac.signal.aborted || this.stopping) {
        this.opts.onError?.(key, err, -1);
      } else {
        const delay = this.addRateLimited(key);
        this.opts.onError?.(key, err, delay);
      }
    } finally {
      const secs = (performance.now() - started) / 1000;
      m?.reconcileTime.observe({ controller }, secs);
      m?.workqueueWorkDuration.observe({ name: controller, controller }, secs);
      m?.activeWorkers.dec({ controller });
      hold.release?.();
      hold.release = undefined;
      this.aborts.delete(key);
      this.startedAt.delete(key);
      this.processing.delete(key);
      if (this.dirty.has(key) && !this.stopping) this.schedule(key);
      this.notifyIdle();
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    const idle = this.dirty.size === 0 && this.processing.size === 0;
    // shutdown waiters only need processing to change; idle waiters need full idleness
    if (!idle && !this.stopping) return;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private labelled(key: K, f: (m: Metrics, labels: { name: string; controller: string }) => void): void {
    if (!this.opts.metrics) return;
    const c = this.controllerOf(key);
    f(this.opts.metrics, { name: c, controller: c });
  }

  private updateRunningGauges(): void {
    const m = this.opts.metrics;
    if (!m) return;
    const now = performance.now();
    const total = new Map<string, number>();
    const longest = new Map<string, number>();
    for (const [k, t] of this.startedAt) {
      const c = this.controllerOf(k);
      const secs = (now - t) / 1000;
      total.set(c, (total.get(c) ?? 0) + secs);
      longest.set(c, Math.max(longest.get(c) ?? 0, secs));
    }
    const seen = new Set<string>([...this.seenControllers, ...total.keys()]);
    for (const c of seen) {
      m.workqueueUnfinishedWork.set({ name: c, controller: c }, total.get(c) ?? 0);
      m.workqueueLongestRunning.set({ name: c, controller: c }, longest.get(c) ?? 0);
      this.seenControllers.add(c);
    }
  }

  private readonly seenControllers = new Set<string>();
}
