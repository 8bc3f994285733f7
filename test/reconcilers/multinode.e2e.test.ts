// Placement and cross-node clones on a two-node pvesim cluster.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LxcContainer, Template } from '../../resources/types.js';
import { converge, startFleet, type Fleet } from './harness.js';

const API = 'phoenix.hypervisor/v1alpha1' as const;
const OSTPL = 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst';

const template = (name: string, vmid: number, storage: string): Template => ({
  apiVersion: API,
  kind: 'Template',
  metadata: { name },
  spec: { vmid, node: 'pve', type: 'lxc', ostemplate: OSTPL, rootfs: { storage, size: '2G' } },
});
const ct = (name: string, vmid: number, spec: Partial<LxcContainer['spec']>): LxcContainer => ({
  apiVersion: API,
  kind: 'LxcContainer',
  metadata: { name },
  spec: { vmid, source: { ostemplate: OSTPL }, rootfs: { storage: 'local-lvm', size: '2G' }, ...spec },
});

let f: Fleet;
test.before(async () => {
  f = await startFleet({ nodes: ['pve', 'pve2'], storages: [{ name: 'shared-nfs', type: 'nfs', content: ['images', 'rootdir'], sizeGiB: 256, shared: true }] });
});
test.after(async () => {
  await f.close();
});

test('without a node, placement picks the node with the most free memory, once', async () => {
  // pve carries a big running guest, so pve2 has more free memory
  f.handle.sim.addGuest('pve', 'lxc', 300, { hostname: 'big', memory: String(48 * 1024), rootfs: 'local-lvm:vm-300-disk-0,size=2G', arch: 'amd64', ostype: 'debian' }, 'running');
  const c = ct('placed', 310, {});
  f.world.add(c);
  assert.is((await converge(f.set, f.world, c)).state, 'Ready');
  assert.is(f.handle.sim.guests.get(310)!.node, 'pve2');
  assert.is(f.world.statusOf(c).node, 'pve2');
  assert.ok((f.world.persisted.get('LxcContainer/placed') ?? [])[0]?.node === 'pve2', 'recorded before the create');
});

test('a clone onto another node without shared storage fails with a clear message', async () => {
  const t = template('local-tpl', 9200, 'local-lvm');
  const c = ct('far', 320, { node: 'pve2', source: { template: 'local-tpl' } });
  f.world.add(t, c);
  assert.is((await converge(f.set, f.world, t)).state, 'Ready');
  const w0 = f.writeCount();
  const out = await converge(f.set, f.world, c);
  assert.is(out.state === 'Stalled' && out.reason, 'CrossNodeClone');
  assert.match(out.state === 'Stalled' ? out.message : '', 'not shared');
  assert.is(f.writeCount(), w0);
  assert.not.ok(f.handle.sim.guests.has(320));
});

test('a clone onto another node from shared storage uses target', async () => {
  const t = template('shared-tpl', 9201, 'shared-nfs');
  const c = ct('near', 321, { node: 'pve2', source: { template: 'shared-tpl' }, rootfs: { storage: 'shared-nfs', size: '2G' } });
  f.world.add(t, c);
  assert.is((await converge(f.set, f.world, t)).state, 'Ready');
  const out = await converge(f.set, f.world, c);
  assert.is(out.state, 'Ready', JSON.stringify(out));
  assert.is(f.handle.sim.guests.get(321)!.node, 'pve2');
  assert.is(f.handle.sim.guests.get(321)!.status, 'running');
});

test.run();
