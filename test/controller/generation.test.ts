import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LxcContainer } from '../../resources/types.js';
import { canonicalJson, nextGeneration, specDigest } from '../../controller/generation.js';

function ct(over: Partial<LxcContainer['spec']> = {}, meta: Partial<LxcContainer['metadata']> = {}): LxcContainer {
  return {
    apiVersion: 'phoenix.hypervisor/v1alpha1',
    kind: 'LxcContainer',
    metadata: { name: 'web', ...meta },
    spec: { vmid: 101, source: { template: 'base' }, rootfs: { storage: 'local-zfs', size: '8G' }, ...over },
  };
}

test('canonical JSON sorts keys and drops undefined', () => {
  assert.is(canonicalJson({ b: 1, a: { d: undefined, c: [2, { z: 1, y: 2 }] } }), '{"a":{"c":[2,{"y":2,"z":1}]},"b":1}');
});

test('generation starts at 1 and bumps only when spec, labels or phoenix annotations change', () => {
  let g = nextGeneration(undefined, ct());
  assert.is(g.generation, 1);
  // same content with other key order: no bump
  const reordered = ct();
  reordered.spec = { rootfs: { size: '8G', storage: 'local-zfs' }, source: { template: 'base' }, vmid: 101 };
  g = nextGeneration(g, reordered);
  assert.is(g.generation, 1);
  g = nextGeneration(g, ct({ memory: 1024 }));
  assert.is(g.generation, 2);
  g = nextGeneration(g, ct({ memory: 1024 }));
  assert.is(g.generation, 2);
  g = nextGeneration(g, ct({ memory: 1024 }, { labels: { tier: 'web' } }));
  assert.is(g.generation, 3);
  g = nextGeneration(g, ct({ memory: 1024 }, { labels: { tier: 'web' }, annotations: { 'example.com/note': 'x' } }));
  assert.is(g.generation, 3, 'foreign annotations do not count');
  g = nextGeneration(g, ct({ memory: 1024 }, { labels: { tier: 'web' }, annotations: { 'phoenix.hypervisor/prune': 'true' } }));
  assert.is(g.generation, 4);
});

test('the digest ignores metadata.generation itself', () => {
  assert.is(specDigest(ct({}, { generation: 7 })), specDigest(ct()));
});

test.run();
