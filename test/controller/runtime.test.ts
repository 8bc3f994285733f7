import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, unlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runtime, graphViewOf, type ManifestLoader } from '../../controller/runtime.js';
import { StateStore } from '../../controller/state.js';
import { createMetrics } from '../../controller/metrics.js';
import { syncResourceMetrics } from '../../controller/resource-metrics.js';
import { getCondition } from '../../controller/conditions.js';
import { keyOf, refOfKey } from '../../controller/types.js';
import { FakeReconcilers, doc, fakeGraph, fakeLoader } from './fakes.js';
import { waitFor } from './helpers.js';

interface Env {
  dir: string;
  manifests: string;
  rt: Runtime;
  rec: FakeReconcilers;
  metrics: ReturnType<typeof createMetrics>;
  store: StateStore;
}

async function boot(dir: string, opts: { prune?: boolean; rec?: FakeReconcilers; concurrency?: number; resyncMs?: number; loader?: ManifestLoader; deletionGraceMs?: number; graph?: typeof graphViewOf } = {}): Promise<Env> {
  const manifests = join(dir, 'manifests');
  const store = new StateStore(join(dir, 'state'));
  await store.open();
  const rec = opts.rec ?? new FakeReconcilers();
  const metrics = createMetrics();
  const rt = new Runtime({
    manifestsDir: manifests,
    state: store,
    reconcilers: rec,
    loader: opts.loader ?? fakeLoader,
    graph: opts.graph ?? fakeGraph,
    metrics,
    concurrency: opts.concurrency ?? 4,
    prune: opts.prune,
    resyncMs: opts.resyncMs ?? 0,
    debounceMs: 30,
    deletionGraceMs: opts.deletionGraceMs ?? 50,
    backoff: { baseMs: 20, maxMs: 200, jitter: 0 },
  });
  live.push(rt);
  await rt.start();
  return { dir, manifests, rt, rec, metrics, store };
}

// every runtime a test started is stopped, also when the test fails, so the process can exit
const live: Runtime[] = [];
test.after.each(async () => {
  for (const rt of live.splice(0)) await rt.stop();
});

function fleet(manifests: string) {
  writeFileSync(join(manifests, 'base.yaml'), doc('Template', 'base', { vmid: 900 }));
  writeFileSync(
    join(manifests, 'apps.yaml'),
    [
      doc('LxcContainer', 'a', { vmid: 101, dependsOn: [{ kind: 'Template', name: 'base' }] }),
      doc('LxcContainer', 'b', { vmid: 102, dependsOn: [{ kind: 'Template', name: 'base' }] }),
    ].join('---\n'),
  );
  writeFileSync(join(manifests, 'vm.yaml'), doc('VirtualMachine', 'c', { vmid: 200 }));
}

const ready = (rt: Runtime, key: string) => getCondition(rt.get(refOfKey(key))?.status.conditions, 'Ready')?.status === 'True';
const cond = (rt: Runtime, key: string, type = 'Ready') => getCondition(rt.get(refOfKey(key))?.status.conditions, type);

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'phoenix-rt-'));
  mkdirSync(join(d, 'manifests'));
  return d;
}

test('startup converges in dependency order; independent branches overlap; dependents are released at once', async () => {
  const dir = tmp();
  fleet(join(dir, 'manifests'));
  const rec = new FakeReconcilers();
  rec.delayMs = 100;
  const e = await boot(dir, { rec });
  await waitFor(() => ['Template/base', 'LxcContainer/a', 'LxcContainer/b', 'VirtualMachine/c'].every((k) => ready(e.rt, k)), 5000, 'all ready');
  await e.rt.whenIdle();
  assert.ok(e.rt.isReady());
  const [base] = e.rec.of('reconcile', 'Template/base');
  const [a] = e.rec.of('reconcile', 'LxcContainer/a');
  const [b] = e.rec.of('reconcile', 'LxcContainer/b');
  const [c] = e.rec.of('reconcile', 'VirtualMachine/c');
  assert.ok(a!.start >= base!.end! && b!.start >= base!.end!, 'dependents act only after the template is Ready');
  // released by the dependency's Ready (no resync, no requeue here): within a couple of status writes
  assert.ok(a!.start - base!.end! < 500, `dependent released ${a!.start - base!.end!} ms after its dependency`);
  assert.ok(c!.start < base!.end!, 'independent branch runs in parallel with the template');
  assert.ok(a!.start < b!.end! && b!.start < a!.end!, 'siblings overlap');
  // the dependents were gated while the template was not ready
  const st = e.rt.get({ kind: 'LxcContainer', name: 'a' })!.status;
  assert.is(st.observedGeneration, 1);
  assert.is(st.vmid, 101);
  syncResourceMetrics(e.metrics, e.rt); // what /metrics does on every scrape
  const text = await e.metrics.registry.metrics();
  assert.match(text, /phoenix_resource_condition\{kind="LxcContainer",name="a",type="Ready",status="True"\} 1/);
  assert.match(text, /phoenix_resource_condition\{kind="LxcContainer",name="a",type="Ready",status="False"\} 0/);
  assert.match(text, /phoenix_resource_info\{kind="LxcContainer",name="a",vmid="101",node="pve1"\} 1/);
  assert.match(text, /workqueue_adds_total\{name="lxccontainer",controller="lxccontainer"\} [1-9]/);
  await e.rt.stop();
  rmSync(dir, { recursive: true });
});

