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

test.run();
