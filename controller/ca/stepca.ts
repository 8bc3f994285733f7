// The step-ca backend: an existing smallstep step-ca, reached over TLS verified against the root whose
// SHA-256 fingerprint the manifest pins. Certificates are requested through POST /1.0/sign with a
// one-time token (a JWT signed by the JWK provisioner's key, claims as `step ca certificate` sends).
// Private keys of the leaves are generated here and never leave the controller.
import { X509Certificate, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import * as jose from 'jose';
import type { CaCertificateStatus, StepCa } from '../../resources/types.js';
import type { Clock } from '../types.js';
import type { IssueRequest, IssuedCertificate, Issuer } from './issuer.js';
import {
  caCertificateStatus,
  createCsr,
  exportKeyPem,
  generateKeyPair,
  normaliseFingerprint,
  sha256Fingerprint,
  splitCertificates,
} from './pki.js';

/** How long a one-time token is valid (step's default is 5 minutes). */
export const OTT_VALIDITY_S = 300;
/**
 * PBES2 iteration ceiling accepted when decrypting a provisioner key: step encrypts with 100 000
 * iterations (its default, above jose's own ceiling); the cap bounds the work a hostile file can cause.
 */
const MAX_PBES2_COUNT = 1_000_000;

/** A problem that needs a manifest or CA configuration change (not a transient network error). */
export class StepCaConfigError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'StepCaConfigError';
  }
}

interface HttpResponse {
  status: number;
  body: string;
}

interface RequestOptions {
  method?: 'GET' | 'POST';
  body?: unknown;
  /** PEM trust anchors; absent only for the bootstrap fetch, whose answer is checked by fingerprint. */
  ca?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

/** One HTTPS request with a bounded body and time. TLS is verified against `ca` whenever it is given. */
function call(url: URL, opts: RequestOptions): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    const req = httpsRequest(
      url,
      {
        method: opts.method ?? 'GET',
        // The bootstrap request (no `ca`) fetches the root itself; its answer is accepted only if its
        // SHA-256 matches the pinned fingerprint, exactly as `step ca bootstrap` does.
        ...(opts.ca ? { ca: opts.ca, rejectUnauthorized: true } : { rejectUnauthorized: false }),
        headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
        signal: opts.signal,
        timeout: opts.timeoutMs ?? 15_000,
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > 1 << 20) req.destroy(new Error(`${url.pathname}: response larger than 1 MiB`));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url.pathname}: no answer within ${opts.timeoutMs ?? 15_000} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** step-ca error bodies are {"status":N,"message":"..."}; keep only the message, bounded. */
function errorText(res: HttpResponse): string {
  try {
    const j = JSON.parse(res.body) as { message?: unknown };
    if (typeof j.message === 'string') return j.message.slice(0, 300);
  } catch {
    // not JSON
  }
  return res.body.slice(0, 300);
}

export interface ProvisionerKey {
  key: jose.CryptoKey | Uint8Array;
  alg: string;
  kid: string;
}

/**
 * Load a JWK provisioner private key: a plain JWK, or one JWE-encrypted with a password the way step
 * stores it (JSON serialization in `step crypto jwk create` files, compact in ca.json's encryptedKey).
 */
export async function loadProvisionerKey(keyText: string, password?: string): Promise<ProvisionerKey> {
  let jwk: jose.JWK;
  const text = keyText.trim();
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = undefined;
  }
  const needPassword = () => {
    if (password === undefined) throw new StepCaConfigError('ProvisionerKeyInvalid', 'the provisioner key is encrypted: set spec.stepCa.passwordFile');
    return new TextEncoder().encode(password);
  };
  const opts = { maxPBES2Count: MAX_PBES2_COUNT, keyManagementAlgorithms: ['PBES2-HS256+A128KW', 'PBES2-HS384+A192KW', 'PBES2-HS512+A256KW'] };
  try {
    if (parsed && typeof parsed.kty === 'string') {
      jwk = parsed as jose.JWK;
    } else if (parsed && typeof parsed.ciphertext === 'string') {
      const { plaintext } = await jose.flattenedDecrypt(parsed as unknown as jose.FlattenedJWE, needPassword(), opts);
      jwk = JSON.parse(new TextDecoder().decode(plaintext)) as jose.JWK;
    } else if (/^[\w-]*\.[\w-]*\.[\w-]*\.[\w-]*\.[\w-]*$/.test(text)) {
      const { plaintext } = await jose.compactDecrypt(text, needPassword(), opts);
      jwk = JSON.parse(new TextDecoder().decode(plaintext)) as jose.JWK;
    } else {
      throw new StepCaConfigError('ProvisionerKeyInvalid', 'the provisioner key file is neither a JWK nor a JWE-encrypted JWK');
    }
  } catch (e) {
    if (e instanceof StepCaConfigError) throw e;
    // never echo key material: name the failure class only
    throw new StepCaConfigError('ProvisionerKeyInvalid', `cannot read the provisioner key (${(e as Error).name}: wrong password or damaged file)`);
  }
  if (jwk.d === undefined) throw new StepCaConfigError('ProvisionerKeyInvalid', 'the provisioner key file holds a public key; a private JWK is needed');
  const alg = jwk.alg ?? (jwk.kty === 'EC' ? { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[jwk.crv ?? ''] : jwk.kty === 'OKP' ? 'EdDSA' : undefined);
  if (!alg) throw new StepCaConfigError('ProvisionerKeyInvalid', `unsupported provisioner key type ${jwk.kty}`);
  const { d: _d, ...pub } = jwk;
  const kid = jwk.kid ?? (await jose.calculateJwkThumbprint(pub as jose.JWK, 'sha256'));
  return { key: await jose.importJWK(jwk, alg), alg, kid };
}

export interface TokenClaims {
  provisioner: string;
  audience: string;
  subject: string;
  sans: string[];
  rootFingerprint: string;
  now: Date;
}

/** A one-time token for /1.0/sign, with the claims `step ca certificate` puts in it. */
export async function signToken(key: ProvisionerKey, c: TokenClaims): Promise<string> {
  const iat = Math.floor(c.now.getTime() / 1000);
  return new jose.SignJWT({ sans: c.sans, sha: c.rootFingerprint })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(c.provisioner)
    .setAudience(c.audience)
    .setSubject(c.subject)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + OTT_VALIDITY_S)
    .setJti(randomBytes(32).toString('hex'))
    .sign(key.key);
}