test('a dependency that is not ready blocks its dependents with DependencyNotReady naming it', async () => {
  const dir = tmp();
  fleet(join(dir, 'manifests'));
  const rec = new FakeReconcilers();
  rec.behave = (key, n) => (key === 'Template/base' && n < 3 ? { state: 'Progressing', reason: 'Cloning', message: 'task running', requeueAfterMs: 60 } : undefined);
  const e = await boot(dir, { rec });
  await waitFor(() => cond(e.rt, 'LxcContainer/a')?.message === 'dependency Template/base is not ready: Cloning: task running', 3000);
  assert.is(cond(e.rt, 'LxcContainer/a')!.reason, 'DependencyNotReady');
  assert.is(cond(e.rt, 'LxcContainer/a', 'Reconciling')!.status, 'True');
  assert.is(e.rec.of('reconcile', 'LxcContainer/a').length, 0);
  await waitFor(() => ready(e.rt, 'LxcContainer/a') && ready(e.rt, 'LxcContainer/b'), 5000);
  await e.rt.stop();
  rmSync(dir, { recursive: true });
});

test('an edit bumps the generation and reconciles only that resource; identical rewrites do nothing', async () => {
  const dir = tmp();
  fleet(join(dir, 'manifests'));
  const e = await boot(dir);
  await waitFor(() => ready(e.rt, 'LxcContainer/a') && ready(e.rt, 'LxcContainer/b') && ready(e.rt, 'VirtualMachine/c'), 5000);
  await e.rt.whenIdle();
  const before = e.rec.calls.length;
  writeFileSync(join(e.manifests, 'vm.yaml'), doc('VirtualMachine', 'c', { vmid: 200, memory: 2048 }));
  await waitFor(() => e.rt.get({ kind: 'VirtualMachine', name: 'c' })?.status.observedGeneration === 2, 3000);
  await e.rt.whenIdle();
  const after = e.rec.calls.slice(before);
  assert.equal(after.map((c) => `${c.op} ${c.key} ${c.generation}`), ['reconcile VirtualMachine/c 2']);
  assert.is(e.rt.get({ kind: 'VirtualMachine', name: 'c' })!.metadata.generation, 2);
  // same content, different formatting: no generation bump, no reconcile
  writeFileSync(join(e.manifests, 'vm.yaml'), `\n${doc('VirtualMachine', 'c', { memory: 2048, vmid: 200 })}`);
  writeFileSync(join(e.manifests, 'marker.yaml'), doc('VirtualMachine', 'marker', { vmid: 300 }));
  await waitFor(() => ready(e.rt, 'VirtualMachine/marker'), 3000);
  assert.is(e.rt.get({ kind: 'VirtualMachine', name: 'c' })!.metadata.generation, 2);
  assert.is(e.rec.of('reconcile', 'VirtualMachine/c').length, 2);
  await e.rt.stop();
  rmSync(dir, { recursive: true });
});

