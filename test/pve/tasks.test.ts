// The task waiter's poll schedule: a fraction of the time run so far when nothing is known, sparse
// before a task's expected end and dense around it when its kind has been seen; and the learned
// durations it takes the expectation from.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_POLLING, TaskDurations, nextPoll } from '../../controller/pve/tasks.js';

const P = { ...DEFAULT_POLLING, minMs: 100, maxMs: 2000, relative: 0.05, nearEnd: 0.03 };

test('nextPoll: a table of elapsed / expected -> wait', () => {
  const rows: Array<[string, number, number | undefined, number]> = [
    ['unknown, just started: the floor', 0, undefined, 100],
    ['unknown: a twentieth of the time run so far', 5000, undefined, 250],
    ['unknown, long running: the ceiling', 60_000, undefined, 2000],
    ['known long task: sleep towards 85%, at most the ceiling', 0, 60_000, 2000],
    ['known short task: sleep straight to 85%', 0, 2000, 1700],
    ['known, in the window: every 3% of the estimate', 8600, 10_000, 300],
    ['known, tiny task: never below the floor', 900, 1000, 100],
    ['known but past 130%: the estimate was wrong, back to relative', 13_100, 10_000, 655],
  ];
  for (const [name, elapsed, expected, wait] of rows) assert.is(nextPoll(elapsed, expected, P), wait, name);
});

test('nextPoll: noticing a task\'s end costs at most a small fraction of it', () => {
  // simulate the poll times for tasks of many lengths, with and without an expectation
  for (const len of [150, 1000, 6000, 9000, 30_000, 600_000]) {
    for (const expected of [undefined, len, len * 0.8, len * 1.2]) {
      let t = 0;
      while (t < len) t += nextPoll(t, expected, P);
      const late = t - len;
      const bound = Math.max(P.minMs, Math.min(P.maxMs, len * (expected === undefined ? P.relative : 0.1) + 1));
      assert.ok(late <= bound, `len ${len} expected ${expected}: noticed ${late} ms late (bound ${bound})`);
    }
  }
});

test('TaskDurations: per type and object first, then per type; a moving average', () => {
  const d = new TaskDurations(0.5);
  assert.is(d.expected({ type: 'vzclone', id: '900' }), undefined);
  d.observe({ type: 'vzclone', id: '900' }, 1000);
  assert.is(d.expected({ type: 'vzclone', id: '900' }), 1000);
  assert.is(d.expected({ type: 'vzclone', id: '901' }), 1000, 'another source falls back to the type');
  d.observe({ type: 'vzclone', id: '901' }, 3000);
  assert.is(d.expected({ type: 'vzclone', id: '900' }), 1000);
  assert.is(d.expected({ type: 'vzclone', id: '901' }), 3000);
  assert.is(d.expected({ type: 'vzclone', id: '902' }), 2000);
  assert.is(d.expected({ type: 'vzstart', id: '900' }), undefined);
});

test.run();
