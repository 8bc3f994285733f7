// The example fleet's CA (manifests/ca-internal-ca.yaml), loaded by the real manifest loader and
// reconciled with the embedded backend: no network, every certificate verified by openssl.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifests } from '../../controller/manifests.js';
import { createCertificateAuthorityReconciler } from '../../controller/reconcilers/certificateauthority.js';
import { parseMode } from '../../controller/ca/files.js';
import { leafPolicy } from '../../controller/ca/issue.js';
import type { CertificateAuthority } from '../../resources/types.js';
import { FakeClock, harness } from '../support/ca-context.js';
import { checkIssued } from '../support/x509-check.js';

const repo = new URL('../..', import.meta.url).pathname;

test('manifests/ca-internal-ca.yaml issues its certificates with the embedded CA, offline', async () => {
  const loaded = await loadManifests(join(repo, 'manifests'));
  assert.equal(loaded.errors, []);
  const ca = loaded.resources.find((r) => r.resource.kind === 'CertificateAuthority')!.resource as CertificateAuthority;
  assert.is(ca.spec.backend ?? 'embedded', 'embedded');
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-fleet-ca-'));
  try {
    const clock = new FakeClock();
    const stateDir = join(dir, 'state');
    const certDir = join(stateDir, 'certs');
    const rec = createCertificateAuthorityReconciler({ stateDir, certDir, allowHostCommands: false, clock });
    const h = harness(ca, clock);
    const out = await rec.reconcile(h.ctx);
    assert.is(out.state, 'Ready', JSON.stringify(out));
    const rootPem = readFileSync(join(stateDir, 'ca', ca.metadata.name, 'root.crt'), 'utf8');
    assert.match(h.ctx.status.caCertificates![0]!.subject, /CN=ThinkHeads Internal CA/);
    assert.is(readFileSync(join(certDir, ca.spec.embedded!.rootCertPath!), 'utf8'), rootPem);
    assert.ok(ca.spec.certificates!.length >= 3);
    for (const c of ca.spec.certificates!) {
      checkIssued({
        certFile: join(certDir, c.output.certFile),
        keyFile: join(certDir, c.output.keyFile),
        rootPem,
        commonName: c.commonName,
        dnsNames: c.dnsNames ?? [],
        ipAddresses: c.ipAddresses,
        durationMs: leafPolicy(c).durationMs,
        keyMode: parseMode(c.output.mode ?? '0600'),
      });
    }
    assert.equal(h.ctx.status.certificates!.map((c) => c.name), ca.spec.certificates!.map((c) => c.name));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
