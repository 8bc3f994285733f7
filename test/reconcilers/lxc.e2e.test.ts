// LxcContainer and LXC Template reconcilers against pvesim over real HTTPS.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LxcContainer, Template } from '../../resources/types.js';
import { lxcCreateParams } from '../../controller/plan/desired.js';
import { createReconcilers } from '../../controller/reconcilers/index.js';
import { converge, startFleet, until, type Fleet } from './harness.js';

const API = 'phoenix.hypervisor/v1alpha1' as const;
const OSTPL = 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst';

const tpl: Template = {
  apiVersion: API,
  kind: 'Template',
  metadata: { name: 'ubuntu' },
  spec: { vmid: 9000, type: 'lxc', ostemplate: OSTPL, rootfs: { storage: 'local-lvm', size: '4G' }, lxcNetworks: [{ name: 'eth0', bridge: 'vmbr0', ip: 'dhcp' }] },
};

function ct(name: string, vmid: number, extra: Partial<LxcContainer['spec']> = {}): LxcContainer {
  return {
    apiVersion: API,
    kind: 'LxcContainer',
    metadata: { name, generation: 1 },
    spec: {
      vmid,
      source: { template: 'ubuntu' },
      cores: 2,
      memory: 1024,
      rootfs: { storage: 'local-lvm', size: '4G' },
      networks: [{ name: 'eth0', bridge: 'vmbr0', ip: `10.0.0.${vmid % 250}/24`, gw: '10.0.0.1' }],
      tags: ['web'],
      ...extra,
    },
  };
}

const bump = (r: LxcContainer, f: (s: LxcContainer['spec']) => void) => {
  f(r.spec);
  r.metadata.generation = (r.metadata.generation ?? 1) + 1;
};

let f: Fleet;
const conf = (vmid: number) => f.handle.sim.guests.get(vmid)!.conf;
const req = (key: string) => f.handle.stats().requests[key] ?? 0;

test.before(async () => {
  f = await startFleet({ options: { allowedHostPaths: ['/srv/phoenix'] } });
  f.world.add(tpl);
});
test.after(async () => {
  await f.close();
});

test('an LXC template is created, converted, and never started', async () => {
  const out = await converge(f.set, f.world, tpl);
  assert.is(out.state, 'Ready', JSON.stringify(out));
  const g = f.handle.sim.guests.get(9000)!;
  assert.is(g.conf.template, '1');
  assert.is(g.status, 'stopped');
  assert.is(req('POST /nodes/{node}/lxc/{vmid}/status/start'), 0);
  assert.match(g.conf.description!, 'managed-by: phoenix Template/ubuntu');
  assert.equal(f.world.reasons(tpl).filter((r) => r !== 'TaskWarnings'), ['Created', 'Templated']);
  assert.is(f.world.statusOf(tpl).template, true);
});

test('a container is cloned (linked) from the template, configured and started', async () => {
  const c = ct('web1', 101);
  f.world.add(c);
  const out = await converge(f.set, f.world, c);
  assert.is(out.state, 'Ready', JSON.stringify(out));
  const g = f.handle.sim.guests.get(101)!;
  assert.is(g.status, 'running');
  assert.is(g.conf.cores, '2');
  assert.is(g.conf.memory, '1024');
  assert.is(g.conf.tags, 'phoenix;web');
  assert.match(g.conf.description!, 'managed-by: phoenix LxcContainer/web1');
  assert.match(g.conf.net0!, 'ip=10.0.0.101/24');
  assert.match(g.conf.rootfs!, 'base-9000', 'linked clone shares the template base volume');
  const st = f.world.statusOf(c);
  assert.is(st.vmid, 101);
  assert.is(st.node, 'pve');
  assert.is(st.powerState, 'running');
  assert.is(st.taskInFlight, undefined);
  const withTask = (f.world.persisted.get('LxcContainer/web1') ?? []).filter((s) => s.taskInFlight?.step === 'clone');
  assert.ok(withTask.length >= 1, 'the clone UPID was persisted before waiting');
  assert.ok(f.world.reasons(c).includes('Cloned'));
  assert.ok(f.world.reasons(c).includes('Started'));
});

