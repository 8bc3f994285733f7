// Persisting the simulator: one JSON document (atomic write, 0600). On load, tasks that were running
// when the process stopped end as "unexpected status" (what Proxmox shows for a vanished worker) and
// their half-done effects are rolled back: a guest still locked `create`/`clone` is removed with its
// volumes, a clone source's `disk` lock and a `snapshot`/`snapshot-delete` lock are cleared.
import { existsSync, readFileSync } from 'node:fs';
import type { Guest, Simulator } from './simulator.js';
import { VolumeMap, type StorageSpec, type Volume } from './storage.js';
import type { TaskRecord } from './tasks.js';
import { writeFileAtomic } from './persist.js';

export interface PersistedState {
  version: 1;
  savedAt: string;
  nodes: Array<{ name: string; bootedAtMs: number }>;
  storages: StorageSpec[];
  pools: Array<{ key: string; volumes: Volume[] }>;
  guests: Guest[];
  tasks: TaskRecord[];
  pidCounter: number;
}

export function serialize(sim: Simulator): string {
  const state: PersistedState = {
    version: 1,
    savedAt: new Date().toISOString(),
    nodes: [...sim.nodes.values()].map((n) => ({ name: n.name, bootedAtMs: n.bootedAtMs })),
    storages: [...sim.storageSpecs.values()],
    pools: [...sim.pools.entries()].map(([key, p]) => ({ key, volumes: [...p.volumes.values()] })),
    guests: [...sim.guests.values()],
    tasks: sim.tasks.all(),
    pidCounter: sim.tasks.pidCounter,
  };
  return JSON.stringify(state);
}

export function readState(path: string): PersistedState | undefined {
  if (!existsSync(path)) return undefined;
  let state: PersistedState;
  try {
    state = JSON.parse(readFileSync(path, 'utf8')) as PersistedState;
  } catch (e) {
    throw new Error(`state file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (state.version !== 1) throw new Error(`state file ${path}: unsupported version ${String(state.version)}`);
  return state;
}

export function saveState(path: string, sim: Simulator): void {
  writeFileAtomic(path, serialize(sim));
}

/** Load persisted state into a freshly constructed simulator (built with the state's nodes and storages). */
export function restoreInto(sim: Simulator, state: PersistedState): { interrupted: number; rolledBack: number[] } {
  for (const n of state.nodes) {
    const node = sim.nodes.get(n.name);
    if (node) node.bootedAtMs = n.bootedAtMs;
  }
  for (const p of state.pools) {
    const pool = sim.pools.get(p.key);
    if (!pool) continue;
    pool.volumes = new VolumeMap(p.volumes.map((v) => [v.volid, v]));
  }
  for (const g of state.guests) sim.guests.set(g.vmid, g);
  sim.tasks.load(state.tasks, state.pidCounter);
  let interrupted = 0;
  for (const t of sim.tasks.all()) {
    if (t.status !== 'running') continue;
    sim.tasks.finish(t, 'unexpected status');
    interrupted++;
  }
  const rolledBack: number[] = [];
  for (const g of [...sim.guests.values()]) {
    const lock = g.conf.lock;
    if (lock === 'create' || lock === 'clone') {
      sim.removeGuestByHand(g.vmid);
      rolledBack.push(g.vmid);
    } else if (lock === 'disk' || lock === 'snapshot' || lock === 'snapshot-delete') {
      delete g.conf.lock;
    }
  }
  sim.invalidate();
  return { interrupted, rolledBack };
}
