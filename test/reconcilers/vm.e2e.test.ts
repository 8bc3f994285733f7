// VirtualMachine and VM Template reconcilers against pvesim over real HTTPS.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Template, VirtualMachine } from '../../resources/types.js';
import { createReconcilers } from '../../controller/reconcilers/index.js';
import { decodeSshKeys } from '../../controller/pve/normalize.js';
import { converge, startFleet, type Fleet } from './harness.js';

const API = 'phoenix.hypervisor/v1alpha1' as const;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH+x/y= ops@example';

const tpl: Template = {
  apiVersion: API,
  kind: 'Template',
  metadata: { name: 'noble', generation: 1 },
  spec: {
    vmid: 9100,
    type: 'qemu',
    image: 'local:import/noble-server-cloudimg-amd64.img',
    disk: { slot: 'scsi0', storage: 'local-lvm', size: '4G' },
    vmNetworks: [{ bridge: 'vmbr0' }],
    cloudInit: { user: 'ops' },
    agent: true,
    memory: 1024,
  },
};

const vm: VirtualMachine = {
  apiVersion: API,
  kind: 'VirtualMachine',
  metadata: { name: 'app', generation: 1 },
  spec: {
    vmid: 200,
    source: { template: 'noble' },
    cores: 2,
    memory: 2048,
    disks: [{ slot: 'scsi0', storage: 'local-lvm', size: '8G' }],
    networks: [{ bridge: 'vmbr0', firewall: true }],
    cloudInit: { user: 'ops', sshKeys: [KEY], ipConfig: [{ ip: '10.0.0.200/24', gw: '10.0.0.1' }], nameserver: '10.0.0.1' },
    agent: true,
    firewall: { enabled: true, policyIn: 'DROP', rules: [{ type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '22' }, { type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '443', comment: 'https' }] },
  },
};

const bump = <R extends { metadata: { generation?: number } }>(r: R, f: (r: R) => void) => {
  f(r);
  r.metadata.generation = (r.metadata.generation ?? 1) + 1;
};

let f: Fleet;
const g = (vmid: number) => f.handle.sim.guests.get(vmid)!;
const req = (key: string) => f.handle.stats().requests[key] ?? 0;

test.before(async () => {
  f = await startFleet();
  f.world.add(tpl, vm);
});
test.after(async () => {
  await f.close();
});

test('a VM template is imported from a cloud image with a cloud-init drive, grown, converted, never started', async () => {
  const out = await converge(f.set, f.world, tpl);
  assert.is(out.state, 'Ready', JSON.stringify(out));
  const t = g(9100);
  assert.is(t.conf.template, '1');
  assert.is(t.status, 'stopped');
  assert.match(t.conf.ide2!, 'cloudinit');
  assert.match(t.conf.scsi0!, 'size=4G');
  assert.is(req('POST /nodes/{node}/qemu/{vmid}/status/start'), 0);
  assert.ok(f.world.reasons(tpl).includes('Templated'));
});

test('a VM is fully cloned, configured with cloud-init and firewall, grown and started', async () => {
  const out = await converge(f.set, f.world, vm);
  assert.is(out.state, 'Ready', JSON.stringify(out));
  const v = g(200);
  assert.is(v.status, 'running');
  assert.not.match(v.conf.scsi0!, 'base-9100', 'full clone by default');
  assert.match(v.conf.scsi0!, 'size=8G');
  assert.equal(decodeSshKeys(v.conf.sshkeys), [KEY]);
  assert.is(v.conf.ipconfig0, 'ip=10.0.0.200/24,gw=10.0.0.1');
  assert.match(v.conf.tags!, 'phoenix');
  assert.is(v.firewall.rules.length, 2);
  assert.is(v.firewall.rules[1]!.dport, '443');
  assert.is(v.firewall.options.enable, '1');
  assert.equal(f.world.statusOf(vm).addresses, ['10.0.0.200']);
});

test('an unchanged VM fleet re-read in full shows no diff and gets zero writes', async () => {
  const eager = createReconcilers({ pve: f.pve, options: { ...f.options, driftIntervalMs: 0 } });
  const w0 = f.writeCount();
  assert.is((await converge(eager, f.world, tpl)).state, 'Ready');
  assert.is((await converge(eager, f.world, vm)).state, 'Ready');
  assert.equal(f.writeCount(), w0, JSON.stringify(f.writes()));
  const plan = await eager.get('VirtualMachine')!.plan(f.world.ctx(vm));
  assert.equal(plan.steps, []);
});