test('invalid YAML keeps every resource of the file, never finalizes, Stalled names file:line:col; a fix resumes', async () => {
  const dir = tmp();
  fleet(join(dir, 'manifests'));
  const e = await boot(dir, { prune: true });
  await waitFor(() => ready(e.rt, 'LxcContainer/a') && ready(e.rt, 'LxcContainer/b'), 5000);
  writeFileSync(join(e.manifests, 'apps.yaml'), 'apiVersion: phoenix.hypervisor/v1alpha1\nkind: LxcContainer\nmetadata: {name: a\nspec: [\n');
  await waitFor(() => cond(e.rt, 'LxcContainer/a')?.reason === 'ManifestInvalid' && cond(e.rt, 'LxcContainer/b')?.reason === 'ManifestInvalid', 3000);
  const stalled = cond(e.rt, 'LxcContainer/b', 'Stalled')!;
  assert.is(stalled.status, 'True');
  assert.match(stalled.message, /manifests\/apps\.yaml:\d+:\d+: /);
  assert.ok(e.rt.manifestErrors().length >= 1);
  syncResourceMetrics(e.metrics, e.rt);
  assert.match(await e.metrics.registry.metrics(), /phoenix_manifest_errors [1-9]/);
  // a wait longer than the deletion grace: still nothing finalized
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(e.rec.of('finalize'), []);
  assert.is(e.rt.get({ kind: 'LxcContainer', name: 'a' })!.metadata.generation, 1);
  // an invalid spec on one resource: only that one stalls, the other resumes
  writeFileSync(
    join(e.manifests, 'apps.yaml'),
    [doc('LxcContainer', 'a', { vmid: 101, invalid: true }), doc('LxcContainer', 'b', { vmid: 102, dependsOn: [{ kind: 'Template', name: 'base' }] })].join('---\n'),
  );
  await waitFor(() => ready(e.rt, 'LxcContainer/b') && cond(e.rt, 'LxcContainer/a')?.reason === 'ManifestInvalid', 3000);
  assert.match(cond(e.rt, 'LxcContainer/a')!.message, /apps\.yaml:1:1: spec\.invalid: must not be true/);
  fleet(e.manifests);
  await waitFor(() => ready(e.rt, 'LxcContainer/a'), 3000);
  assert.equal(e.rt.manifestErrors(), []);
  assert.equal(e.rec.of('finalize'), []);
  await e.rt.stop();
  rmSync(dir, { recursive: true });
});

