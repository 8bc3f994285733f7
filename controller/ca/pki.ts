// PKI building blocks shared by both backends: key pairs, certificates built with @peculiar/x509 over
// node:crypto's WebCrypto (no hand-written ASN.1), PEM handling, and inspection of what is on disk
// with node:crypto's X509Certificate.
// @peculiar/x509 resolves its parsers through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { createHash, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import type { X509Certificate } from 'node:crypto';
import type { webcrypto as wc } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import type { CaCertificateStatus, KeyAlgorithm } from '../../resources/types.js';

x509.cryptoProvider.set(webcrypto as any);
const subtle = webcrypto.subtle;

export const DEFAULT_KEY_ALGORITHM: KeyAlgorithm = 'ECDSA-P256';

interface AlgParams {
  gen: wc.EcKeyGenParams | wc.RsaHashedKeyGenParams;
  import: wc.EcKeyImportParams | wc.RsaHashedImportParams;
  sign: wc.EcdsaParams | wc.Algorithm;
}

function algParams(alg: KeyAlgorithm): AlgParams {
  switch (alg) {
    case 'ECDSA-P256':
    case 'ECDSA-P384': {
      const namedCurve = alg === 'ECDSA-P256' ? 'P-256' : 'P-384';
      const hash = alg === 'ECDSA-P256' ? 'SHA-256' : 'SHA-384';
      return { gen: { name: 'ECDSA', namedCurve }, import: { name: 'ECDSA', namedCurve }, sign: { name: 'ECDSA', hash } as wc.EcdsaParams };
    }
    case 'RSA-2048':
    case 'RSA-4096': {
      const modulusLength = alg === 'RSA-2048' ? 2048 : 4096;
      const rsa = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
      return { gen: { ...rsa, modulusLength, publicExponent: new Uint8Array([1, 0, 1]) }, import: rsa, sign: rsa };
    }
    default:
      throw new Error(`unsupported key algorithm ${String(alg)}`);
  }
}

/** The key algorithm of a PKCS#8 PEM private key, read from the key itself. */
export function keyAlgorithmOf(pem: string): KeyAlgorithm {
  const k = createPrivateKey(pem);
  const d = k.asymmetricKeyDetails ?? {};
  if (k.asymmetricKeyType === 'ec' && d.namedCurve === 'prime256v1') return 'ECDSA-P256';
  if (k.asymmetricKeyType === 'ec' && d.namedCurve === 'secp384r1') return 'ECDSA-P384';
  if (k.asymmetricKeyType === 'rsa' && d.modulusLength === 2048) return 'RSA-2048';
  if (k.asymmetricKeyType === 'rsa' && d.modulusLength === 4096) return 'RSA-4096';
  throw new Error(`unsupported private key type ${k.asymmetricKeyType} ${JSON.stringify(d)}`);
}

export async function generateKeyPair(alg: KeyAlgorithm): Promise<wc.CryptoKeyPair> {
  return (await subtle.generateKey(algParams(alg).gen, true, ['sign', 'verify'])) as wc.CryptoKeyPair;
}

export function signingAlgorithm(alg: KeyAlgorithm): wc.EcdsaParams | wc.Algorithm {
  return algParams(alg).sign;
}

export async function exportKeyPem(key: wc.CryptoKey): Promise<string> {
  const der = await subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

export async function importKeyPem(pem: string): Promise<{ key: wc.CryptoKey; alg: KeyAlgorithm }> {
  const alg = keyAlgorithmOf(pem);
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  const key = await subtle.importKey('pkcs8', der, algParams(alg).import, false, ['sign']);
  return { key, alg };
}

/** A random positive 16-byte serial number, as hex. */
export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01; // positive, and no leading zero byte to be stripped
  return b.toString('hex');
}

export function subjectName(commonName: string, organization?: string): x509.JsonName {
  return organization ? [{ O: [organization] }, { CN: [commonName] }] : [{ CN: [commonName] }];
}

export interface CaCertParams {
  commonName: string;
  organization?: string;
  notBefore: Date;
  notAfter: Date;
  keys: wc.CryptoKeyPair;
  alg: KeyAlgorithm;
}

/** A self-signed root: CA:true (critical), keyCertSign + cRLSign, SKI. */
export async function createRootCert(p: CaCertParams): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: subjectName(p.commonName, p.organization),
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    keys: p.keys,
    signingAlgorithm: signingAlgorithm(p.alg),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(p.keys.publicKey),
    ],
  });
}

export interface Signer {
  cert: x509.X509Certificate;
  key: wc.CryptoKey;
  alg: KeyAlgorithm;
}

