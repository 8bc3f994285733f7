import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyDefaults } from '../../resources/index.js';
import type { VirtualMachine } from '../../resources/types.js';
import { assertInjectionRejected, assertRejected, assertValid, vm, withValue } from '../helpers/resources.js';

test('a full VirtualMachine manifest is valid', () => {
  assertValid(vm());
});

test('every property-string-bound field rejects every injection character', () => {
  assertInjectionRejected(vm(), [
    ['metadata', 'name'],
    ['spec', 'node'],
    ['spec', 'cpu'],
    ['spec', 'source', 'template'],
    ['spec', 'disks', 0, 'slot'],
    ['spec', 'disks', 0, 'storage'],
    ['spec', 'disks', 0, 'size'],
    ['spec', 'networks', 0, 'bridge'],
    ['spec', 'networks', 0, 'hwaddr'],
    ['spec', 'cloudInit', 'user'],
    ['spec', 'cloudInit', 'ipConfig', 0, 'ip'],
    ['spec', 'cloudInit', 'ipConfig', 0, 'gw'],
    ['spec', 'cloudInit', 'ipConfig', 0, 'ip6'],
    ['spec', 'cloudInit', 'ipConfig', 0, 'gw6'],
    ['spec', 'cloudInit', 'nameserver'],
    ['spec', 'cloudInit', 'searchdomain'],
    ['spec', 'tags', 0],
  ]);
  assertInjectionRejected(withValue(vm(), ['spec', 'source'], { guest: 'golden', snapshot: 'clean', storage: 'fast-pool' }), [
    ['spec', 'source', 'guest'],
    ['spec', 'source', 'snapshot'],
    ['spec', 'source', 'storage'],
  ]);
});

test('an SSH key is one line: CR, LF and NUL are rejected, the rest of a key comment is free', () => {
  for (const bad of ['ssh-ed25519 AAAA a\nssh-rsa BBBB b', 'ssh-ed25519 AAAA\r', 'ssh-ed25519 AAAA\u0000', 'AAAA no type'])
    assertRejected(withValue(vm(), ['spec', 'cloudInit', 'sshKeys', 0], bad), ['spec', 'cloudInit', 'sshKeys', 0], /single line|OpenSSH/);
  assertValid(withValue(vm(), ['spec', 'cloudInit', 'sshKeys', 0], 'ssh-ed25519 AAAAC3Nz me@host, 100% mine'));
});

const reject: Array<[string, Array<string | number>, unknown, RegExp]> = [
  ['sockets 5', ['spec', 'sockets'], 5, /must be <= 4/],
  ['memory 8', ['spec', 'memory'], 8, /must be >= 16/],
  ['disk slot scsi31', ['spec', 'disks', 0, 'slot'], 'scsi31', /disk slot/],
  ['disk slot efidisk0', ['spec', 'disks', 0, 'slot'], 'efidisk0', /disk slot/],
  ['network model e1001', ['spec', 'networks', 0, 'model'], 'e1001', /must be one of/],
  ['cloud-init ip manual', ['spec', 'cloudInit', 'ipConfig', 0, 'ip'], 'manual', /IPv4 CIDR/],
  ['cloud-init gateway with prefix', ['spec', 'cloudInit', 'ipConfig', 0, 'gw'], '10.0.0.1/24', /IPv4 address/],
  ['cloud-init user uppercase', ['spec', 'cloudInit', 'user'], 'Admin', /user name/],
  ['ostype l27', ['spec', 'ostype'], 'l27', /must be one of/],
];
for (const [label, path, value, re] of reject)
  test(`rejects ${label}`, () => {
    assertRejected(withValue(vm(), path, value), path, re);
  });

test('a VM comes from a template or a guest, never from a container ostemplate', () => {
  const src = ['spec', 'source'];
  assertRejected(withValue(vm(), src, { ostemplate: 'local:vztmpl/x.tar.zst' }), [...src, 'ostemplate'], /cannot be created from a container template/);
  assertRejected(withValue(vm(), src, {}), src, /exactly one of 'template' or 'guest' \(with 'snapshot'\)$/);
});

test('semantic rules: unique disk slots, balloon within memory, no more ipConfigs than networks', () => {
  assertRejected(withValue(vm(), ['spec', 'disks', 1], { slot: 'scsi0', storage: 'x1', size: '1G' }), ['spec', 'disks', 1, 'slot'], /duplicate disk slot 'scsi0'/);
  assertRejected(withValue(vm(), ['spec', 'balloon'], 8192), ['spec', 'balloon'], /must not exceed memory/);
  assertValid(withValue(vm(), ['spec', 'balloon'], 1024));
  assertRejected(withValue(vm(), ['spec', 'cloudInit', 'ipConfig', 1], { ip: 'dhcp' }), ['spec', 'cloudInit', 'ipConfig'], /more entries than/);
});

test('defaults: running, 1 core, 1 socket, 2048 MiB, full clone', () => {
  const bare = withValue(withValue(vm(), ['spec', 'cores'], undefined), ['spec', 'memory'], undefined) as VirtualMachine;
  const d = applyDefaults(bare).spec;
  assert.equal([d.powerState, d.cores, d.sockets, d.memory, d.source.full, d.restartPolicy], ['running', 1, 1, 2048, true, 'Never']);
  const linked = applyDefaults(withValue(bare, ['spec', 'source', 'full'], false) as VirtualMachine).spec;
  assert.is(linked.source.full, false, 'an explicit linked clone stays linked');
  assert.is(bare.spec.source.full, undefined, 'the input is not mutated');
});

test.run();
