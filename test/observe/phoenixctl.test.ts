// phoenixctl get/describe/reconcile/create against the status API over a fake view: golden tables,
// the JSON List shape, kubectl-style errors and exit codes. Ages are pinned with PHOENIXCTL_NOW.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startHttpServer } from '../../controller/http.js';
import type { HttpServerHandle } from '../../controller/http.js';
import { createMetrics } from '../../controller/metrics.js';
import { FakeView, FAKE_NOW } from '../helpers/fake-view.js';
import { runCli, startCli, ROOT } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { freePort } from '../helpers/prometheus.js';

const GOLDEN = join(ROOT, 'test', 'golden', 'observe');
let view: FakeView;
let server: HttpServerHandle;
let env: Record<string, string>;

test.before(async () => {
  view = new FakeView();
  server = await startHttpServer({ listen: '127.0.0.1:0', view, metrics: createMetrics() });
  env = { PHOENIX_SERVER: server.url, PHOENIXCTL_NOW: FAKE_NOW.toISOString() };
});
test.after(async () => {
  await server.close();
});

function golden(name: string, actual: string): void {
  const file = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, actual);
  }
  assert.fixture(actual, readFileSync(file, 'utf8'), name);
}

const goldenCases: [string, string[]][] = [
  ['get-lxc.txt', ['get', 'lxc']],
  ['get-all.txt', ['get', 'all']],
  ['get-wide.txt', ['get', 'vm,lxc', '-o', 'wide']],
  ['get-no-headers.txt', ['get', 'LxcContainers', '--no-headers']],
  ['get-name.txt', ['get', 'all', '-o', 'name']],
  ['get-selector.txt', ['get', 'all', '-l', 'tier in (infra,base),app!=dns']],
  ['describe-web.txt', ['describe', 'lxc/web']],
  ['describe-k3s.txt', ['describe', 'virtualmachine', 'k3s']],
  ['describe-ca.txt', ['describe', 'ca/fleet-ca']],
];

for (const [file, args] of goldenCases) {
  test(`phoenixctl ${args.join(' ')} matches ${file}`, async () => {
    const r = await runCli(args, env);
    assert.is(r.stderr, '');
    assert.is(r.code, 0);
    golden(file, r.stdout);
  });
}

test('kind names: short, plural, singular, any case, KIND/NAME and --server after the command', async () => {
  const want = (await runCli(['get', 'lxc', 'web'], env)).stdout;
  assert.match(want, /^NAME\s+VMID\s+NODE\s+STATUS\s+READY\s+AGE\nweb\s+103\s+pve1\s+Cloning\s+False\s+5s\n$/);
  for (const args of [['get', 'ct', 'web'], ['get', 'LXCContainer', 'web'], ['get', 'lxccontainers', 'web'], ['get', 'lxc/web'], ['get', 'lxccontainer.phoenix.hypervisor/web']]) {
    const r = await runCli(args, env);
    assert.is(r.stdout, want, args.join(' '));
  }
  const r = await runCli(['get', 'lxc', 'web', '--server', server.url], { PHOENIXCTL_NOW: FAKE_NOW.toISOString() });
  assert.is(r.stdout, want);
});

test('-o json: a kubectl List whose items carry status.conditions; one named resource prints the object', async () => {
  const r = await runCli(['get', 'lxc', '-o', 'json'], env);
  assert.is(r.code, 0);
  const list = JSON.parse(r.stdout) as { apiVersion: string; kind: string; metadata: unknown; items: { kind: string; metadata: { name: string }; status: { conditions: { type: string }[] } }[] };
  assert.is(list.apiVersion, 'v1');
  assert.is(list.kind, 'List');
  assert.equal(list.metadata, { resourceVersion: '' });
  assert.equal(list.items.map((i) => i.metadata.name), ['dns', 'web']);
  for (const i of list.items) {
    assert.is(i.kind, 'LxcContainer');
    assert.equal(i.status.conditions.map((c) => c.type), ['Ready', 'Reconciling', 'Stalled']);
  }
  const one = JSON.parse((await runCli(['get', 'vm', 'k3s', '-o', 'json'], env)).stdout) as { kind: string; metadata: { name: string } };
  assert.is(one.kind, 'VirtualMachine');
  assert.is(one.metadata.name, 'k3s');
  const yaml = (await runCli(['get', 'tpl', '-o', 'yaml'], env)).stdout;
  assert.match(yaml, /^apiVersion: v1\nkind: List\nitems:\n {2}- apiVersion: phoenix.hypervisor\/v1alpha1\n {4}kind: Template/);
});

