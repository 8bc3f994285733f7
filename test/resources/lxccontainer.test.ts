import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KIND_DEFINITIONS, applyDefaults, validateResource } from '../../resources/index.js';
import type { LxcContainer } from '../../resources/types.js';
import { assertInjectionRejected, assertRejected, assertValid, lxc, withValue } from '../helpers/resources.js';

test('a full LxcContainer manifest is valid', () => {
  assertValid(lxc());
});

test('every property-string-bound field rejects every injection character', () => {
  const n = assertInjectionRejected(lxc(), [
    ['metadata', 'name'],
    ['spec', 'hostname'],
    ['spec', 'node'],
    ['spec', 'source', 'template'],
    ['spec', 'rootfs', 'storage'],
    ['spec', 'rootfs', 'size'],
    ['spec', 'networks', 0, 'name'],
    ['spec', 'networks', 0, 'bridge'],
    ['spec', 'networks', 0, 'ip'],
    ['spec', 'networks', 0, 'gw'],
    ['spec', 'networks', 0, 'ip6'],
    ['spec', 'networks', 0, 'gw6'],
    ['spec', 'networks', 0, 'hwaddr'],
    ['spec', 'mountPoints', 0, 'path'],
    ['spec', 'mountPoints', 0, 'volume', 'storage'],
    ['spec', 'mountPoints', 0, 'volume', 'size'],
    ['spec', 'mountPoints', 1, 'path'],
    ['spec', 'mountPoints', 1, 'hostPath'],
    ['spec', 'nameserver'],
    ['spec', 'searchdomain'],
    ['spec', 'features', 'mount', 0],
    ['spec', 'tags', 0],
    ['spec', 'services', 0, 'name'],
    ['spec', 'services', 0, 'path'],
    ['spec', 'firewall', 'rules', 0, 'proto'],
    ['spec', 'firewall', 'rules', 0, 'iface'],
    // address and port lists are comma lists by Proxmox's own syntax (separate API parameters)
    { path: ['spec', 'firewall', 'rules', 0, 'source'], except: [','] },
    { path: ['spec', 'firewall', 'rules', 0, 'dport'], except: [','] },
  ]);
  assert.ok(n > 500);
  for (const src of [
    { guest: 'other', snapshot: 'final-form' },
    { ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' },
  ])
    assertInjectionRejected(withValue(lxc(), ['spec', 'source'], src), [Object.keys(src).map((k) => ['spec', 'source', k])].flat());
  assertInjectionRejected(withValue(lxc(), ['spec', 'source'], { template: 'base', full: true, storage: 'fast-pool' }), [['spec', 'source', 'storage']]);
});

test('free-text fields take anything but NUL', () => {
  assertValid(withValue(lxc(), ['spec', 'description'], 'a,b=c;d%e\n\tf "quoted" \\ ü'));
  assertRejected(withValue(lxc(), ['spec', 'description'], 'nul\u0000here'), ['spec', 'description']);
  assertRejected(withValue(lxc(), ['spec', 'firewall', 'rules', 0, 'comment'], 'x\u0000'), ['spec', 'firewall', 'rules', 0, 'comment']);
});

const reject: Array<[string, Array<string | number>, unknown, RegExp, Array<string | number>?]> = [
  ['vmid below 100', ['spec', 'vmid'], 99, /must be >= 100/],
  ['vmid above 999999999', ['spec', 'vmid'], 1000000000, /must be <= 999999999/],
  ['vmid as string', ['spec', 'vmid'], '200', /must be integer/],
  ['fractional vmid', ['spec', 'vmid'], 200.5, /must be integer/],
  ['cores 0', ['spec', 'cores'], 0, /must be >= 1/],
  ['cores 8193', ['spec', 'cores'], 8193, /must be <= 8192/],
  ['memory 15', ['spec', 'memory'], 15, /must be >= 16/],
  ['memory as "4G"', ['spec', 'memory'], '4G', /must be integer/],
  ['memory null', ['spec', 'memory'], null, /must be integer/],
  ['negative swap', ['spec', 'swap'], -1, /must be >= 0/],
  ['uppercase name', ['metadata', 'name'], 'Web', /DNS-1123/],
  ['name of 64 characters', ['metadata', 'name'], 'a'.repeat(64), /at most 63/],
  ['multicast MAC', ['spec', 'networks', 0, 'hwaddr'], '01:00:5E:00:00:01', /unicast MAC/],
  ['short MAC', ['spec', 'networks', 0, 'hwaddr'], '52:54:00:12:34', /unicast MAC/],
  ['IP without prefix', ['spec', 'networks', 0, 'ip'], '10.0.0.5', /IPv4 CIDR/],
  ['octet 256', ['spec', 'networks', 0, 'ip'], '10.0.0.256/24', /IPv4 CIDR/],
  ['prefix 33', ['spec', 'networks', 0, 'ip'], '10.0.0.5/33', /IPv4 CIDR/],
  ['bad IPv6 CIDR', ['spec', 'networks', 0, 'ip6'], 'fd00:::5:::/64', /IPv6 CIDR/],
  ['bridge of 16 characters', ['spec', 'networks', 0, 'bridge'], 'vmbr0123456789ab', /bridge name/],
  ['bridge starting with a digit', ['spec', 'networks', 0, 'bridge'], '0vmbr', /bridge name/],
  ['VLAN 4095', ['spec', 'networks', 0, 'tag'], 4095, /must be <= 4094/],
  ['MTU 63', ['spec', 'networks', 0, 'mtu'], 63, /must be >= 64/],
  ['disk size without unit', ['spec', 'rootfs', 'size'], '8', /size/],
  ['disk size 0G', ['spec', 'rootfs', 'size'], '0G', /size/],
  ['disk size in K', ['spec', 'rootfs', 'size'], '8K', /size/],
  ['storage id with a colon', ['spec', 'rootfs', 'storage'], 'local:8', /storage id/],
  ['relative mount path', ['spec', 'mountPoints', 0, 'path'], 'data', /absolute path/],
  ['mount path with ..', ['spec', 'mountPoints', 1, 'hostPath'], '/srv/../etc', /absolute path/],
  ['mount path ending in ..', ['spec', 'mountPoints', 1, 'hostPath'], '/srv/..', /absolute path/],
  ['uppercase tag', ['spec', 'tags', 0], 'Web', /tag/],
  ['duplicate tags', ['spec', 'tags'], ['a', 'b', 'a'], /duplicate item: the same as item 0/, ['spec', 'tags', 2]],
  ['hostname with underscore', ['spec', 'hostname'], 'web_1', /host name/],
  ['ostype unknown', ['spec', 'ostype'], 'windows', /must be one of/],
  ['powerState in wrong case', ['spec', 'powerState'], 'Running', /did you mean 'running'/],
  ['startup order negative', ['spec', 'startup', 'order'], -1, /must be >= 0/],
  ['firewall action lowercase', ['spec', 'firewall', 'rules', 0, 'action'], 'accept', /did you mean 'ACCEPT'/],
  ['firewall port 6 digits', ['spec', 'firewall', 'rules', 0, 'dport'], '123456', /port/],
  ['firewall iface eth0', ['spec', 'firewall', 'rules', 0, 'iface'], 'eth0', /net0/],
  ['service port 0', ['spec', 'services', 0, 'port'], 0, /must be >= 1/],
  ['service port 65536', ['spec', 'services', 0, 'port'], 65536, /must be <= 65535/],
  ['features not a mapping', ['spec', 'features'], ['nesting'], /must be a mapping/],
  ['networks not a list', ['spec', 'networks'], { name: 'eth0' }, /must be a list/],
  ['boolean as string', ['spec', 'onboot'], 'yes', /must be boolean/],
];

for (const [label, path, value, re, at] of reject)
  test(`rejects ${label}`, () => {
    assertRejected(withValue(lxc(), path, value), at ?? path, re);
  });

test('rejects missing required fields at the parent, naming the field', () => {
  assertRejected(withValue(lxc(), ['spec', 'rootfs'], undefined), ['spec'], /missing required field 'rootfs'/);
  assertRejected(withValue(lxc(), ['spec', 'networks', 0, 'bridge'], undefined), ['spec', 'networks', 0], /missing required field 'bridge'/);
});

test('unknown fields are rejected with a did-you-mean', () => {
  const doc = withValue(lxc(), ['spec', 'memroy'], 512);
  assertRejected(doc, ['spec', 'memroy'], /^unknown field 'memroy' \(did you mean 'memory'\?\)$/);
  assertRejected(withValue(lxc(), ['spec', 'networks', 0, 'brige'], 'x'), ['spec', 'networks', 0, 'brige'], /did you mean 'bridge'/);
  assertRejected(withValue(lxc(), ['spec', 'zzzzzz'], 1), ['spec', 'zzzzzz'], /^unknown field 'zzzzzz'$/);
});

test('status and metadata.generation are not accepted in manifests', () => {
  assertRejected(withValue(lxc(), ['status'], { conditions: [] }), ['status'], /written by the controller/);
  assertRejected(withValue(lxc(), ['metadata', 'generation'], 3), ['metadata', 'generation'], /set by the controller/);
});

test('source: exactly one way, guest needs a snapshot, a guest clone is full', () => {
  const at = (src: object) => withValue(lxc(), ['spec', 'source'], src);
  assertRejected(at({}), ['spec', 'source'], /exactly one of/);
  assertRejected(at({ template: 'a', ostemplate: 'local:vztmpl/x.tar.zst' }), ['spec', 'source'], /exactly one of/);
  assertRejected(at({ guest: 'a' }), ['spec', 'source'], /needs 'snapshot'/);
  assertRejected(at({ template: 'a', snapshot: 'snap1' }), ['spec', 'source', 'snapshot'], /only used with 'guest'/);
  assertRejected(at({ guest: 'a', snapshot: 'snap1', full: false }), ['spec', 'source', 'full'], /always a full clone/);
  assertRejected(at({ ostemplate: 'local:vztmpl/x.tar.zst', full: true }), ['spec', 'source'], /apply to clones/);
  assertRejected(at({ template: 'a', full: false, storage: 'fast' }), ['spec', 'source', 'storage'], /needs a full clone/);
  assertValid(at({ guest: 'a', snapshot: 'final-form' }));
  assertValid(at({ ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' }));
});

test('mount points: exactly one of volume or hostPath, no path twice', () => {
  assertRejected(withValue(lxc(), ['spec', 'mountPoints', 0, 'hostPath'], '/srv/x'), ['spec', 'mountPoints', 0], /exactly one of 'volume' or 'hostPath'/);
  assertRejected(withValue(lxc(), ['spec', 'mountPoints', 1, 'hostPath'], undefined), ['spec', 'mountPoints', 1], /exactly one of/);
  assertRejected(withValue(lxc(), ['spec', 'mountPoints', 1, 'path'], '/data'), ['spec', 'mountPoints', 1, 'path'], /already mounted/);
  assertRejected(withValue(lxc(), ['spec', 'networks', 1], { name: 'eth0', bridge: 'vmbr1' }), ['spec', 'networks', 1, 'name'], /duplicate interface name/);
});

test('defaults: running, unprivileged, swap 512, 1 core, 512 MiB, hostname from the name, linked clone from a template', () => {
  const bare = withValue(withValue(lxc(), ['spec', 'hostname'], undefined), ['spec', 'features'], undefined) as LxcContainer;
  const d = applyDefaults(bare).spec;
  assert.is(d.powerState, 'running');
  assert.is(d.unprivileged, true);
  assert.is(d.swap, 512);
  assert.is(d.cores, 1);
  assert.is(d.memory, 512);
  assert.is(d.restartPolicy, 'Never');
  assert.is(d.hostname, 'web');
  assert.is(d.source.full, false);
  assert.is(bare.spec.powerState, undefined, 'the input is not mutated');
  assert.is(bare.spec.source.full, undefined, 'the input source is not mutated');
  const fromGuest = KIND_DEFINITIONS.LxcContainer.defaults({ ...bare.spec, source: { guest: 'x', snapshot: 's1' } });
  assert.is(fromGuest.source.full, true);
  const explicit = KIND_DEFINITIONS.LxcContainer.defaults({ ...bare.spec, memory: 2048, unprivileged: false, powerState: 'stopped' });
  assert.equal([explicit.memory, explicit.unprivileged, explicit.powerState], [2048, false, 'stopped']);
  assert.is(validateResource(applyDefaults(bare)).issues.length, 0, 'defaults keep a resource valid');
});

test.run();
