import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Debouncer, watchManifests, type ManifestBatch } from '../../controller/watch.js';
import { waitFor } from './helpers.js';

test('debouncer coalesces a burst into one batch after the quiet period', async () => {
  const batches: ManifestBatch[] = [];
  const d = new Debouncer((b) => batches.push(b), { debounceMs: 30, maxWaitMs: 1000 });
  for (let i = 0; i < 20; i++) d.file(`/m/f${i % 5}.yaml`);
  d.removedDir('/m/sub');
  assert.is(batches.length, 0);
  await waitFor(() => batches.length === 1);
  assert.is(batches[0]!.files.size, 5);
  assert.equal([...batches[0]!.removedDirs], ['/m/sub']);
});

test('debouncer still delivers within maxWait under a stream of writes', async () => {
  const batches: ManifestBatch[] = [];
  const d = new Debouncer((b) => batches.push(b), { debounceMs: 40, maxWaitMs: 120 });
  const t0 = Date.now();
  const iv = setInterval(() => d.file('/m/a.yaml'), 10);
  await waitFor(() => batches.length >= 1, 1000);
  clearInterval(iv);
  d.cancel();
  assert.ok(Date.now() - t0 < 400);
});

test('watcher reports create, change, atomic save, rename, delete and a many-file rewrite as few batches', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-watch-'));
  writeFileSync(join(dir, 'a.yaml'), 'a: 1\n');
  const batches: ManifestBatch[] = [];
  const w = watchManifests(dir, { debounceMs: 100, onBatch: (b) => batches.push(b) });
  await w.ready;
  const seen = () => new Set(batches.flatMap((b) => [...b.files]));

  writeFileSync(join(dir, 'b.yaml'), 'b: 1\n');
  await waitFor(() => seen().has(join(dir, 'b.yaml')), 3000, 'create');

  // editor atomic save: write a temp file, rename it over the target
  batches.length = 0;
  writeFileSync(join(dir, '.a.yaml.swp'), 'a: 2\n');
  renameSync(join(dir, '.a.yaml.swp'), join(dir, 'a.yaml'));
  await waitFor(() => seen().has(join(dir, 'a.yaml')), 3000, 'atomic save');
  assert.not.ok([...seen()].some((p) => p.includes('.swp')), 'temp file ignored');

  batches.length = 0;
  renameSync(join(dir, 'b.yaml'), join(dir, 'c.yaml'));
  await waitFor(() => seen().has(join(dir, 'b.yaml')) && seen().has(join(dir, 'c.yaml')), 3000, 'rename');

  batches.length = 0;
  unlinkSync(join(dir, 'c.yaml'));
  await waitFor(() => seen().has(join(dir, 'c.yaml')), 3000, 'delete');

  // a git pull rewriting many files at once: one batch
  batches.length = 0;
  mkdirSync(join(dir, 'fleet'));
  for (let i = 0; i < 25; i++) writeFileSync(join(dir, 'fleet', `ct${i}.yaml`), `n: ${i}\n`);
  writeFileSync(join(dir, 'notes.txt'), 'ignored');
  await waitFor(() => seen().size === 25, 3000, 'bulk write');
  assert.ok(batches.length <= 2, `bulk write came as ${batches.length} batches`);
  assert.not.ok(seen().has(join(dir, 'notes.txt')));

  batches.length = 0;
  rmSync(join(dir, 'fleet'), { recursive: true });
  await waitFor(() => batches.some((b) => b.removedDirs.has(join(dir, 'fleet')) || b.files.size > 0), 3000, 'rmdir');
  await w.close();
  rmSync(dir, { recursive: true });
});

test.run();
