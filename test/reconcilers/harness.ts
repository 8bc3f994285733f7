// A small in-test runtime for driving reconcilers directly against pvesim over real HTTPS:
// ReconcileContexts over an in-memory world (statuses, events, persisted snapshots) and a converge
// loop that honours Progressing requeues and retries thrown (retryable) errors until a deadline.
import type { AnyResource, ResourceStatus } from '../../resources/types.js';
import type { FinalizeContext, ReconcileContext, ReconcileOutcome, ReconcilerSet } from '../../controller/types.js';
import { keyOf } from '../../controller/types.js';
import { createMetrics, type Metrics } from '../../controller/metrics.js';
import { createPveClient, pveConfigFromEnv, type PveClient } from '../../controller/pve/client.js';
import { createReconcilers, type ReconcilerOptions } from '../../controller/reconcilers/index.js';
import { startSim, type SimHandle, type StorageSpec } from '../../pvesim/index.js';

export interface RecordedEvent {
  type: string;
  reason: string;
  message: string;
}

export class World {
  readonly resources = new Map<string, AnyResource>();
  readonly status = new Map<string, ResourceStatus>();
  readonly events = new Map<string, RecordedEvent[]>();
  /** Every persisted status, in order (deep copies). */
  readonly persisted = new Map<string, ResourceStatus[]>();
  readonly logs: string[] = [];

  add(...rs: AnyResource[]): void {
    for (const r of rs) {
      r.metadata.generation ??= 1;
      this.resources.set(keyOf(r), r);
    }
  }
  statusOf(r: AnyResource): ResourceStatus {
    const k = keyOf(r);
    let s = this.status.get(k);
    if (!s) {
      s = { conditions: [] };
      this.status.set(k, s);
    }
    return s;
  }
  eventsOf(r: AnyResource): RecordedEvent[] {
    return this.events.get(keyOf(r)) ?? [];
  }
  reasons(r: AnyResource): string[] {
    return this.eventsOf(r).map((e) => e.reason);
  }
  private base(key: string, status: ResourceStatus, signal: AbortSignal) {
    return {
      status,
      persist: async () => {
        const list = this.persisted.get(key) ?? [];
        list.push(structuredClone(status));
        this.persisted.set(key, list);
      },
      recorder: {
        event: (type: 'Normal' | 'Warning', reason: string, message: string) => {
          const list = this.events.get(key) ?? [];
          list.push({ type, reason, message });
          this.events.set(key, list);
        },
      },
      log: {
        info: (m: string) => void this.logs.push(`info ${key} ${m}`),
        warn: (m: string) => void this.logs.push(`warn ${key} ${m}`),
        error: (m: string) => void this.logs.push(`error ${key} ${m}`),
        debug: () => {},
      },
      clock: { now: () => new Date() },
      signal,
    };
  }
  ctx<R extends AnyResource>(r: R, signal = new AbortController().signal): ReconcileContext<R> {
    const key = keyOf(r);
    return {
      ...this.base(key, this.statusOf(r), signal),
      resource: r,
      lookup: (ref) => {
        const res = this.resources.get(keyOf(ref));
        return res ? { resource: res, status: this.statusOf(res) } : undefined;
      },
    };
  }
  finalizeCtx(r: AnyResource, prune: boolean): FinalizeContext {
    return { ...this.base(keyOf(r), this.statusOf(r), new AbortController().signal), ref: { kind: r.kind, name: r.metadata.name }, lastResource: r, prune };
  }
}

/** Reconcile until Ready or Stalled; Progressing and retryable errors are retried quickly. */
export async function converge(set: ReconcilerSet, world: World, r: AnyResource, deadlineMs = 20_000): Promise<ReconcileOutcome> {
  const rec = set.get(r.kind)!;
  const end = Date.now() + deadlineMs;
  let lastErr: unknown;
  while (Date.now() < end) {
    try {
      const out = await rec.reconcile(world.ctx(r));
      if (out.state !== 'Progressing') return out;
      await new Promise((res) => setTimeout(res, Math.min(out.requeueAfterMs ?? 50, 100)));
    } catch (e) {
      lastErr = e;
      if ((e as { retryable?: boolean }).retryable !== true) throw e;
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  throw new Error(`${keyOf(r)} did not converge in ${deadlineMs} ms; last error: ${String(lastErr)}`);
}

export interface Fleet {
  handle: SimHandle;
  pve: PveClient;
  metrics: Metrics;
  set: ReturnType<typeof createReconcilers>;
  world: World;
  options: ReconcilerOptions;
  /** Writes (POST/PUT/DELETE) the simulator served so far, by "METHOD /template". */
  writes(): Record<string, number>;
  writeCount(): number;
  close(): Promise<void>;
}

/** Simulated seconds run 100x faster; tasks poll every 10-40 ms. */
export const TIME_SCALE = 0.01;
export const FAST_POLLING = { minMs: 10, maxMs: 40 };

export async function startFleet(opts: { nodes?: string[]; storages?: StorageSpec[]; options?: Partial<ReconcilerOptions>; limits?: { perNode?: number; perStorage?: number } } = {}): Promise<Fleet> {
  const handle = await startSim({ timeScale: TIME_SCALE, nodes: opts.nodes ?? ['pve'], seed: 7, ...(opts.storages ? { storages: opts.storages } : {}) });
  const metrics = createMetrics();
  const config = pveConfigFromEnv({ PHOENIX_PVE_URL: handle.url, PHOENIX_PVE_TOKEN: handle.token, PHOENIX_PVE_FINGERPRINT: handle.fingerprint });
  const pve = createPveClient(config, metrics);
  const options: ReconcilerOptions = { prune: false, polling: FAST_POLLING, lockRetry: { attempts: 8, baseMs: 20, maxMs: 200 }, ...opts.options };
  const set = createReconcilers({ pve, metrics, options, ...(opts.limits ? { limits: opts.limits } : {}) });
  const world = new World();
  const writes = () => Object.fromEntries(Object.entries(handle.stats().requests).filter(([k]) => !k.startsWith('GET ')));
  return {
    handle,
    pve,
    metrics,
    set,
    world,
    options,
    writes,
    writeCount: () => Object.values(writes()).reduce((a, b) => a + b, 0),
    close: async () => {
      await pve.close();
      await handle.close();
    },
  };
}

/** Wait for a condition with a deadline (never a bare sleep). */
export async function until(what: string, cond: () => boolean | Promise<boolean>, deadlineMs = 5000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * proxmox-api leaves its 60 s request timer running when a fetch fails (TLS refusal, dropped
 * connection), which would keep the test process alive for a minute after the last test. Once the
 * suite has closed its servers, exit shortly after uvu has printed its totals.
 */
export function exitSoonAfterSuite(): void {
  setTimeout(() => process.exit(), 300).unref();
}
