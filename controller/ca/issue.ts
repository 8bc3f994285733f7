// Issuance policy: when a certificate must be (re)issued. Pure functions over what is declared and
// what was observed on disk, so every rule is a row in a table test (test/ca/issue.test.ts).
import type { CertificateSpec } from '../../resources/types.js';
import { formatDuration, parseDuration as parseGoDuration } from '../../resources/common.js';

/**
 * Parse a Go-style duration ("24h", "1h30m", "90s", "1.5h") to milliseconds. Throws a message naming
 * the value when it is not one; zero is refused (a certificate cannot live for no time).
 */
export function parseDuration(text: string): number {
  const ms = parseGoDuration(text);
  if (ms === undefined) throw new Error(`"${text}" is not a duration (use h, m, s, ms, e.g. "24h" or "1h30m")`);
  if (ms <= 0) throw new Error(`"${text}" must be longer than zero`);
  return Math.round(ms);
}

export const DEFAULT_DURATION = '24h';

export interface LeafPolicy {
  durationMs: number;
  renewBeforeMs: number;
}

/** Duration and renewal window of a declared certificate, with their defaults; throws on bad values. */
export function leafPolicy(spec: Pick<CertificateSpec, 'duration' | 'renewBefore'>): LeafPolicy {
  const durationMs = parseDuration(spec.duration ?? DEFAULT_DURATION);
  const renewBeforeMs = spec.renewBefore === undefined ? Math.floor(durationMs / 3) : parseDuration(spec.renewBefore);
  if (renewBeforeMs >= durationMs) {
    throw new Error(`renewBefore (${spec.renewBefore}) must be shorter than duration (${spec.duration ?? DEFAULT_DURATION})`);
  }
  return { durationMs, renewBeforeMs };
}

/** The identity a certificate must carry. */
export interface DesiredLeaf {
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  policy: LeafPolicy;
}

/** What is on disk, as read by the reconciler. */
export type ObservedLeaf =
  | { state: 'missing'; detail: string }
  | { state: 'unreadable'; detail: string }
  | {
      state: 'present';
      commonName: string;
      dnsNames: string[];
      ipAddresses: string[];
      notBefore: Date;
      notAfter: Date;
      /** The private key in keyFile belongs to the certificate. */
      keyMatches: boolean;
      /** The certificate chains to this CA (its issuer's signature verifies). */
      issuedByCa: boolean;
    };

export type RenewReason =
  | 'Missing'
  | 'Unreadable'
  | 'KeyMismatch'
  | 'ForeignIssuer'
  | 'SubjectChanged'
  | 'SansChanged'
  | 'DurationShortened'
  | 'Expired'
  | 'RenewalDue';

export type RenewalDecision =
  | { renew: true; reason: RenewReason; message: string }
  | { renew: false; renewalTime: Date };

/**
 * Slack allowed between the declared duration and the certificate's validity period: issuers backdate
 * notBefore by a minute against clock skew (phoenix and step-ca both do), so a 24h certificate spans
 * 24h01m. Only a period longer than declared plus this slack counts as a shortened duration.
 */
export const VALIDITY_SLACK_MS = 5 * 60_000;

/** Normalise a SAN list for comparison: lower-case DNS names, sorted, without duplicates. */
export function normaliseNames(names: readonly string[], lower = true): string[] {
  return [...new Set(names.map((n) => (lower ? n.toLowerCase() : n)))].sort();
}

/** The DNS SANs a leaf carries: the declared names, plus the common name when it is a DNS name. */
export function expectedDnsNames(d: Pick<DesiredLeaf, 'commonName' | 'dnsNames' | 'ipAddresses'>): string[] {
  const cnIsIp = d.ipAddresses.includes(d.commonName) || /^[\d.]+$|:/.test(d.commonName);
  return normaliseNames(cnIsIp ? d.dnsNames : [d.commonName, ...d.dnsNames]);
}

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** When the certificate on disk is due (notAfter - renewBefore). */
export function renewalTime(notAfter: Date, policy: LeafPolicy): Date {
  return new Date(notAfter.getTime() - policy.renewBeforeMs);
}

/** Decide whether a certificate must be issued now; rules are checked in order, first match wins. */
export function decideRenewal(desired: DesiredLeaf, observed: ObservedLeaf, now: Date): RenewalDecision {
  if (observed.state === 'missing') return { renew: true, reason: 'Missing', message: observed.detail };
  if (observed.state === 'unreadable') return { renew: true, reason: 'Unreadable', message: observed.detail };
  if (!observed.issuedByCa) return { renew: true, reason: 'ForeignIssuer', message: 'the certificate on disk was not issued by this CA' };
  if (!observed.keyMatches) return { renew: true, reason: 'KeyMismatch', message: 'the key on disk does not match the certificate' };
  if (observed.commonName !== desired.commonName) {
    return { renew: true, reason: 'SubjectChanged', message: `common name ${observed.commonName} -> ${desired.commonName}` };
  }
  const wantDns = expectedDnsNames(desired);
  const haveDns = normaliseNames(observed.dnsNames);
  const wantIp = normaliseNames(desired.ipAddresses, false);
  const haveIp = normaliseNames(observed.ipAddresses, false);
  if (!sameList(wantDns, haveDns) || !sameList(wantIp, haveIp)) {
    return {
      renew: true,
      reason: 'SansChanged',
      message: `SANs ${[...haveDns, ...haveIp].join(',') || '(none)'} -> ${[...wantDns, ...wantIp].join(',') || '(none)'}`,
    };
  }
  if (now.getTime() >= observed.notAfter.getTime()) {
    return { renew: true, reason: 'Expired', message: `expired at ${observed.notAfter.toISOString()}` };
  }
  const validity = observed.notAfter.getTime() - observed.notBefore.getTime();
  if (validity > desired.policy.durationMs + VALIDITY_SLACK_MS) {
    return {
      renew: true,
      reason: 'DurationShortened',
      message: `validity ${formatDuration(validity)} is longer than the declared ${formatDuration(desired.policy.durationMs)}`,
    };
  }
  const due = renewalTime(observed.notAfter, desired.policy);
  if (now.getTime() >= due.getTime()) {
    return { renew: true, reason: 'RenewalDue', message: `within renewBefore since ${due.toISOString()}` };
  }
  return { renew: false, renewalTime: due };
}

/**
 * Whether a failing renewal deserves a Warning about the coming expiry: once half the renewal window
 * has passed without a new certificate (for a 24h certificate renewed at 8h left: under 4h left).
 */
export function expiryWarningDue(notAfter: Date, policy: LeafPolicy, now: Date): boolean {
  return notAfter.getTime() - now.getTime() <= policy.renewBeforeMs / 2;
}

/** Delay until the next reconcile should look at a set of certificates (earliest renewal time). */
export function nextCheckDelay(renewalTimes: Date[], now: Date, maxMs = 3_600_000): number {
  let delay = maxMs;
  for (const t of renewalTimes) delay = Math.min(delay, Math.max(1000, t.getTime() - now.getTime()));
  return delay;
}
