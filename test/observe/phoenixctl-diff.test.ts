// phoenixctl diff: parses the directory client-side, posts it to the controller's diff endpoint and
// prints the plans field by field; exit 0 without differences, 1 with, 2 on any error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpServer } from '../../controller/http.js';
import type { HttpServerHandle } from '../../controller/http.js';
import { createMetrics } from '../../controller/metrics.js';
import { loadManifests } from '../../controller/manifests.js';
import type { ResourceView, Plan } from '../../controller/types.js';
import { formatChange, formatPlans } from '../../cli/plan-format.js';
import { FakeView, ago } from '../helpers/fake-view.js';
import { runCli, ROOT } from '../helpers/cli.js';
import { freePort } from '../helpers/prometheus.js';

const MANIFESTS = join(ROOT, 'manifests');
let view: FakeView;
let server: HttpServerHandle;
let env: Record<string, string>;
let tmp: string;

test.before(async () => {
  const loaded = await loadManifests(MANIFESTS);
  assert.is(loaded.errors.length, 0, JSON.stringify(loaded.errors));
  const views: ResourceView[] = loaded.resources.map(({ resource: r }) => ({
    apiVersion: r.apiVersion,
    kind: r.kind,
    metadata: { name: r.metadata.name, generation: 1, creationTimestamp: ago(60_000) },
    spec: structuredClone(r.spec),
    status: { conditions: [] },
  }));
  view = new FakeView(views, new Map());
  server = await startHttpServer({ listen: '127.0.0.1:0', view, metrics: createMetrics() });
  env = { PHOENIX_SERVER: server.url };
  tmp = mkdtempSync(join(tmpdir(), 'phoenix-diff-'));
});
test.after(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

test('formatChange and formatPlans: one line per field, nothing for an up-to-date resource', () => {
  assert.is(formatChange({ field: 'memory', from: 2048, to: 4096 }), '~ memory: 2048 -> 4096');
  assert.is(formatChange({ field: 'net1', to: 'name=eth1,bridge=vmbr1' }), '+ net1: name=eth1,bridge=vmbr1');
  assert.is(formatChange({ field: 'mp0', from: 'local:8', to: null }), '- mp0: local:8');
  assert.is(formatChange({ field: 'cores', from: 1, to: 2, restartRequired: true }), '~ cores: 1 -> 2 (restart required)');
  const plans: Plan[] = [
    { ref: { kind: 'LxcContainer', name: 'same' }, steps: [] },
    { ref: { kind: 'LxcContainer', name: 'web' }, steps: [{ action: 'clone', description: 'clone Template/copy-base (vmid 900) to 103, linked' }, { action: 'update', description: 'set config', changes: [{ field: 'memory', from: 2048, to: 4096 }] }] },
    { ref: { kind: 'VirtualMachine', name: 'k3s' }, steps: [{ action: 'delete', description: 'destroy 9000', destructive: true }], blocked: { reason: 'DiskShrinkRefused', message: 'scsi0 32G -> 16G' } },
  ];
  assert.is(
    formatPlans(plans),
    [
      'LxcContainer/web',
      '  + clone Template/copy-base (vmid 900) to 103, linked',
      '  ~ set config',
      '      ~ memory: 2048 -> 4096',
      '',
      'VirtualMachine/k3s',
      '  ! blocked (DiskShrinkRefused): scsi0 32G -> 16G',
      '  - destroy 9000 (destructive)',
      '',
    ].join('\n'),
  );
  assert.is(formatPlans([plans[0]!]), '');
});

test('no difference: exit 0, nothing printed', async () => {
  const r = await runCli(['diff', MANIFESTS], env);
  assert.is(r.stderr, '');
  assert.is(r.stdout, '');
  assert.is(r.code, 0);
});

test('differences: exit 1 and the plan field by field', async () => {
  const key = [...view.items.keys()].find((k) => k.startsWith('LxcContainer/'))!;
  const live = view.items.get(key)!;
  const spec = live.spec as { memory?: number; cores?: number };
  view.items.set(key, { ...live, spec: { ...spec, memory: 64, cores: 7 } });
  try {
    const r = await runCli(['diff', MANIFESTS], env);
    assert.is(r.code, 1, r.stderr);
    const [, name] = key.split('/');
    assert.ok(r.stdout.startsWith(`LxcContainer/${name}\n  ~ update LxcContainer/${name} config\n`), r.stdout);
    assert.ok(r.stdout.includes(`      ~ memory: 64 -> ${spec.memory}\n`), r.stdout);
    assert.ok(r.stdout.includes(`      ~ cores: 7 -> ${spec.cores}\n`), r.stdout);
  } finally {
    view.items.set(key, live);
  }
});

test('a manifest error: exit 2 with file:line:col, nothing posted', async () => {
  writeFileSync(join(tmp, 'bad.yaml'), 'apiVersion: phoenix.hypervisor/v1alpha1\nkind: LxcContainer\nmetadata:\n  name: Bad_Name\nspec: {}\n');
  const r = await runCli(['diff', tmp], env);
  assert.is(r.code, 2);
  assert.match(r.stderr, new RegExp(`${tmp.replaceAll('/', '\\/')}\\/bad\\.yaml:\\d+:\\d+: `));
  assert.match(r.stderr, /error: \d+ error\(s\) in manifests under /);
  const missing = await runCli(['diff', join(tmp, 'nope')], env);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /cannot read manifest directory/);
});

test('the controller unreachable: exit 2 naming the address', async () => {
  const port = await freePort();
  const r = await runCli(['diff', MANIFESTS], { PHOENIX_SERVER: `http://127.0.0.1:${port}` });
  assert.is(r.code, 2);
  assert.is(r.stderr, `The connection to the server 127.0.0.1:${port} was refused - is phoenix-controller running?\n`);
});

test.run();
