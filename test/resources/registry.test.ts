import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KIND_DEFINITIONS, didYouMean, formatPath, kindDefinition, lookupKind, validateResource } from '../../resources/index.js';
import { KINDS } from '../../resources/types.js';
import { assertRejected, ca, lxc, lxcTemplate, vm, withValue } from '../helpers/resources.js';

test('every kind is registered with its plural, singular and short names', () => {
  const names = KINDS.map((k) => [k, KIND_DEFINITIONS[k].plural, KIND_DEFINITIONS[k].singular, KIND_DEFINITIONS[k].shortNames]);
  assert.equal(names, [
    ['Template', 'templates', 'template', ['tpl']],
    ['LxcContainer', 'lxccontainers', 'lxccontainer', ['lxc']],
    ['VirtualMachine', 'virtualmachines', 'virtualmachine', ['vm']],
    ['CertificateAuthority', 'certificateauthorities', 'certificateauthority', ['ca']],
  ]);
  for (const k of KINDS) assert.is(kindDefinition(k).kind, k);
});

test('lookupKind resolves every spelling a user types, and nothing else', () => {
  for (const [input, kind] of [
    ['lxc', 'LxcContainer'],
    ['LXC', 'LxcContainer'],
    ['lxccontainers', 'LxcContainer'],
    ['LxcContainer', 'LxcContainer'],
    ['vm', 'VirtualMachine'],
    ['virtualmachine', 'VirtualMachine'],
    ['tpl', 'Template'],
    ['templates', 'Template'],
    ['ca', 'CertificateAuthority'],
    ['certificateauthorities', 'CertificateAuthority'],
  ] as const)
    assert.is(lookupKind(input), kind, input);
  assert.is(lookupKind('pod'), undefined);
});

test('published schemas carry no `nullable` (an optional field may be absent, never null)', () => {
  for (const k of KINDS) assert.not.match(JSON.stringify(KIND_DEFINITIONS[k].schema), '"nullable"');
  for (const [doc, path] of [
    [lxc(), ['spec', 'hostname']],
    [vm(), ['spec', 'cloudInit']],
    [lxcTemplate(), ['spec', 'nameserver']],
    [ca(), ['spec', 'host']],
    [lxc(), ['metadata', 'labels']],
  ] as const)
    assertRejected(withValue(doc, [...path], null), [...path]);
});

test('documents that are not resources are named as such', () => {
  assert.equal(validateResource([1, 2]).issues.map((i) => i.message), ['a manifest must be a mapping with apiVersion, kind, metadata and spec']);
  assert.equal(validateResource({ apiVersion: 'x' }).issues.map((i) => i.message), ["missing required field 'kind'"]);
  const unknown = validateResource({ ...lxc(), kind: 'LXCContainer' });
  assert.match(unknown.issues[0]!.message, "unknown kind 'LXCContainer' (did you mean 'LxcContainer'?)");
  const badVersion = validateResource({ ...lxc(), apiVersion: 'phoenix.hypervisor/v1' });
  assert.equal(badVersion.issues.map((i) => [formatPath(i.path), i.message]), [['apiVersion', "unknown apiVersion 'phoenix.hypervisor/v1' (expected phoenix.hypervisor/v1alpha1)"]]);
  assert.equal(badVersion.ref, { kind: 'LxcContainer', name: 'web' }, 'the resource is still identified');
  assertRejected(withValue(lxc(), ['metadata'], undefined), [], /missing required field 'metadata'/);
  assertRejected(withValue(lxc(), ['metadata', 'labels'], { 'bad key': 'x' }), ['metadata', 'labels', 'bad key'], /^key 'bad key' must match/);
  assertRejected(withValue(lxc(), ['metadata', 'labels'], { app: 'has space' }), ['metadata', 'labels', 'app'], /label value/);
});

test('did-you-mean suggests near misses only', () => {
  const fields = ['memory', 'cores', 'swap', 'mountPoints', 'networks'];
  assert.is(didYouMean('memroy', fields), 'memory');
  assert.is(didYouMean('core', fields), 'cores');
  assert.is(didYouMean('MEMORY', fields), 'memory');
  assert.is(didYouMean('mountpoints', fields), 'mountPoints');
  assert.is(didYouMean('disk', fields), undefined);
  assert.is(didYouMean('x', fields), undefined);
});

test.run();