test('a cloud-init change updates in place and regenerates the drive; the VM is never replaced', async () => {
  const uuid = g(200).conf.smbios1;
  bump(vm, (r) => (r.spec.cloudInit!.ipConfig = [{ ip: '10.0.0.201/24', gw: '10.0.0.1' }]));
  const plan = await f.set.get('VirtualMachine')!.plan(f.world.ctx(vm));
  assert.equal(plan.steps.map((s) => s.action), ['update']);
  assert.is(plan.steps[0]!.changes![0]!.field, 'ipconfig0');
  const ci = req('PUT /nodes/{node}/qemu/{vmid}/cloudinit');
  assert.is((await converge(f.set, f.world, vm)).state, 'Ready');
  assert.is(req('PUT /nodes/{node}/qemu/{vmid}/cloudinit'), ci + 1);
  assert.is(g(200).ciGenerated?.ipconfig0, 'ip=10.0.0.201/24,gw=10.0.0.1');
  assert.is(g(200).conf.smbios1, uuid, 'same VM');
  assert.is(req('DELETE /nodes/{node}/qemu/{vmid}'), 0);
  assert.is(req('POST /nodes/{node}/qemu/{vmid}/clone'), 1);
  assert.is(f.world.statusOf(vm).conditions.find((c) => c.type === 'RestartRequired')?.status, 'True');
});

test('memory on a running VM waits in /pending (RestartRequired); IfRequired reboots it', async () => {
  bump(vm, (r) => (r.spec.memory = 4096));
  assert.is((await converge(f.set, f.world, vm)).state, 'Ready');
  assert.is(g(200).pending.memory, '4096');
  const cond = f.world.statusOf(vm).conditions.find((c) => c.type === 'RestartRequired');
  assert.is(cond?.status, 'True');
  assert.match(cond!.message, 'memory');
  assert.is(req('POST /nodes/{node}/qemu/{vmid}/status/reboot'), 0);
  bump(vm, (r) => (r.spec.restartPolicy = 'IfRequired'));
  assert.is((await converge(f.set, f.world, vm)).state, 'Ready');
  assert.is(req('POST /nodes/{node}/qemu/{vmid}/status/reboot'), 1);
  assert.is(g(200).conf.memory, '4096');
  assert.equal(g(200).pending, {});
  assert.is(f.world.statusOf(vm).conditions.find((c) => c.type === 'RestartRequired')?.status, 'False');
});

test('a VM disk shrink is refused without a write', async () => {
  bump(vm, (r) => (r.spec.disks = [{ slot: 'scsi0', storage: 'local-lvm', size: '4G' }]));
  const w0 = f.writeCount();
  const out = await converge(f.set, f.world, vm);
  assert.is(out.state === 'Stalled' && out.reason, 'ShrinkRefused');
  assert.is(f.writeCount(), w0);
  bump(vm, (r) => (r.spec.disks = [{ slot: 'scsi0', storage: 'local-lvm', size: '8G' }]));
});

test('a change to a template with clones is reported, never forced onto it', async () => {
  bump(tpl, (r) => (r.spec.memory = 4096));
  const w0 = f.writeCount();
  const out = await converge(f.set, f.world, tpl);
  assert.is(out.state, 'Ready');
  assert.match(out.message ?? '', 'not modified');
  assert.is(f.writeCount(), w0);
  assert.is(g(9100).conf.memory, '1024');
  assert.ok(f.world.reasons(tpl).includes('TemplateChanged'));
  const plan = await f.set.get('Template')!.plan(f.world.ctx(tpl));
  assert.match(plan.steps[0]!.description, 'not applied');
});

test('stop and start follow powerState', async () => {
  bump(vm, (r) => (r.spec.powerState = 'stopped'));
  assert.is((await converge(f.set, f.world, vm)).state, 'Ready');
  assert.is(g(200).status, 'stopped');
  assert.ok(f.world.reasons(vm).includes('Stopped'));
  bump(vm, (r) => (r.spec.powerState = 'running'));
  assert.is((await converge(f.set, f.world, vm)).state, 'Ready');
  assert.is(g(200).status, 'running');
});

test('prune stops and deletes the VM phoenix owns', async () => {
  const rec = f.set.get('VirtualMachine')!;
  f.set.startPass();
  const out = await rec.finalize(f.world.finalizeCtx(vm, true));
  assert.is(out.state, 'Ready', JSON.stringify(out));
  assert.not.ok(f.handle.sim.guests.has(200));
  assert.ok(f.world.reasons(vm).includes('Deleted'));
});

test.run();