test('errors read like kubectl and exit 1', async () => {
  let r = await runCli(['get', 'lxc', 'nope'], env);
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.is(r.stderr, 'Error from server (NotFound): lxccontainers "nope" not found\n');
  r = await runCli(['describe', 'vm/ghost'], env);
  assert.is(r.code, 1);
  assert.is(r.stderr, 'Error from server (NotFound): virtualmachines "ghost" not found\n');
  r = await runCli(['get', 'pods'], env);
  assert.is(r.code, 1);
  assert.is(r.stderr, 'error: the server doesn\'t have a resource type "pods"\n');
  r = await runCli(['get', 'lxc', '-o', 'table'], env);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^error: unable to match a printer suitable for the output format "table"/);
  r = await runCli(['get', 'lxc', '-l', 'a b'], env);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^error: invalid label selector "a b"/);
  // a port nobody listens on
  const port = await freePort();
  r = await runCli(['get', 'all'], { PHOENIX_SERVER: `http://127.0.0.1:${port}` });
  assert.is(r.code, 1);
  assert.is(r.stderr, `The connection to the server 127.0.0.1:${port} was refused - is phoenix-controller running?\n`);
});

test('the bearer token comes from PHOENIX_API_TOKEN; a wrong one is reported as Unauthorized', async () => {
  const token = 'cli-test-token-abcdef';
  const s = await startHttpServer({ listen: '127.0.0.1:0', view, metrics: createMetrics(), token });
  try {
    let r = await runCli(['get', 'tpl', '--no-headers'], { ...env, PHOENIX_SERVER: s.url, PHOENIX_API_TOKEN: token });
    assert.is(r.code, 0);
    assert.match(r.stdout, /^copy-base\s+900/);
    r = await runCli(['get', 'tpl'], { ...env, PHOENIX_SERVER: s.url, PHOENIX_API_TOKEN: 'wrong' });
    assert.is(r.code, 1);
    assert.is(r.stderr, 'error: You must be logged in to the server (Unauthorized)\n');
    assert.not.ok(r.stderr.includes('wrong'));
  } finally {
    await s.close();
  }
});

test('get -w prints the table, then one row per change', async () => {
  const cli = startCli(['get', 'lxc', '-w'], env);
  try {
    await waitFor('the initial table', () => cli.stdout().includes('web'));
    await waitFor('the watch to subscribe', () => view.watcherCount() > 0);
    const web = view.get({ kind: 'LxcContainer', name: 'web' })!;
    view.put({ ...web, status: { ...web.status, taskInFlight: undefined, powerState: 'running', conditions: [{ ...web.status.conditions[0]!, status: 'True', reason: 'ReconciliationSucceeded' }] } });
    await waitFor('a row for the change', () => cli.stdout().split('\n').length >= 5);
    const lines = cli.stdout().trimEnd().split('\n');
    assert.is(lines.length, 4, cli.stdout());
    assert.match(lines[3]!, /^web\s+103\s+pve1\s+Running\s+True\s+5s$/);
    // the row lines up with the table
    assert.is(lines[3]!.indexOf('103'), lines[0]!.indexOf('VMID'));
  } finally {
    cli.child.kill('SIGINT');
    await cli.done;
    view.put(new FakeView().get({ kind: 'LxcContainer', name: 'web' })!);
  }
});

test.run();
