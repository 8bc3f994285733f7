import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  canonProps,
  compareProps,
  decodeSshKeys,
  diffKey,
  encodeSshKeys,
  formatMiB,
  normTags,
  parsePropertyString,
  parseVolume,
  qemuMemoryMiB,
  sizeToMiB,
} from '../../controller/pve/normalize.js';

test('sizes: every spelling of one size is one number', () => {
  const table: [string | number, number][] = [
    ['8G', 8192],
    ['8192M', 8192],
    ['1T', 1048576],
    ['524288K', 512],
    [8589934592, 8192],
    ['0.5G', 512],
  ];
  for (const [s, mib] of table) assert.is(sizeToMiB(s), mib, String(s));
  assert.is(sizeToMiB('8', 'G'), 8192);
  assert.throws(() => sizeToMiB('8Q'));
  assert.is(formatMiB(8192), '8G');
  assert.is(formatMiB(1536), '1536M');
  assert.is(formatMiB(1048576), '1T');
});

test('property strings: order, default key, qemu net model=MAC', () => {
  assert.equal(parsePropertyString('local-lvm:vm-100-disk-0,size=8G', 'volume'), { volume: 'local-lvm:vm-100-disk-0', size: '8G' });
  assert.equal(canonProps('qemu', 'net0', 'virtio=bc:24:11:aa:bb:cc,bridge=vmbr0,firewall=1'), { model: 'virtio', macaddr: 'BC:24:11:AA:BB:CC', bridge: 'vmbr0', firewall: '1' });
  assert.equal(canonProps('qemu', 'memory', 'current=4096'), { current: '4096' });
  assert.equal(canonProps('lxc', 'features', 'mount=nfs;cifs,nesting=1'), { mount: 'cifs;nfs', nesting: '1' });
});

test('compareProps: equal under reordering, case, defaults and filled-in keys', () => {
  const table: [string, string, string, string | undefined, boolean][] = [
    ['lxc', 'net0', 'name=eth0,bridge=vmbr0,ip=dhcp', 'bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,name=eth0,type=veth', true],
    ['lxc', 'net0', 'name=eth0,bridge=vmbr0,hwaddr=bc:24:11:00:00:01', 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01', true],
    ['lxc', 'net0', 'name=eth0,bridge=vmbr0,firewall=0', 'name=eth0,bridge=vmbr0', true],
    ['lxc', 'net0', 'name=eth0,bridge=vmbr0', 'name=eth0,bridge=vmbr0,tag=10', false],
    ['lxc', 'net0', 'name=eth0,bridge=vmbr1', 'name=eth0,bridge=vmbr0', false],
    ['qemu', 'net0', 'virtio,bridge=vmbr0', 'virtio=BC:24:11:00:00:02,bridge=vmbr0', true],
    ['qemu', 'net0', 'e1000,bridge=vmbr0', 'virtio=BC:24:11:00:00:02,bridge=vmbr0', false],
    ['lxc', 'features', 'nesting=1,keyctl=0', 'nesting=1', true],
    ['lxc', 'features', 'mount=nfs;cifs', 'mount=cifs;nfs', true],
    ['lxc', 'startup', 'order=1,up=30', 'up=30,order=1', true],
    ['qemu', 'agent', '1', 'enabled=1', true],
    ['qemu', 'ipconfig0', 'ip=10.0.0.5/24,gw=10.0.0.1', 'gw=10.0.0.1,ip=10.0.0.5/24', true],
  ];
  for (const [type, key, d, o, eq] of table) assert.is(compareProps(type as 'lxc', key, d, o).equal, eq, `${type} ${key}: ${d} vs ${o}`);
});

test('compareProps keeps the MAC Proxmox generated when the spec names none', () => {
  const r = compareProps('lxc', 'net0', 'name=eth0,bridge=vmbr1,ip=dhcp', 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth');
  assert.is(r.equal, false);
  assert.match(r.merged, 'hwaddr=BC:24:11:00:00:01');
  assert.match(r.merged, 'bridge=vmbr1');
  const q = compareProps('qemu', 'net0', 'virtio,bridge=vmbr1', 'virtio=BC:24:11:00:00:02,bridge=vmbr0');
  assert.ok(q.merged.startsWith('virtio=BC:24:11:00:00:02,'), q.merged);
});

test('scalars: tags, ssh keys, memory, booleans, descriptions, defaults', () => {
  assert.equal(normTags('web,phoenix;db  x'), ['db', 'phoenix', 'web', 'x']);
  assert.equal(normTags(['b', 'a', 'a']), ['a', 'b']);
  const keys = ['ssh-ed25519 AAAAC3Nza+/= a@b', 'ssh-rsa AAAAB3 c@d'];
  assert.equal(decodeSshKeys(encodeSshKeys(keys)), keys);
  assert.equal(decodeSshKeys('ssh-ed25519%20AAAAC3Nza%2B%2F%3D%20a%40b%0A'), [keys[0]]);
  assert.is(qemuMemoryMiB('current=2048'), 2048);
  assert.is(qemuMemoryMiB('2048'), 2048);
  assert.is(qemuMemoryMiB(2048), 2048);
  const table: [string, string, string | number, unknown, boolean][] = [
    ['lxc', 'tags', 'phoenix;web', 'web,phoenix', true],
    ['lxc', 'tags', 'phoenix;web', 'phoenix', false],
    ['qemu', 'memory', 2048, 'current=2048', true],
    ['qemu', 'memory', 4096, '2048', false],
    ['lxc', 'onboot', 0, undefined, true],
    ['lxc', 'onboot', 1, undefined, false],
    ['lxc', 'memory', 512, undefined, true],
    ['lxc', 'cores', 2, '2', true],
    ['lxc', 'description', 'hello\n\nmanaged-by: phoenix LxcContainer/a', 'hello  \n\nmanaged-by: phoenix LxcContainer/a\n', true],
    ['qemu', 'sshkeys', encodeSshKeys(keys), encodeSshKeys(keys).replace(/%20/g, '+'), true],
    ['lxc', 'nameserver', '1.1.1.1 8.8.8.8', '1.1.1.1  8.8.8.8', true],
  ];
  for (const [type, key, d, o, eq] of table) assert.is(diffKey(type as 'lxc', key, d, o).equal, eq, `${type} ${key}: ${String(d)} vs ${String(o)}`);
});

test('volumes parse storage and size', () => {
  assert.equal(parseVolume('local-lvm:vm-100-disk-0,size=8G'), { volume: 'local-lvm:vm-100-disk-0', storage: 'local-lvm', sizeMiB: 8192, props: { volume: 'local-lvm:vm-100-disk-0', size: '8G' } });
  const bind = parseVolume('/srv/data,mp=/data,ro=1');
  assert.is(bind.storage, undefined);
  assert.is(bind.volume, '/srv/data');
});

test.run();
