// Table tests of pvesim's parameter checks: the exact `errors` a Proxmox VE node answers for bad
// parameters (texts from pve-common's JSONSchema and the named-format validators of pve-container,
// qemu-server, pve-storage and pve-firewall), and the property-string parser others reuse.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSize } from '../../pvesim/params/formats.js';
import { EMULATED_ENDPOINTS, parsePropertyString, validateRequest } from '../../pvesim/params/index.js';
import { splitList } from '../../pvesim/params/schema.js';

const LXC = '/nodes/{node}/lxc';
const QEMU = '/nodes/{node}/qemu';
const guest = { node: 'pve', vmid: '100' };
const lxcCreate = { ...guest, ostemplate: 'local:vztmpl/debian-12.tar.zst' };
const fmtErr = (sub: Record<string, string>): string =>
  `invalid format - format error\n${Object.keys(sub).sort().map((k) => `${k}: ${sub[k]}\n`).join('')}`;

type Case = [label: string, method: string, path: string, params: Record<string, string | string[] | undefined>, errors: Record<string, string> | undefined];

const CASES: Case[] = [
  // plain checks, in PVE's order: type, format, pattern, length, bounds, enum
  ['integer type', 'PUT', `${LXC}/{vmid}/config`, { ...guest, cores: 'abc' }, { cores: "type check ('integer') failed - got 'abc'" }],
  ['integer below minimum', 'PUT', `${LXC}/{vmid}/config`, { ...guest, memory: '8' }, { memory: 'value must have a minimum value of 16' }],
  ['integer above maximum', 'PUT', `${LXC}/{vmid}/config`, { ...guest, cores: '8193' }, { cores: 'value must have a maximum value of 8192' }],
  ['integer with sign', 'PUT', `${LXC}/{vmid}/config`, { ...guest, cores: '+4' }, undefined],
  ['number', 'PUT', `${LXC}/{vmid}/config`, { ...guest, cpulimit: '1.5' }, undefined],
  ['boolean is 1 or 0 on the wire', 'PUT', `${LXC}/{vmid}/config`, { ...guest, onboot: 'yes' }, { onboot: "type check ('boolean') failed - got 'yes'" }],
  ['enum', 'PUT', `${LXC}/{vmid}/config`, { ...guest, arch: 'x' }, { arch: "value 'x' does not have a value in the enumeration 'amd64, i386, arm64, armhf, riscv32, riscv64'" }],
  ['required', 'POST', LXC, guest, { ostemplate: 'property is missing and it is not optional' }],
  ['unknown', 'POST', LXC, { ...lxcCreate, bogus: '1' }, { bogus: 'property is not defined in schema and the schema does not allow additional properties' }],
  ['requires', 'POST', QEMU, { ...guest, force: '1' }, { archive: "missing property - 'force' requires this property" }],
  ['maxLength', 'PUT', `${LXC}/{vmid}/config`, { ...guest, description: 'x'.repeat(8193) }, { description: 'value may only be 8192 characters long' }],
  ['minLength', 'POST', LXC, { ...lxcCreate, password: 'abc' }, { password: 'value must be at least 5 characters long' }],
  ['pattern', 'PUT', `${LXC}/{vmid}/resize`, { ...guest, disk: 'rootfs', size: '5GB' }, { size: 'value does not match the regex pattern' }],
  ['pattern with trailing newline (Perl $)', 'PUT', `${LXC}/{vmid}/resize`, { ...guest, disk: 'rootfs', size: '+5G\n' }, undefined],
  ['resize mp255', 'PUT', `${LXC}/{vmid}/resize`, { ...guest, disk: 'mp255', size: '+1G' }, undefined],
  // path parameters
  ['vmid not an integer', 'GET', `${LXC}/{vmid}/config`, { node: 'pve', vmid: 'abc' }, { vmid: "type check ('integer') failed - got 'abc'" }],
  ['vmid format before bounds', 'GET', `${LXC}/{vmid}/config`, { node: 'pve', vmid: '99' }, { vmid: 'invalid format - value does not look like a valid VM ID\n' }],
  ['vmid too long', 'GET', `${QEMU}/{vmid}/config`, { node: 'pve', vmid: '1000000000' }, { vmid: 'invalid format - value does not look like a valid VM ID\n' }],
  ['node name', 'GET', '/nodes/{node}/status', { node: 'bad_node' }, { node: 'invalid format - value does not look like a valid node name\n' }],
  ['rule position', 'GET', `${QEMU}/{vmid}/firewall/rules/{pos}`, { ...guest, pos: 'x' }, { pos: "type check ('integer') failed - got 'x'" }],
  ['snapshot name', 'DELETE', `${LXC}/{vmid}/snapshot/{snapname}`, { ...guest, snapname: '1st' }, { snapname: "invalid format - invalid configuration ID '1st'\n" }],
  ['task upid is any string', 'GET', '/nodes/{node}/tasks/{upid}/status', { node: 'pve', upid: 'UPID:pve:00001234:00005678:65000000:vzcreate:100:root@pam:' }, undefined],
  ['storage id', 'GET', '/nodes/{node}/storage/{storage}/content', { node: 'pve', storage: 'local lvm' }, { storage: "invalid format - storage ID 'local lvm' contains illegal characters\n" }],
  // named formats
  ['tag list', 'PUT', `${QEMU}/{vmid}/config`, { ...guest, tags: 'prod;web db' }, undefined],
  ['bad tag', 'PUT', `${QEMU}/{vmid}/config`, { ...guest, tags: 'prod;-x' }, { tags: 'invalid format - invalid characters in tag\n' }],
  ['delete list', 'PUT', `${QEMU}/{vmid}/config`, { ...guest, delete: 'net1,ide2' }, undefined],
  ['bad delete entry', 'PUT', `${QEMU}/{vmid}/config`, { ...guest, delete: 'net1,1bad' }, { delete: "invalid format - invalid configuration ID '1bad'\n" }],
  ['sshkeys must be urlencoded', 'PUT', `${QEMU}/{vmid}/config`, { ...guest, sshkeys: 'ssh-ed25519 AAAA' }, { sshkeys: 'invalid format - invalid urlencoded string: ssh-ed25519 AAAA\n' }],
  ['storage pair entry', 'POST', `${QEMU}/{vmid}/status/start`, { ...guest, targetstorage: 'x:y:z' }, { targetstorage: "invalid format - entry 'x:y:z' contains invalid ID - storage ID 'x:y:z' contains illegal characters\n\n\n" }],
  ['startup order', 'PUT', `${LXC}/{vmid}/config`, { ...guest, startup: 'first' }, { startup: 'invalid format - unable to parse startup options\n' }],
  ['container nameservers', 'PUT', `${LXC}/{vmid}/config`, { ...guest, nameserver: '1.1.1.1 fe80::1%eth0' }, undefined],
  ['bad nameserver', 'PUT', `${LXC}/{vmid}/config`, { ...guest, nameserver: '1.1.1.x' }, { nameserver: 'invalid format - value does not look like a valid IP address\n' }],
  ['time zone', 'PUT', `${LXC}/{vmid}/config`, { ...guest, timezone: 'Mars/Base' }, { timezone: "invalid format - invalid time zone 'Mars/Base'\n" }],
  ['hostname', 'PUT', `${LXC}/{vmid}/config`, { ...guest, hostname: 'web_01' }, { hostname: 'invalid format - value does not look like a valid DNS name\n' }],
  ['cpu model', 'PUT', `${QEMU}/{vmid}/config`, { ...guest, cpu: 'nosuch' }, { cpu: "invalid format - Built-in cputype 'nosuch' is not defined (missing 'custom-' prefix?)\n" }],
  ['cpu flags of a VM', 'PUT', `${QEMU}/{vmid}/config`, { ...guest, cpu: 'host,flags=+avx' }, { cpu: 'invalid format - VM-specific CPU flags must be a subset of: nested-virt, md-clear, pcid, spec-ctrl, ssbd, ibpb, virt-ssbd, amd-ssbd, amd-no-ssb, pdpe1gb, hv-tlbflush, hv-evmcs, aes\n' }],
  ['hotplug', 'PUT', `${QEMU}/{vmid}/config`, { ...guest, hotplug: 'network,floppy' }, { hotplug: "invalid format - invalid hotplug feature 'floppy'\n" }],
  ['backwards port range', 'POST', `${LXC}/{vmid}/firewall/rules`, { ...guest, type: 'in', action: 'ACCEPT', dport: '2000:1000' }, { dport: "invalid format - backwards range '2000:1000' not allowed, did you mean '1000:2000'?\n" }],
  ['range in an address list', 'POST', `${LXC}/{vmid}/firewall/rules`, { ...guest, type: 'in', action: 'ACCEPT', source: '10.0.0.1-10.0.0.5,10.0.0.9' }, { source: "invalid format - you can't use a range in a list\n" }],
  ['protocol', 'POST', `${QEMU}/{vmid}/firewall/rules`, { ...guest, type: 'in', action: 'ACCEPT', proto: 'tcpx' }, { proto: "invalid format - unknown protocol 'tcpx'\n" }],
  ['firewall rule', 'POST', `${QEMU}/{vmid}/firewall/rules`, { ...guest, type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '22,443', source: '+admins', enable: '1' }, undefined],
  // property strings
  ['lxc net0', 'POST', LXC, { ...lxcCreate, net0: 'name=eth0,bridge=vmbr0,ip=dhcp,ip6=auto,firewall=1,tag=20' }, undefined],
  ['lxc net0 sub-pattern', 'POST', LXC, { ...lxcCreate, net0: 'name=eth0,bridge=vmbr 0' }, { net0: fmtErr({ 'net0.bridge': 'value does not match the regex pattern' }) }],
  ['lxc net0 required sub-key', 'POST', LXC, { ...lxcCreate, net0: 'bridge=vmbr0' }, { net0: fmtErr({ 'net0.name': 'property is missing and it is not optional' }) }],
  ['lxc net0 sub-format', 'POST', LXC, { ...lxcCreate, net0: 'name=eth0,hwaddr=01:00:00:00:00:01' }, { net0: fmtErr({ 'net0.hwaddr': 'invalid format - value does not look like a valid unicast MAC address\n' }) }],
  ['lxc net0 two sub-errors', 'POST', LXC, { ...lxcCreate, net0: 'name=eth0,tag=0,ip=10.0.0.5' }, { net0: fmtErr({ 'net0.ip': 'invalid format - value does not look like a valid ipv4 network configuration\n', 'net0.tag': 'value must have a minimum value of 1' }) }],
  ['unknown sub-key', 'POST', LXC, { ...lxcCreate, net0: 'name=eth0,foo=1' }, { net0: 'invalid format - invalid key in comma-separated list property: foo\n' }],
  ['duplicate sub-key', 'POST', LXC, { ...lxcCreate, net0: 'name=eth0,name=eth1' }, { net0: 'invalid format - duplicate key in comma-separated list property: name\n' }],
  ['no default key', 'POST', LXC, { ...lxcCreate, net0: 'eth0' }, { net0: 'invalid format - value without key, but schema does not define a default key\n' }],
  ['empty sub-value', 'POST', LXC, { ...lxcCreate, net0: 'name=' }, { net0: 'invalid format - missing key in comma-separated list property\n' }],
  ['rootfs with size', 'POST', LXC, { ...lxcCreate, rootfs: 'local-lvm:8,mountoptions=noatime;nodev' }, undefined],
  ['rootfs mount options', 'POST', LXC, { ...lxcCreate, rootfs: 'local-lvm:8,mountoptions=noatime;bogus' }, { rootfs: fmtErr({ 'rootfs.mountoptions': 'value does not match the regex pattern' }) }],
  ['mount point needs mp', 'POST', LXC, { ...lxcCreate, mp0: 'local-lvm:8' }, { mp0: fmtErr({ 'mp0.mp': 'property is missing and it is not optional' }) }],
  ['mount point path', 'POST', LXC, { ...lxcCreate, mp0: 'local-lvm:8,mp=/srv/../etc' }, { mp0: fmtErr({ 'mp0.mp': 'invalid format - /srv/../etc contains illegal character sequences\n' }) }],
  ['features take yes/no', 'PUT', `${LXC}/{vmid}/config`, { ...guest, features: 'nesting=1,keyctl=yes' }, undefined],
  ['qemu disk import', 'POST', QEMU, { ...guest, scsi0: 'local-lvm:0,import-from=local:import/noble.qcow2', ide2: 'local-lvm:cloudinit', scsihw: 'virtio-scsi-single' }, undefined],
  ['qemu disk size', 'POST', QEMU, { ...guest, scsi0: 'local-lvm:32,size=32X' }, { scsi0: fmtErr({ 'scsi0.size': 'invalid format - value does not look like a valid disk size: 32X\n' }) }],
  ['qemu disk alias', 'POST', QEMU, { ...guest, virtio0: 'volume=local-lvm:32,file=local-lvm:8' }, { virtio0: 'invalid format - duplicate key in comma-separated list property: file\n' }],
  ['qemu scsi30 but not scsi31', 'POST', QEMU, { ...guest, scsi30: 'local-lvm:1', scsi31: 'local-lvm:1' }, { scsi31: 'property is not defined in schema and the schema does not allow additional properties' }],
  ['qemu nic key alias', 'POST', QEMU, { ...guest, net0: 'virtio=BC:24:11:00:00:01,e1000=BC:24:11:00:00:02' }, { net0: "invalid format - key alias 'model' is already defined\n" }],
  ['qemu memory', 'POST', QEMU, { ...guest, memory: 'current=8' }, { memory: fmtErr({ 'memory.current': 'value must have a minimum value of 16' }) }],
  ['qemu ipconfig gateway needs ip', 'PUT', `${QEMU}/{vmid}/config`, { ...guest, ipconfig0: 'gw=10.0.0.1' }, { ipconfig0: fmtErr({ 'ipconfig0.ip': "missing property - 'ipconfig0.gw' requires this property" }) }],
  ['qemu agent default key is not a boolean word', 'PUT', `${QEMU}/{vmid}/config`, { ...guest, agent: 'yes' }, { agent: fmtErr({ 'agent.enabled': "type check ('boolean') failed - got 'yes'" }) }],
  ['qemu agent key=value takes yes', 'PUT', `${QEMU}/{vmid}/config`, { ...guest, agent: 'enabled=yes,fstrim_cloned_disks=1' }, undefined],
  ['qemu boot order', 'PUT', `${QEMU}/{vmid}/config`, { ...guest, boot: 'order=scsi0;floppy0' }, { boot: fmtErr({ 'boot.order': "invalid format - invalid boot device 'floppy0'\n" }) }],
  ['cdrom is an IDE drive', 'PUT', `${QEMU}/{vmid}/config`, { ...guest, cdrom: 'local:iso/debian.iso,media=floppy' }, { cdrom: fmtErr({ 'cdrom.media': "value 'floppy' does not have a value in the enumeration 'cdrom, disk'" }) }],
  // repeated parameters and arrays
  ['agent command', 'POST', `${QEMU}/{vmid}/agent/exec`, { ...guest, command: ['ls', '-l'] }, undefined],
  ['agent command missing', 'POST', `${QEMU}/{vmid}/agent/exec`, guest, { command: 'property is missing and it is not optional' }],
  ['repeated list parameter', 'PUT', `${QEMU}/{vmid}/config`, { ...guest, delete: ['net1', 'ide2'] }, undefined],
  ['empty form field of a required parameter', 'PUT', `${LXC}/{vmid}/resize`, { ...guest, disk: 'rootfs', size: undefined }, { size: 'property is missing and it is not optional' }],
  ['empty form field of an optional parameter', 'PUT', `${LXC}/{vmid}/config`, { ...guest, cores: undefined }, undefined],
  ['empty form field of an unknown parameter', 'PUT', `${LXC}/{vmid}/config`, { ...guest, bogus: undefined }, { bogus: 'property is not defined in schema and the schema does not allow additional properties' }],
  ['cache buster is not a parameter', 'GET', `${QEMU}/{vmid}/config`, { ...guest, _dc: '1700000000000' }, undefined],
  ['repeated scalar parameter', 'PUT', `${QEMU}/{vmid}/config`, { ...guest, cores: ['1', '2'] }, { cores: "type check ('integer') failed - got '1\u00002'" }],
];

