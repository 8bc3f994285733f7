import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyDefaults } from '../../resources/index.js';
import { formatDuration, parseDuration } from '../../resources/common.js';
import type { CertificateAuthority } from '../../resources/types.js';
import { assertInjectionRejected, assertRejected, assertValid, ca, withValue } from '../helpers/resources.js';

const cert = ['spec', 'certificates', 0];

test('a full CertificateAuthority manifest is valid', () => {
  assertValid(ca());
});

test('names, DNS names, addresses, durations and paths reject injection characters', () => {
  assertInjectionRejected(ca(), [
    ['spec', 'host', 'name'],
    ['spec', 'embedded', 'rootCertPath'],
    ['spec', 'embedded', 'root', 'validity'],
    [...cert, 'name'],
    [...cert, 'commonName'],
    [...cert, 'dnsNames', 0],
    [...cert, 'dnsNames', 1],
    [...cert, 'ipAddresses', 0],
    [...cert, 'ipAddresses', 1],
    [...cert, 'duration'],
    [...cert, 'renewBefore'],
    [...cert, 'output', 'certFile'],
    [...cert, 'output', 'keyFile'],
    [...cert, 'output', 'chainFile'],
    [...cert, 'output', 'mode'],
    [...cert, 'afterRenewal', 'guest', 'name'],
  ]);
});

test('subjects and commands are single lines', () => {
  assertRejected(withValue(ca(), ['spec', 'embedded', 'root', 'commonName'], 'a\nb'), ['spec', 'embedded', 'root', 'commonName'], /single line/);
  assertRejected(withValue(ca(), [...cert, 'afterRenewal', 'command', 1], 'x\ny'), [...cert, 'afterRenewal', 'command', 1], /single line/);
  assertRejected(withValue(ca(), [...cert, 'afterRenewal', 'command'], []), [...cert, 'afterRenewal', 'command'], /at least 1 item/);
  assertValid(withValue(ca(), ['spec', 'embedded', 'root', 'commonName'], 'ThinkHeads Internal CA, Root = 1'));
});

test('output paths may not climb out of the cert dir', () => {
  for (const p of ['../etc/shadow', 'certs/../../x', 'certs/..', '..'])
    assertRejected(withValue(ca(), [...cert, 'output', 'keyFile'], p), [...cert, 'output', 'keyFile'], /without '\.\.' segments/);
  assertValid(withValue(ca(), [...cert, 'output', 'keyFile'], '/etc/ssl/private/web.key'));
  assertValid(withValue(ca(), [...cert, 'output', 'keyFile'], 'certs/web..key'));
});

const reject: Array<[string, Array<string | number>, unknown, RegExp]> = [
  ['an IP that is not one', [...cert, 'ipAddresses', 0], '10.0.0.300', /IPv4 or IPv6 address/],
  ['a bad IPv6 address', [...cert, 'ipAddresses', 1], 'fd00:::1:::', /IPv4 or IPv6 address/],
  ['a duration in days', [...cert, 'duration'], '30d', /duration/],
  ['mode 0999', [...cert, 'output', 'mode'], '0999', /octal file mode/],
  ['a negative owner', [...cert, 'output', 'owner'], -1, /must be >= 0/],
  ['an unknown key algorithm', [...cert, 'keyAlgorithm'], 'DSA-1024', /must be one of/],
  ['a double wildcard', [...cert, 'dnsNames', 1], '*.*.example', /DNS name/],
  ['an unknown backend', ['spec', 'backend'], 'vault', /must be one of: embedded, step-ca/],
];
for (const [label, path, value, re] of reject)
  test(`rejects ${label}`, () => {
    assertRejected(withValue(ca(), path, value), path, re);
  });

test('backend rules, host kind, unique certificate names, renewBefore < duration', () => {
  assertRejected(withValue(ca(), ['spec', 'embedded'], undefined), ['spec'], /embedded backend needs 'embedded'/);
  const stepCa = { url: 'https://10.0.0.10:9000', rootFingerprint: 'a'.repeat(64), provisioner: 'admin@example' };
  const viaStep = withValue(withValue(withValue(ca(), ['spec', 'backend'], 'step-ca'), ['spec', 'embedded'], undefined), ['spec', 'stepCa'], stepCa);
  assertValid(viaStep);
  assertRejected(withValue(viaStep, ['spec', 'stepCa'], undefined), ['spec'], /needs 'stepCa'/);
  assertRejected(withValue(viaStep, ['spec', 'stepCa', 'url'], 'http://10.0.0.10:9000'), ['spec', 'stepCa', 'url'], /https/);
  assertRejected(withValue(viaStep, ['spec', 'stepCa', 'rootFingerprint'], 'abc'), ['spec', 'stepCa', 'rootFingerprint'], /64 hex digits/);
  assertRejected(withValue(ca(), ['spec', 'host', 'kind'], 'Template'), ['spec', 'host', 'kind'], /LxcContainer or VirtualMachine/);
  const two = withValue(ca(), ['spec', 'certificates', 1], { ...ca().spec.certificates[0] });
  assertRejected(two, ['spec', 'certificates', 1, 'name'], /duplicate certificate name 'web'/);
  assertRejected(withValue(ca(), [...cert, 'renewBefore'], '720h'), [...cert, 'renewBefore'], /shorter than duration/);
  assertRejected(withValue(ca(), [...cert, 'duration'], '0s'), [...cert, 'duration'], /longer than 0s/);
});

test('Go durations parse and format', () => {
  assert.is(parseDuration('24h'), 86_400_000);
  assert.is(parseDuration('1h30m'), 5_400_000);
  assert.is(parseDuration('1.5h'), 5_400_000);
  assert.is(parseDuration('250ms'), 250);
  assert.is(parseDuration('30d'), undefined);
  assert.is(parseDuration(''), undefined);
  assert.is(formatDuration(8 * 3_600_000), '8h');
  assert.is(formatDuration(5_400_000), '1h30m');
  assert.is(formatDuration(0), '0s');
});

test('defaults: embedded backend, ECDSA-P256, 24h certificates renewed a third before expiry', () => {
  const doc = ca() as CertificateAuthority;
  delete doc.spec.backend;
  delete doc.spec.certificates![0]!.duration;
  delete doc.spec.certificates![0]!.renewBefore;
  const d = applyDefaults(doc).spec;
  assert.is(d.backend, 'embedded');
  assert.is(d.embedded!.keyAlgorithm, 'ECDSA-P256');
  assert.equal([d.certificates![0]!.duration, d.certificates![0]!.renewBefore, d.certificates![0]!.keyAlgorithm], ['24h', '8h', 'ECDSA-P256']);
  const long = applyDefaults(withValue(doc, [...cert, 'duration'], '90h') as CertificateAuthority).spec;
  assert.is(long.certificates![0]!.renewBefore, '30h');
  assert.is(doc.spec.certificates![0]!.duration, undefined, 'the input is not mutated');
});

test.run();
