// Shared by the reliability suites: the example fleet (manifests/) copied into a scratch dir, a
// generated fleet of LXC clones of one template with some dependsOn chains, and the pvesim storages
// both need. Invariant checks read Proxmox through pvesim's own task list and guest list.
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadManifests } from '../../controller/manifests.js';
import { simTopology } from '../../controller/main.js';
import type { StorageSpec, SimHandle } from '../../pvesim/index.js';
import type { TaskRecord } from '../../pvesim/model/tasks.js';

export const repoRoot = new URL('../..', import.meta.url).pathname;
const OSTPL = 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst';

/** Copy manifests/*.yaml into dir. */
export function copyExampleFleet(dir: string): void {
  const src = join(repoRoot, 'manifests');
  for (const f of readdirSync(src).filter((f) => f.endsWith('.yaml'))) copyFileSync(join(src, f), join(dir, f));
}

/**
 * A template (vmid 800) and `count` LXC clones of it (vmids 2000..), every fifth depending on the
 * one before it (chains of length 2..5).
 */
export function writeGeneratedFleet(dir: string, count: number, opts: { running?: boolean } = {}): number[] {
  writeFileSync(
    join(dir, 'gen-template.yaml'),
    `apiVersion: phoenix.hypervisor/v1alpha1\nkind: Template\nmetadata: { name: gen-base }\nspec:\n  vmid: 800\n  type: lxc\n  ostemplate: ${OSTPL}\n  rootfs: { storage: local-lvm, size: 1G }\n`,
  );
  const vmids = [800];
  for (let i = 0; i < count; i++) {
    const vmid = 2000 + i;
    vmids.push(vmid);
    const dep = i % 5 !== 0 ? `  dependsOn:\n    - { kind: LxcContainer, name: gen-${i - 1} }\n` : '';
    writeFileSync(
      join(dir, `gen-${i}.yaml`),
      `apiVersion: phoenix.hypervisor/v1alpha1\nkind: LxcContainer\nmetadata: { name: gen-${i} }\nspec:\n  vmid: ${vmid}\n  source: { template: gen-base }\n${dep}  memory: 256\n${opts.running ? '  powerState: running\n' : ''}  rootfs: { storage: local-lvm, size: 1G }\n`,
    );
  }
  return vmids;
}

/** The nodes and extra storages the manifests in dir name (as controller/main.ts sizes its simulator). */
export async function simLayout(dir: string): Promise<{ nodes: string[]; storages: StorageSpec[]; vmids: number[]; count: number }> {
  const loaded = await loadManifests(dir);
  if (loaded.errors.length) throw new Error(`fleet manifests invalid: ${JSON.stringify(loaded.errors)}`);
  const resources = loaded.resources.map((l) => l.resource);
  const topo = simTopology(resources);
  const vmids = resources.flatMap((r) => ('vmid' in r.spec && typeof r.spec.vmid === 'number' ? [r.spec.vmid] : [])).sort((a, b) => a - b);
  return {
    nodes: topo.nodes.length ? topo.nodes : ['pve'],
    storages: topo.storages.filter((s) => s !== 'local' && s !== 'local-lvm').map((name) => ({ name, type: 'zfspool' as const, content: ['images', 'rootdir'], sizeGiB: 4096 })),
    vmids,
    count: resources.length,
  };
}

/** A fault mix hitting about `rate` of all API calls, split evenly over the kinds a troubled Proxmox shows. */
export function faultSpec(seed: number, rate: number): string {
  const kinds = ['lock', 'noworker', '503', 'drop', 'slow=150', 'taskfail'];
  // rules are tried in order; each with probability p so that 1 - (1 - p)^n = rate
  const p = 1 - Math.pow(1 - rate, 1 / kinds.length);
  return [`seed=${seed}`, ...kinds.map((k) => `* /** ${p.toFixed(4)}:${k}`)].join(';');
}

export interface Invariants {
  guests: number[];
  destroys: string[];
  /** Creates (vzcreate/qmcreate) that succeeded, by vmid. */
  creates: Map<number, number>;
  /** Clones that succeeded (Proxmox lists a clone under its source). */
  clones: number;
}

/** Guests, destroy tasks and successful creates/clones, read from pvesim's own model. */
export function invariants(handle: SimHandle): Invariants {
  return invariantsOf(handle.sim.tasks.all(), [...handle.sim.guests.keys()]);
}

/** The same, from a task list and guest vmids (e.g. a pvesim state file read with readState). */
export function invariantsOf(all: TaskRecord[], guests: number[]): Invariants {
  const ok = all.filter((t) => t.status === 'stopped' && t.exitstatus === 'OK');
  const creates = new Map<number, number>();
  for (const t of ok.filter((t) => t.type === 'vzcreate' || t.type === 'qmcreate')) creates.set(Number(t.id), (creates.get(Number(t.id)) ?? 0) + 1);
  return {
    guests: [...guests].sort((a, b) => a - b),
    destroys: all.filter((t) => t.type === 'vzdestroy' || t.type === 'qmdestroy').map((t) => t.upid),
    creates,
    clones: ok.filter((t) => t.type === 'vzclone' || t.type === 'qmclone').length,
  };
}
