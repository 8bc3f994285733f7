// phoenixctl reconcile --wait and create: they ask the controller to reconcile, then follow the watch
// stream until Ready, Stalled or the timeout. The fake view plays a controller that progresses.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startHttpServer } from '../../controller/http.js';
import type { HttpServerHandle } from '../../controller/http.js';
import { createMetrics } from '../../controller/metrics.js';
import type { ResourceView } from '../../controller/types.js';
import { keyOf } from '../../controller/types.js';
import type { ObjectRef } from '../../resources/types.js';
import { FakeView, FAKE_NOW, cond } from '../helpers/fake-view.js';
import { runCli } from '../helpers/cli.js';
import { ApiClient } from '../../cli/client.js';
import { runCreate, outcomeOf } from '../../cli/progress.js';

let view: FakeView;
let server: HttpServerHandle;
let env: Record<string, string>;

test.before.each(async () => {
  view = new FakeView();
  server = await startHttpServer({ listen: '127.0.0.1:0', view, metrics: createMetrics() });
  env = { PHOENIX_SERVER: server.url, PHOENIXCTL_NOW: FAKE_NOW.toISOString() };
});
test.after.each(async () => {
  await server.close();
});

let tick = 0;
function reconciled(r: ResourceView, outcome: 'Ready' | 'Stalled' | 'Cloning'): ResourceView {
  const t = new Date(Date.now() + ++tick).toISOString();
  const conditions =
    outcome === 'Ready'
      ? [cond('Ready', 'True', 'ReconciliationSucceeded', 'up to date', 0), cond('Reconciling', 'False', 'Idle', '', 0), cond('Stalled', 'False', 'Idle', '', 0)]
      : outcome === 'Stalled'
        ? [cond('Ready', 'False', 'CloneFailed', 'storage local-lvm is full', 0), cond('Reconciling', 'False', 'Stalled', '', 0), cond('Stalled', 'True', 'CloneFailed', 'storage local-lvm is full', 0)]
        : [cond('Ready', 'False', 'Progressing', 'cloning', 0), cond('Reconciling', 'True', 'Progressing', 'cloning', 0), cond('Stalled', 'False', 'Idle', '', 0)];
  return {
    ...r,
    status: {
      ...r.status,
      observedGeneration: r.metadata.generation,
      lastReconcileTime: t,
      taskInFlight: outcome === 'Cloning' ? { upid: 'UPID:pve1:1', node: 'pve1', type: 'vzclone', startedAt: t, step: 'clone' } : undefined,
      conditions,
    },
  };
}

/** A controller stand-in: each requested reconcile goes through `steps`, 80 ms apart. */
function progress(stepsFor: (ref: ObjectRef) => ('Ready' | 'Stalled' | 'Cloning')[]): void {
  view.onReconcile = (ref) => {
    stepsFor(ref).forEach((s, i) => setTimeout(() => view.put(reconciled(view.get(ref)!, s)), 80 * (i + 1)));
  };
}

test('outcomeOf: done needs a reconcile since the request; a permanent error shows as a new Stalled transition', () => {
  const before = view.get({ kind: 'LxcContainer', name: 'dns' })!; // Ready already
  assert.equal(outcomeOf(before, before), { done: false });
  const again = { ...before, status: { ...before.status, lastReconcileTime: new Date(Date.now()).toISOString() } };
  assert.equal(outcomeOf(before, again), { done: true, ok: true });
  // a permanent error: Stalled, observedGeneration unchanged, no lastReconcileTime
  const stalled = { ...before, status: { ...before.status, conditions: [cond('Ready', 'False', 'Conflict', 'vmid 101 belongs to another guest', 0), cond('Stalled', 'True', 'Conflict', 'vmid 101 belongs to another guest', 0)] } };
  assert.equal(outcomeOf(before, stalled), { done: true, ok: false, why: 'Stalled (Conflict): vmid 101 belongs to another guest' });
  // Ready at an older generation is not done
  const old = { ...again, metadata: { ...again.metadata, generation: 3 } };
  assert.equal(outcomeOf(before, old), { done: false });
});

test('reconcile --wait returns once the resource was reconciled and is Ready', async () => {
  progress(() => ['Cloning', 'Ready']);
  const r = await runCli(['reconcile', 'lxc/web', '--wait', '--timeout', '20s'], env);
  assert.is(r.stderr, '');
  assert.is(r.code, 0);
  assert.is(r.stdout, 'lxccontainer.phoenix.hypervisor/web reconcile requested\nlxccontainer.phoenix.hypervisor/web reconciled: Ready\n');
  assert.equal(view.reconcileRequests, [{ kind: 'LxcContainer', name: 'web' }]);
});

test('reconcile --wait rides out a controller restart: it reconnects the watch and sees Ready', async () => {
  const port = server.port;
  view.onReconcile = (ref) => {
    setTimeout(() => {
      void (async () => {
        await server.close(); // the controller goes away with the watch open
        view.put(reconciled(view.get(ref)!, 'Ready'));
        await new Promise((r) => setTimeout(r, 300));
        server = await startHttpServer({ listen: `127.0.0.1:${port}`, view, metrics: createMetrics() });
      })();
    }, 300);
  };
  const r = await runCli(['reconcile', 'lxc/web', '--wait', '--timeout', '30s'], env);
  assert.is(r.stderr, '');
  assert.is(r.code, 0);
  assert.match(r.stdout, /reconciled: Ready\n$/);
});

