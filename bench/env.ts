// What the benchmark sections share: an in-process pvesim with the real controller runtime over real
// HTTPS (startEnv), readiness tracked from the runtime's watch events, condition waits, and manifest
// text for generated fleets.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type SimHandle, type SimStats, type Simulator, type StorageSpec } from '../pvesim/index.js';
import { createPveClient, pveConfigFromEnv, type PveClient } from '../controller/pve/client.js';
import { createReconcilers } from '../controller/reconcilers/index.js';
import type { ReconcilerOptions } from '../controller/reconcilers/guest-common.js';
import { createCertificateAuthorityReconciler } from '../controller/reconcilers/certificateauthority.js';
import { createMetrics, type Metrics } from '../controller/metrics.js';
import { Runtime } from '../controller/runtime.js';
import { StateStore } from '../controller/state.js';
import { getCondition } from '../controller/conditions.js';
import { DEFAULT_POLLING } from '../controller/pve/tasks.js';
import type { ResourceKey } from '../controller/types.js';

/** The production task polling (DEFAULT_POLLING), scaled like the simulator's clock. */
export const pollingAt = (scale: number) =>
  scale > 0
    ? { minMs: Math.max(5, DEFAULT_POLLING.minMs * scale), maxMs: Math.max(20, DEFAULT_POLLING.maxMs * scale) }
    : { minMs: 5, maxMs: 20 };
export const LIMITS = { perNode: 2, perStorage: 1 }; // the controller defaults, stated for the lower bound
export const OSTPL = 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst';

export interface Env {
  h: SimHandle;
  /** pvesim's request counts, wherever it runs. */
  simStats(): Promise<SimStats>;
  pve: PveClient;
  rt: Runtime;
  metrics: Metrics;
  dir: string;
  cloneTarget: Map<string, string>;
  state: StateStore;
  options: ReconcilerOptions;
  close(): Promise<void>;
}

/** A pvesim the benchmark did not start in its own process (bench/sim-child.ts). */
export interface RemoteSim {
  url: string;
  token: string;
  fingerprint: string;
  stats(): Promise<SimStats>;
  close(): Promise<void>;
}

/** Copy guest 1000 (as the controller made it) into guests 1001..1000+n-1, with names and vmids changed. */
export function seedCopies(sim: Simulator, n: number): void {
  const g0 = sim.guests.get(1000)!;
  for (let i = 1; i < n; i++) {
    const conf: Record<string, string> = {};
    for (const [k, v] of Object.entries(g0.conf)) {
      if (k === 'digest' || k === 'lock') continue;
      // vmid first: renaming first would turn ct1000's marker into ct2000's
      conf[k] = k === 'rootfs' ? `s${i % 4}:2` : String(v).replaceAll('1000', String(1000 + i)).replaceAll('ct0', `ct${i}`);
    }
    sim.addGuest('pve', 'lxc', 1000 + i, conf, g0.status);
  }
}

export async function startEnv(o: { manifests: string; timeScale: number; nodes: string[]; storages: StorageSpec[]; watch?: boolean; concurrency?: number; resyncMs?: number; driftIntervalMs?: number; remote?: RemoteSim }): Promise<Env> {
  // with a remote pvesim, h carries only what a client has (url, token, fingerprint); h.sim is absent
  const h = o.remote ? ({ url: o.remote.url, token: o.remote.token, fingerprint: o.remote.fingerprint, close: () => o.remote!.close() } as unknown as SimHandle) : await startSim({ timeScale: o.timeScale, nodes: o.nodes, seed: 5, storages: o.storages });
  const metrics = createMetrics();
  const pve = createPveClient(pveConfigFromEnv({ PHOENIX_PVE_URL: h.url, PHOENIX_PVE_TOKEN: h.token, PHOENIX_PVE_FINGERPRINT: h.fingerprint }), metrics);
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-bench-'));
  // Proxmox files a clone task under the source's vmid: note each clone's new vmid to charge it there
  const cloneTarget = new Map<string, string>();
  if (!o.remote) {
    const clone = h.sim.clone.bind(h.sim);
    h.sim.clone = (async (...a: Parameters<typeof clone>) => {
      const upid = await clone(...a);
      cloneTarget.set(upid, String(a[3].newid));
      return upid;
    }) as typeof h.sim.clone;
  }
  const state = new StateStore(join(dir, 'state'));
  await state.open();
  const ca = createCertificateAuthorityReconciler({ stateDir: join(dir, 'state'), certDir: join(dir, 'certs'), allowHostCommands: false });
  // drift interval 0 (every pass reads every config) unless a benchmark asks for the production
  // default by passing driftIntervalMs: undefined, or sets its own
  const options: ReconcilerOptions = { prune: false, polling: pollingAt(o.timeScale), allowedHostPaths: ['/mnt/pve'], ...('driftIntervalMs' in o ? (o.driftIntervalMs === undefined ? {} : { driftIntervalMs: o.driftIntervalMs }) : { driftIntervalMs: 0 }) };
  const rt = new Runtime({
    manifestsDir: o.manifests,
    state,
    reconcilers: createReconcilers({ pve, metrics, limits: LIMITS, options, extra: [ca as never] }),
    metrics,
    concurrency: o.concurrency ?? 8,
    resyncMs: o.resyncMs ?? 0,
    watch: o.watch ?? false,
  });
  track(rt);
  return {
    h, pve, rt, metrics, dir, cloneTarget, state, options,
    simStats: o.remote ? () => o.remote!.stats() : async () => h.stats(),
    async close() {
      await rt.stop();
      await pve.close();
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

/**
 * Keys Ready at their current generation, kept from the runtime's watch events: polling rt.get() for
 * thousands of keys every few ms would spend the CPU the controller is being measured on.
 */
const trackers = new WeakMap<Runtime, Set<string>>();
function track(rt: Runtime): void {
  const ready = new Set<string>();
  trackers.set(rt, ready);
  rt.watch((ev) => {
    const v = ev.object;
    const k = `${v.kind}/${v.metadata.name}`;
    const ok = ev.type !== 'DELETED' && getCondition(v.status.conditions, 'Ready')?.status === 'True' && v.status.observedGeneration === v.metadata.generation;
    if (ok) ready.add(k);
    else ready.delete(k);
  });
}
export const readyKeys = (rt: Runtime, keys: ResourceKey[]) => {
  const ready = trackers.get(rt)!;
  return keys.filter((k) => ready.has(k));
};

export const lxc = (name: string, vmid: number, source: string, storage: string, memory = 512, dependsOn?: string) => `apiVersion: phoenix.hypervisor/v1alpha1
kind: LxcContainer
metadata:
  name: ${name}
spec:
  vmid: ${vmid}
  source: ${source}
  memory: ${memory}
  rootfs: { storage: ${storage}, size: 2G }
${dependsOn ? `  dependsOn:\n    - { kind: LxcContainer, name: ${dependsOn} }\n` : ''}`;
export const tpl = (name: string, vmid: number, storage: string) => `apiVersion: phoenix.hypervisor/v1alpha1
kind: Template
metadata:
  name: ${name}
spec:
  vmid: ${vmid}
  type: lxc
  ostemplate: ${OSTPL}
  rootfs: { storage: ${storage}, size: 2G }
`;

export const STORAGES = (n: number): StorageSpec[] => Array.from({ length: n }, (_, i) => ({ name: `s${i}`, type: 'lvmthin', content: ['images', 'rootdir'], sizeGiB: 100_000 }));

/** The p-quantile (0..1) of some figures, nearest rank. */
export function quantile(values: number[], p: number): number {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(p * v.length))]!;
}
