import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LxcContainer, VirtualMachine } from '../../resources/types.js';
import { desiredConfig, desiredDisks, ownerOf, lxcCreateParams } from '../../controller/plan/desired.js';
import type { DesiredGuest, ObservedGuest } from '../../controller/plan/guest.js';
import { planExisting } from '../../controller/plan/guest.js';
import { pathTemplate } from '../../controller/pve/client.js';
import { encodeSshKeys } from '../../controller/pve/normalize.js';

const ct: LxcContainer = {
  apiVersion: 'phoenix.hypervisor/v1alpha1',
  kind: 'LxcContainer',
  metadata: { name: 'dns' },
  spec: {
    vmid: 101,
    source: { ostemplate: 'local:vztmpl/debian.tar.zst' },
    cores: 2,
    memory: 1024,
    rootfs: { storage: 'local-lvm', size: '8G' },
    networks: [{ name: 'eth0', bridge: 'vmbr0', ip: '10.0.0.5/24', gw: '10.0.0.1' }],
    features: { nesting: true },
    tags: ['dns'],
    mountPoints: [{ path: '/data', volume: { storage: 'local-lvm', size: '4G' } }],
  },
};

// What Proxmox hands back for that container after create: other spellings, filled-in keys.
const liveCt = (): Record<string, unknown> => ({
  arch: 'amd64',
  hostname: 'dns',
  cores: 2,
  memory: 1024,
  swap: 512,
  rootfs: 'local-lvm:vm-101-disk-0,size=8192M',
  mp0: 'local-lvm:vm-101-disk-1,mp=/data,size=4G',
  net0: 'name=eth0,bridge=vmbr0,gw=10.0.0.1,hwaddr=BC:24:11:5E:00:01,ip=10.0.0.5/24,type=veth',
  features: 'nesting=1',
  tags: 'dns;phoenix',
  description: 'managed-by: phoenix LxcContainer/dns\n',
  unprivileged: 1,
  digest: 'abc',
});

const desiredCt = (c: LxcContainer = ct): DesiredGuest => ({ type: 'lxc', config: desiredConfig(c), disks: desiredDisks(c), power: 'running', restartPolicy: c.spec.restartPolicy });
const observedCt = (config = liveCt(), running = true): ObservedGuest => ({ type: 'lxc', node: 'pve', vmid: 101, running, template: false, config });

test('an unchanged container plans nothing', () => {
  const a = planExisting(desiredCt(), observedCt());
  assert.equal(a.steps, []);
  assert.is(a.update, undefined);
});

test('a changed value updates in place with the digest and keeps the MAC', () => {
  const c = structuredClone(ct);
  c.spec.networks![0]!.bridge = 'vmbr1';
  c.spec.memory = 2048;
  const a = planExisting(desiredCt(c), observedCt());
  assert.equal(a.steps.map((s) => s.action), ['update']);
  assert.is(a.update!.params.digest, 'abc');
  assert.is(a.update!.params.memory, '2048');
  assert.match(String(a.update!.params.net0), 'hwaddr=BC:24:11:5E:00:01');
  assert.equal(a.update!.restartKeys, []);
});

test('disks: grow is a resize, a shrink is refused, a new mount point is added', () => {
  const grow = structuredClone(ct);
  grow.spec.rootfs.size = '16G';
  const g = planExisting(desiredCt(grow), observedCt());
  assert.equal(g.resizes, [{ disk: 'rootfs', size: '16G', fromMiB: 8192, toMiB: 16384 }]);
  const shrink = structuredClone(ct);
  shrink.spec.rootfs.size = '4G';
  const s = planExisting(desiredCt(shrink), observedCt());
  assert.is(s.blocked?.reason, 'ShrinkRefused');
  assert.equal(s.steps, []);
  const more = structuredClone(ct);
  more.spec.mountPoints!.push({ path: '/logs', volume: { storage: 'local-lvm', size: '2G' } });
  const m = planExisting(desiredCt(more), observedCt());
  assert.is(m.update!.params.mp1, 'local-lvm:2,mp=/logs');
});

test('restart-only keys: condition by default, restart with IfRequired, nothing when stopped', () => {
  const c = structuredClone(ct);
  c.spec.features = { nesting: true, keyctl: true };
  const a = planExisting(desiredCt(c), observedCt());
  assert.equal(a.update!.restartKeys, ['features']);
  assert.is(a.restart, false);
  c.spec.restartPolicy = 'IfRequired';
  assert.is(planExisting(desiredCt(c), observedCt()).restart, true);
  const stopped = planExisting({ ...desiredCt(c), power: 'stopped' }, observedCt(liveCt(), false));
  assert.equal(stopped.update!.restartKeys, []);
  assert.is(stopped.restart, false);
});

