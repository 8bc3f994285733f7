// The example fleet (manifests/) converges in-process on pvesim with its embedded CA: the three
// certificates it issues verify with the real `openssl verify` against the CA's root and
// intermediate, and shortening one certificate's duration in its manifest renews it in one reconcile.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertificateStatus } from '../../resources/types.js';
import { exampleFleet, startConverge, type Converge } from '../helpers/converge.js';
import { waitFor } from '../helpers/wait.js';

const CA = { kind: 'CertificateAuthority' as const, name: 'internal-ca' };
let fleet: ReturnType<typeof exampleFleet>;
let manifests: string;
let c: Converge;

test.before(async () => {
  fleet = exampleFleet();
  manifests = fleet.manifestsDir;
  c = await startConverge({ manifestsDir: manifests, storages: fleet.storages, allowedHostPaths: fleet.allowedHostPaths, ca: true });
});

test.after(async () => {
  await c?.close();
  fleet?.remove();
});

const certs = (): CertificateStatus[] => c.rt.get(CA)?.status.certificates ?? [];
const certFile = (name: string) => join(c.certDir, 'certs', name, `${name}.internal.thinkheads.ai.crt`);
const verify = (leaf: string) => {
  const dir = join(c.dir, 'ca-state', 'ca', 'internal-ca');
  return execFileSync('openssl', ['verify', '-CAfile', join(dir, 'root.crt'), '-untrusted', join(dir, 'intermediate.crt'), leaf], { encoding: 'utf8' });
};

test('the CA becomes Ready and its three certificates verify with openssl', async () => {
  await waitFor('internal-ca Ready with three certificates', () => c.ready(CA.kind, CA.name) && certs().length === 3, 90_000, 100).catch((e: Error) => {
    throw new Error(`${e.message}: ${JSON.stringify(c.rt.get(CA)?.status)}`);
  });
  assert.equal(certs().map((x) => x.name).sort(), ['nginx', 'portainer', 'traefik']);
  for (const name of ['nginx', 'portainer', 'traefik']) assert.match(verify(certFile(name)), /: OK\s*$/);
  // a certificate from another CA does not verify: the check is real
  const other = join(c.dir, 'other.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(c.dir, 'other.key'), '-out', other, '-subj', '/CN=nginx.internal.thinkheads.ai', '-days', '1'], { stdio: 'ignore' });
  assert.throws(() => verify(other));
});

test('shortening a duration in the manifest renews that certificate in one reconcile', async () => {
  const before = new Map(certs().map((x) => [x.name, x.serial]));
  const file = join(manifests, 'ca-internal-ca.yaml');
  const yaml = readFileSync(file, 'utf8');
  const traefikAt = yaml.indexOf('- name: traefik');
  writeFileSync(file, yaml.slice(0, traefikAt) + yaml.slice(traefikAt).replace('duration: 24h', 'duration: 18h'));
  await waitFor('traefik renewed', () => {
    const t = certs().find((x) => x.name === 'traefik');
    return c.ready(CA.kind, CA.name) && t && t.serial !== before.get('traefik') ? t : undefined;
  }, 20_000, 50);
  const t = certs().find((x) => x.name === 'traefik')!;
  assert.is(Date.parse(t.notAfter) - Date.parse(t.notBefore) <= 18 * 3600_000 + 60_000, true, `${t.notBefore} .. ${t.notAfter}`);
  assert.match(verify(certFile('traefik')), /: OK\s*$/);
  // the others were left alone
  for (const name of ['nginx', 'portainer']) assert.is(certs().find((x) => x.name === name)!.serial, before.get(name));
});

test.run();