test('a second pass over the unchanged fleet issues zero writes, and a full re-read finds no diff', async () => {
  const c = f.world.resources.get('LxcContainer/web1') as LxcContainer;
  f.set.startPass();
  const w0 = f.writeCount();
  const gets0 = f.pve.stats().byMethod.GET ?? 0;
  assert.is((await converge(f.set, f.world, tpl)).state, 'Ready');
  assert.is((await converge(f.set, f.world, c)).state, 'Ready');
  assert.equal(f.writeCount(), w0, JSON.stringify(f.writes()));
  // one cluster/resources call for the whole pass, nothing per guest
  assert.is((f.pve.stats().byMethod.GET ?? 0) - gets0, 1);
  // a controller that re-reads every config (drift check due) still finds nothing to change
  const eager = createReconcilers({ pve: f.pve, options: { ...f.options, driftIntervalMs: 0 } });
  const gets1 = f.pve.stats().byMethod.GET ?? 0;
  assert.is((await converge(eager, f.world, tpl)).state, 'Ready');
  assert.is((await converge(eager, f.world, c)).state, 'Ready');
  assert.equal(f.writeCount(), w0, JSON.stringify(f.writes()));
  assert.ok((f.pve.stats().byMethod.GET ?? 0) - gets1 <= 4, 'list + one config per guest');
});

test('drift is corrected in place, keeps the MAC, and is counted', async () => {
  const c = f.world.resources.get('LxcContainer/web1') as LxcContainer;
  const mac = /hwaddr=([^,]+)/.exec(conf(101).net0!)![1];
  f.handle.sim.editConfig(101, { memory: '256', tags: 'web' });
  const eager = createReconcilers({ pve: f.pve, metrics: f.metrics, options: { ...f.options, driftIntervalMs: 0 } });
  const puts = req('PUT /nodes/{node}/lxc/{vmid}/config');
  assert.is((await converge(eager, f.world, c)).state, 'Ready');
  assert.is(conf(101).memory, '1024');
  assert.is(conf(101).tags, 'phoenix;web');
  assert.ok(conf(101).net0!.includes(`hwaddr=${mac}`));
  assert.is(req('PUT /nodes/{node}/lxc/{vmid}/config'), puts + 1, 'one PUT');
  const ev = f.world.eventsOf(c).find((e) => e.reason === 'DriftCorrected');
  assert.ok(ev && ev.message.includes('memory') && ev.message.includes('tags'), JSON.stringify(ev));
  const m = await f.metrics.driftCorrections.get();
  assert.is(m.values.find((v) => v.labels.kind === 'LxcContainer')?.value, 1);
  assert.is(f.handle.sim.guests.get(101)!.status, 'running', 'never recreated');
});

test('a disk shrink is refused (Stalled) and nothing is written; a grow resizes', async () => {
  const c = structuredClone(f.world.resources.get('LxcContainer/web1') as LxcContainer);
  bump(c, (s) => (s.rootfs.size = '2G'));
  f.world.add(c);
  const w0 = f.writeCount();
  const out = await converge(f.set, f.world, c);
  assert.is(out.state, 'Stalled');
  assert.is(out.state === 'Stalled' && out.reason, 'ShrinkRefused');
  assert.is(f.writeCount(), w0);
  bump(c, (s) => (s.rootfs.size = '6G'));
  assert.is((await converge(f.set, f.world, c)).state, 'Ready');
  assert.match(conf(101).rootfs!, 'size=6G');
  assert.ok(f.world.reasons(c).includes('Resized'));
});