test('power and immutables', () => {
  assert.equal(planExisting(desiredCt(), observedCt(liveCt(), false)).steps.map((s) => s.action), ['start']);
  assert.equal(planExisting({ ...desiredCt(), power: 'stopped' }, observedCt()).steps.map((s) => s.action), ['stop']);
  const b = planExisting({ ...desiredCt(), immutable: { unprivileged: 0 } }, observedCt());
  assert.is(b.blocked?.reason, 'ReplaceRequired');
});

test('firewall: options and rules compared with defaults', () => {
  const fw = { enabled: true, policyIn: 'DROP' as const, rules: [{ type: 'in' as const, action: 'ACCEPT' as const, proto: 'tcp', dport: '53' }] };
  const d = { ...desiredCt(), firewall: fw };
  const same = planExisting(d, { ...observedCt(), firewallOptions: { enable: 1 }, firewallRules: [{ pos: 0, type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '53', enable: 1 }] });
  assert.is(same.firewall, undefined);
  const diff = planExisting(d, { ...observedCt(), firewallOptions: {}, firewallRules: [] });
  assert.equal(diff.firewall!.options, { enable: 1 });
  assert.is(diff.firewall!.rules!.length, 1);
});

test('qemu: memory property string and url-encoded ssh keys show no diff', () => {
  const vm: VirtualMachine = {
    apiVersion: 'phoenix.hypervisor/v1alpha1',
    kind: 'VirtualMachine',
    metadata: { name: 'app' },
    spec: { vmid: 200, source: { template: 'noble' }, memory: 4096, cores: 2, cloudInit: { user: 'ops', sshKeys: ['ssh-ed25519 AAAA x@y'], ipConfig: [{ ip: 'dhcp' }] }, networks: [{ bridge: 'vmbr0' }], disks: [{ slot: 'scsi0', storage: 'local-lvm', size: '32G' }] },
  };
  const live = {
    name: 'app',
    memory: 'current=4096',
    cores: 2,
    ciuser: 'ops',
    sshkeys: encodeSshKeys(['ssh-ed25519 AAAA x@y']).replace(/%20/g, '+'),
    ipconfig0: 'ip=dhcp',
    net0: 'virtio=BC:24:11:00:00:09,bridge=vmbr0',
    scsi0: 'local-lvm:vm-200-disk-0,size=32G',
    tags: 'phoenix',
    description: 'managed-by: phoenix VirtualMachine/app',
    digest: 'd',
  };
  const d: DesiredGuest = { type: 'qemu', config: desiredConfig(vm), disks: desiredDisks(vm), power: 'running' };
  const o: ObservedGuest = { type: 'qemu', node: 'pve', vmid: 200, running: true, template: false, config: live };
  assert.equal(planExisting(d, o).steps, []);
  const vm2 = structuredClone(vm);
  vm2.spec.memory = 8192;
  const a = planExisting({ ...d, config: desiredConfig(vm2) }, o);
  assert.equal(a.update!.restartKeys, ['memory']);
});

test('ownership marker and create params', () => {
  assert.is(ownerOf('hello\n\nmanaged-by: phoenix LxcContainer/dns\n'), 'LxcContainer/dns');
  assert.is(ownerOf('hello world'), undefined);
  const p = lxcCreateParams(ct, 'local:vztmpl/debian.tar.zst');
  assert.is(p.rootfs, 'local-lvm:8');
  assert.is(p.mp0, 'local-lvm:4,mp=/data');
  assert.is(p.tags, 'dns;phoenix');
  assert.is(p.start, 0);
});

test('metric path templates carry no ids', () => {
  const table: [string, string][] = [
    ['/api2/json/nodes/pve/lxc/101/config', '/nodes/{node}/lxc/{vmid}/config'],
    ['/api2/json/nodes/pve/tasks/UPID%3Apve%3A0001%3A/status', '/nodes/{node}/tasks/{upid}/status'],
    ['/api2/json/nodes/pve/tasks', '/nodes/{node}/tasks'],
    ['/api2/json/cluster/resources', '/cluster/resources'],
    ['/api2/json/nodes/pve2/qemu/200/firewall/rules/3', '/nodes/{node}/qemu/{vmid}/firewall/rules/{pos}'],
    ['/api2/json/nodes/pve/lxc/101/status/start', '/nodes/{node}/lxc/{vmid}/status/start'],
  ];
  for (const [p, t] of table) assert.is(pathTemplate(p), t);
});

test.run();