export interface StepCaConnectOptions {
  clock: Clock;
  signal?: AbortSignal;
  /** Read a file named in the spec (tests and the reconciler pass fs.readFile). */
  readFile?: (path: string) => Promise<string>;
}

export class StepCaIssuer implements Issuer {
  private constructor(
    private readonly spec: StepCa,
    private readonly base: URL,
    private readonly rootPemText: string,
    private readonly rootCerts: X509Certificate[],
    private readonly opts: StepCaConnectOptions,
    private intermediatesSeen: X509Certificate[] = [],
  ) {}

  /**
   * Bootstrap trust and check the CA: fetch the root by its fingerprint (accepted only if it hashes to
   * the pinned value), then over TLS verified against it: GET /health must answer ok, and /roots.pem
   * must contain the pinned root.
   */
  static async connect(spec: StepCa, opts: StepCaConnectOptions): Promise<StepCaIssuer> {
    let base: URL;
    try {
      base = new URL(spec.url.endsWith('/') ? spec.url : `${spec.url}/`);
    } catch {
      throw new StepCaConfigError('InvalidSpec', `spec.stepCa.url: "${spec.url}" is not a URL`);
    }
    if (base.protocol !== 'https:') throw new StepCaConfigError('InvalidSpec', 'spec.stepCa.url: step-ca is reached over https only');
    const pinned = normaliseFingerprint(spec.rootFingerprint);
    if (!/^[0-9a-f]{64}$/.test(pinned)) throw new StepCaConfigError('InvalidSpec', 'spec.stepCa.rootFingerprint: expected 64 hex digits (SHA-256)');

    const boot = await call(new URL(`root/${pinned}`, base), { signal: opts.signal });
    if (boot.status === 404) {
      throw new StepCaConfigError('RootFingerprintMismatch', 'step-ca has no root with the SHA-256 fingerprint in spec.stepCa.rootFingerprint');
    }
    if (boot.status !== 200) throw new Error(`GET /root/${pinned.slice(0, 12)}…: HTTP ${boot.status}: ${errorText(boot)}`);
    const bootPem = (JSON.parse(boot.body) as { ca?: string }).ca ?? '';
    const bootRoot = splitCertificates(bootPem)[0];
    if (!bootRoot || sha256Fingerprint(new X509Certificate(bootRoot)) !== pinned) {
      throw new StepCaConfigError('RootFingerprintMismatch', 'the root step-ca serves does not match spec.stepCa.rootFingerprint');
    }

    const health = await call(new URL('health', base), { ca: bootRoot, signal: opts.signal });
    let status: unknown;
    try {
      status = (JSON.parse(health.body) as { status?: unknown }).status;
    } catch {
      status = undefined;
    }
    if (health.status !== 200 || status !== 'ok') throw new Error(`GET /health: HTTP ${health.status}: ${errorText(health)}`);

    const roots = await call(new URL('roots.pem', base), { ca: bootRoot, signal: opts.signal });
    if (roots.status !== 200) throw new Error(`GET /roots.pem: HTTP ${roots.status}: ${errorText(roots)}`);
    const rootCerts = splitCertificates(roots.body).map((p) => new X509Certificate(p));
    if (!rootCerts.some((c) => sha256Fingerprint(c) === pinned)) {
      throw new StepCaConfigError('RootFingerprintMismatch', '/roots.pem does not contain the root pinned by spec.stepCa.rootFingerprint');
    }
    // only the pinned root is a trust anchor; other roots step-ca lists are not trusted implicitly
    const anchor = rootCerts.find((c) => sha256Fingerprint(c) === pinned)!;
    return new StepCaIssuer(spec, base, bootRoot, [anchor], opts);
  }

