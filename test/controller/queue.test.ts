import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WorkQueue, backoffDelay, DEFAULT_BACKOFF } from '../../controller/queue.js';
import { createMetrics, initControllerSeries } from '../../controller/metrics.js';
import { waitFor, deferred } from './helpers.js';

test('a key added many times while queued runs once', async () => {
  const runs: string[] = [];
  const gate = deferred();
  const q = new WorkQueue<string>({
    concurrency: 1,
    handler: async (k) => {
      runs.push(k);
      if (k === 'blocker') await gate.promise;
    },
  });
  q.add('blocker'); // occupies the only worker so the next adds stay queued
  for (let i = 0; i < 5; i++) q.add('a');
  q.add('b');
  q.add('a');
  assert.is(q.len(), 2);
  gate.resolve();
  await q.whenIdle();
  assert.equal(runs, ['blocker', 'a', 'b']);
});

test('a change during a reconcile queues exactly one more pass, never concurrently', async () => {
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  const gate = deferred();
  const q = new WorkQueue<string>({
    concurrency: 4,
    handler: async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      runs++;
      if (runs === 1) await gate.promise;
      running--;
    },
  });
  q.add('k');
  await waitFor(() => q.isProcessing('k'));
  for (let i = 0; i < 10; i++) q.add('k');
  assert.ok(q.isQueued('k'));
  assert.is(q.len(), 0, 'parked, not queued while it runs');
  gate.resolve();
  await q.whenIdle();
  assert.is(runs, 2);
  assert.is(maxRunning, 1);
});

test('concurrency is bounded globally', async () => {
  let running = 0;
  let maxRunning = 0;
  const q = new WorkQueue<string>({
    concurrency: 3,
    handler: async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 15));
      running--;
    },
  });
  for (let i = 0; i < 12; i++) q.add(`k${i}`);
  await q.whenIdle();
  assert.is(maxRunning, 3);
});

test('a handler waiting on Proxmox lends its worker: another key runs meanwhile, and the lender resumes before newer keys', async () => {
  const order: string[] = [];
  const task = deferred();
  const hold = deferred();
  const q = new WorkQueue<string>({
    concurrency: 1,
    handler: async (k, _signal, lend) => {
      order.push(`${k}:start`);
      if (k === 'clone') {
        await lend(() => task.promise); // a long Proxmox task: the only worker goes to others
        order.push('clone:after-task');
      }
      if (k === 'blocker') await hold.promise;
      order.push(`${k}:end`);
    },
  });
  q.add('clone');
  await waitFor(() => order.includes('clone:start'));
  q.add('other');
  await waitFor(() => order.includes('other:end'), 2000, 'a key running while the only worker is lent');
  q.add('blocker');
  await waitFor(() => order.includes('blocker:start'));
  q.add('newer'); // queued while the task still runs
  task.resolve();
  await new Promise((r) => setTimeout(r, 5));
  assert.not.ok(order.includes('clone:after-task'), 'the lender waits for a worker like everyone else');
  hold.resolve();
  await q.whenIdle();
  assert.equal(order.slice(order.indexOf('blocker:end')), ['blocker:end', 'clone:after-task', 'clone:end', 'newer:start', 'newer:end']);
});

test('when every worker is busy, the key with the highest priority starts next', async () => {
  const order: string[] = [];
  const gate = deferred();
  const prio: Record<string, number> = { leaf: 0, chain: 3, mid: 1 };
  const q = new WorkQueue<string>({
    concurrency: 1,
    priorityOf: (k) => prio[k] ?? 0,
    handler: async (k) => {
      if (k === 'blocker') await gate.promise;
      else order.push(k);
    },
  });
  q.add('blocker');
  q.add('leaf');
  q.add('chain');
  q.add('mid');
  gate.resolve();
  await q.whenIdle();
  assert.equal(order, ['chain', 'mid', 'leaf']);
});

test('an urgent add (an edit) goes ahead of a resync\'s backlog, also when the resync queued it first', async () => {
  const order: string[] = [];
  const gate = deferred();
  const q = new WorkQueue<string>({
    concurrency: 1,
    priorityOf: (k) => (k === 'tall' ? 5 : 0),
    handler: async (k) => {
      if (k === 'blocker') await gate.promise;
      else order.push(k);
    },
  });
  q.add('blocker');
  for (const k of ['tall', 'r1', 'edited', 'r2', 'new-file']) q.add(k); // a resync pass queues everything
  q.add('edited', { urgent: true }); // then a manifest is saved
  q.add('new-file', { urgent: true });
  q.add('edited', { urgent: true }); // saved again: still one pass
  gate.resolve();
  await q.whenIdle();
  assert.equal(order, ['edited', 'new-file', 'tall', 'r1', 'r2']);
});

