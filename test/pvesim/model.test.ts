// Unit tests of the model's pure pieces: UPIDs, property strings, sizes, storage accounting,
// locks, fault specs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { apiRoutes } from '../../pvesim/http/routes.js';
import { EMULATED_ENDPOINTS } from '../../pvesim/params/index.js';
import { FaultInjector, parseFaultSpec, pathMatches } from '../../pvesim/faults.js';
import { normaliseLxcNet, normaliseQemuNet, wireConfig } from '../../pvesim/model/config.js';
import { LockManager } from '../../pvesim/model/locks.js';
import { Simulator } from '../../pvesim/model/simulator.js';
import { VolumeMap, parseStorageArg } from '../../pvesim/model/storage.js';
import { formatUpid, parseUpid } from '../../pvesim/model/upid.js';
import { formatSize, parseSize } from '../../pvesim/model/util.js';

test('UPID format and parse round-trip', () => {
  const u = { node: 'pve', pid: 0x1a2b, pstart: 0x3c4d5e, starttime: 0x6553f100, type: 'qmclone', id: '9000', user: 'root@pam!phoenix' };
  const s = formatUpid(u);
  assert.is(s, 'UPID:pve:00001A2B:003C4D5E:6553F100:qmclone:9000:root@pam!phoenix:');
  assert.equal(parseUpid(s), u);
  assert.is(parseUpid('UPID:pve:xyz'), undefined);
});

test('sizes as Proxmox writes them', () => {
  for (const [s, b] of [['8G', 8 * 1024 ** 3], ['512M', 512 * 1024 ** 2], ['1T', 1024 ** 4], ['3584M', 3584 * 1024 ** 2]] as const) {
    assert.is(parseSize(s), b);
    assert.is(formatSize(b), s);
  }
  assert.is(parseSize('8X'), undefined);
});

