import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/shared.js';
import { lxcYaml, tempDir } from '../helpers/fs.js';

function phoenixctl(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'cli', 'phoenixctl.ts'), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const FLEET_ORDER = [
  'Template/copy-base',
  'LxcContainer/step-ca',
  'CertificateAuthority/internal-ca',
  'LxcContainer/nginx-phoenix',
  'LxcContainer/traefik-internal',
  'Template/ubuntu-2404-cloud-template',
  'VirtualMachine/portainer',
  'VirtualMachine/drphoenix',
];

function orderOf(stdout: string): string[] {
  const tail = stdout.split('creation order:\n')[1] ?? '';
  return [...tail.matchAll(/^\s+\d+\. (\S+)$/gm)].map((m) => m[1]!);
}

test('validate with no argument checks ./manifests: all ok, creation order, exit 0', async () => {
  const r = await phoenixctl('validate');
  assert.is(r.code, 0, r.stdout + r.stderr);
  const okLines = r.stdout.split('\n').filter((l) => l.startsWith('ok '));
  assert.is(okLines.length, 8);
  assert.ok(okLines.some((l) => /LxcContainer\/step-ca\s+manifests\/lxc-103-step-ca\.yaml:\d+:1$/.test(l)), okLines.join('\n'));
  assert.equal(orderOf(r.stdout), FLEET_ORDER);
  assert.match(r.stdout, '8 resources: 8 ok, 0 failed; 0 errors');
});

test('a broken manifest next to good ones: listed by file:line:col, the good ones still listed, exit 1', async () => {
  const { dir, cleanup } = tempDir();
  try {
    cpSync(join(REPO_ROOT, 'manifests'), dir, { recursive: true });
    writeFileSync(join(dir, 'lxc-150-broken.yaml'), lxcYaml('broken', 150, '  memory: 4G\n'));
    writeFileSync(join(dir, 'zz-syntax.yaml'), 'kind: [unterminated\n');
    const r = await phoenixctl('validate', dir);
    assert.is(r.code, 1);
    const out = r.stdout.replaceAll(dir, 'D');
    assert.match(out, /^FAIL {2}LxcContainer\/broken\s+D\/lxc-150-broken\.yaml:12:11$/m);
    assert.match(out, /^\s+D\/lxc-150-broken\.yaml:12:11: spec\.memory: must be integer$/m);
    assert.match(out, /errors outside any resource:\n\s+D\/zz-syntax\.yaml:2:1: YAML: /);
    assert.is(out.split('\n').filter((l) => l.startsWith('ok ')).length, 8, 'the good ones are still listed as ok');
    assert.equal(orderOf(out), FLEET_ORDER, 'the order of what loaded is still printed');
    assert.match(out, '9 resources: 8 ok, 1 failed; 2 errors');
  } finally {
    cleanup();
  }
});

test('cross-file problems fail validation: a duplicate vmid is shown at both places', async () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'a.yaml'), lxcYaml('a', 150));
    writeFileSync(join(dir, 'b.yaml'), lxcYaml('b', 150));
    const r = await phoenixctl('validate', dir);
    assert.is(r.code, 1);
    const out = r.stdout.replaceAll(dir, 'D');
    assert.match(out, 'D/a.yaml:6:9: spec.vmid: vmid 150 is also used by LxcContainer/b (D/b.yaml:1:1)');
    assert.match(out, 'D/b.yaml:6:9: spec.vmid: vmid 150 is also used by LxcContainer/a (D/a.yaml:1:1)');
  } finally {
    cleanup();
  }
});

test('graph prints the text form and a Mermaid block', async () => {
  const r = await phoenixctl('graph', 'manifests');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, 'LxcContainer/nginx-phoenix <- CertificateAuthority/internal-ca, Template/copy-base\n');
  assert.match(r.stdout, '```mermaid\ngraph TD\n');
  const ids = new Map([...r.stdout.matchAll(/^\s+(n\d+)\["([^"]+)"\]$/gm)].map((m) => [m[2]!, m[1]!]));
  assert.is(ids.size, 8);
  assert.match(r.stdout, `  ${ids.get('LxcContainer/traefik-internal')} --> ${ids.get('VirtualMachine/portainer')}\n`);
  const only = await phoenixctl('graph', 'manifests', '--format', 'mermaid');
  assert.ok(only.stdout.startsWith('```mermaid\ngraph TD\n'));
});

test.run();