test('a broken symlink, a symlink out of the directory, one resource declared twice, a rename to an invalid document: kept, Stalled at file:line, never finalized', async () => {
  const dir = tmp();
  fleet(join(dir, 'manifests'));
  // chokidar can miss a symlink replaced by a file; the resync's rescan catches what it misses, as in production
  const e = await boot(dir, { prune: true, resyncMs: 1000 });
  await waitFor(() => ready(e.rt, 'VirtualMachine/c'), 5000);
  const vm = join(e.manifests, 'vm.yaml');
  const stalledWith = (re: RegExp) => () => cond(e.rt, 'VirtualMachine/c')?.reason === 'ManifestInvalid' && re.test(cond(e.rt, 'VirtualMachine/c')!.message);
  const cases: Array<[string, () => void, RegExp]> = [
    ['dangling symlink', () => (unlinkSync(vm), symlinkSync(join(dir, 'nowhere.yaml'), vm)), /manifests\/vm\.yaml:1:1: broken symlink/],
    ['symlink outside', () => (writeFileSync(join(dir, 'outside.yaml'), doc('VirtualMachine', 'c', { vmid: 201 })), unlinkSync(vm), symlinkSync(join(dir, 'outside.yaml'), vm)), /manifests\/vm\.yaml:1:1: symlink points outside/],
    ['declared twice', () => (unlinkSync(vm), writeFileSync(vm, [doc('VirtualMachine', 'c', { vmid: 200 }), doc('VirtualMachine', 'c', { vmid: 202 })].join('---\n'))), /vm\.yaml:6:1: metadata\.name: VirtualMachine\/c is declared more than once \(.*vm\.yaml:1, .*vm\.yaml:6\)/],
    // the file's only document now names another resource, and is invalid: no removal either
    ['renamed and invalid', () => (unlinkSync(vm), writeFileSync(vm, doc('VirtualMachine', 'c2', { vmid: 200, invalid: true }))), /manifests\/vm\.yaml:1:1: spec\.invalid: must not be true/],
  ];
  for (const [what, change, want] of cases) {
    // each from a valid file (the watcher may not report one symlink replacing another; a resync would)
    if (what !== cases[0]![0]) {
      unlinkSync(vm);
      writeFileSync(vm, doc('VirtualMachine', 'c', { vmid: 200 }));
      await waitFor(() => ready(e.rt, 'VirtualMachine/c'), 3000, `${what}: valid again`);
    }
    change();
    await waitFor(stalledWith(want), 3000, what).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(cond(e.rt, 'VirtualMachine/c'))}`);
    });
    assert.is((e.rt.get({ kind: 'VirtualMachine', name: 'c' })!.spec as { vmid: number }).vmid, 200, `${what}: the last valid spec is kept`);
  }
  // a wait longer than the deletion grace: still nothing finalized
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(e.rec.of('finalize'), []);
  writeFileSync(vm, doc('VirtualMachine', 'c', { vmid: 200 }));
  await waitFor(() => ready(e.rt, 'VirtualMachine/c'), 3000);
  assert.equal(e.rec.of('finalize'), []);
  await e.rt.stop();
  rmSync(dir, { recursive: true });
});

test('a file deleted and written back broken within the deletion grace keeps its resources (Stalled, never finalized)', async () => {
  const dir = tmp();
  fleet(join(dir, 'manifests'));
  const e = await boot(dir, { prune: true, deletionGraceMs: 1000 });
  await waitFor(() => ready(e.rt, 'VirtualMachine/c'), 5000);
  const vm = join(e.manifests, 'vm.yaml');
  unlinkSync(vm);
  // the pause is part of the input: longer than the debounce, so the removal is seen on its own
  await new Promise((r) => setTimeout(r, 150));
  writeFileSync(vm, 'kind: [\n');
  await waitFor(() => cond(e.rt, 'VirtualMachine/c')?.reason === 'ManifestInvalid', 3000, 'c Stalled by its broken file');
  assert.match(cond(e.rt, 'VirtualMachine/c', 'Stalled')!.message, /manifests\/vm\.yaml:\d+:\d+: /);
  // longer than the deletion grace: still nothing finalized
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal(e.rec.of('finalize'), []);
  assert.is(e.rt.get({ kind: 'VirtualMachine', name: 'c' })?.metadata.generation, 1);
  await e.rt.stop();
  rmSync(dir, { recursive: true });
});

test('dependents of a resource whose manifest turned invalid wait for it; they are not told it does not exist', async () => {
  const dir = tmp();
  fleet(join(dir, 'manifests'));
  // the set check reports references to resources it is not given
  const loader: ManifestLoader = {
    parseManifestText: (f, t) => fakeLoader.parseManifestText(f, t),
    checkSet: (rs) =>
      rs.flatMap((l) =>
        ((l.resource.spec as { dependsOn?: Array<{ kind: string; name: string }> }).dependsOn ?? [])
          .filter((d) => !rs.some((o) => keyOf(o.resource) === `${d.kind}/${d.name}`))
          .map((d) => ({ file: l.source.file, line: l.source.line, col: 1, path: 'spec.dependsOn', message: `${d.kind}/${d.name} does not exist`, resource: { kind: l.resource.kind, name: l.resource.metadata.name } })),
      ),
  };
  const e = await boot(dir, { loader });
  await waitFor(() => ready(e.rt, 'LxcContainer/a') && ready(e.rt, 'LxcContainer/b'), 5000);
  writeFileSync(join(e.manifests, 'base.yaml'), 'kind: [\n');
  await waitFor(() => cond(e.rt, 'Template/base')?.reason === 'ManifestInvalid', 3000);
  await e.rt.whenIdle();
  for (const k of ['LxcContainer/a', 'LxcContainer/b']) assert.is.not(cond(e.rt, k)?.reason, 'ManifestInvalid', `${k}: ${cond(e.rt, k)?.message}`);
  assert.not.ok(e.rt.manifestErrors().some((m) => /does not exist/.test(m.message)), 'no error claims the template is gone');
  await e.rt.stop();
  rmSync(dir, { recursive: true });
});

test('a removed manifest is finalized dependents first, with prune from the flag or the annotation; state is cleaned', async () => {
  const dir = tmp();
  fleet(join(dir, 'manifests'));
  writeFileSync(join(dir, 'manifests', 'p.yaml'), doc('VirtualMachine', 'p', { vmid: 301 }, "  annotations: {'phoenix.hypervisor/prune': 'true'}\n"));
  // with a resync, as in production: its rescan is the level-based net under file events the
  // watcher can miss on a loaded machine
  const e = await boot(dir, { resyncMs: 1000 });
  await waitFor(() => ['LxcContainer/a', 'LxcContainer/b', 'VirtualMachine/p'].every((k) => ready(e.rt, k)), 5000);
  const deleted: string[] = [];
  e.rt.watch((ev) => ev.type === 'DELETED' && deleted.push(`${ev.object.kind}/${ev.object.metadata.name}`));
  unlinkSync(join(e.manifests, 'apps.yaml'));
  unlinkSync(join(e.manifests, 'base.yaml'));
  unlinkSync(join(e.manifests, 'p.yaml'));
  await waitFor(() => deleted.length === 4, 15_000, 'finalized');
  const order = e.rec.of('finalize').map((c) => c.key);
  assert.ok(order.indexOf('Template/base') > order.indexOf('LxcContainer/a'));
  assert.ok(order.indexOf('Template/base') > order.indexOf('LxcContainer/b'));
  assert.is(e.rec.of('finalize', 'Template/base')[0]!.prune, false);
  assert.is(e.rec.of('finalize', 'VirtualMachine/p')[0]!.prune, true);
  assert.not.ok(existsSync(e.store.pathOf('status', 'LxcContainer/a')));
  assert.not.ok(existsSync(e.store.pathOf('resources', 'LxcContainer/a')));
  assert.is(e.rt.get({ kind: 'LxcContainer', name: 'a' }), undefined);
  syncResourceMetrics(e.metrics, e.rt); // what /metrics does on every scrape
  const text = await e.metrics.registry.metrics();
  assert.not.match(text, /name="a"/);
  assert.ok(ready(e.rt, 'VirtualMachine/c'));
  await e.rt.stop();
  rmSync(dir, { recursive: true });
});

test('a rename (unlink + add in one batch) is no deletion', async () => {
  const dir = tmp();
  fleet(join(dir, 'manifests'));
  const e = await boot(dir, { prune: true });
  await waitFor(() => ready(e.rt, 'VirtualMachine/c'), 5000);
  unlinkSync(join(e.manifests, 'vm.yaml'));
  writeFileSync(join(e.manifests, 'renamed.yaml'), doc('VirtualMachine', 'c', { vmid: 200 }));
  await waitFor(() => e.rt.get({ kind: 'VirtualMachine', name: 'c' })?.metadata.source?.includes('renamed.yaml'), 3000);
  await new Promise((r) => setTimeout(r, 120));
  await e.rt.whenIdle();
  assert.equal(e.rec.of('finalize'), []);
  assert.is(e.rt.get({ kind: 'VirtualMachine', name: 'c' })!.metadata.generation, 1);
  await e.rt.stop();
  rmSync(dir, { recursive: true });
});

test('restart: generations and statuses persist; a manifest removed while down is finalized; a broken file still keeps its resources', async () => {
  const dir = tmp();
  fleet(join(dir, 'manifests'));
  let e = await boot(dir);
  await waitFor(() => ['Template/base', 'LxcContainer/a', 'LxcContainer/b', 'VirtualMachine/c'].every((k) => ready(e.rt, k)), 5000);
  writeFileSync(join(e.manifests, 'vm.yaml'), doc('VirtualMachine', 'c', { vmid: 200, cores: 2 }));
  await waitFor(() => e.rt.get({ kind: 'VirtualMachine', name: 'c' })?.status.observedGeneration === 2, 3000);
  await e.rt.stop();
  unlinkSync(join(e.manifests, 'base.yaml'));
  writeFileSync(join(e.manifests, 'apps.yaml'), 'kind: [\n');
  const rec = new FakeReconcilers();
  e = await boot(dir, { rec });
  assert.is(e.rt.get({ kind: 'VirtualMachine', name: 'c' })!.metadata.generation, 2, 'generation survives the restart');
  await waitFor(() => rec.of('finalize', 'Template/base').length === 1 || cond(e.rt, 'Template/base')?.reason === 'DependentsExist', 3000);
  await waitFor(() => cond(e.rt, 'LxcContainer/a')?.reason === 'ManifestInvalid', 3000);
  assert.is(rec.passes, 1, 'startup runs a full pass');
  assert.ok(e.rt.get({ kind: 'LxcContainer', name: 'b' }), 'kept from the last good load');
  await e.rt.stop();
  rmSync(dir, { recursive: true });
});

test('errors retry with backoff and are recorded as lastError and a folded Warning event', async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'manifests', 'vm.yaml'), doc('VirtualMachine', 'c', { vmid: 200 }));
  const rec = new FakeReconcilers();
  rec.delayMs = 1;
  rec.behave = (_k, n) => {
    if (n <= 3) throw new Error('connect ECONNREFUSED PVEAPIToken=root@pam!x=12345678-aaaa-bbbb-cccc-1234567890ab');
    return undefined;
  };
  const e = await boot(dir, { rec });
  await waitFor(() => cond(e.rt, 'VirtualMachine/c')?.reason === 'ReconcileError', 3000);
  assert.match(e.rt.get({ kind: 'VirtualMachine', name: 'c' })!.status.lastError!, /ECONNREFUSED/);
  assert.not.match(e.rt.get({ kind: 'VirtualMachine', name: 'c' })!.status.lastError!, /12345678/);
  await waitFor(() => ready(e.rt, 'VirtualMachine/c'), 5000);
  const evs = e.rt.events({ kind: 'VirtualMachine', name: 'c' });
  assert.is(evs.length, 1);
  assert.is(evs[0]!.count, 3);
  assert.is(e.rt.get({ kind: 'VirtualMachine', name: 'c' })!.status.lastError, undefined);
  await e.rt.stop();
  rmSync(dir, { recursive: true });
});

test('diff plans without writing; requestReconcile queues known resources only', async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'manifests', 'vm.yaml'), doc('VirtualMachine', 'c', { vmid: 200 }));
  const e = await boot(dir);
  await waitFor(() => ready(e.rt, 'VirtualMachine/c'), 3000);
  await e.rt.whenIdle();
  const statusBefore = JSON.stringify(e.rt.get({ kind: 'VirtualMachine', name: 'c' })!.status);
  const plans = await e.rt.diff([
    { apiVersion: 'phoenix.hypervisor/v1alpha1', kind: 'VirtualMachine', metadata: { name: 'c' }, spec: { vmid: 200, memory: 4096, source: {} } },
  ]);
  assert.is(plans[0]!.steps[0]!.description, 'gen 2');
  assert.is(JSON.stringify(e.rt.get({ kind: 'VirtualMachine', name: 'c' })!.status), statusBefore);
  assert.is(e.rt.get({ kind: 'VirtualMachine', name: 'c' })!.metadata.generation, 1);
  assert.ok(e.rt.requestReconcile({ kind: 'VirtualMachine', name: 'c' }));
  assert.not.ok(e.rt.requestReconcile({ kind: 'VirtualMachine', name: 'nope' }));
  await waitFor(() => e.rec.of('reconcile', 'VirtualMachine/c').length === 2, 3000);
  await e.rt.stop();
  rmSync(dir, { recursive: true });
});

test('a dangling dependency stalls with the graph message', async () => {
  const dir = tmp();
  writeFileSync(join(dir, 'manifests', 'a.yaml'), doc('LxcContainer', 'a', { vmid: 101, dependsOn: [{ kind: 'Template', name: 'ghost' }] }));
  const e = await boot(dir);
  await waitFor(() => cond(e.rt, 'LxcContainer/a', 'Stalled')?.status === 'True', 3000);
  assert.is(cond(e.rt, 'LxcContainer/a')!.reason, 'DependencyMissing');
  assert.match(cond(e.rt, 'LxcContainer/a')!.message, /Template\/ghost/);
  writeFileSync(join(e.manifests, 'ghost.yaml'), doc('Template', 'ghost', { vmid: 900 }));
  await waitFor(() => ready(e.rt, 'LxcContainer/a'), 3000);
  await e.rt.stop();
  rmSync(dir, { recursive: true });
});


test('graphViewOf turns the real graph\'s dangling references and cycles into Stalled reasons', () => {
  const ct = (name: string, deps: string[]) => ({
    apiVersion: 'phoenix.hypervisor/v1alpha1' as const,
    kind: 'LxcContainer' as const,
    metadata: { name },
    spec: { vmid: 100, source: { ostemplate: 'local:vztmpl/x.tar.zst' }, rootfs: { storage: 'local', size: '8G' }, dependsOn: deps.map((n) => ({ kind: 'LxcContainer' as const, name: n })) },
  });
  const g = graphViewOf([ct('a', ['b']), ct('b', ['a']), ct('c', ['ghost']), ct('d', ['c'])]);
  assert.equal(g.problems.get('LxcContainer/a'), { reason: 'DependencyCycle', message: 'dependency cycle: LxcContainer/a -> LxcContainer/b -> LxcContainer/a' });
  assert.is(g.problems.get('LxcContainer/b')!.reason, 'DependencyCycle');
  assert.equal(g.problems.get('LxcContainer/c'), { reason: 'DependencyMissing', message: 'depends on LxcContainer/ghost, which no manifest declares' });
  assert.not.ok(g.problems.has('LxcContainer/d'), 'd merely waits on c');
  assert.equal(g.dependentsOf('LxcContainer/c'), ['LxcContainer/d']);
});

test('resync rescans the manifests (a missed file event is caught) and runs a full pass', async () => {
  const dir = tmp();
  const manifests = join(dir, 'manifests');
  writeFileSync(join(manifests, 'vm.yaml'), doc('VirtualMachine', 'c', { vmid: 200 }));
  const store = new StateStore(join(dir, 'state'));
  await store.open();
  const rec = new FakeReconcilers();
  rec.delayMs = 1;
  const rt = new Runtime({ manifestsDir: manifests, state: store, reconcilers: rec, loader: fakeLoader, graph: fakeGraph, metrics: createMetrics(), watch: false, resyncMs: 150, random: () => 0 });
  live.push(rt);
  await rt.start();
  await waitFor(() => ready(rt, 'VirtualMachine/c'), 3000);
  writeFileSync(join(manifests, 'late.yaml'), doc('VirtualMachine', 'late', { vmid: 201 }));
  await waitFor(() => ready(rt, 'VirtualMachine/late'), 3000, 'picked up by the resync rescan');
  await waitFor(() => rec.passes >= 2 && rec.of('reconcile', 'VirtualMachine/c').length >= 2, 3000, 'full pass re-reconciles');
  rmSync(dir, { recursive: true });
});

test('dependents released together start longest chain first, whatever their names', async () => {
  const dir = tmp();
  const m = join(dir, 'manifests');
  const ct = (name: string, vmid: number, after?: string) =>
    doc('LxcContainer', name, { vmid, source: { ostemplate: 'local:vztmpl/x.tar.zst' }, ...(after ? { dependsOn: [{ kind: 'LxcContainer', name: after }] } : {}) });
  writeFileSync(join(m, 'd.yaml'), ct('d', 300));
  writeFileSync(join(m, 'a.yaml'), ct('a', 301, 'd'));
  writeFileSync(join(m, 'b.yaml'), ct('b', 302, 'd'));
  writeFileSync(join(m, 'c.yaml'), ct('c', 303, 'b'));
  const e = await boot(dir, { graph: graphViewOf });
  await waitFor(() => ['a', 'b', 'c'].every((n) => ready(e.rt, `LxcContainer/${n}`)), 5000);
  const started = e.rec.of('reconcile').map((c) => c.key);
  assert.ok(started.indexOf('LxcContainer/b') < started.indexOf('LxcContainer/a'), `b (c waits on it) before a: ${started.join(', ')}`);
  rmSync(dir, { recursive: true });
});

test('a pass that changes nothing but the reconcile time writes no status file; watchers still see the time', async () => {
  const env = await boot(tmp());
  writeFileSync(join(env.manifests, 'vm.yaml'), doc('VirtualMachine', 'c', { vmid: 200 }));
  await waitFor(() => ready(env.rt, 'VirtualMachine/c'), 3000);
  await env.rt.whenIdle();
  await env.store.flush();
  const written = env.store.stats.written;
  const t0 = env.rt.get(refOfKey('VirtualMachine/c'))!.status.lastReconcileTime;
  const seen: string[] = [];
  const stop = env.rt.watch((ev) => void seen.push(ev.object.status.lastReconcileTime ?? ''));
  await new Promise((r) => setTimeout(r, 5)); // the clock moves on
  env.rt.fullPass();
  await waitFor(() => env.rt.get(refOfKey('VirtualMachine/c'))!.status.lastReconcileTime !== t0, 3000, 'the pass ran');
  await env.rt.whenIdle();
  await env.store.flush();
  stop();
  assert.is(env.store.stats.written, written, 'no status (or other state) file written');
  assert.ok(seen.some((t) => t !== t0), 'the watch stream carries the new lastReconcileTime');
  rmSync(env.dir, { recursive: true });
});

test.run();