test('lent workers still bound the work that holds them', async () => {
  let working = 0;
  let maxWorking = 0;
  const q = new WorkQueue<string>({
    concurrency: 2,
    handler: async (_k, _signal, lend) => {
      for (let i = 0; i < 3; i++) {
        working++;
        maxWorking = Math.max(maxWorking, working);
        await new Promise((r) => setTimeout(r, 2));
        working--;
        await lend(() => new Promise((r) => setTimeout(r, 5)));
      }
    },
  });
  for (let i = 0; i < 10; i++) q.add(`k${i}`);
  await q.whenIdle();
  assert.is(maxWorking, 2);
});

test('shutdown frees a handler waiting to take its worker back', async () => {
  const task = deferred();
  let finished = false;
  const q = new WorkQueue<string>({
    concurrency: 1,
    handler: async (k, _signal, lend) => {
      if (k === 'lender') {
        await lend(() => task.promise);
        finished = true;
      } else await new Promise((r) => setTimeout(r, 200)); // holds the worker
    },
  });
  q.add('lender');
  await waitFor(() => q.isProcessing('lender'));
  await new Promise((r) => setTimeout(r, 5));
  q.add('holder');
  await waitFor(() => q.isProcessing('holder'));
  task.resolve();
  const left = await q.shutDown(1000, 100);
  assert.ok(finished);
  assert.equal(left, []);
});

test('backoff doubles from base, caps at max, jitter only shortens', () => {
  const o = { baseMs: 500, maxMs: 300_000, jitter: 0.2 };
  const none = () => 0;
  assert.equal([0, 1, 2, 3].map((n) => backoffDelay(n, o, none)), [500, 1000, 2000, 4000]);
  assert.is(backoffDelay(30, o, none), 300_000);
  assert.is(backoffDelay(1000, o, none), 300_000);
  assert.is(backoffDelay(2, o, () => 1), 1600);
  for (let i = 0; i < 50; i++) {
    const d = backoffDelay(3, o);
    assert.ok(d >= 3200 && d <= 4000, String(d));
  }
  assert.is(DEFAULT_BACKOFF.baseMs, 500);
});

test('failures retry with growing delays; success resets the backoff', async () => {
  const times: number[] = [];
  let fail = 3;
  const metrics = createMetrics();
  initControllerSeries(metrics, 1);
  const q = new WorkQueue<string>({
    concurrency: 1,
    backoff: { baseMs: 20, maxMs: 1000, jitter: 0 },
    metrics,
    controllerOf: () => 'template',
    handler: async () => {
      times.push(performance.now());
      if (fail-- > 0) throw new Error('flaky');
    },
  });
  q.add('k');
  await waitFor(() => times.length === 4, 5000);
  await q.whenIdle();
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  assert.ok(gaps[0]! >= 18 && gaps[1]! >= 38 && gaps[2]! >= 78, gaps.join(','));
  assert.is(q.numRequeues('k'), 0, 'success forgets the failures');
  const text = await metrics.registry.metrics();
  assert.match(text, /workqueue_retries_total\{name="template",controller="template"\} 3/);
  assert.match(text, /controller_runtime_reconcile_errors_total\{controller="template"\} 3/);
  assert.match(text, /controller_runtime_reconcile_total\{controller="template",result="success"\} 1/);
  await q.shutDown();
});

test('requeueAfter schedules one delayed pass; the earliest pending delay wins', async () => {
  const times: number[] = [];
  const q = new WorkQueue<string>({
    handler: async () => {
      times.push(performance.now());
      return times.length === 1 ? { requeueAfterMs: 40 } : undefined;
    },
  });
  const t0 = performance.now();
  q.add('k');
  await waitFor(() => times.length === 2);
  assert.ok(times[1]! - t0 >= 38);
  q.addAfter('x', 10_000);
  q.addAfter('x', 10);
  await waitFor(() => times.length === 3, 2000);
  await q.shutDown();
});

test('shutdown lets running work finish and aborts it after the deadline', async () => {
  let sawAbort = false;
  const q = new WorkQueue<string>({
    handler: (_k, signal) =>
      new Promise<void>((_resolve, reject) => {
        signal.addEventListener('abort', () => {
          sawAbort = true;
          reject(new Error('aborted'));
        });
      }),
  });
  q.add('stuck');
  await waitFor(() => q.isProcessing('stuck'));
  q.add('later');
  const left = await q.shutDown(50, 500);
  assert.ok(sawAbort);
  assert.equal(left, []);
  q.add('after-shutdown');
  assert.is(q.isQueued('after-shutdown'), false);
});

test.run();
