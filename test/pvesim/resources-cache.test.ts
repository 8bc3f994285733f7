// The /cluster/resources answer is served from caches (a serialised row per guest, the whole body per
// second). These tests drive guests through every kind of change the model makes, tasks included, and
// check all the while, between timers, that the cached answer equals one computed from scratch and
// the object form of the rows: the caches can never serve a stale row.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Simulator, type Caller, type Params } from '../../pvesim/model/simulator.js';
import { restoreInto, serialize, type PersistedState } from '../../pvesim/model/state.js';
import { NOBLE_IMAGE, UBUNTU_VZTMPL } from '../../pvesim/model/storage.js';

const TYPES = [undefined, 'vm', 'node', 'storage'] as const;
const caller: Caller = { user: 'root@pam' };
const sortKeys = (rows: Array<Record<string, unknown>>) => rows.map((r) => Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b))));

/**
 * Each type's answer as served (from the caches, which are patched from one answer to the next) must
 * hold the object rows; every third time the caches are also dropped and the answers, computed again
 * from nothing, must be the same bytes. The caches are left warm for every type, so a change that fails
 * to invalidate them shows at the next check.
 */
function check(sim: Simulator, cold: boolean): void {
  const served = TYPES.map((type) => sim.clusterResourcesBody(type).toString('utf8'));
  TYPES.forEach((type, i) => {
    const what = `/cluster/resources${type ? `?type=${type}` : ''}`;
    assert.equal(sortKeys(JSON.parse(served[i]!).data), sortKeys(sim.clusterResources(type)), `${what} as served differs from the object rows`);
  });
  if (!cold) return;
  sim.invalidate();
  TYPES.forEach((type, i) => assert.is(served[i], sim.clusterResourcesBody(type).toString('utf8'), `cached /cluster/resources${type ? `?type=${type}` : ''} is stale`));
}

/**
 * Check the answers (see check) on every turn of the event loop until stopped. Date.now is replaced
 * by a clock that moves a whole second every few checks: guest rows carry uptimes as of the second
 * they were built in (by design), so with a clock moving smoothly a cached row could trail a fresh one
 * by a second; with this one every uptime ticks exactly when the second changes, and they must agree.
 */
function watchCache(sim: Simulator, bystanders: number[] = []): { stop(): Promise<number> } {
  let running = true;
  let checks = 0;
  let failure: Error | undefined;
  const realNow = Date.now;
  let now = Math.ceil(realNow() / 1000) * 1000;
  Date.now = () => now;
  const done = new Promise<void>((resolve) => {
    const tick = () => {
      if (!running || failure) return resolve();
      try {
        check(sim, checks % 3 === 2);
        if (++checks % 5 === 0) now += 1000;
        // bystanders change all the time, so answers are patched from answers that were patched
        if (bystanders.length) sim.editConfig(bystanders[checks % bystanders.length]!, { tags: 'b'.repeat(checks % 7) });
      } catch (e) {
        failure = e as Error;
      }
      setImmediate(tick);
    };
    tick();
  });
  return {
    async stop() {
      running = false;
      await done;
      Date.now = realNow;
      if (failure) throw failure;
      return checks;
    },
  };
}

