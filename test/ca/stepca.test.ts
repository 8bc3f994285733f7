import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as jose from 'jose';
import { StepCaConfigError, loadProvisionerKey, signToken } from '../../controller/ca/stepca.js';
import { createCertificateAuthorityReconciler } from '../../controller/reconcilers/certificateauthority.js';
import type { CertificateAuthority } from '../../resources/types.js';
import { FakeClock, harness, readyStatus } from '../support/ca-context.js';
import { makeProvisionerKey, startStepCaServer, type StepCaServer } from '../support/stepca-server.js';
import { checkIssued } from '../support/x509-check.js';

const H = 3_600_000;

test('provisioner keys: plain JWK, step-style JWE (JSON and compact, PBES2 100k iterations); wrong password named, never echoed', async () => {
  for (const [password, form] of [[undefined, 'flattened'], ['s3cret-pass', 'flattened'], ['s3cret-pass', 'compact']] as const) {
    const { keyFileText, publicJwk } = await makeProvisionerKey(password, form);
    const k = await loadProvisionerKey(keyFileText, password);
    assert.is(k.alg, 'ES256');
    assert.is(k.kid, publicJwk.kid);
    // the key signs something the public half verifies
    const jwt = await new jose.SignJWT({ x: 1 }).setProtectedHeader({ alg: 'ES256' }).sign(k.key);
    await jose.jwtVerify(jwt, await jose.importJWK(publicJwk, 'ES256'));
  }
  const { keyFileText } = await makeProvisionerKey('right', 'flattened');
  let err: unknown;
  await loadProvisionerKey(keyFileText, 'wrong').catch((e) => (err = e));
  assert.instance(err, StepCaConfigError);
  assert.match(String(err), /wrong password or damaged file/);
  assert.not.ok(String(err).includes('right'));
  err = undefined;
  await loadProvisionerKey(keyFileText).catch((e) => (err = e));
  assert.match(String(err), /passwordFile/);
  const pub = await makeProvisionerKey();
  err = undefined;
  await loadProvisionerKey(JSON.stringify(pub.publicJwk)).catch((e) => (err = e));
  assert.match(String(err), /public key/);
});

test('the one-time token carries the claims `step ca certificate` sends', async () => {
  const { keyFileText, publicJwk } = await makeProvisionerKey();
  const key = await loadProvisionerKey(keyFileText);
  const now = new Date('2026-03-01T10:00:00Z');
  const ott = await signToken(key, {
    provisioner: 'admin@thinkheads.ai',
    audience: 'https://ca.internal.thinkheads.ai/1.0/sign',
    subject: 'nginx.internal.thinkheads.ai',
    sans: ['nginx.internal.thinkheads.ai', 'portainer.internal.thinkheads.ai'],
    rootFingerprint: 'ab'.repeat(32),
    now,
  });
  const { payload, protectedHeader } = await jose.jwtVerify(ott, await jose.importJWK(publicJwk, 'ES256'), { currentDate: now });
  assert.equal(protectedHeader, { alg: 'ES256', kid: publicJwk.kid, typ: 'JWT' });
  assert.is(payload.iss, 'admin@thinkheads.ai');
  assert.is(payload.aud, 'https://ca.internal.thinkheads.ai/1.0/sign', 'aud is a single string, as step sends it');
  assert.is(payload.sub, 'nginx.internal.thinkheads.ai');
  assert.equal(payload.sans, ['nginx.internal.thinkheads.ai', 'portainer.internal.thinkheads.ai']);
  assert.is(payload.sha, 'ab'.repeat(32));
  assert.is(payload.iat, now.getTime() / 1000);
  assert.is(payload.nbf, now.getTime() / 1000);
  assert.is(payload.exp, now.getTime() / 1000 + 300);
  assert.match(String(payload.jti), /^[0-9a-f]{64}$/);
});

interface Env {
  dir: string;
  server: StepCaServer;
  ca: CertificateAuthority;
  clock: FakeClock;
  cleanup(): Promise<void>;
}

async function env(o: { password?: string; pin?: string; foreignTls?: boolean; serverKeyMismatch?: boolean } = {}): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-stepca-'));
  const clock = new FakeClock();
  const prov = await makeProvisionerKey(o.password ?? 'pw-for-tests');
  const serverKey = o.serverKeyMismatch ? (await makeProvisionerKey()).publicJwk : prov.publicJwk;
  const server = await startStepCaServer({ provisionerName: 'admin@thinkheads.ai', provisionerPublicJwk: serverKey, clock, foreignTls: o.foreignTls });
  writeFileSync(join(dir, 'provisioner.json'), prov.keyFileText, { mode: 0o600 });
  writeFileSync(join(dir, 'password.txt'), `${o.password ?? 'pw-for-tests'}\n`, { mode: 0o600 });
  const ca: CertificateAuthority = {
    apiVersion: 'phoenix.hypervisor/v1alpha1',
    kind: 'CertificateAuthority',
    metadata: { name: 'step', generation: 1 },
    spec: {
      backend: 'step-ca',
      host: { kind: 'LxcContainer', name: 'step-ca' },
      stepCa: {
        url: server.url,
        rootFingerprint: o.pin ?? server.rootFingerprint.toUpperCase().match(/../g)!.join(':'),
        provisioner: 'admin@thinkheads.ai',
        provisionerKeyFile: join(dir, 'provisioner.json'),
        passwordFile: join(dir, 'password.txt'),
      },
      certificates: [
        {
          name: 'nginx',
          commonName: 'nginx.internal.thinkheads.ai',
          dnsNames: ['portainer.internal.thinkheads.ai'],
          ipAddresses: ['10.0.0.101'],
          output: { certFile: 'nginx/tls.crt', keyFile: 'nginx/tls.key', chainFile: 'nginx/chain.crt', mode: '0640' },
        },
      ],
    },
  };
  return { dir, server, ca, clock, cleanup: async () => (await server.close(), rmSync(dir, { recursive: true, force: true })) };
}

