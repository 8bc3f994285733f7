import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decideRenewal,
  expectedDnsNames,
  expiryWarningDue,
  leafPolicy,
  nextCheckDelay,
  parseDuration,
  type DesiredLeaf,
  type ObservedLeaf,
} from '../../controller/ca/issue.js';

const H = 3_600_000;

test('parseDuration reads Go-style durations and refuses everything else', () => {
  const ok: [string, number][] = [
    ['24h', 24 * H],
    ['1h30m', 1.5 * H],
    ['90s', 90_000],
    ['1.5h', 1.5 * H],
    ['250ms', 250],
    ['87600h', 87600 * H],
  ];
  for (const [text, ms] of ok) assert.is(parseDuration(text), ms, text);
  for (const bad of ['', '24', '1d', 'h', '-1h', '0s', '1h 30m', '30d', 'abc', '5us']) {
    assert.throws(() => parseDuration(bad), undefined, bad);
  }
});

test('leafPolicy: defaults to 24h and a third of the duration; renewBefore must be shorter', () => {
  assert.equal(leafPolicy({}), { durationMs: 24 * H, renewBeforeMs: 8 * H });
  assert.equal(leafPolicy({ duration: '12h' }), { durationMs: 12 * H, renewBeforeMs: 4 * H });
  assert.equal(leafPolicy({ duration: '24h', renewBefore: '12h' }), { durationMs: 24 * H, renewBeforeMs: 12 * H });
  assert.throws(() => leafPolicy({ duration: '1h', renewBefore: '1h' }), /renewBefore/);
  assert.throws(() => leafPolicy({ duration: '1d' }), /not a duration/);
});

test('expectedDnsNames adds a DNS common name, not an IP one, normalised', () => {
  assert.equal(expectedDnsNames({ commonName: 'A.example', dnsNames: ['b.example', 'a.example'], ipAddresses: [] }), ['a.example', 'b.example']);
  assert.equal(expectedDnsNames({ commonName: '10.0.0.5', dnsNames: ['x'], ipAddresses: ['10.0.0.5'] }), ['x']);
});

const now = new Date('2026-01-01T12:00:00Z');
const desired: DesiredLeaf = {
  commonName: 'nginx.internal.thinkheads.ai',
  dnsNames: ['portainer.internal.thinkheads.ai'],
  ipAddresses: ['10.0.0.101'],
  policy: leafPolicy({ duration: '24h' }),
};
function present(over: Partial<Extract<ObservedLeaf, { state: 'present' }>> = {}): ObservedLeaf {
  return {
    state: 'present',
    commonName: desired.commonName,
    dnsNames: ['portainer.internal.thinkheads.ai', 'nginx.internal.thinkheads.ai'],
    ipAddresses: ['10.0.0.101'],
    notBefore: new Date(now.getTime() - 2 * H - 60_000),
    notAfter: new Date(now.getTime() + 22 * H),
    keyMatches: true,
    issuedByCa: true,
    ...over,
  };
}

test('decideRenewal: table of rules, first match wins', () => {
  const rows: [string, ObservedLeaf, Date, string | false][] = [
    ['fresh certificate', present(), now, false],
    ['missing files', { state: 'missing', detail: 'no cert' }, now, 'Missing'],
    ['garbage on disk', { state: 'unreadable', detail: 'bad pem' }, now, 'Unreadable'],
    ['foreign issuer beats everything else', present({ issuedByCa: false, keyMatches: false }), now, 'ForeignIssuer'],
    ['key does not match', present({ keyMatches: false }), now, 'KeyMismatch'],
    ['common name changed', present({ commonName: 'old.example' }), now, 'SubjectChanged'],
    ['a DNS SAN removed from the spec', present({ dnsNames: [...(present() as any).dnsNames, 'extra.example'] }), now, 'SansChanged'],
    ['a DNS SAN added to the spec', present({ dnsNames: ['nginx.internal.thinkheads.ai'] }), now, 'SansChanged'],
    ['SAN order and case do not matter', present({ dnsNames: ['NGINX.internal.thinkheads.ai', 'portainer.internal.thinkheads.ai'] }), now, false],
    ['an IP SAN changed', present({ ipAddresses: ['10.0.0.102'] }), now, 'SansChanged'],
    ['expired', present({ notAfter: new Date(now.getTime() - 1) }), now, 'Expired'],
    ['validity longer than declared (duration shortened)', present({ notBefore: new Date(now.getTime() - 26 * H) }), now, 'DurationShortened'],
    ['backdating within the slack is not a change', present({ notBefore: new Date(now.getTime() - 2 * H - 4 * 60_000) }), now, false],
    ['one ms before the renewal time', present(), new Date(now.getTime() + 14 * H - 1), false],
    ['exactly at the renewal time', present(), new Date(now.getTime() + 14 * H), 'RenewalDue'],
    ['inside the renewal window', present(), new Date(now.getTime() + 20 * H), 'RenewalDue'],
  ];
  for (const [name, observed, at, want] of rows) {
    const d = decideRenewal(desired, observed, at);
    if (want === false) {
      assert.is(d.renew, false, name);
      if (!d.renew) assert.is(d.renewalTime.toISOString(), new Date(now.getTime() + 14 * H).toISOString(), name);
    } else {
      assert.is(d.renew, true, name);
      if (d.renew) assert.is(d.reason, want, name);
    }
  }
});

test('a longer duration in the spec does not force an early renewal (a capped CA would loop)', () => {
  const longer = { ...desired, policy: leafPolicy({ duration: '48h' }) };
  assert.is(decideRenewal(longer, present(), now).renew, false);
});

test('expiryWarningDue: once half the renewal window is gone', () => {
  const p = leafPolicy({ duration: '24h' });
  const notAfter = new Date(now.getTime() + 4 * H);
  assert.is(expiryWarningDue(notAfter, p, now), true);
  assert.is(expiryWarningDue(notAfter, p, new Date(now.getTime() - 1)), false);
});

test('nextCheckDelay: the earliest renewal, at least a second, at most the cap', () => {
  assert.is(nextCheckDelay([], now), H);
  assert.is(nextCheckDelay([new Date(now.getTime() + 5000), new Date(now.getTime() + 2 * H)], now), 5000);
  assert.is(nextCheckDelay([new Date(now.getTime() - 5000)], now), 1000);
});

test.run();