/** An intermediate under `issuer`: CA:true with pathLen 0, keyCertSign + cRLSign, SKI/AKI. */
export async function createIntermediateCert(p: CaCertParams, issuer: Signer): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: subjectName(p.commonName, p.organization),
    issuer: issuer.cert.subjectName,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    publicKey: p.keys.publicKey,
    signingKey: issuer.key,
    signingAlgorithm: signingAlgorithm(issuer.alg),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(p.keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.cert.publicKey),
    ],
  });
}

export interface LeafParams {
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: Date;
  notAfter: Date;
  publicKey: wc.CryptoKey | x509.PublicKey;
}

/** A TLS leaf: CA:false, digitalSignature (+keyEncipherment for RSA), serverAuth + clientAuth, SANs, SKI/AKI. */
export async function createLeafCert(p: LeafParams, issuer: Signer): Promise<x509.X509Certificate> {
  const pub = p.publicKey instanceof x509.PublicKey ? p.publicKey : await x509.PublicKey.create(p.publicKey);
  const rsa = pub.algorithm.name.startsWith('RSA');
  const names: x509.JsonGeneralNames = [
    ...p.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...p.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
  ];
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: subjectName(p.commonName),
    issuer: issuer.cert.subjectName,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    publicKey: pub,
    signingKey: issuer.key,
    signingAlgorithm: signingAlgorithm(issuer.alg),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | (rsa ? x509.KeyUsageFlags.keyEncipherment : 0), true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.SubjectKeyIdentifierExtension.create(pub),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.cert.publicKey),
    ],
  });
}

/** A PKCS#10 request for a leaf (used with step-ca), carrying the SANs as an extension request. */
export async function createCsr(
  p: { commonName: string; dnsNames: string[]; ipAddresses: string[] },
  keys: wc.CryptoKeyPair,
  alg: KeyAlgorithm,
): Promise<string> {
  const names: x509.JsonGeneralNames = [
    ...p.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...p.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
  ];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subjectName(p.commonName),
    keys,
    signingAlgorithm: signingAlgorithm(alg),
    extensions: [new x509.SubjectAlternativeNameExtension(names)],
  });
  return csr.toString('pem');
}

// ---------------------------------------------------------------------------------------------
// PEM and inspection

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The CERTIFICATE blocks of a PEM bundle, in order, each ending with a newline. */
export function splitCertificates(pem: string): string[] {
  return (pem.match(PEM_CERT) ?? []).map((b) => `${b}\n`);
}

export function sha256Fingerprint(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

/** Normalise a fingerprint as written by people or tools: hex, any case, optional colons. */
export function normaliseFingerprint(fp: string): string {
  return fp.replace(/:/g, '').toLowerCase();
}

export function caCertificateStatus(cert: X509Certificate): CaCertificateStatus {
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    sha256Fingerprint: sha256Fingerprint(cert),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: new Date(cert.validTo).toISOString(),
  };
}

/** Canonical text of an IP address: IPv4 as is, IPv6 expanded to eight lower-case groups without leading zeros. */
export function normaliseIp(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  let s = ip.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    s = s.slice(0, -v4[1]!.length) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => parseInt(g, 16).toString(16)).join(':');
}

export function commonNameOf(cert: X509Certificate): string {
  for (const line of cert.subject.split('\n')) if (line.startsWith('CN=')) return line.slice(3);
  return '';
}

/** DNS and IP SANs of a certificate, read from node's rendering of the extension. */
export function sansOf(cert: X509Certificate): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const part of (cert.subjectAltName ?? '').split(', ')) {
    if (part.startsWith('DNS:')) dnsNames.push(part.slice(4));
    else if (part.startsWith('IP Address:')) ipAddresses.push(normaliseIp(part.slice(11)));
  }
  return { dnsNames, ipAddresses };
}

/** Whether `cert` was signed by `issuer` (names chain and the signature verifies). */
export function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * Whether `leaf` chains to one of `roots`, directly or through one of `intermediates` that is itself
 * signed by a root and is a CA. Anything found on disk may be offered as an intermediate: the path
 * must still end at a root this CA holds or pinned.
 */
export function chainsTo(leaf: X509Certificate, intermediates: X509Certificate[], roots: X509Certificate[]): boolean {
  if (roots.some((r) => issuedBy(leaf, r))) return true;
  return intermediates.some((i) => i.ca && issuedBy(leaf, i) && roots.some((r) => issuedBy(i, r)));
}

/** Whether a PEM private key belongs to the certificate. */
export function keyMatchesCert(cert: X509Certificate, keyPem: string): boolean {
  try {
    return cert.checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

export { x509 };
