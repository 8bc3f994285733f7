import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLimits } from '../../controller/pve/limits.js';

/** Run jobs that each wait for a release, and record the peak number running at once per group. */
async function peak(limits: ReturnType<typeof createLimits>, jobs: { node: string; storage?: string; source?: string }[]): Promise<number> {
  let running = 0;
  let max = 0;
  const releases: (() => void)[] = [];
  const all = jobs.map((k) =>
    limits.run(k, async () => {
      running++;
      max = Math.max(max, running);
      await new Promise<void>((r) => releases.push(r));
      running--;
    }),
  );
  // release whatever is running until every job has finished
  while (releases.length || limits.pending()) {
    await new Promise((r) => setImmediate(r));
    releases.shift()?.();
  }
  await Promise.all(all);
  return max;
}

test('at most perNode jobs per node, perStorage per storage, one per clone source', async () => {
  assert.is(await peak(createLimits({ perNode: 2, perStorage: 5 }), Array(6).fill({ node: 'pve' })), 2);
  assert.is(await peak(createLimits({ perNode: 5, perStorage: 1 }), Array(4).fill({ node: 'pve', storage: 'local-lvm' })), 1);
  assert.is(await peak(createLimits({ perNode: 5, perStorage: 5 }), Array(4).fill({ node: 'pve', source: 'pve/9000' })), 1);
  assert.is(await peak(createLimits({ perNode: 1, perStorage: 1 }), [{ node: 'a' }, { node: 'b' }, { node: 'c' }]), 3, 'nodes are independent');
});

test('a failing job releases its slots', async () => {
  const l = createLimits({ perNode: 1 });
  const failed = await l.run({ node: 'pve' }, async () => Promise.reject(new Error('x'))).catch(() => 'failed');
  assert.is(failed, 'failed');
  assert.is(await l.run({ node: 'pve' }, async () => 7), 7);
});

test('a job waiting for a busy storage does not hold its clone source: another clone of it to a free storage runs', async () => {
  const l = createLimits({ perNode: 4, perStorage: 1 });
  const log: string[] = [];
  let releaseBusy!: () => void;
  // storage s1 is busy with an unrelated create
  const busy = l.run({ node: 'pve', storage: 's1' }, () => new Promise<void>((r) => (releaseBusy = r)));
  // a clone of template 900 to s1 has to wait; a later clone of 900 to s2 must not wait behind it
  const toS1 = l.run({ node: 'pve', storage: 's1', source: 'pve/900' }, async () => void log.push('s1'));
  const toS2 = l.run({ node: 'pve', storage: 's2', source: 'pve/900' }, async () => void log.push('s2'));
  const deadline = new Promise((r) => setTimeout(r, 2000, 'still waiting'));
  assert.is(await Promise.race([toS2.then(() => 'ran'), deadline]), 'ran');
  assert.equal(log, ['s2']);
  releaseBusy();
  await Promise.all([busy, toS1]);
  assert.equal(log, ['s2', 's1']);
});

test('waiting jobs are admitted oldest first when both could run', async () => {
  const l = createLimits({ perNode: 1 });
  const order: number[] = [];
  let release!: () => void;
  const first = l.run({ node: 'pve' }, () => new Promise<void>((r) => (release = r)));
  const rest = [1, 2, 3].map((i) => l.run({ node: 'pve' }, async () => void order.push(i)));
  release();
  await Promise.all([first, ...rest]);
  assert.equal(order, [1, 2, 3]);
});

test('a job with a longer chain behind it goes first; equal priorities keep their order', async () => {
  const l = createLimits({ perNode: 1 });
  const order: string[] = [];
  let release!: () => void;
  const first = l.run({ node: 'pve' }, () => new Promise<void>((r) => (release = r)));
  const jobs = ([['leaf-a', 0], ['chain-2', 2], ['leaf-b', 0], ['chain-5', 5], ['chain-2b', 2]] as const).map(([name, priority]) =>
    l.run({ node: 'pve' }, async () => void order.push(name), { priority }),
  );
  release();
  await Promise.all([first, ...jobs]);
  assert.equal(order, ['chain-5', 'chain-2', 'chain-2b', 'leaf-a', 'leaf-b']);
});

test('the wait for slots runs inside whileQueued, and only when the job has to queue', async () => {
  const l = createLimits({ perNode: 1 });
  let wrapped = 0;
  const whileQueued = <T>(w: () => Promise<T>) => {
    wrapped++;
    return w();
  };
  let release!: () => void;
  const first = l.run({ node: 'pve' }, () => new Promise<void>((r) => (release = r)), { whileQueued });
  await new Promise((r) => setImmediate(r));
  assert.is(wrapped, 0, 'a free slot is taken without waiting');
  const second = l.run({ node: 'pve' }, async () => 'ran', { whileQueued });
  assert.is(wrapped, 1);
  release();
  assert.is(await second, 'ran');
  await first;
  assert.is(l.pending(), 0);
});

test.run();
