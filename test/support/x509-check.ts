// Independent checks of issued files: node:crypto's X509Certificate and the real `openssl verify`.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';

export const pemBlocks = (text: string) => text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];

export interface Expect {
  certFile: string;
  keyFile: string;
  rootPem: string;
  commonName: string;
  dnsNames: string[];
  ipAddresses?: string[];
  durationMs: number;
  keyMode: number;
  /** Time to verify at (openssl -attime); default now. */
  at?: Date;
}

/** Check one issued certificate thoroughly; returns the parsed leaf. */
export function checkIssued(e: Expect): X509Certificate {
  const bundle = readFileSync(e.certFile, 'utf8');
  const [leafPem, interPem] = pemBlocks(bundle);
  assert.ok(leafPem && interPem, 'certFile holds the leaf and the intermediate');
  const leaf = new X509Certificate(leafPem!);
  const inter = new X509Certificate(interPem!);
  const root = new X509Certificate(e.rootPem);
  // chain
  assert.ok(leaf.checkIssued(inter) && leaf.verify(inter.publicKey), 'leaf signed by the intermediate');
  assert.ok(inter.checkIssued(root) && inter.verify(root.publicKey), 'intermediate signed by the root');
  assert.ok(inter.ca && root.ca && !leaf.ca, 'CA flags');
  // identity
  assert.match(leaf.subject, new RegExp(`CN=${e.commonName.replace(/\./g, '\\.')}`));
  const sans = (leaf.subjectAltName ?? '').split(', ');
  const dns = sans.filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4)).sort();
  assert.equal(dns, [...new Set([e.commonName, ...e.dnsNames])].sort(), 'DNS SANs');
  const ips = sans.filter((s) => s.startsWith('IP Address:')).map((s) => s.slice(11)).sort();
  assert.equal(ips, [...(e.ipAddresses ?? [])].sort(), 'IP SANs');
  assert.ok(leaf.keyUsage?.includes('1.3.6.1.5.5.7.3.1'), 'serverAuth');
  // validity: duration as declared (the issuer may backdate notBefore by up to a minute)
  const span = Date.parse(leaf.validTo) - Date.parse(leaf.validFrom);
  assert.ok(span >= e.durationMs && span <= e.durationMs + 61_000, `validity span ${span} for ${e.durationMs}`);
  // key
  const keyPem = readFileSync(e.keyFile, 'utf8');
  assert.ok(leaf.checkPrivateKey(createPrivateKey(keyPem)), 'key matches the certificate');
  assert.is(statSync(e.keyFile).mode & 0o777, e.keyMode, 'key file mode');
  // the real openssl, with the root as the only trust anchor
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-openssl-'));
  try {
    writeFileSync(join(dir, 'root.crt'), e.rootPem);
    writeFileSync(join(dir, 'intermediate.crt'), interPem!);
    writeFileSync(join(dir, 'leaf.crt'), leafPem!);
    const args = ['verify', '-purpose', 'sslserver', '-CAfile', join(dir, 'root.crt'), '-untrusted', join(dir, 'intermediate.crt')];
    if (e.at) args.push('-attime', String(Math.floor(e.at.getTime() / 1000)));
    const out = execFileSync('openssl', [...args, join(dir, 'leaf.crt')], { encoding: 'utf8' });
    assert.match(out, /leaf\.crt: OK/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return leaf;
}
