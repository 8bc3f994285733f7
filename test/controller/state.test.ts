import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockHeldError, StateStore } from '../../controller/state.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'phoenix-state-'));

test('state dir is 0700, files 0600, contents round-trip', async () => {
  const base = tmp();
  const dir = join(base, 'state');
  const s = new StateStore(dir);
  await s.open();
  await s.writeStatus('LxcContainer/web', { conditions: [], vmid: 101 });
  await s.writeEvents('LxcContainer/web', []);
  assert.is(statSync(dir).mode & 0o777, 0o700);
  assert.is(statSync(join(dir, 'status', 'LxcContainer')).mode & 0o777, 0o700);
  assert.is(statSync(s.pathOf('status', 'LxcContainer/web')).mode & 0o777, 0o600);
  const loaded = await s.loadAll();
  assert.equal(loaded.status.get('LxcContainer/web'), { conditions: [], vmid: 101 });
  assert.equal(loaded.events.get('LxcContainer/web'), []);
  rmSync(base, { recursive: true });
});

test('an existing state dir with loose permissions is tightened', async () => {
  const dir = tmp();
  chmodSync(dir, 0o755);
  const s = new StateStore(dir);
  const r = await s.open();
  assert.ok(r.tightened);
  assert.is(statSync(dir).mode & 0o777, 0o700);
  rmSync(dir, { recursive: true });
});

test('writes to one file apply in order and leave no temp files; crash leftovers are cleaned', async () => {
  const dir = tmp();
  const s = new StateStore(dir);
  await s.open();
  const writes = [];
  for (let i = 0; i < 40; i++) writes.push(s.writeStatus('Template/base', { conditions: [], vmid: i }));
  await Promise.all(writes);
  assert.is(JSON.parse(readFileSync(s.pathOf('status', 'Template/base'), 'utf8')).vmid, 39);
  // 40 writes queued before the first could start are folded into one write of the newest
  assert.equal(s.stats, { written: 1, folded: 39 });
  await s.writeStatus('Template/base', { conditions: [], vmid: 40 });
  assert.is(JSON.parse(readFileSync(s.pathOf('status', 'Template/base'), 'utf8')).vmid, 40, 'a write after the burst is its own');
  assert.equal(readdirSync(join(dir, 'status', 'Template')), ['base.json']);
  writeFileSync(join(dir, 'status', 'Template', 'base.json.999.1.tmp'), '{"torn');
  await new StateStore(dir).open();
  assert.equal(readdirSync(join(dir, 'status', 'Template')), ['base.json']);
  rmSync(dir, { recursive: true });
});

test('keys that could escape the state dir are refused', () => {
  const s = new StateStore('/nonexistent');
  assert.throws(() => s.pathOf('status', 'LxcContainer/../../etc'), /invalid resource key/);
  assert.throws(() => s.pathOf('status', 'Bogus/x'), /invalid resource key/);
});

test('a second holder is refused; a stale lock of a dead pid is taken over; release removes it', async () => {
  const dir = tmp();
  const a = new StateStore(dir);
  await a.open();
  assert.equal(a.acquireLock(), {});
  const b = new StateStore(dir);
  try {
    b.acquireLock();
    assert.unreachable('second lock must fail');
  } catch (err) {
    assert.instance(err, LockHeldError);
    assert.match((err as Error).message, new RegExp(`pid ${process.pid}`));
  }
  a.releaseLock();
  // a lock left by a process that has exited
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const deadPid = Number(dead.stdout.toString());
  writeFileSync(join(dir, 'controller.lock'), JSON.stringify({ pid: deadPid, startTime: 1 }));
  assert.equal(b.acquireLock(), { tookOverFrom: deadPid });
  assert.is(statSync(join(dir, 'controller.lock')).mode & 0o777, 0o600);
  b.releaseLock();
  assert.not.ok(readdirSync(dir).includes('controller.lock'));
  rmSync(dir, { recursive: true });
});

test('a lock whose pid was reused by another process (different start time) is stale', async () => {
  const dir = tmp();
  const s = new StateStore(dir);
  await s.open();
  writeFileSync(join(dir, 'controller.lock'), JSON.stringify({ pid: process.pid, startTime: -42 }));
  assert.equal(s.acquireLock(), { tookOverFrom: process.pid });
  s.releaseLock();
  rmSync(dir, { recursive: true });
});

test.run();