test('a foreign guest at the vmid is never touched; adopt opts in', async () => {
  f.handle.sim.addGuest('pve', 'lxc', 150, { hostname: 'hand-made', memory: '512', swap: '512', rootfs: 'local-lvm:vm-150-disk-0,size=4G', ostype: 'debian', arch: 'amd64' }, 'running');
  const before = structuredClone(conf(150));
  const c = ct('intruder', 150, { source: { ostemplate: OSTPL } });
  f.world.add(c);
  f.set.startPass();
  const w0 = f.writeCount();
  const out = await converge(f.set, f.world, c);
  assert.is(out.state, 'Stalled');
  assert.is(out.state === 'Stalled' && out.reason, 'Conflict');
  assert.is(f.writeCount(), w0, 'not a single write');
  assert.equal(conf(150), before);
  assert.ok(f.world.statusOf(c).conditions.some((x) => x.type === 'Conflict' && x.status === 'True'));
  assert.ok(f.world.reasons(c).includes('Conflict'));
  bump(c, (s) => (s.adopt = true));
  assert.is((await converge(f.set, f.world, c)).state, 'Ready');
  assert.match(conf(150).description!, 'managed-by: phoenix LxcContainer/intruder');
  assert.match(conf(150).tags!, 'phoenix');
  assert.ok(f.world.statusOf(c).conditions.some((x) => x.type === 'Conflict' && x.status === 'False'));
});

test('a lost create response is recognised by the marker; a foreign guest in its place is not', async () => {
  const c = ct('lost', 120, { source: { ostemplate: OSTPL }, mountPoints: [{ path: '/data', volume: { storage: 'local-lvm', size: '1G' } }] });
  f.world.add(c);
  f.set.startPass();
  // The pass has looked at the fleet (no guest 120) ...
  const plan = await f.set.get('LxcContainer')!.plan(f.world.ctx(c));
  assert.equal(plan.steps.map((s) => s.action), ['create', 'start']);
  // ... then phoenix's create lands but its answer is lost (sent here, answer dropped).
  const creates = req('POST /nodes/{node}/lxc');
  await f.pve.createGuest('pve', 'lxc', lxcCreateParams(c, OSTPL));
  const out = await converge(f.set, f.world, c);
  assert.is(out.state, 'Ready', JSON.stringify(out));
  assert.is(req('POST /nodes/{node}/lxc') - creates, 2, 'the lost create and the one that found it');
  assert.ok(f.world.reasons(c).includes('Recovered'), f.world.reasons(c).join());
  assert.is(f.handle.sim.guests.get(120)!.status, 'running');
  assert.match(conf(120).mp0!, 'mp=/data');

  const d = ct('squatted', 121, { source: { ostemplate: OSTPL } });
  f.world.add(d);
  f.set.startPass();
  await f.set.get('LxcContainer')!.plan(f.world.ctx(d));
  f.handle.sim.addGuest('pve', 'lxc', 121, { hostname: 'other', memory: '512', rootfs: 'local-lvm:vm-121-disk-0,size=4G', arch: 'amd64', ostype: 'debian' });
  const out2 = await converge(f.set, f.world, d);
  assert.is(out2.state, 'Stalled');
  assert.is(out2.state === 'Stalled' && out2.reason, 'Conflict');
  assert.is(conf(121).hostname, 'other');
});

test('a lock conflict on clone is retried to success', async () => {
  f.handle.setFaults('POST /nodes/*/lxc/*/clone seq:lock,lock');
  const c = ct('locked', 102);
  f.world.add(c);
  const out = await converge(f.set, f.world, c);
  f.handle.setFaults(null);
  assert.is(out.state, 'Ready', JSON.stringify(out));
  assert.is(f.handle.stats().faults.lock, 2);
  assert.ok(f.world.logs.some((l) => l.includes('retrying')));
  assert.is(f.handle.sim.guests.get(102)!.status, 'running');
});