async function finished(sim: Simulator, upid: string | Promise<string>): Promise<string> {
  const id = await upid;
  const until = performance.now() + 10_000; // Date.now may be a test clock
  for (;;) {
    const t = sim.tasks.get(id)!;
    if (t.status === 'stopped') return t.exitstatus ?? '';
    if (performance.now() > until) throw new Error(`task ${id} did not finish in 10 s`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

const ok = async (sim: Simulator, upid: string | Promise<string>) => assert.is(await finished(sim, upid), 'OK');

test('cached rows follow creates, config and power changes, disks, snapshots, templates, clones and deletions', async () => {
  const sim = new Simulator({
    nodes: ['a', 'b'],
    seed: 3,
    timeScale: 0.01,
    storages: [{ name: 'nas', type: 'nfs', content: ['images', 'rootdir'], sizeGiB: 500, shared: true }],
  });
  const p = (o: Record<string, string>): Params => o;
  sim.addGuest('b', 'qemu', 100, { name: 'up-all-along', memory: '512' }, 'running');
  for (let i = 0; i < 12; i++) sim.addGuest(i % 2 ? 'a' : 'b', i % 3 ? 'lxc' : 'qemu', 900 + i, {}, i % 4 ? 'stopped' : 'running');
  const watch = watchCache(sim, Array.from({ length: 12 }, (_, i) => 900 + i));
  let rows: Array<Record<string, unknown>> = [];
  try {
    // create and start a container on node a, change it hot and pending, reboot it
    await ok(sim, sim.createLxc('a', p({ vmid: '200', ostemplate: UBUNTU_VZTMPL, rootfs: 'local-lvm:4', memory: '1024', hostname: 'web' }), caller));
    await ok(sim, sim.start('a', 'lxc', '200', {}, caller));
    await sim.updateConfig('a', 'lxc', '200', p({ memory: '2048', tags: 'blue', hostname: 'web2', cores: '3' }));
    await ok(sim, sim.resize('a', 'lxc', '200', p({ disk: 'rootfs', size: '+2G' }), caller));
    await ok(sim, sim.reboot('a', 'lxc', '200', {}, caller));
    // two VMs whose disks are imported onto one storage: the second waits for the storage lock, and
    // its disk appears in its config while its copy runs
    const imports = ['300', '303'].map((vmid) => sim.createQemu('a', p({ vmid, name: `vm${vmid}`, memory: '4096', cores: '2', sockets: '2', scsi0: `nas:0,import-from=${NOBLE_IMAGE}` }), caller));
    for (const upid of imports) await ok(sim, upid);
    await ok(sim, sim.destroy('a', 'qemu', '303', {}, caller));
    // snapshots
    await ok(sim, sim.snapshot('a', 'qemu', '300', p({ snapname: 's1' }), caller));
    await ok(sim, sim.deleteSnapshot('a', 'qemu', '300', 's1', caller));
    await ok(sim, sim.updateConfigAsync('a', '300', p({ cores: '4', tags: 'db' }), caller));
    // a template, a linked clone on the same node and a full clone onto node b over shared storage
    await ok(sim, sim.templateQemu('a', '300', caller));
    await ok(sim, sim.clone('a', 'qemu', '300', p({ newid: '301', name: 'linked' }), caller));
    await ok(sim, sim.clone('a', 'qemu', '300', p({ newid: '302', name: 'moved', full: '1', target: 'b', storage: 'nas' }), caller));
    await ok(sim, sim.start('b', 'qemu', '302', {}, caller));
    await ok(sim, sim.shutdown('b', 'qemu', '302', {}, caller));
    // a container clone (the source is locked while it copies)
    await ok(sim, sim.stop('a', 'lxc', '200', {}, caller));
    await ok(sim, sim.clone('a', 'lxc', '200', p({ newid: '201', hostname: 'copy', full: '1' }), caller));
    // changes made on the node behind the API's back
    sim.editConfig(201, { lock: 'backup', tags: 'x' });
    sim.editConfig(201, {}, ['lock']);
    sim.setPower(201, 'running');
    sim.addGuest('b', 'lxc', 400, { hostname: 'seeded', memory: '256', rootfs: 'local-lvm:1' }, 'running');
    sim.removeGuestByHand(400);
    // deletions: a running container forced down (stopped, then removed), a stopped VM
    await ok(sim, sim.start('a', 'lxc', '200', {}, caller));
    await ok(sim, sim.destroy('a', 'lxc', '200', p({ force: '1' }), caller));
    await ok(sim, sim.destroy('a', 'qemu', '301', {}, caller));
    // a task that fails half-way rolls its guest back
    assert.is.not(await finished(sim, sim.createLxc('a', p({ vmid: '500', ostemplate: 'local:vztmpl/missing.tar.zst', rootfs: 'local-lvm:1' }), caller)), 'OK');
    assert.is(sim.guests.has(500), false);
    rows = JSON.parse(sim.clusterResourcesBody('vm').toString()).data;
  } finally {
    const checks = await watch.stop();
    assert.ok(checks > 50, `only ${checks} checks ran`);
    sim.close();
  }
  assert.equal(rows.filter((r) => (r.vmid as number) < 900).map((r) => `${r.id}@${r.node}:${r.status}`).sort(), ['lxc/201@a:running', 'qemu/100@b:running', 'qemu/300@a:stopped', 'qemu/302@b:stopped']);
  assert.ok((rows.find((r) => r.vmid === 100)!.uptime as number) >= 10, 'the clock did not move on: uptimes were not exercised');
});

test('a guest stopped by a forced destroy is listed stopped until it is gone', async () => {
  const sim = new Simulator({ nodes: ['a'], seed: 1, timeScale: 0.05 });
  sim.addGuest('a', 'lxc', 100, { hostname: 'ct', rootfs: 'local-lvm:1' }, 'running');
  const status = () => JSON.parse(sim.clusterResourcesBody('vm').toString()).data.find((r: { vmid: number }) => r.vmid === 100)?.status;
  assert.is(status(), 'running');
  const upid = await sim.destroy('a', 'lxc', '100', { force: '1' }, caller);
  const until = Date.now() + 5000;
  while (sim.guests.get(100)?.status !== 'stopped' && Date.now() < until) await new Promise((r) => setImmediate(r));
  assert.is(sim.guests.get(100)?.status, 'stopped', 'the destroy task did not stop the guest');
  assert.is(status(), 'stopped');
  await ok(sim, upid);
  assert.is(status(), undefined);
  sim.close();
});

test('restoring saved state replaces answers cached before', () => {
  const source = new Simulator({ nodes: ['a'], seed: 1 });
  source.addGuest('a', 'lxc', 100, { hostname: 'saved', rootfs: 'local-lvm:1' });
  const state = JSON.parse(serialize(source)) as PersistedState;
  source.close();
  const sim = new Simulator({ nodes: ['a'], seed: 2 });
  assert.equal(JSON.parse(sim.clusterResourcesBody('vm').toString()).data, []);
  restoreInto(sim, state);
  assert.equal(JSON.parse(sim.clusterResourcesBody('vm').toString()).data.map((r: { id: string }) => r.id), ['lxc/100']);
  sim.close();
});

test.run();
