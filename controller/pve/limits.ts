// Concurrency limits for the Proxmox calls that take node- and storage-wide locks (create, clone).
// Peers fail with `can't lock file ... got timeout` when several full clones hit one storage; phoenix
// queues them instead: at most `perNode` creates/clones per node, `perStorage` per target storage,
// and one at a time per LXC clone source (Proxmox locks the source with `disk` while it clones).
//
// A job takes all its slots at once or none (no hold-and-wait): a clone waiting for a busy storage
// must not sit on its template's only slot while a clone of the same template to an idle storage
// could run. Waiting jobs are admitted by priority (the length of the dependency chain behind them),
// then oldest first; a job goes ahead of others only when they cannot start, so a free slot is never
// left idle while some job could use it.
import type { WaitWrapper } from '../types.js';

export interface LimitsOptions {
  perNode?: number;
  perStorage?: number;
}

export interface LimitKeys {
  node: string;
  storage?: string;
  source?: string;
}

export interface RunOptions {
  /** Runs the wait while the job is queued for its slots (the work queue lends the worker meanwhile). */
  whileQueued?: WaitWrapper | undefined;
  /** Higher is admitted first among waiting jobs (default 0). */
  priority?: number | undefined;
}

export interface Limits {
  /** Run `fn` holding a slot on each of the keys' limits, all taken together. */
  run<T>(keys: LimitKeys, fn: () => Promise<T>, opts?: RunOptions): Promise<T>;
  /** Jobs running or waiting, for tests and metrics. */
  pending(): number;
}

interface Waiter {
  slots: Array<[string, number]>;
  priority: number;
  admit: () => void;
}

/** The slots (key and capacity) a job with these keys needs. */
export function slotsFor(keys: LimitKeys, perNode: number, perStorage: number): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  if (keys.source) out.push([`source:${keys.source}`, 1]);
  out.push([`node:${keys.node}`, perNode]);
  if (keys.storage) out.push([`storage:${keys.node}:${keys.storage}`, perStorage]);
  return out;
}

export function createLimits(opts: LimitsOptions = {}): Limits {
  const perNode = Math.max(1, opts.perNode ?? 2);
  const perStorage = Math.max(1, opts.perStorage ?? 1);
  const used = new Map<string, number>();
  const waiting: Waiter[] = [];
  let running = 0;
  const fits = (slots: Array<[string, number]>) => slots.every(([k, cap]) => (used.get(k) ?? 0) < cap);
  const take = (slots: Array<[string, number]>) => {
    for (const [k] of slots) used.set(k, (used.get(k) ?? 0) + 1);
    running++;
  };
  const give = (slots: Array<[string, number]>) => {
    for (const [k] of slots) {
      const n = (used.get(k) ?? 1) - 1;
      if (n > 0) used.set(k, n);
      else used.delete(k);
    }
    running--;
  };
  const pump = () => {
    for (let i = 0; i < waiting.length; ) {
      const w = waiting[i]!;
      if (fits(w.slots)) {
        waiting.splice(i, 1);
        take(w.slots);
        w.admit();
      } else i++;
    }
  };
  return {
    async run<T>(keys: LimitKeys, fn: () => Promise<T>, opts: RunOptions = {}): Promise<T> {
      const slots = slotsFor(keys, perNode, perStorage);
      // pump() leaves no waiting job that fits, so one that fits now takes nothing from another
      if (fits(slots)) take(slots);
      else {
        const priority = opts.priority ?? 0;
        const queued = new Promise<void>((admit) => {
          // stable: behind every waiting job of the same or higher priority
          let i = waiting.length;
          while (i > 0 && waiting[i - 1]!.priority < priority) i--;
          waiting.splice(i, 0, { slots, priority, admit });
        });
        await (opts.whileQueued ? opts.whileQueued(() => queued) : queued);
      }
      try {
        return await fn();
      } finally {
        give(slots);
        pump();
      }
    },
    pending() {
      return running + waiting.length;
    },
  };
}