test("a clone does not wait out its template's clone lock shown by a fleet list taken mid-clone", async () => {
  const tpl = f.handle.sim.guests.get(9000)!;
  const c = ct('sibling', 104);
  f.world.add(c);
  // the pass's fleet list is taken while a sibling's clone holds the template's 'disk' lock...
  f.set.startPass();
  tpl.conf.lock = 'disk';
  f.handle.sim.invalidate();
  await f.set.get('LxcContainer')!.plan(f.world.ctx(c));
  // ...and that clone ends: the lock is gone, but the list (valid for 30 s) still shows it
  delete tpl.conf.lock;
  f.handle.sim.invalidate();
  const t0 = Date.now();
  const out = await converge(f.set, f.world, c, 10_000);
  assert.is(out.state, 'Ready', JSON.stringify(out));
  assert.ok(Date.now() - t0 < 5000, 'no WaitingForSource requeue on a clone lock');
});

test('a restarted controller resumes waiting on the persisted task instead of cloning again', async () => {
  const c = ct('resume', 103);
  f.world.add(c);
  // The first status poll answers slowly, so the stop lands while phoenix waits on the task.
  f.handle.setFaults('GET /nodes/*/tasks/*/status seq:slow=300');
  const ac = new AbortController();
  const rec = f.set.get('LxcContainer')!;
  const first = rec.reconcile(f.world.ctx(c, ac.signal)).catch((e: unknown) => e);
  await until('clone UPID persisted', () => (f.world.persisted.get('LxcContainer/resume') ?? []).some((s) => s.taskInFlight?.step === 'clone'));
  ac.abort(new Error('controller stopped'));
  assert.instance(await first, Error);
  f.handle.setFaults(null);
  assert.ok(f.world.statusOf(c).taskInFlight, 'the UPID survives the stop');
  const clones = req('POST /nodes/{node}/lxc/{vmid}/clone');
  const restarted = createReconcilers({ pve: f.pve, options: f.options });
  const out = await converge(restarted, f.world, c);
  assert.is(out.state, 'Ready', JSON.stringify(out));
  assert.is(req('POST /nodes/{node}/lxc/{vmid}/clone'), clones, 'no second clone');
  assert.is(f.world.statusOf(c).taskInFlight, undefined);
  assert.is(f.handle.sim.guests.get(103)!.status, 'running');
});

test('clones from a running container go through a snapshot phoenix ensures, one at a time', async () => {
  const src = f.world.resources.get('LxcContainer/web1') as LxcContainer;
  const a = ct('snap-a', 105, { source: { guest: src.metadata.name, snapshot: 'golden' }, rootfs: { ...src.spec.rootfs } });
  const b = ct('snap-b', 106, { source: { guest: src.metadata.name, snapshot: 'golden' }, rootfs: { ...src.spec.rootfs } });
  f.world.add(a, b);
  const errs = f.handle.stats().statuses['500'] ?? 0;
  const [oa, ob] = await Promise.all([converge(f.set, f.world, a), converge(f.set, f.world, b)]);
  assert.is(oa.state, 'Ready', JSON.stringify(oa));
  assert.is(ob.state, 'Ready', JSON.stringify(ob));
  assert.ok(f.handle.sim.guests.get(101)!.snapshots.golden, 'snapshot taken on the source');
  assert.is(req('POST /nodes/{node}/lxc/{vmid}/snapshot'), 1, 'one snapshot for both');
  assert.is((f.handle.stats().statuses['500'] ?? 0) - errs, 0, 'serialised: never "CT is locked (disk)"');
  assert.not.match(conf(105).rootfs!, 'base-', 'a full clone');
});

test('restart-only changes give RestartRequired; IfRequired restarts', async () => {
  const c = f.world.resources.get('LxcContainer/web1') as LxcContainer;
  bump(c, (s) => (s.features = { nesting: true, keyctl: true }));
  const out = await converge(f.set, f.world, c);
  assert.is(out.state, 'Ready', JSON.stringify(out));
  const cond = f.world.statusOf(c).conditions.find((x) => x.type === 'RestartRequired');
  assert.is(cond?.status, 'True', JSON.stringify(f.world.statusOf(c).conditions));
  assert.ok(f.world.reasons(c).includes('RestartRequired'));
  assert.is(req('POST /nodes/{node}/lxc/{vmid}/status/reboot'), 0);
  bump(c, (s) => (s.restartPolicy = 'IfRequired'));
  assert.is((await converge(f.set, f.world, c)).state, 'Ready');
  assert.is(req('POST /nodes/{node}/lxc/{vmid}/status/reboot'), 1);
  assert.is(f.world.statusOf(c).conditions.find((x) => x.type === 'RestartRequired')?.status, 'False');
  assert.match(conf(101).features!, 'keyctl=1');
});

