// Concurrency limits for the Proxmox calls that take node- and storage-wide locks (create, clone).
// Peers fail with `can't lock file ... got timeout` when several full clones hit one storage; phoenix
// queues them instead: at most `perNode` creates/clones per node, `perStorage` per target storage,
// and one at a time per LXC clone source (Proxmox locks the source with `disk` while it clones).
import PQueue from 'p-queue';

export interface LimitsOptions {
  perNode?: number;
  perStorage?: number;
}

export interface Limits {
  /** Run `fn` holding a slot on each of the keys' queues (acquired in a fixed order). */
  run<T>(keys: { node: string; storage?: string; source?: string }, fn: () => Promise<T>): Promise<T>;
  /** Jobs running or waiting, for tests and metrics. */
  pending(): number;
}

export function createLimits(opts: LimitsOptions = {}): Limits {
  const perNode = opts.perNode ?? 2;
  const perStorage = opts.perStorage ?? 1;
  const queues = new Map<string, PQueue>();
  const q = (key: string, concurrency: number): PQueue => {
    let x = queues.get(key);
    if (!x) {
      x = new PQueue({ concurrency });
      queues.set(key, x);
    }
    return x;
  };
  return {
    async run<T>(keys: { node: string; storage?: string; source?: string }, fn: () => Promise<T>): Promise<T> {
      // Fixed order (source -> node -> storage) so two jobs never wait on each other in a cycle.
      const chain: PQueue[] = [];
      if (keys.source) chain.push(q(`source:${keys.source}`, 1));
      chain.push(q(`node:${keys.node}`, perNode));
      if (keys.storage) chain.push(q(`storage:${keys.node}:${keys.storage}`, perStorage));
      const wrap = (i: number): Promise<T> => (i === chain.length ? fn() : (chain[i]!.add(() => wrap(i + 1)) as Promise<T>));
      return wrap(0);
    },
    pending() {
      let n = 0;
      for (const x of queues.values()) n += x.size + x.pending;
      return n;
    },
  };
}