test('network property strings: name first, MAC filled in, kept or forced new', () => {
  const mac = () => 'BC:24:11:00:00:01';
  assert.is(normaliseLxcNet('name=eth0,ip=dhcp,bridge=vmbr0', mac), 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth');
  assert.is(normaliseLxcNet('name=eth0,bridge=vmbr0,hwaddr=BC:24:11:AA:BB:CC', mac), 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:AA:BB:CC,type=veth');
  assert.is(normaliseQemuNet('virtio,bridge=vmbr0,firewall=1', mac), 'virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1');
  assert.is(normaliseQemuNet('model=e1000,macaddr=bc:24:11:aa:bb:cc,bridge=vmbr0', mac), 'e1000=BC:24:11:AA:BB:CC,bridge=vmbr0');
  assert.is(normaliseQemuNet('virtio=BC:24:11:AA:BB:CC,bridge=vmbr0', mac, true), 'virtio=BC:24:11:00:00:01,bridge=vmbr0');
});

test('wire types: LXC memory a number, QEMU memory a string', () => {
  assert.equal(wireConfig('lxc', { memory: '512', hostname: 'a' }), { hostname: 'a', memory: 512 });
  assert.equal(wireConfig('qemu', { memory: '2048', cores: '2' }), { cores: 2, memory: '2048' });
});

test('volume map keeps names and used bytes; linked clones count nothing', () => {
  const m = new VolumeMap();
  m.set('l:vm-1-disk-0', { volid: 'l:vm-1-disk-0', size: 10, content: 'images', format: 'raw', ctime: 0 });
  m.set('l:base-1-disk-0/vm-2-disk-0', { volid: 'l:base-1-disk-0/vm-2-disk-0', size: 10, content: 'images', format: 'raw', ctime: 0, parent: 'l:base-1-disk-0' });
  assert.is(m.used, 10);
  assert.ok(m.hasName('vm-2-disk-0'));
  m.delete('l:vm-1-disk-0');
  assert.is(m.used, 0);
  assert.ok(!m.hasName('vm-1-disk-0'));
  const copy = new VolumeMap([...m.entries()]);
  assert.ok(copy.hasName('vm-2-disk-0'));
});

test('storage CLI argument', () => {
  assert.equal(parseStorageArg('quickOS-vm-disks:zfspool:500'), { name: 'quickOS-vm-disks', type: 'zfspool', sizeGiB: 500, shared: false, content: ['images', 'rootdir'] });
  assert.is(parseStorageArg('nas:nfs:100').shared, true);
  assert.is(parseStorageArg('x:dir:5:shared').shared, true);
  assert.throws(() => parseStorageArg('x:btrfs:5'), /type must be one of/);
  assert.throws(() => parseStorageArg('x:dir:0'), /positive/);
});

test('locks: exclusive excludes, shared overlaps, waiters time out with the flock text', async () => {
  const l = new LockManager();
  const r1 = await l.acquire('k', '/run/lock/x', 0, 'shared');
  const r2 = await l.acquire('k', '/run/lock/x', 0, 'shared');
  let err: Error | undefined;
  await l.acquire('k', '/run/lock/x', 20).catch((e: Error) => (err = e));
  assert.is(err?.message, "can't lock file '/run/lock/x' - got timeout");
  r1();
  const waiting = l.acquire('k', '/run/lock/x', 1000);
  r2();
  const r3 = await waiting;
  assert.ok(l.isHeld('k'));
  r3();
  assert.ok(!l.isHeld('k'));
});

test('fault spec: parse, match, sequences, errors name the item', () => {
  const p = parseFaultSpec('seed=3; POST /nodes/*/qemu/{vmid}/clone 0.25:lock\nGET /** seq:ok,503,slow=10,taskfail=boom');
  assert.is(p.seed, 3);
  assert.is(p.rules.length, 2);
  assert.is(p.rules[0]!.prob, 0.25);
  assert.equal(p.rules[1]!.seq, [{ kind: 'ok' }, { kind: '503' }, { kind: 'slow', arg: '10' }, { kind: 'taskfail', arg: 'boom' }]);
  assert.ok(pathMatches('/nodes/*/qemu/{vmid}/clone', '/nodes/pve/qemu/100/clone'));
  assert.ok(!pathMatches('/nodes/*/qemu/{vmid}/clone', '/nodes/pve/lxc/100/clone'));
  assert.ok(pathMatches('/**', '/version'));
  assert.throws(() => parseFaultSpec('GET /x explode'), /item 1 'GET \/x explode': unknown action 'explode'/);
  assert.throws(() => parseFaultSpec('GET x 503'), /path must start with/);
  const f = new FaultInjector(1);
  f.set('GET /version seq:ok,503');
  assert.is(f.pick('GET', '/version'), undefined);
  assert.equal(f.pick('GET', '/version'), { kind: '503' });
  assert.is(f.pick('GET', '/version'), undefined);
  assert.equal(f.injected, { '503': 1 });
});

test('every routed endpoint has parameter definitions, and every defined one is routed', () => {
  const routed = apiRoutes().map((r) => `${r.method} ${r.template}`).sort();
  const defined = EMULATED_ENDPOINTS.map((e) => `${e.method} ${e.path}`).filter((k) => k !== 'POST /access/ticket').sort();
  assert.equal(routed, defined);
});

test('cluster resources JSON equals the object form and follows changes', () => {
  const sim = new Simulator({ nodes: ['a', 'b'], seed: 1 });
  sim.addGuest('a', 'lxc', 100, { hostname: 'one', memory: '1024', rootfs: 'local-lvm:8' });
  sim.addGuest('b', 'qemu', 101, { name: 'two', scsi0: 'local-lvm:4' }, 'running');
  const sortKeys = (rows: Array<Record<string, unknown>>) => rows.map((r) => Object.fromEntries(Object.entries(r).sort()));
  for (const type of [undefined, 'vm', 'node', 'storage']) {
    assert.equal(sortKeys(JSON.parse(sim.clusterResourcesBody(type).toString()).data), sortKeys(sim.clusterResources(type)), String(type));
  }
  sim.editConfig(100, { lock: 'backup', tags: 'x' });
  const row = JSON.parse(sim.clusterResourcesBody('vm').toString()).data.find((r: any) => r.vmid === 100);
  assert.is(row.lock, 'backup');
  assert.is(row.tags, 'x');
  assert.is(row.maxmem, 1024 * 1024 * 1024);
  sim.close();
});

test.run();
