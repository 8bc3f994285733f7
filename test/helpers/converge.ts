// The whole controller in-process against pvesim over HTTPS: the real loader, runtime and
// reconcilers (and the CertificateAuthority reconciler when a cert dir is given), for end-to-end
// tests that converge a directory of manifests. The observer client is the test's own view of Proxmox.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type RequestValidator, type SimHandle, type StorageSpec } from '../../pvesim/index.js';
import { createPveClient, pveConfigFromEnv, type PveClient } from '../../controller/pve/client.js';
import { createReconcilers } from '../../controller/reconcilers/index.js';
import { createCertificateAuthorityReconciler } from '../../controller/reconcilers/certificateauthority.js';
import { createMetrics, type Metrics } from '../../controller/metrics.js';
import { Runtime } from '../../controller/runtime.js';
import { StateStore } from '../../controller/state.js';
import { getCondition } from '../../controller/conditions.js';
import type { Kind as ResourceKind } from '../../resources/types.js';
import { FAST_POLLING } from '../reconcilers/harness.js';
import { REPO_ROOT } from './shared.js';

export interface Converge {
  sim: SimHandle;
  observer: PveClient;
  rt: Runtime;
  metrics: Metrics;
  /** Scratch directory (state, certs) removed by close(). */
  dir: string;
  certDir: string;
  /** Ready at the resource's current generation. */
  ready(kind: ResourceKind, name: string): boolean;
  close(): Promise<void>;
}

export async function startConverge(opts: {
  manifestsDir: string;
  storages?: StorageSpec[];
  allowedHostPaths?: string[];
  timeScale?: number;
  concurrency?: number;
  /** Add the CertificateAuthority reconciler (certificates go to <dir>/certs). */
  ca?: boolean;
  /** pvesim's parameter validator (default: PVE's checks); a test may wrap it to see every request. */
  validator?: RequestValidator;
}): Promise<Converge> {
  const sim = await startSim({
    timeScale: opts.timeScale ?? 0.02,
    nodes: ['pve'],
    seed: 5,
    ...(opts.storages ? { storages: opts.storages } : {}),
    ...(opts.validator ? { validator: opts.validator } : {}),
  });
  const env = { PHOENIX_PVE_URL: sim.url, PHOENIX_PVE_TOKEN: sim.token, PHOENIX_PVE_FINGERPRINT: sim.fingerprint };
  const observer = createPveClient(pveConfigFromEnv(env), createMetrics());
  const metrics = createMetrics();
  const pve = createPveClient(pveConfigFromEnv(env), metrics);
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-converge-'));
  const certDir = join(dir, 'certs');
  mkdirSync(join(dir, 'ca-state'), { mode: 0o700 });
  const state = new StateStore(join(dir, 'state'));
  await state.open();
  const extra = opts.ca ? [createCertificateAuthorityReconciler({ stateDir: join(dir, 'ca-state'), certDir, allowHostCommands: false, metrics }) as never] : [];
  const rt = new Runtime({
    manifestsDir: opts.manifestsDir,
    state,
    reconcilers: createReconcilers({
      pve,
      metrics,
      options: { prune: false, polling: FAST_POLLING, driftIntervalMs: 0, allowedHostPaths: opts.allowedHostPaths ?? [] },
      extra,
    }),
    metrics,
    concurrency: opts.concurrency ?? 4,
    resyncMs: 0,
    debounceMs: 50,
  });
  await rt.start();
  const ready = (kind: ResourceKind, name: string) => {
    const r = rt.get({ kind, name });
    return !!r && getCondition(r.status.conditions, 'Ready')?.status === 'True' && r.status.observedGeneration === r.metadata.generation;
  };
  return {
    sim,
    observer,
    rt,
    metrics,
    dir,
    certDir,
    ready,
    async close() {
      await rt.stop();
      await pve.close();
      await observer.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A copy of the example fleet (manifests/) in a temp dir, and what pvesim and the controller need for it. */
export function exampleFleet(): { manifestsDir: string; storages: StorageSpec[]; allowedHostPaths: string[]; remove(): void } {
  const manifestsDir = mkdtempSync(join(tmpdir(), 'phoenix-fleet-'));
  for (const f of readdirSync(join(REPO_ROOT, 'manifests'))) cpSync(join(REPO_ROOT, 'manifests', f), join(manifestsDir, f));
  return {
    manifestsDir,
    storages: [
      { name: 'quickOS-lxc-disks', type: 'zfspool', content: ['rootdir', 'images'], sizeGiB: 2048 },
      { name: 'quickOS-vm-disks', type: 'lvmthin', content: ['images', 'rootdir'], sizeGiB: 2048 },
    ],
    allowedHostPaths: ['/mnt/pve/quickOS/lxc-persistent-data'],
    remove: () => rmSync(manifestsDir, { recursive: true, force: true }),
  };
}