for (const [label, method, path, params, errors] of CASES) {
  test(`${label}: ${method} ${path}`, () => {
    assert.equal(validateRequest(method, path, params), errors ? { errors } : {});
  });
}

test('every emulated endpoint is known, once', () => {
  const keys = EMULATED_ENDPOINTS.map((e) => `${e.method} ${e.path}`);
  assert.is(new Set(keys).size, keys.length);
  for (const { method, path } of EMULATED_ENDPOINTS) {
    const params = Object.fromEntries([...path.matchAll(/\{(\w+)\}/g)].map((m) => [m[1]!, 'x']));
    assert.type(validateRequest(method, path, params), 'object');
  }
  assert.throws(() => validateRequest('GET', '/nodes/{node}/qemu/{vmid}/rrd', {}), /does not emulate/);
});

test('parsePropertyString resolves aliases, default keys and boolean words', () => {
  const table: Array<[string, string, Record<string, string>]> = [
    ['qemu-net', 'virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=yes', { model: 'virtio', macaddr: 'BC:24:11:00:00:01', bridge: 'vmbr0', firewall: '1' }],
    ['qemu-net', 'model=e1000,bridge=vmbr1,tag=10', { model: 'e1000', bridge: 'vmbr1', tag: '10' }],
    ['lxc-net', 'name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1', { name: 'eth0', bridge: 'vmbr0', ip: '10.0.0.5/24', gw: '10.0.0.1' }],
    ['lxc-rootfs', 'local-lvm:8,size=8G', { volume: 'local-lvm:8', size: '8G' }],
    ['lxc-mp', 'volume=local-lvm:16,mp=/srv,backup=off', { volume: 'local-lvm:16', mp: '/srv', backup: '0' }],
    ['lxc-features', 'nesting=1,keyctl=true', { nesting: '1', keyctl: '1' }],
    ['qemu-scsi', 'local-lvm:0,import-from=local:import/x.qcow2,iothread=on', { file: 'local-lvm:0', 'import-from': 'local:import/x.qcow2', iothread: '1' }],
    ['qemu-scsi', 'volume=local-lvm:vm-100-disk-0,size=32G', { file: 'local-lvm:vm-100-disk-0', size: '32G' }],
    ['qemu-ide', 'local-lvm:cloudinit,media=cdrom', { file: 'local-lvm:cloudinit', media: 'cdrom' }],
    ['qemu-memory', '4096', { current: '4096' }],
    ['qemu-agent', 'enabled=1,freeze-fs-on-backup=0', { enabled: '1', 'freeze-fs': '0' }],
    ['qemu-ipconfig', 'ip=10.0.0.5/24,gw=10.0.0.1', { ip: '10.0.0.5/24', gw: '10.0.0.1' }],
    ['qemu-cpu', 'x86-64-v2-AES,flags=+aes', { cputype: 'x86-64-v2-AES', flags: '+aes' }],
  ];
  for (const [format, value, want] of table) assert.equal(parsePropertyString(format, value), want, `${format} ${value}`);
  assert.throws(() => parsePropertyString('lxc-net', 'bridge=vmbr0', 'net0'), (e: Error) => e.message === fmtErr({ 'net0.name': 'property is missing and it is not optional' }));
  assert.throws(() => parsePropertyString('qemu-cpu', 'custom-mine'), (e: Error) => e.message === "invalid format - Custom cputype 'mine' not found\n");
  assert.throws(() => parsePropertyString('no-such-format', 'x'), /unknown property-string format/);
});

test('sizes and lists parse as PVE parses them', () => {
  const sizes: Array<[string, number | undefined]> = [['10', 10], ['1.5K', 1536], ['512M', 512 * 1024 ** 2], ['8G', 8 * 1024 ** 3], ['2T', 2 * 1024 ** 4], ['8g', undefined], ['8GB', undefined], ['-1', undefined]];
  for (const [v, want] of sizes) assert.is(parseSize(v), want, v);
  const lists: Array<[string, string[]]> = [['a,b;c d', ['a', 'b', 'c', 'd']], ['  a  ', ['a']], ['', []], ['a\u0000b,c', ['a', 'b,c']], ['a,,b', ['a', 'b']]];
  for (const [v, want] of lists) assert.equal(splitList(v), want, JSON.stringify(v));
});

test.run();