test('a create-only change is refused in place; allowReplace recreates the guest', async () => {
  const c = ct('immutable', 140, { source: { ostemplate: OSTPL }, unprivileged: true });
  f.world.add(c);
  assert.is((await converge(f.set, f.world, c)).state, 'Ready');
  assert.is(conf(140).unprivileged, '1');
  bump(c, (s) => (s.unprivileged = false));
  const w0 = f.writeCount();
  const out = await converge(f.set, f.world, c);
  assert.is(out.state === 'Stalled' && out.reason, 'ReplaceRequired');
  assert.is(f.writeCount(), w0, 'nothing destroyed without allowReplace');
  bump(c, (s) => (s.allowReplace = true));
  const plan = await f.set.get('LxcContainer')!.plan(f.world.ctx(c));
  assert.equal(plan.steps.map((s) => s.action), ['delete', 'create']);
  assert.ok(plan.steps[0]!.destructive);
  assert.is((await converge(f.set, f.world, c)).state, 'Ready');
  assert.is(conf(140).unprivileged, '0');
  assert.is(f.handle.sim.guests.get(140)!.status, 'running');
  assert.ok(f.world.reasons(c).includes('Replaced'));
});

test('between passes an old fleet picture is re-read before acting', async () => {
  const c = f.world.resources.get('LxcContainer/web1') as LxcContainer;
  const set = createReconcilers({ pve: f.pve, options: { ...f.options, fleetMaxAgeMs: 50 } });
  assert.is((await converge(set, f.world, c)).state, 'Ready');
  f.handle.sim.setPower(101, 'stopped');
  const starts = req('POST /nodes/{node}/lxc/{vmid}/status/start');
  const t = Date.now();
  await until('the fleet list to age', () => Date.now() - t > 60);
  assert.is((await converge(set, f.world, c)).state, 'Ready');
  assert.is(req('POST /nodes/{node}/lxc/{vmid}/status/start'), starts + 1);
  assert.is(f.handle.sim.guests.get(101)!.status, 'running');
});

test('bind mounts only from allowed host paths', async () => {
  const c = ct('binder', 130, { source: { ostemplate: OSTPL }, mountPoints: [{ path: '/x', hostPath: '/etc' }] });
  f.world.add(c);
  const w0 = f.writeCount();
  const out = await converge(f.set, f.world, c);
  assert.is(out.state, 'Stalled');
  assert.match(out.state === 'Stalled' ? out.message : '', 'not under an allowed host path');
  assert.is(f.writeCount(), w0);
});

test('finalize: orphan by default; prune deletes only what carries the marker', async () => {
  const rec = f.set.get('LxcContainer')!;
  const c = f.world.resources.get('LxcContainer/locked') as LxcContainer;
  const o = await rec.finalize(f.world.finalizeCtx(c, false));
  assert.is(o.state, 'Ready');
  assert.ok(f.handle.sim.guests.has(102));
  assert.ok(f.world.reasons(c).includes('Orphaned'));
  f.set.startPass();
  const p = await rec.finalize(f.world.finalizeCtx(c, true));
  assert.is(p.state, 'Ready', JSON.stringify(p));
  assert.not.ok(f.handle.sim.guests.has(102));
  const d = f.world.resources.get('LxcContainer/squatted') as LxcContainer;
  f.set.startPass();
  const q = await rec.finalize(f.world.finalizeCtx(d, true));
  assert.is(q.state, 'Stalled');
  assert.ok(f.handle.sim.guests.has(121), 'a foreign guest is never deleted');
});

test.run();
