// Hostile paths: bind-mount sources must stay under the operator's --allow-host-path directories, and
// certificate outputs under --cert-dir, whatever a manifest writes: '..' segments, other absolute
// paths, '//' and trailing '/', prefix tricks (/srv/data-evil against /srv/data), Unicode look-alikes
// and normalisation forms, and symbolic links inside an allowed directory that lead out of it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import fc from 'fast-check';
import { hostPathProblem, mountPointsProblem } from '../../controller/reconcilers/guest-common.js';
import { OutputPathError, checkNoSymlinkEscape, resolveOutputPath } from '../../controller/ca/files.js';
import { createCertificateAuthorityReconciler } from '../../controller/reconcilers/certificateauthority.js';
import { validateResource } from '../../resources/index.js';
import type { CertificateAuthority, CertificateOutput, LxcContainer } from '../../resources/types.js';
import { FakeClock, harness } from '../support/ca-context.js';
import { lxc, withValue } from '../helpers/resources.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'phoenix-hostile-paths-')));
// root/allowed/{real/, in -> allowed/real, out -> root/outside, loop -> allowed/out, file-out -> outside/f}
// root/allowed-evil/, root/outside/, root/alias -> root/allowed
const allowed = join(root, 'allowed');
const outside = join(root, 'outside');
mkdirSync(join(allowed, 'real'), { recursive: true });
mkdirSync(join(root, 'allowed-evil'));
mkdirSync(outside);
writeFileSync(join(outside, 'f'), 'x');
symlinkSync(join(allowed, 'real'), join(allowed, 'in'));
symlinkSync(outside, join(allowed, 'out'));
symlinkSync(join(allowed, 'out'), join(allowed, 'loop'));
symlinkSync(join(outside, 'f'), join(allowed, 'file-out'));
symlinkSync(allowed, join(root, 'alias'));

const figures = { tried: 0, refused: 0, escaped: 0 };

/** Independent oracle: is p, with every existing component resolved through links, inside dir? */
function reallyInside(dir: string, p: string): boolean {
  const base = realpathSync(dir);
  let d = resolve(p);
  let tail = '';
  while (!existsSync(d)) {
    tail = join(basename(d), tail);
    d = dirname(d);
  }
  const real = join(realpathSync(d), tail);
  return real === base || real.startsWith(base + sep);
}

test.after(() => {
  rmSync(root, { recursive: true, force: true });
  console.log(`\nfigure: hostile paths: ${figures.tried} bind-mount and certificate paths tried, ${figures.refused} refused, ${figures.escaped} escaped`);
});

test('bind-mount sources: the lexical table (directories that do not exist here)', () => {
  const allow = ['/srv/phoenix-test-data'];
  const ok = ['/srv/phoenix-test-data', '/srv/phoenix-test-data/', '/srv/phoenix-test-data/x', '/srv/phoenix-test-data//x/', '/srv//phoenix-test-data/./x', '/srv/phoenix-test-data/a/../b'];
  const bad = [
    '/srv/phoenix-test-data-evil', '/srv/phoenix-test-data-evil/x', '/srv/phoenix-test-database', '/srv/phoenix-test-data/../etc', '/srv/phoenix-test-data/..',
    '/srv', '/', '/etc', '//etc', '/srv/phoenix-test-dat\u0430', '/srv/phoenix-test-data\u2215x', '/srv/phoenix-test-data\uff0fx', '/srv/phoenix-test-data\u2024\u2024/x',
    '/srv/./phoenix-test-data/../../etc/shadow', 'srv/phoenix-test-data/x',
  ];
  for (const p of ok) {
    figures.tried++;
    assert.is(hostPathProblem(p, allow), undefined, p);
  }
  for (const p of bad) {
    figures.tried++;
    figures.refused++;
    assert.match(hostPathProblem(p, allow) ?? '', /is not under an allowed host path \(\/srv\/phoenix-test-data\)/, p);
  }
  // the operator's spelling of the allowed directory does not matter
  for (const a of ['/srv/phoenix-test-data/', '//srv/phoenix-test-data', '/srv/./phoenix-test-data']) {
    assert.is(hostPathProblem('/srv/phoenix-test-data/x', [a]), undefined, a);
    assert.ok(hostPathProblem('/srv/phoenix-test-data-evil', [a]), a);
  }
  assert.match(hostPathProblem('/srv/x', []) ?? '', /none allowed/);
  // Unicode normalisation: NFD and NFC spell different directories on Linux; neither is under the other
  assert.ok(hostPathProblem('/srv/cafe\u0301/x', ['/srv/caf\u00e9']));
  assert.ok(hostPathProblem('/srv/caf\u00e9/x', ['/srv/cafe\u0301']));
  // a hostile name is printed escaped, never raw
  assert.match(hostPathProblem('/etc/\u202eevil\u0085', allow) ?? '', /\\u202eevil\\u0085/);
});

