import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthorityReconciler } from '../../controller/reconcilers/certificateauthority.js';
import { createMetrics } from '../../controller/metrics.js';
import type { CertificateAuthority, CertificateSpec, ResourceStatus } from '../../resources/types.js';
import type { ExecResult, ExecTarget, GuestExec } from '../../controller/ca/issuer.js';
import { FakeClock, finalizeContext, harness, readyStatus } from '../support/ca-context.js';
import { checkIssued, pemBlocks } from '../support/x509-check.js';

const H = 3_600_000;

function fleetCa(certs?: CertificateSpec[]): CertificateAuthority {
  return {
    apiVersion: 'phoenix.hypervisor/v1alpha1',
    kind: 'CertificateAuthority',
    metadata: { name: 'internal-ca', generation: 1 },
    spec: {
      backend: 'embedded',
      embedded: {
        root: { commonName: 'ThinkHeads Internal CA', organization: 'ThinkHeads' },
        intermediate: { commonName: 'ThinkHeads Internal Intermediate CA', organization: 'ThinkHeads' },
        rootCertPath: 'trust/root_ca.crt',
      },
      certificates: certs ?? [
        {
          name: 'nginx',
          commonName: 'nginx.internal.thinkheads.ai',
          dnsNames: ['portainer.internal.thinkheads.ai'],
          ipAddresses: ['10.0.0.101'],
          output: { certFile: 'nginx/tls.crt', keyFile: 'nginx/tls.key', chainFile: 'nginx/ca-chain.crt', mode: '0640' },
          afterRenewal: { guest: { kind: 'LxcContainer', name: 'nginx-gateway' }, command: ['systemctl', 'reload', 'nginx'] },
        },
        {
          name: 'portainer',
          commonName: 'portainer.internal.thinkheads.ai',
          output: { certFile: 'portainer/portainer.crt', keyFile: 'portainer/portainer.key', mode: '0600' },
          afterRenewal: { guest: { kind: 'VirtualMachine', name: 'portainer' }, command: ['docker', 'restart', 'portainer'] },
        },
        {
          name: 'traefik',
          commonName: 'traefik.internal.thinkheads.ai',
          duration: '12h',
          output: { certFile: 'traefik/traefik.crt', keyFile: 'traefik/traefik.key' },
        },
      ],
    },
  };
}

class RecordingExec implements GuestExec {
  calls: { target: ExecTarget; command: string[] }[] = [];
  next: ExecResult | Error = { exitCode: 0 };
  async exec(target: ExecTarget, command: string[]): Promise<ExecResult> {
    this.calls.push({ target, command });
    if (this.next instanceof Error) throw this.next;
    return this.next;
  }
}