  caCertificates(): CaCertificateStatus[] {
    return [...this.rootCerts, ...this.intermediatesSeen].map(caCertificateStatus);
  }

  roots(): X509Certificate[] {
    return this.rootCerts;
  }

  intermediates(): X509Certificate[] {
    return this.intermediatesSeen;
  }

  private async provisionerKey(): Promise<ProvisionerKey> {
    const read = this.opts.readFile ?? ((p: string) => fs.readFile(p, 'utf8'));
    if (!this.spec.provisionerKeyFile) {
      throw new StepCaConfigError('InvalidSpec', 'spec.stepCa.provisionerKeyFile: a JWK provisioner key is needed to issue certificates');
    }
    let keyText: string;
    let password: string | undefined;
    try {
      keyText = await read(this.spec.provisionerKeyFile);
      password = this.spec.passwordFile ? (await read(this.spec.passwordFile)).replace(/\r?\n$/, '') : undefined;
    } catch (e) {
      throw new StepCaConfigError('ProvisionerKeyInvalid', `cannot read the provisioner key or password file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return loadProvisionerKey(keyText, password);
  }

  async issue(req: IssueRequest): Promise<IssuedCertificate> {
    const key = await this.provisionerKey();
    const keys = await generateKeyPair(req.keyAlgorithm);
    const csr = await createCsr(req, keys, req.keyAlgorithm);
    const audience = new URL('1.0/sign', this.base).toString();
    const ott = await signToken(key, {
      provisioner: this.spec.provisioner,
      audience,
      subject: req.commonName,
      sans: [...req.dnsNames, ...req.ipAddresses],
      rootFingerprint: normaliseFingerprint(this.spec.rootFingerprint),
      now: req.now,
    });
    const res = await call(new URL('1.0/sign', this.base), {
      method: 'POST',
      body: { csr, ott, notAfter: `${Math.round(req.durationMs / 1000)}s` },
      ca: this.rootPemText,
      signal: req.signal ?? this.opts.signal,
    });
    if (res.status !== 201 && res.status !== 200) {
      const msg = `POST /1.0/sign: HTTP ${res.status}: ${errorText(res)}`;
      // 401/403 mean the CA refused this request (token, policy): retrying the same will not help soon
      if (res.status === 401 || res.status === 403) throw new StepCaConfigError('SignRefused', msg);
      throw new Error(msg);
    }
    const body = JSON.parse(res.body) as { crt?: string; ca?: string; certChain?: string[] };
    const chain = (body.certChain && body.certChain.length ? body.certChain : [body.crt ?? '', body.ca ?? '']).filter(Boolean);
    const [leafPem, ...intermediatePems] = chain.flatMap(splitCertificates);
    if (!leafPem) throw new Error('POST /1.0/sign: no certificate in the answer');
    this.intermediatesSeen = intermediatePems.map((p) => new X509Certificate(p));
    return { keyPem: await exportKeyPem(keys.privateKey), certPem: leafPem, intermediatePems, rootPem: this.rootPemText };
  }
}
