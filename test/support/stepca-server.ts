// A small stand-in for smallstep step-ca, following its documented HTTP API for the calls phoenix
// makes: GET /health, GET /root/{sha256}, GET /roots.pem and POST /1.0/sign. The sign endpoint checks
// the one-time token the way step-ca's JWK provisioner does (signature against the provisioner's
// public JWK, issuer = provisioner name, audience = <url>/1.0/sign, time window, non-empty subject,
// single-use jti), then that the CSR's common name is the token subject and its SANs are the token's
// sans, and answers 201 {crt, ca, certChain}. Errors are {status, message} like step-ca's.
import { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';
import type { Clock } from '../../controller/types.js';
import { parseDuration } from '../../controller/ca/issue.js';
import {
  createIntermediateCert,
  createLeafCert,
  createRootCert,
  exportKeyPem,
  generateKeyPair,
  normaliseIp,
  sha256Fingerprint,
  x509,
} from '../../controller/ca/pki.js';

export interface StepCaServerOptions {
  provisionerName: string;
  provisionerPublicJwk: jose.JWK;
  clock?: Clock;
  /** maxTLSCertDuration (default 24h, as step-ca). */
  maxDurationMs?: number;
  /** Serve TLS with a certificate from an unrelated CA (a man in the middle). */
  foreignTls?: boolean;
}

export interface StepCaServer {
  url: string;
  rootPem: string;
  rootFingerprint: string;
  intermediatePem: string;
  /** Accepted sign requests, with the decoded token claims. */
  signed: { claims: jose.JWTPayload; header: jose.ProtectedHeaderParameters; notAfter?: string }[];
  healthy: boolean;
  close(): Promise<void>;
}

async function makePki(name: string) {
  const now = Date.now();
  const alg = 'ECDSA-P256' as const;
  const rootKeys = await generateKeyPair(alg);
  const root = await createRootCert({ commonName: `${name} Root CA`, notBefore: new Date(now - 3600_000), notAfter: new Date(now + 87600 * 3600_000), keys: rootKeys, alg });
  const intKeys = await generateKeyPair(alg);
  const inter = await createIntermediateCert(
    { commonName: `${name} Intermediate CA`, notBefore: new Date(now - 3600_000), notAfter: new Date(now + 43800 * 3600_000), keys: intKeys, alg },
    { cert: root, key: rootKeys.privateKey, alg },
  );
  const tlsKeys = await generateKeyPair(alg);
  const tls = await createLeafCert(
    { commonName: 'step-ca', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], notBefore: new Date(now - 3600_000), notAfter: new Date(now + 720 * 3600_000), publicKey: tlsKeys.publicKey },
    { cert: inter, key: intKeys.privateKey, alg },
  );
  return { root, inter, intKey: intKeys.privateKey, tlsCert: tls.toString('pem') + '\n' + inter.toString('pem') + '\n', tlsKey: await exportKeyPem(tlsKeys.privateKey) };
}

function send(res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': type });
  res.end(text);
}

