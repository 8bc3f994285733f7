// How many Proxmox API calls each reconcile makes, with upper bounds that keep them low, printed as
// figures. Counted on the wire by the client (every HTTP request, proxmox-api retries included).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LxcContainer, Template } from '../../resources/types.js';
import { createReconcilers } from '../../controller/reconcilers/index.js';
import { converge, startFleet, type Fleet } from './harness.js';

const API = 'phoenix.hypervisor/v1alpha1' as const;
const OSTPL = 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst';
const tpl: Template = { apiVersion: API, kind: 'Template', metadata: { name: 't' }, spec: { vmid: 9000, type: 'lxc', ostemplate: OSTPL, rootfs: { storage: 'local-lvm', size: '2G' } } };
const fleetOf = (n: number): LxcContainer[] =>
  Array.from({ length: n }, (_, i) => ({
    apiVersion: API,
    kind: 'LxcContainer',
    metadata: { name: `c${i}` },
    spec: { vmid: 200 + i, source: { template: 't' }, cores: 1, memory: 512, rootfs: { storage: 'local-lvm', size: '2G' }, networks: [{ name: 'eth0', bridge: 'vmbr0', ip: 'dhcp' }] },
  }));

let f: Fleet;
test.before(async () => {
  f = await startFleet();
});
test.after(async () => {
  await f.close();
});

/** Calls made by fn, excluding task-status polls (their number depends on task time, not on phoenix). */
async function calls(fn: () => Promise<unknown>): Promise<{ total: number; writes: number; polls: number }> {
  const req0 = { ...f.handle.stats().requests };
  await fn();
  const d: Record<string, number> = {};
  for (const [k, v] of Object.entries(f.handle.stats().requests)) if (v - (req0[k] ?? 0) > 0) d[k] = v - (req0[k] ?? 0);
  const polls = d['GET /nodes/{node}/tasks/{upid}/status'] ?? 0;
  const total = Object.values(d).reduce((a, b) => a + b, 0) - polls;
  const writes = Object.entries(d).filter(([k]) => !k.startsWith('GET ')).reduce((a, [, v]) => a + v, 0);
  return { total, writes, polls };
}

test('API calls per reconcile stay small, and a steady pass costs one call for the whole fleet', async () => {
  const cs = fleetOf(10);
  f.world.add(tpl, ...cs);
  const t = await calls(() => converge(f.set, f.world, tpl));
  console.log(`     figure: template create+convert: ${t.total} calls (${t.writes} writes) + ${t.polls} task polls`);
  assert.ok(t.total <= 6, JSON.stringify(t));
  const c = await calls(() => converge(f.set, f.world, cs[0]!));
  console.log(`     figure: clone+configure+start one container: ${c.total} calls (${c.writes} writes) + ${c.polls} task polls`);
  assert.ok(c.total <= 9, JSON.stringify(c));
  for (const x of cs.slice(1)) await converge(f.set, f.world, x);
  f.set.startPass();
  const steady = await calls(async () => {
    for (const x of [tpl, ...cs]) await converge(f.set, f.world, x);
  });
  console.log(`     figure: steady pass over 11 unchanged guests: ${steady.total} call(s), ${steady.writes} writes`);
  assert.equal(steady, { total: 1, writes: 0, polls: 0 });
  const eager = createReconcilers({ pve: f.pve, options: { ...f.options, driftIntervalMs: 0 } });
  const drift = await calls(async () => {
    for (const x of [tpl, ...cs]) await converge(eager, f.world, x);
  });
  console.log(`     figure: drift-check pass over 11 unchanged guests: ${drift.total} calls, ${drift.writes} writes`);
  assert.equal(drift, { total: 12, writes: 0, polls: 0 });
});

test.run();
