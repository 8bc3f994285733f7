// The runtime's side of issue 9: a debounced caller of syncDnsAndRoutes. The runtime pokes it
// whenever a status or the desired state changes and at every full pass; after a short quiet period
// it syncs the files once, then reports back through the host: conflicts as Warning events
// (DnsConflict) on every claimant, DnsUpdated/RoutesUpdated on the resources whose names changed,
// and the names each resource is served under (status.dnsNames).
import type { AnyResource, ResourceStatus } from '../../resources/types.js';
import type { ResourceKey } from '../types.js';
import { errorMessage, type StructuredLogger } from '../log.js';
import { syncDnsAndRoutes, type SyncOptions } from './index.js';

export type DnsSyncSettings = Omit<SyncOptions, 'resources' | 'statuses'> & {
  /** Quiet period after the last poke before syncing (default 200 ms). */
  debounceMs?: number;
};

/** What the hook needs from the runtime. */
export interface DnsSyncHost {
  /** The desired resources and their current statuses. */
  snapshot(): { resources: AnyResource[]; statuses: ReadonlyMap<ResourceKey, ResourceStatus> };
  event(key: ResourceKey, type: 'Normal' | 'Warning', reason: string, message: string): void;
  /** Store the names a resource is served under (undefined: none) in its status. */
  setNames(key: ResourceKey, names: string[] | undefined): void;
  log: StructuredLogger;
}

export interface DnsSync {
  /** Something changed: sync after the debounce. */
  poke(): void;
  /** Sync now (waits for one in flight first). */
  flush(): Promise<void>;
  /** Cancel a pending sync and wait for one in flight. */
  close(): Promise<void>;
}

const same = (a: readonly string[] | undefined, b: readonly string[] | undefined) => (a ?? []).join(' ') === (b ?? []).join(' ');

export function createDnsSync(settings: DnsSyncSettings, host: DnsSyncHost): DnsSync {
  const { debounceMs = 200, ...files } = settings;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let closed = false;
  /** Conflicts already reported (by message), so a standing conflict is reported once. */
  let reported = new Set<string>();

  const syncOnce = async () => {
    const { resources, statuses } = host.snapshot();
    let res;
    try {
      res = await syncDnsAndRoutes({ ...files, resources, statuses });
    } catch (err) {
      // retried on the next poke (a failed SIGHUP is remembered by syncDnsAndRoutes)
      host.log.warn('DNS/route sync failed', { err: errorMessage(err) });
      return;
    }
    const now = new Set<string>();
    for (const c of res.conflicts) {
      now.add(c.message);
      if (!reported.has(c.message)) for (const k of c.claimants) host.event(k, 'Warning', 'DnsConflict', c.message);
    }
    reported = now;
    const keys = new Set<ResourceKey>();
    for (const r of resources) if (r.kind === 'LxcContainer' || r.kind === 'VirtualMachine') keys.add(`${r.kind}/${r.metadata.name}`);
    for (const k of keys) {
      const names = res.names[k];
      const before = statuses.get(k)?.dnsNames;
      if (same(before, names)) continue;
      const list = names?.length ? names.join(', ') : 'none';
      if (res.wroteDns) host.event(k, 'Normal', 'DnsUpdated', `DNS names: ${list}`);
      if (res.wroteRoutes) host.event(k, 'Normal', 'RoutesUpdated', `routes rewritten; names: ${list}`);
      host.setNames(k, names?.length ? names : undefined);
    }
    if (res.wroteDns || res.wroteRoutes) host.log.info('DNS names and routes written', { dns: res.wroteDns, routes: res.wroteRoutes, reloaded: res.reloaded });
  };

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    running = running.then(syncOnce);
    return running;
  };

  return {
    poke() {
      if (closed || timer) return;
      timer = setTimeout(() => void flush(), debounceMs);
      timer.unref();
    },
    flush,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