test('bind-mount sources: symbolic links inside an allowed directory that lead out are refused', () => {
  const cases: Array<[string, boolean]> = [
    [join(allowed, 'real', 'x'), true],
    [join(allowed, 'in', 'x'), true],
    [join(allowed, 'brand', 'new', 'dir'), true],
    [join(root, 'alias', 'real'), false], // lexically outside the allowed spelling
    [join(allowed, 'out'), false],
    [join(allowed, 'out', 'x'), false],
    [join(allowed, 'loop', 'deeper', 'x'), false],
    [join(allowed, 'file-out'), false],
    [join(root, 'allowed-evil'), false],
    [join(allowed, '..', 'outside'), false],
  ];
  for (const [p, ok] of cases) {
    figures.tried++;
    const why = hostPathProblem(p, [allowed]);
    if (ok) assert.is(why, undefined, p);
    else {
      figures.refused++;
      assert.match(why ?? '', /is not under an allowed host path/, p);
    }
  }
  assert.match(hostPathProblem(join(allowed, 'out', 'x'), [allowed]) ?? '', /symbolic link on the way leads to .*outside/);
  // an allowed directory the operator names through a link: followed on both sides
  assert.is(hostPathProblem(join(root, 'alias', 'in', 'x'), [join(root, 'alias')]), undefined);
  assert.ok(hostPathProblem(join(root, 'alias', 'out', 'x'), [join(root, 'alias')]));
});

test('bind-mount sources: no accepted path leaves the allowed directory (property, on disk)', () => {
  const seg = fc.constantFrom('..', '.', '', 'allowed', 'allowed-evil', 'alias', 'real', 'in', 'out', 'loop', 'file-out', 'outside', 'x', 'allowed/', '//');
  fc.assert(
    fc.property(fc.array(seg, { maxLength: 7 }), fc.constantFrom(allowed, `${allowed}/`, join(root, 'alias')), (parts, allow) => {
      const p = `${root}/${parts.join('/')}`;
      figures.tried++;
      if (hostPathProblem(p, [allow]) !== undefined) {
        figures.refused++;
        return true;
      }
      const inside = reallyInside(allow, p) && (resolve(p) === resolve(allow) || resolve(p).startsWith(resolve(allow) + sep));
      if (!inside) figures.escaped++;
      return inside;
    }),
    { numRuns: 3000, seed: 77 },
  );
});

test('a manifest naming a refused bind mount gets an error naming spec.mountPoints[i].hostPath', () => {
  const doc = lxc();
  const r = validateResource(withValue(doc, ['spec', 'mountPoints'], [{ path: '/data', volume: { storage: 'local-lvm', size: '4G' } }, { path: '/x', hostPath: '/srv/phoenix-data' }]));
  assert.ok(r.resource);
  const mps = (r.resource as LxcContainer).spec.mountPoints;
  assert.is(mountPointsProblem(mps, ['/srv/phoenix']), 'spec.mountPoints[1].hostPath: bind mount source /srv/phoenix-data is not under an allowed host path (/srv/phoenix)');
  assert.is(mountPointsProblem(mps, ['/srv/phoenix-data']), undefined);
  // '..' never even reaches the check: the schema refuses it at the field
  const dotdot = validateResource(withValue(doc, ['spec', 'mountPoints', 1, 'hostPath'], '/srv/phoenix/../../etc'));
  assert.ok(dotdot.issues.some((i) => i.path.join('.') === 'spec.mountPoints.1.hostPath'));
});