const fail = (res: ServerResponse, status: number, message: string) => send(res, status, { status, message });

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startStepCaServer(opts: StepCaServerOptions): Promise<StepCaServer> {
  const pki = await makePki('Test Step');
  const tlsPki = opts.foreignTls ? await makePki('Mallory') : pki;
  const rootPem = pki.root.toString('pem') + '\n';
  const intermediatePem = pki.inter.toString('pem') + '\n';
  const rootFingerprint = sha256Fingerprint(new X509Certificate(rootPem));
  const publicKey = await jose.importJWK(opts.provisionerPublicJwk, 'ES256');
  const kid = opts.provisionerPublicJwk.kid ?? (await jose.calculateJwkThumbprint(opts.provisionerPublicJwk));
  const usedJti = new Set<string>();
  const clock = opts.clock ?? { now: () => new Date() };
  const maxDurationMs = opts.maxDurationMs ?? 24 * 3600_000;
  let url = '';

  const state: StepCaServer = {
    url: '',
    rootPem,
    rootFingerprint,
    intermediatePem,
    signed: [],
    healthy: true,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };

  async function sign(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: { csr?: string; ott?: string; notAfter?: string; notBefore?: string };
    try {
      body = JSON.parse(await readBody(req));
    } catch {
      return fail(res, 400, 'error reading request body');
    }
    if (!body.csr) return fail(res, 400, 'missing csr');
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(body.csr);
      if (!(await csr.verify())) return fail(res, 400, 'invalid csr');
    } catch {
      return fail(res, 400, 'invalid csr');
    }
    if (!body.ott) return fail(res, 400, 'missing ott');
    let claims: jose.JWTPayload & { sans?: string[] };
    let header: jose.ProtectedHeaderParameters;
    try {
      const v = await jose.jwtVerify(body.ott, publicKey, {
        issuer: opts.provisionerName,
        audience: [`${url}/1.0/sign`, `${url}/sign`],
        currentDate: clock.now(),
        clockTolerance: 60,
        algorithms: ['ES256'],
        requiredClaims: ['sub', 'exp', 'nbf', 'jti'],
      });
      claims = v.payload as typeof claims;
      header = v.protectedHeader;
    } catch (e) {
      return fail(res, 401, `jwk.authorizeToken; invalid jwk token: ${(e as Error).message}`);
    }
    if (header.kid !== kid) return fail(res, 401, 'jwk.authorizeToken; no provisioner for this kid');
    if (!claims.sub) return fail(res, 401, 'jwk.authorizeToken; jwk token subject cannot be empty');
    if (usedJti.has(claims.jti!)) return fail(res, 401, 'token already used');
    usedJti.add(claims.jti!);
    const sans = claims.sans && claims.sans.length ? claims.sans : [claims.sub];
    // common name and SANs must be exactly what the token authorises
    const cn = /CN=([^,]+)/.exec(csr.subject)?.[1];
    if (cn !== claims.sub) return fail(res, 403, `certificate request does not contain the valid common name - got ${cn}, want ${claims.sub}`);
    const rawSan = csr.getExtension('2.5.29.17');
    const ext = rawSan ? new x509.SubjectAlternativeNameExtension(rawSan.rawData) : undefined;
    const csrNames = (ext?.names.toJSON() ?? []).map((n) => (n.type === 'ip' ? normaliseIp(n.value) : n.value.toLowerCase()));
    const want = sans.map((s) => (s.includes(':') || /^[\d.]+$/.test(s) ? normaliseIp(s) : s.toLowerCase()));
    if ([...csrNames].sort().join(',') !== [...want].sort().join(',')) {
      return fail(res, 403, `certificate request does not contain the valid SANs - got ${csrNames}, want ${want}`);
    }
    const now = clock.now();
    let notAfter = new Date(now.getTime() + maxDurationMs);
    if (body.notAfter) {
      notAfter = /^\d{4}-/.test(body.notAfter) ? new Date(body.notAfter) : new Date(now.getTime() + parseDuration(body.notAfter));
    }
    if (notAfter.getTime() - now.getTime() > maxDurationMs) {
      return fail(res, 403, `requested duration is more than the authorized maximum certificate duration of ${maxDurationMs / 1000}s`);
    }
    const dns = ext?.names.toJSON().filter((n) => n.type === 'dns').map((n) => n.value) ?? [];
    const ips = ext?.names.toJSON().filter((n) => n.type === 'ip').map((n) => n.value) ?? [];
    const leaf = await createLeafCert(
      { commonName: cn, dnsNames: dns, ipAddresses: ips, notBefore: new Date(now.getTime() - 60_000), notAfter, publicKey: await csr.publicKey.export() },
      { cert: pki.inter, key: pki.intKey, alg: 'ECDSA-P256' },
    );
    const crt = leaf.toString('pem') + '\n';
    state.signed.push({ claims, header, notAfter: body.notAfter });
    send(res, 201, { crt, ca: intermediatePem, certChain: [crt, intermediatePem], tlsOptions: { minVersion: 1.2 } });
  }

  const server: Server = createServer({ key: tlsPki.tlsKey, cert: tlsPki.tlsCert }, (req, res) => {
    const path = new URL(req.url ?? '/', 'https://x').pathname;
    const handle = async () => {
      if (req.method === 'GET' && path === '/health') return state.healthy ? send(res, 200, { status: 'ok' }) : fail(res, 500, 'unhealthy');
      if (req.method === 'GET' && path === '/roots.pem') return send(res, 200, rootPem, 'application/x-pem-file');
      const m = /^\/root\/([0-9a-fA-F]+)$/.exec(path);
      if (req.method === 'GET' && m) return m[1]!.toLowerCase() === rootFingerprint ? send(res, 200, { ca: rootPem }) : fail(res, 404, 'root not found');
      if (req.method === 'POST' && path === '/1.0/sign') return sign(req, res);
      return fail(res, 404, 'not found');
    };
    handle().catch((e) => fail(res, 500, (e as Error).message));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.url = url;
  return state;
}

/** A JWK provisioner key pair, the private half optionally encrypted the way step stores it. */
export async function makeProvisionerKey(password?: string, form: 'flattened' | 'compact' = 'flattened') {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const pub = await jose.exportJWK(publicKey);
  const kid = await jose.calculateJwkThumbprint(pub);
  const priv = { ...(await jose.exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
  const publicJwk = { ...pub, kid, alg: 'ES256', use: 'sig' };
  if (password === undefined) return { publicJwk, keyFileText: JSON.stringify(priv) };
  const plaintext = new TextEncoder().encode(JSON.stringify(priv));
  const secret = new TextEncoder().encode(password);
  const header = { alg: 'PBES2-HS256+A128KW', enc: 'A256GCM', cty: 'jwk+json' };
  const keyFileText =
    form === 'flattened'
      ? JSON.stringify(await new jose.FlattenedEncrypt(plaintext).setProtectedHeader(header).setKeyManagementParameters({ p2c: 100_000 }).encrypt(secret))
      : await new jose.CompactEncrypt(plaintext).setProtectedHeader(header).setKeyManagementParameters({ p2c: 100_000 }).encrypt(secret);
  return { publicJwk, keyFileText };
}
