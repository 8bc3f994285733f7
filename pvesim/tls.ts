// The emulator's self-signed TLS certificate (ECDSA P-256), made with @peculiar/x509 over node's
// webcrypto. Stored next to the state file (<state>.cert.pem / <state>.key.pem, 0600) and reused on
// restart; without a state file it lives in a private temp dir and is reused within the process.
import { X509Certificate, createHash, webcrypto } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { writeFileAtomic } from './model/persist.js';

export interface TlsMaterial {
  certPem: string;
  keyPem: string;
  /** SHA-256 of the DER certificate, colon-separated uppercase hex (as Proxmox shows it). */
  fingerprint: string;
  certFile: string;
  keyFile: string;
}

const pem = (label: string, der: ArrayBuffer): string => {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
};

export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

/** SHA-256 fingerprint computed by hand (used to cross-check node's). */
export function fingerprintOfDer(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

export async function generateCert(hosts: string[]): Promise<{ certPem: string; keyPem: string }> {
  type X509Crypto = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[1];
  type X509Keys = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];
  const crypto = webcrypto;
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const names: Array<{ type: 'dns' | 'ip'; value: string }> = [];
  for (const h of new Set(['localhost', '127.0.0.1', '::1', ...hosts])) {
    names.push({ type: /^[\d.]+$/.test(h) || h.includes(':') ? 'ip' : 'dns', value: h });
  }
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
      name: 'CN=pvesim.invalid, O=PVE Cluster Node, OU=pvesim',
      notBefore: new Date(now - 86400_000),
      notAfter: new Date(now + 2 * 365 * 86400_000),
      signingAlgorithm: alg,
      keys: keys as unknown as X509Keys,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names),
      ],
    },
    crypto as unknown as X509Crypto,
  );
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { certPem: cert.toString('pem') + '\n', keyPem: pem('PRIVATE KEY', pkcs8) };
}

let processCert: Promise<TlsMaterial> | undefined;

/** Load the certificate stored beside statePath, or make one (and store it). */
export async function loadOrCreateCert(statePath: string | undefined, hosts: string[]): Promise<TlsMaterial> {
  if (!statePath) {
    processCert ??= (async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pvesim-tls-'));
      return create(join(dir, 'pvesim.cert.pem'), join(dir, 'pvesim.key.pem'), hosts);
    })();
    return processCert;
  }
  const certFile = `${statePath}.cert.pem`;
  const keyFile = `${statePath}.key.pem`;
  if (existsSync(certFile) && existsSync(keyFile)) {
    const certPem = readFileSync(certFile, 'utf8');
    return { certPem, keyPem: readFileSync(keyFile, 'utf8'), fingerprint: fingerprintOf(certPem), certFile, keyFile };
  }
  return create(certFile, keyFile, hosts);
}

async function create(certFile: string, keyFile: string, hosts: string[]): Promise<TlsMaterial> {
  const { certPem, keyPem } = await generateCert(hosts);
  writeFileAtomic(keyFile, keyPem);
  writeFileAtomic(certFile, certPem);
  return { certPem, keyPem, fingerprint: fingerprintOf(certPem), certFile, keyFile };
}