// --- certificate outputs --------------------------------------------------------------------------

const certDir = join(root, 'certs');
mkdirSync(join(certDir, 'real'), { recursive: true });
symlinkSync(outside, join(certDir, 'out'));
symlinkSync(join(certDir, 'real'), join(certDir, 'in'));
symlinkSync(join(outside, 'f'), join(certDir, 'link.crt'));
symlinkSync(join(certDir, 'out'), join(certDir, 'chain'));
writeFileSync(join(certDir, 'plain.crt'), 'not a directory');

test('certificate outputs: no accepted path leaves --cert-dir, through links or otherwise (property, on disk)', async () => {
  const seg = fc.constantFrom('..', '.', '', 'certs', 'certs-evil', 'real', 'in', 'out', 'chain', 'link.crt', 'plain.crt', 'x.crt', 'outside', '/');
  await fc.assert(
    fc.asyncProperty(fc.array(seg, { minLength: 1, maxLength: 7 }), fc.boolean(), async (parts, absolute) => {
      const declared = (absolute ? `${root}/` : '') + parts.join('/');
      figures.tried++;
      try {
        const p = resolveOutputPath(certDir, declared, 'spec.certificates[0].output.certFile');
        await checkNoSymlinkEscape(certDir, p, 'spec.certificates[0].output.certFile', declared);
        const inside = reallyInside(certDir, p) && p.startsWith(certDir + sep);
        if (!inside) figures.escaped++;
        return inside;
      } catch (e) {
        figures.refused++;
        return e instanceof OutputPathError && e.message.startsWith('spec.certificates[0].output.certFile: ');
      }
    }),
    { numRuns: 1500, seed: 78 },
  );
});

test('certificate outputs: every output field refuses every trick, names the field, and nothing is written', async () => {
  const tricks = ['../x.crt', `${certDir}-evil/x.crt`, '/etc/phoenix-hostile.crt', `/${certDir}/../outside/x.crt`, 'out/x.crt', 'chain/deep/x.crt', 'link.crt', 'real/../../x.crt', '.', `${certDir}/`, 'plain.crt/x.crt', 'link.crt/x.crt'];
  const fields: Array<[keyof CertificateOutput | 'rootCertPath', string]> = [
    ['certFile', 'spec.certificates[0].output.certFile'],
    ['keyFile', 'spec.certificates[0].output.keyFile'],
    ['chainFile', 'spec.certificates[0].output.chainFile'],
    ['rootCertPath', 'spec.embedded.rootCertPath'],
  ];
  for (const [name, field] of fields) {
    for (const trick of tricks) {
      figures.tried++;
      const output: CertificateOutput = { certFile: 'real/ok.crt', keyFile: 'real/ok.key', chainFile: 'real/chain.crt' };
      const embedded: CertificateAuthority['spec']['embedded'] = { root: { commonName: 'Hostile Root' }, intermediate: { commonName: 'Hostile Intermediate' } };
      if (name === 'rootCertPath') embedded.rootCertPath = trick;
      else (output as unknown as Record<string, string>)[name] = trick;
      const ca: CertificateAuthority = {
        apiVersion: 'phoenix.hypervisor/v1alpha1',
        kind: 'CertificateAuthority',
        metadata: { name: 'hostile', generation: 1 },
        spec: { backend: 'embedded', embedded, certificates: [{ name: 'web', commonName: 'web.example', output }] },
      };
      const stateDir = join(root, 'state');
      const rec = createCertificateAuthorityReconciler({ stateDir, certDir, allowHostCommands: false, clock: new FakeClock() });
      const h = harness(ca, new FakeClock());
      const out = await rec.reconcile(h.ctx);
      assert.ok(out.state === 'Stalled' && out.message.startsWith(`${field}: `), `${field} = ${trick}: ${JSON.stringify(out)}`);
      figures.refused++;
      assert.not.ok(existsSync(join(stateDir, 'ca')), 'no CA is created for a refused manifest');
      assert.equal(readdirSync(outside).sort(), ['f']);
      assert.equal(readdirSync(join(certDir, 'real')), []);
    }
  }
});

test.run();