function setup(opts: { allowHostCommands?: boolean; ca?: CertificateAuthority } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-ca-'));
  const stateDir = join(dir, 'state');
  const certDir = join(dir, 'certs');
  const clock = new FakeClock();
  const metrics = createMetrics();
  const exec = new RecordingExec();
  const rec = createCertificateAuthorityReconciler({ stateDir, certDir, exec, allowHostCommands: opts.allowHostCommands ?? false, metrics, clock });
  const h = harness(opts.ca ?? fleetCa(), clock);
  h.others.set('LxcContainer/nginx-gateway', { resource: { kind: 'LxcContainer', spec: { vmid: 101 } } as any, status: readyStatus({ vmid: 101, node: 'pve' }) });
  h.others.set('VirtualMachine/portainer', { resource: { kind: 'VirtualMachine', spec: { vmid: 1001 } } as any, status: readyStatus({ vmid: 1001, node: 'pve' }) });
  return { dir, stateDir, certDir, clock, metrics, exec, rec, h, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const rootOf = (stateDir: string) => readFileSync(join(stateDir, 'ca/internal-ca/root.crt'), 'utf8');
const serialOf = (file: string) => new X509Certificate(pemBlocks(readFileSync(file, 'utf8'))[0]!).serialNumber;
const statusOf = (s: ResourceStatus, name: string) => s.certificates!.find((c) => c.name === name)!;

test('first reconcile creates the CA privately and issues every declared certificate, verified by node and openssl', async () => {
  const t = setup();
  try {
    const out = await t.rec.reconcile(t.h.ctx);
    assert.is(out.state, 'Ready');
    // CA state: 0700 dirs, 0600 files
    const caDir = join(t.stateDir, 'ca/internal-ca');
    assert.is(statSync(join(t.stateDir, 'ca')).mode & 0o777, 0o700);
    assert.is(statSync(caDir).mode & 0o777, 0o700);
    assert.equal(readdirSync(caDir).sort(), ['intermediate.crt', 'intermediate.key', 'root.crt', 'root.key']);
    for (const f of readdirSync(caDir)) assert.is(statSync(join(caDir, f)).mode & 0o777, 0o600, f);
    const root = new X509Certificate(rootOf(t.stateDir));
    assert.ok(root.ca);
    assert.match(root.subject, /CN=ThinkHeads Internal CA/);
    assert.ok(root.verify(root.publicKey));
    // root published for guests
    assert.is(readFileSync(join(t.certDir, 'trust/root_ca.crt'), 'utf8'), rootOf(t.stateDir));
    // each certificate
    const rootPem = rootOf(t.stateDir);
    checkIssued({ certFile: join(t.certDir, 'nginx/tls.crt'), keyFile: join(t.certDir, 'nginx/tls.key'), rootPem, commonName: 'nginx.internal.thinkheads.ai', dnsNames: ['portainer.internal.thinkheads.ai'], ipAddresses: ['10.0.0.101'], durationMs: 24 * H, keyMode: 0o640 });
    checkIssued({ certFile: join(t.certDir, 'portainer/portainer.crt'), keyFile: join(t.certDir, 'portainer/portainer.key'), rootPem, commonName: 'portainer.internal.thinkheads.ai', dnsNames: [], durationMs: 24 * H, keyMode: 0o600 });
    checkIssued({ certFile: join(t.certDir, 'traefik/traefik.crt'), keyFile: join(t.certDir, 'traefik/traefik.key'), rootPem, commonName: 'traefik.internal.thinkheads.ai', dnsNames: [], durationMs: 12 * H, keyMode: 0o600 });
    // chain file: intermediate then root
    const chain = pemBlocks(readFileSync(join(t.certDir, 'nginx/ca-chain.crt'), 'utf8'));
    assert.is(chain.length, 2);
    assert.is(chain[1], rootPem);
    // status
    const s = t.h.ctx.status;
    assert.is(s.caCertificates!.length, 2);
    assert.is(s.caCertificates![0]!.subject, 'O=ThinkHeads, CN=ThinkHeads Internal CA');
    assert.match(s.caCertificates![0]!.sha256Fingerprint, /^[0-9a-f]{64}$/);
    const nginx = statusOf(s, 'nginx');
    assert.is(nginx.serial, serialOf(join(t.certDir, 'nginx/tls.crt')).toLowerCase());
    assert.is(nginx.serial.length, 32, '16-byte serial');
    assert.is(Date.parse(nginx.renewalTime), Date.parse(nginx.notAfter) - 8 * H);
    assert.is(Date.parse(statusOf(s, 'traefik').renewalTime), Date.parse(statusOf(s, 'traefik').notAfter) - 4 * H);
    // requeue at the earliest renewal (traefik: 12h - 4h = 8h, minus the minute of backdating... at most 1h cap)
    assert.ok(out.state === 'Ready' && out.requeueAfterMs === H);
    // metric
    const metric = await t.metrics.registry.getSingleMetricAsString('phoenix_certificate_expiry_timestamp_seconds');
    assert.match(metric, new RegExp(`phoenix_certificate_expiry_timestamp_seconds\\{ca="internal-ca",certificate="nginx"\\} ${Date.parse(nginx.notAfter) / 1000}`));
    // nothing secret anywhere visible
    const keys = [readFileSync(join(t.certDir, 'nginx/tls.key'), 'utf8'), readFileSync(join(t.stateDir, 'ca/internal-ca/root.key'), 'utf8'), readFileSync(join(t.stateDir, 'ca/internal-ca/intermediate.key'), 'utf8')];
    const visible = JSON.stringify(s) + JSON.stringify(t.h.events) + t.h.logs.join('\n') + (await t.metrics.registry.metrics());
    for (const k of keys) {
      const body = k.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
      assert.not.ok(visible.includes(body.slice(0, 40)), 'key material leaked');
    }
    assert.ok(t.h.events.some((e) => e.reason === 'CaCreated'));
  } finally {
    t.cleanup();
  }
});

test('no reissue while current; renewal exactly at notAfter - renewBefore under the injected clock', async () => {
  const t = setup();
  try {
    await t.rec.reconcile(t.h.ctx);
    const file = join(t.certDir, 'nginx/tls.crt');
    const first = serialOf(file);
    const renewal = Date.parse(statusOf(t.h.ctx.status, 'nginx').renewalTime);
    await t.rec.reconcile(t.h.ctx);
    assert.is(serialOf(file), first, 'unchanged on a second pass');
    t.h.events.length = 0;
    t.clock.set(new Date(renewal - 1000));
    await t.rec.reconcile(t.h.ctx);
    assert.is(serialOf(file), first, 'one second before the renewal time');
    t.clock.set(new Date(renewal));
    await t.rec.reconcile(t.h.ctx);
    assert.is.not(serialOf(file), first, 'renewed at the renewal time');
    assert.ok(t.h.events.some((e) => e.reason === 'Issued' && /nginx \(RenewalDue/.test(e.message)));
    checkIssued({ certFile: file, keyFile: join(t.certDir, 'nginx/tls.key'), rootPem: rootOf(t.stateDir), commonName: 'nginx.internal.thinkheads.ai', dnsNames: ['portainer.internal.thinkheads.ai'], ipAddresses: ['10.0.0.101'], durationMs: 24 * H, keyMode: 0o640, at: t.clock.now() });
    assert.ok(Date.parse(statusOf(t.h.ctx.status, 'nginx').notAfter) > renewal + 20 * H);
  } finally {
    t.cleanup();
  }
});

test('shortening the duration, or changing the SANs, triggers a renewal', async () => {
  const t = setup();
  try {
    await t.rec.reconcile(t.h.ctx);
    const file = join(t.certDir, 'traefik/traefik.crt');
    const first = serialOf(file);
    const ca = fleetCa();
    ca.spec.certificates![2]!.duration = '6h';
    t.h.ctx.resource = ca;
    const planned = await t.rec.plan(t.h.ctx);
    assert.ok(planned.steps.some((s) => s.action === 'issue' && /traefik .*DurationShortened/.test(s.description)), JSON.stringify(planned.steps));
    await t.rec.reconcile(t.h.ctx);
    const second = serialOf(file);
    assert.is.not(second, first);
    checkIssued({ certFile: file, keyFile: join(t.certDir, 'traefik/traefik.key'), rootPem: rootOf(t.stateDir), commonName: 'traefik.internal.thinkheads.ai', dnsNames: [], durationMs: 6 * H, keyMode: 0o600 });
    ca.spec.certificates![2]!.dnsNames = ['proxy.internal.thinkheads.ai'];
    await t.rec.reconcile(t.h.ctx);
    assert.is.not(serialOf(file), second);
    checkIssued({ certFile: file, keyFile: join(t.certDir, 'traefik/traefik.key'), rootPem: rootOf(t.stateDir), commonName: 'traefik.internal.thinkheads.ai', dnsNames: ['proxy.internal.thinkheads.ai'], durationMs: 6 * H, keyMode: 0o600 });
  } finally {
    t.cleanup();
  }
});

test('a foreign certificate, a mismatched key, garbage or a missing file on disk is replaced', async () => {
  const t = setup();
  try {
    await t.rec.reconcile(t.h.ctx);
    const certFile = join(t.certDir, 'portainer/portainer.crt');
    const keyFile = join(t.certDir, 'portainer/portainer.key');
    const check = () =>
      checkIssued({ certFile, keyFile, rootPem: rootOf(t.stateDir), commonName: 'portainer.internal.thinkheads.ai', dnsNames: [], durationMs: 24 * H, keyMode: 0o600 });

    // foreign: a self-signed certificate with the same name and its own key, made by openssl
    const fdir = join(t.dir, 'foreign');
    mkdirSync(fdir);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=portainer.internal.thinkheads.ai', '-addext', 'subjectAltName=DNS:portainer.internal.thinkheads.ai', '-days', '30', '-keyout', join(fdir, 'k.pem'), '-out', join(fdir, 'c.pem')], { stdio: 'ignore' });
    writeFileSync(certFile, readFileSync(join(fdir, 'c.pem')));
    writeFileSync(keyFile, readFileSync(join(fdir, 'k.pem')));
    const plan = await t.rec.plan(t.h.ctx);
    assert.ok(plan.steps.some((s) => /portainer .*ForeignIssuer/.test(s.description)), JSON.stringify(plan.steps));
    await t.rec.reconcile(t.h.ctx);
    check();

    // a key that is not the certificate's
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    writeFileSync(keyFile, other);
    const before = serialOf(certFile);
    await t.rec.reconcile(t.h.ctx);
    assert.is.not(serialOf(certFile), before);
    check();
    assert.ok(t.h.events.some((e) => e.reason === 'Issued' && /KeyMismatch/.test(e.message)));

    // garbage, then a deleted key
    writeFileSync(certFile, 'not a certificate');
    await t.rec.reconcile(t.h.ctx);
    check();
    rmSync(keyFile);
    await t.rec.reconcile(t.h.ctx);
    check();
  } finally {
    t.cleanup();
  }
});

test('output paths that escape --cert-dir are refused with Stalled naming the field, and nothing is written', async () => {
  for (const [declared, field] of [
    ['../escape.crt', 'spec.certificates[0].output.certFile'],
    ['/etc/phoenix-test-escape.crt', 'spec.certificates[0].output.certFile'],
  ] as const) {
    const ca = fleetCa([{ name: 'bad', commonName: 'bad.example', output: { certFile: declared, keyFile: 'bad.key' } }]);
    const t = setup({ ca });
    try {
      const out = await t.rec.reconcile(t.h.ctx);
      assert.is(out.state, 'Stalled');
      if (out.state === 'Stalled') {
        assert.is(out.reason, 'OutputPathRefused');
        assert.ok(out.message.startsWith(`${field}: `), out.message);
      }
      assert.not.ok(existsSync(join(t.stateDir, 'ca')), 'no CA created on bad input');
      assert.not.ok(existsSync(join(t.dir, 'escape.crt')));
      const plan = await t.rec.plan(t.h.ctx);
      assert.is(plan.blocked?.reason, 'OutputPathRefused');
    } finally {
      t.cleanup();
    }
  }
  // a symlink inside the cert dir that points out
  const ca = fleetCa([{ name: 'sneaky', commonName: 'sneaky.example', output: { certFile: 'link/x.crt', keyFile: 'link/x.key' } }]);
  const t = setup({ ca });
  try {
    mkdirSync(t.certDir, { recursive: true });
    mkdirSync(join(t.dir, 'elsewhere'));
    symlinkSync(join(t.dir, 'elsewhere'), join(t.certDir, 'link'));
    const out = await t.rec.reconcile(t.h.ctx);
    assert.ok(out.state === 'Stalled' && out.message.startsWith('spec.certificates[0].output.certFile: '), JSON.stringify(out));
    assert.equal(readdirSync(join(t.dir, 'elsewhere')), []);
  } finally {
    t.cleanup();
  }
});

test('file mode drift is corrected without reissuing', async () => {
  const t = setup();
  try {
    await t.rec.reconcile(t.h.ctx);
    const keyFile = join(t.certDir, 'nginx/tls.key');
    const serial = serialOf(join(t.certDir, 'nginx/tls.crt'));
    chmodSync(keyFile, 0o644);
    const plan = await t.rec.plan(t.h.ctx);
    assert.equal(plan.steps.map((s) => s.action), ['write']);
    assert.is(plan.steps[0]!.changes![0]!.field, 'spec.certificates[0].output.keyFile');
    await t.rec.reconcile(t.h.ctx);
    assert.is(statSync(keyFile).mode & 0o777, 0o640);
    assert.is(serialOf(join(t.certDir, 'nginx/tls.crt')), serial);
    assert.equal((await t.rec.plan(t.h.ctx)).steps, []);
  } finally {
    t.cleanup();
  }
});

test('plan before the first reconcile writes nothing and lists the CA creation and every issuance', async () => {
  const t = setup();
  try {
    const plan = await t.rec.plan(t.h.ctx);
    assert.is(plan.steps[0]!.action, 'issue');
    assert.match(plan.steps[0]!.description, /create root CA "ThinkHeads Internal CA"/);
    assert.is(plan.steps.filter((s) => s.action === 'issue').length, 4);
    assert.not.ok(existsSync(t.stateDir));
    assert.not.ok(existsSync(t.certDir));
  } finally {
    t.cleanup();
  }
});

test('after-renewal: container actions need --allow-host-commands; VM actions go through the executor; failures retry', async () => {
  const t = setup();
  try {
    await t.rec.reconcile(t.h.ctx);
    // first issuance with both guests Ready: the VM action runs, the container one is skipped with a Warning
    assert.equal(t.exec.calls, [{ target: { type: 'qemu', node: 'pve', vmid: 1001 }, command: ['docker', 'restart', 'portainer'] }]);
    const skipped = t.h.events.find((e) => e.reason === 'AfterRenewalSkipped' && e.message.includes('LxcContainer/nginx-gateway'));
    assert.ok(skipped && skipped.type === 'Warning' && /--allow-host-commands/.test(skipped.message));

    // with the flag, the container action runs through the executor as an lxc target
    const u = setup({ allowHostCommands: true });
    try {
      await u.rec.reconcile(u.h.ctx);
      assert.ok(u.exec.calls.some((c) => c.target.type === 'lxc' && c.target.vmid === 101 && c.command.join(' ') === 'systemctl reload nginx'));
      // a failing action is retried on the next pass, and not again once it succeeded
      u.exec.calls = [];
      u.exec.next = { exitCode: 1, stderr: 'nginx: [emerg] bad config' };
      u.clock.set(new Date(Date.parse(statusOf(u.h.ctx.status, 'portainer').renewalTime)));
      const out = await u.rec.reconcile(u.h.ctx);
      assert.ok(u.h.events.some((e) => e.type === 'Warning' && e.reason === 'AfterRenewalFailed' && /exited with 1: nginx: \[emerg\]/.test(e.message)));
      assert.ok(out.state === 'Ready' && out.requeueAfterMs === 30_000, JSON.stringify(out));
      const failedCalls = u.exec.calls.length;
      assert.ok(failedCalls >= 1);
      u.exec.next = { exitCode: 0 };
      u.exec.calls = [];
      await u.rec.reconcile(u.h.ctx);
      assert.is(u.exec.calls.length, failedCalls, 'each owed action retried once');
      u.exec.calls = [];
      await u.rec.reconcile(u.h.ctx);
      assert.is(u.exec.calls.length, 0, 'nothing owed any more');
    } finally {
      u.cleanup();
    }
  } finally {
    t.cleanup();
  }
});

test('renewal that keeps failing: Warning events, the old certificate still reported, and an expiry warning', async () => {
  const ca = fleetCa([{ name: 'web', commonName: 'web.example', duration: '24h', output: { certFile: 'web.crt', keyFile: 'web.key' } }]);
  ca.spec.embedded!.intermediate.validity = '40h';
  const t = setup({ ca });
  try {
    await t.rec.reconcile(t.h.ctx);
    const serial = statusOf(t.h.ctx.status, 'web').serial;
    // at 19h the certificate is due (renewBefore 8h) but a 24h certificate would outlive the intermediate
    t.clock.advance(19 * H);
    let err: unknown;
    await t.rec.reconcile(t.h.ctx).catch((e) => (err = e));
    assert.match(String(err), /web: the intermediate CA expires/);
    assert.ok(t.h.events.some((e) => e.type === 'Warning' && e.reason === 'IssueFailed'));
    assert.not.ok(t.h.events.some((e) => e.reason === 'CertificateExpiring'), 'not yet within half the window');
    assert.is(statusOf(t.h.ctx.status, 'web').serial, serial, 'the certificate on disk is still reported');
    assert.ok(t.h.persisted > 0, 'status persisted before the error');
    t.clock.advance(4 * H); // 1h left, under half the renewal window
    await t.rec.reconcile(t.h.ctx).catch(() => undefined);
    const w = t.h.events.find((e) => e.reason === 'CertificateExpiring');
    assert.ok(w && w.type === 'Warning' && /web expires at .* renewal keeps failing/.test(w.message));
    // at 27h less than a third of the intermediate's 40h remains: a new one is signed by the same root,
    // and the (by now expired) certificate is issued under it
    const oldIntermediate = readFileSync(join(t.stateDir, 'ca/internal-ca/intermediate.crt'), 'utf8');
    t.clock.advance(4 * H);
    const out = await t.rec.reconcile(t.h.ctx);
    assert.is(out.state, 'Ready');
    assert.ok(t.h.events.some((e) => e.reason === 'IntermediateRotated'));
    assert.is.not(readFileSync(join(t.stateDir, 'ca/internal-ca/intermediate.crt'), 'utf8'), oldIntermediate);
    assert.ok(t.h.events.some((e) => e.reason === 'Issued' && /web \(Expired/.test(e.message)));
    checkIssued({ certFile: join(t.certDir, 'web.crt'), keyFile: join(t.certDir, 'web.key'), rootPem: rootOf(t.stateDir), commonName: 'web.example', dnsNames: [], durationMs: 24 * H, keyMode: 0o600, at: t.clock.now() });
  } finally {
    t.cleanup();
  }
});

test('finalize keeps the keys and issued files, and drops the metric series', async () => {
  const t = setup();
  try {
    await t.rec.reconcile(t.h.ctx);
    const out = await t.rec.finalize(finalizeContext(t.h as any));
    assert.is(out.state, 'Ready');
    assert.ok(existsSync(join(t.stateDir, 'ca/internal-ca/root.key')));
    assert.ok(existsSync(join(t.certDir, 'nginx/tls.key')));
    const metric = await t.metrics.registry.getSingleMetricAsString('phoenix_certificate_expiry_timestamp_seconds');
    assert.not.match(metric, /internal-ca/);
  } finally {
    t.cleanup();
  }
});

test('an existing CA is reused across reconciler instances (restart), never silently replaced', async () => {
  const t = setup();
  try {
    await t.rec.reconcile(t.h.ctx);
    const root = rootOf(t.stateDir);
    const again = createCertificateAuthorityReconciler({ stateDir: t.stateDir, certDir: t.certDir, allowHostCommands: false, clock: t.clock });
    await again.reconcile(t.h.ctx);
    assert.is(rootOf(t.stateDir), root);
    rmSync(join(t.stateDir, 'ca/internal-ca/intermediate.crt'));
    const out = await again.reconcile(t.h.ctx);
    assert.ok(out.state === 'Stalled' && out.reason === 'CaStateInvalid' && /incomplete/.test(out.message));
    assert.is(rootOf(t.stateDir), root);
  } finally {
    t.cleanup();
  }
});

test.run();