function reconcilerFor(e: Env) {
  return createCertificateAuthorityReconciler({ stateDir: join(e.dir, 'state'), certDir: join(e.dir, 'certs'), allowHostCommands: false, clock: e.clock });
}

function withReadyHost(e: Env) {
  const h = harness(e.ca, e.clock);
  h.others.set('LxcContainer/step-ca', { resource: { kind: 'LxcContainer' } as any, status: readyStatus() });
  return { rec: reconcilerFor(e), h };
}

test('step-ca backend: waits for the host guest, then issues through /1.0/sign; openssl verifies the result', async () => {
  const e = await env();
  try {
    const rec = reconcilerFor(e);
    const h = harness(e.ca, e.clock);
    // host declared but not Ready
    h.others.set('LxcContainer/step-ca', { resource: { kind: 'LxcContainer' } as any, status: { conditions: [] } });
    const waiting = await rec.reconcile(h.ctx);
    assert.ok(waiting.state === 'Progressing' && waiting.reason === 'WaitingForHost', JSON.stringify(waiting));
    assert.is(e.server.signed.length, 0);

    h.others.set('LxcContainer/step-ca', { resource: { kind: 'LxcContainer' } as any, status: readyStatus() });
    const out = await rec.reconcile(h.ctx);
    assert.is(out.state, 'Ready', JSON.stringify(out));
    assert.is(e.server.signed.length, 1);
    const { claims, notAfter } = e.server.signed[0]!;
    assert.is(claims.sub, 'nginx.internal.thinkheads.ai');
    assert.equal(claims.sans, ['nginx.internal.thinkheads.ai', 'portainer.internal.thinkheads.ai', '10.0.0.101']);
    assert.is(claims.sha, e.server.rootFingerprint);
    assert.is(notAfter, '86400s');
    const certDir = join(e.dir, 'certs');
    checkIssued({
      certFile: join(certDir, 'nginx/tls.crt'),
      keyFile: join(certDir, 'nginx/tls.key'),
      rootPem: e.server.rootPem,
      commonName: 'nginx.internal.thinkheads.ai',
      dnsNames: ['portainer.internal.thinkheads.ai'],
      ipAddresses: ['10.0.0.101'],
      durationMs: 24 * H,
      keyMode: 0o640,
    });
    assert.is(readFileSync(join(certDir, 'nginx/chain.crt'), 'utf8'), e.server.intermediatePem + e.server.rootPem);
    assert.is(h.ctx.status.caCertificates![0]!.sha256Fingerprint, e.server.rootFingerprint);
    // the private key never went to the CA: nothing of it in what the server received
    const key = readFileSync(join(certDir, 'nginx/tls.key'), 'utf8');
    assert.not.ok(JSON.stringify(e.server.signed).includes(key.split('\n')[1]!.slice(0, 30)));

    // current: no new request; due: a new one
    await rec.reconcile(h.ctx);
    assert.is(e.server.signed.length, 1);
    e.clock.advance(16 * H + 1000);
    await rec.reconcile(h.ctx);
    assert.is(e.server.signed.length, 2);
  } finally {
    await e.cleanup();
  }
});

test('step-ca backend: a wrong pinned fingerprint stalls before anything is requested or written', async () => {
  const e = await env({ pin: 'cd'.repeat(32) });
  try {
    const { rec, h } = withReadyHost(e);
    const out = await rec.reconcile(h.ctx);
    assert.ok(out.state === 'Stalled' && out.reason === 'RootFingerprintMismatch', JSON.stringify(out));
    assert.is(e.server.signed.length, 0);
    assert.not.ok(existsSync(join(e.dir, 'certs/nginx')));
  } finally {
    await e.cleanup();
  }
});

test('step-ca backend: TLS is verified against the pinned root (a server with a foreign TLS chain is not trusted)', async () => {
  const e = await env({ foreignTls: true });
  try {
    const { rec, h } = withReadyHost(e);
    const out = await rec.reconcile(h.ctx);
    assert.ok(out.state === 'Progressing' && out.reason === 'CaUnavailable', JSON.stringify(out));
    assert.match(out.state === 'Progressing' ? out.message : '', /certificate/i);
    assert.is(e.server.signed.length, 0);
  } finally {
    await e.cleanup();
  }
});

test('step-ca backend: unhealthy CA is not Ready; a token the CA rejects is an IssueFailed warning', async () => {
  const e = await env({ serverKeyMismatch: true });
  try {
    const { rec, h } = withReadyHost(e);
    e.server.healthy = false;
    const out = await rec.reconcile(h.ctx);
    assert.ok(out.state === 'Progressing' && out.reason === 'CaUnavailable' && /health/.test(out.message), JSON.stringify(out));
    e.server.healthy = true;
    let err: unknown;
    await rec.reconcile(h.ctx).catch((x) => (err = x));
    assert.match(String(err), /HTTP 401/);
    const w = h.events.find((x) => x.reason === 'IssueFailed');
    assert.ok(w && w.type === 'Warning');
    assert.is(e.server.signed.length, 0);
    // the password and key never appear in what is reported
    const visible = JSON.stringify(h.events) + JSON.stringify(h.ctx.status) + String(err);
    assert.not.ok(visible.includes('pw-for-tests'));
  } finally {
    await e.cleanup();
  }
});

test.run();
