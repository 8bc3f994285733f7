// The sharing of directory fsyncs: every caller's promise settles after a run that started after its
// call, and calls made while a run is going share one next run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { coalesced } from '../../controller/fs-atomic.js';
import { deferred } from './helpers.js';

function fakeRuns() {
  const runs: Array<{ key: string; done: ReturnType<typeof deferred<void>> }> = [];
  const run = (key: string) => {
    const done = deferred<void>();
    runs.push({ key, done });
    return done.promise;
  };
  return { runs, run };
}

const tick = () => new Promise((r) => setImmediate(r));

test('calls during a run share the next run, which starts when that one ends', async () => {
  const { runs, run } = fakeRuns();
  const sync = coalesced(run);
  const settled: string[] = [];
  void sync('d').then(() => settled.push('a'));
  assert.is(runs.length, 1, 'the first call starts a run');
  void sync('d').then(() => settled.push('b'));
  void sync('d').then(() => settled.push('c'));
  await tick();
  assert.is(runs.length, 1, 'later calls wait: the running sync may have started before their rename');
  runs[0]!.done.resolve();
  await tick();
  assert.equal(settled, ['a']);
  assert.is(runs.length, 2, 'one more run for both');
  runs[1]!.done.resolve();
  await tick();
  assert.equal(settled, ['a', 'b', 'c']);
});

test('a call after everything settled starts a fresh run; keys are independent', async () => {
  const { runs, run } = fakeRuns();
  const sync = coalesced(run);
  const first = sync('d');
  runs[0]!.done.resolve();
  await first;
  const again = sync('d');
  assert.is(runs.length, 2, 'not the finished run again');
  void sync('other');
  assert.equal(runs.map((r) => r.key), ['d', 'd', 'other']);
  runs[1]!.done.resolve();
  runs[2]!.done.resolve();
  await again;
});

test('a failed run does not stop the next one', async () => {
  const { runs, run } = fakeRuns();
  const sync = coalesced(run);
  const first = sync('d').catch(() => 'failed');
  const second = sync('d');
  runs[0]!.done.reject(new Error('x'));
  assert.is(await first, 'failed');
  await tick();
  runs[1]!.done.resolve();
  await second;
  assert.is(runs.length, 2);
});

test.run();