test('reconcile --wait does not take an already Ready resource for done: it waits for the reconcile', async () => {
  // dns is Ready before the request; the controller only answers after a while
  view.onReconcile = (ref) => setTimeout(() => view.put(reconciled(view.get(ref)!, 'Ready')), 1500);
  const started = Date.now();
  const r = await runCli(['reconcile', 'lxc', 'dns', '--wait'], env);
  assert.is(r.code, 0, r.stderr);
  assert.ok(Date.now() - started >= 1500, 'returned before the reconcile happened');
});

test('reconcile --wait fails on Stalled and on timeout, naming the resource and why', async () => {
  progress(() => ['Stalled']);
  let r = await runCli(['reconcile', 'lxc/web', '--wait'], env);
  assert.is(r.code, 1);
  assert.is(r.stderr, 'error: LxcContainer/web (vmid 103) failed: Stalled (CloneFailed): storage local-lvm is full\n');
  view.onReconcile = undefined;
  r = await runCli(['reconcile', 'vm/k3s', '--wait', '--timeout', '1s'], env);
  assert.is(r.code, 1);
  assert.is(r.stderr, 'error: timed out after 1s waiting for VirtualMachine/k3s (vmid 9000) to be reconciled and Ready\n');
  r = await runCli(['reconcile', 'vm/ghost'], env);
  assert.is(r.code, 1);
  assert.is(r.stderr, 'Error from server (NotFound): virtualmachines "ghost" not found\n');
});

test('create by vmid reconciles the dependency closure in order and shows progress', async () => {
  const web = view.get({ kind: 'LxcContainer', name: 'web' })!;
  view.put({ ...web, status: { conditions: [cond('Ready', 'Unknown', 'Pending', 'not reconciled yet', 1000)] } });
  progress((ref) => (ref.kind === 'LxcContainer' && ref.name === 'web' ? ['Cloning', 'Ready'] : ['Ready']));
  const r = await runCli(['create', '103'], env);
  assert.is(r.stderr, '');
  assert.is(r.code, 0);
  assert.equal(view.reconcileRequests.map(keyOf), ['Template/copy-base', 'LxcContainer/dns', 'LxcContainer/web']);
  const lines = r.stdout.trimEnd().split('\n');
  assert.ok(lines.includes('LxcContainer/web (vmid 103): waiting on dependencies (LxcContainer/dns, Template/copy-base)'), r.stdout);
  assert.ok(lines.includes('LxcContainer/web (vmid 103): cloning'), r.stdout);
  assert.ok(lines.includes('LxcContainer/web (vmid 103): ready'), r.stdout);
  assert.ok(lines.includes('Template/copy-base (vmid 900): ready'), r.stdout);
  assert.match(lines.at(-1)!, /^LxcContainer\/web \(vmid 103\) ready in \d+s$/);
});

test('create by name and vmid together; the same dependency is reconciled once', async () => {
  progress(() => ['Ready']);
  const r = await runCli(['create', 'dns', '900', 'web'], env);
  assert.is(r.code, 0, r.stderr);
  // dns comes from the template, so the template goes first
  assert.equal(view.reconcileRequests.map(keyOf), ['Template/copy-base', 'LxcContainer/dns', 'LxcContainer/web']);
  assert.match(r.stdout, /3 targets ready in \d+s\n$/);
});

test('create fails naming the target, why, and what it blocks', async () => {
  progress((ref) => (ref.name === 'dns' ? ['Stalled'] : ['Ready']));
  const r = await runCli(['create', '103'], env);
  assert.is(r.code, 1);
  assert.is(r.stderr, 'error: LxcContainer/dns (vmid 101) failed: Stalled (CloneFailed): storage local-lvm is full; blocks LxcContainer/web (vmid 103)\n');
});

test('create refuses unknown targets and dangling dependencies', async () => {
  let r = await runCli(['create', '4242'], env);
  assert.is(r.code, 1);
  assert.is(r.stderr, 'error: no resource has vmid or name "4242"\n');
  r = await runCli(['create', '9000'], env);
  assert.is(r.code, 1);
  assert.is(r.stderr, 'error: VirtualMachine/k3s depends on VirtualMachine/k3s-golden, which the controller does not know\n');
  assert.is(view.reconcileRequests.length, 0);
});

test('create times out naming what it still waits for', async () => {
  view.onReconcile = undefined;
  const r = await runCli(['create', 'copy-base', '--timeout', '1s'], env);
  assert.is(r.code, 1);
  assert.is(r.stderr, 'error: timed out after 1s waiting for Template/copy-base (vmid 900): queued\n');
});

test('create on a terminal redraws one line per resource in place', async () => {
  progress(() => ['Ready']);
  const frames: string[] = [];
  const code = await runCreate(new ApiClient(server.url), ['dns'], { timeoutMs: 20_000, tty: true, write: (s) => frames.push(s) });
  assert.is(code, 0);
  const summary = frames.pop()!;
  assert.match(summary, /^LxcContainer\/dns \(vmid 101\) ready in \d+s\n$/);
  assert.ok(frames.length >= 2, JSON.stringify(frames));
  // the first frame draws two lines (template, then dns); each later frame first moves up over them
  assert.not.ok(frames[0]!.includes('\x1b[2A'));
  for (const f of frames.slice(1)) assert.ok(f.startsWith('\x1b[2A'), JSON.stringify(f));
  for (const f of frames) assert.is(f.split('\x1b[2K').length - 1, 2, JSON.stringify(f));
  const last = frames.at(-1)!.split('\x1b[2K').slice(1);
  assert.equal(last, ['Template/copy-base (vmid 900)  ready\n', 'LxcContainer/dns (vmid 101)    ready\n']);
});

test.run();
