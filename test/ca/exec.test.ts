import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGuestExec } from '../../controller/ca/exec.js';

const dir = mkdtempSync(join(tmpdir(), 'phoenix-exec-'));
// a stand-in `pct` that records its argv, one argument a line, and exits with $PCT_EXIT
const pct = join(dir, 'pct');
writeFileSync(pct, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > "${dir}/argv"\necho "stderr text" >&2\nexit "\${PCT_EXIT:-0}"\n`, { mode: 0o755 });

test('container commands run as `pct exec <vmid> -- argv...` with no shell in between', async () => {
  const ex = createGuestExec({ allowHostCommands: true, pct });
  const r = await ex.exec({ type: 'lxc', node: 'pve', vmid: 101 }, ['sh', '-c', 'nginx -s reload; echo $HOME']);
  assert.is(r.exitCode, 0);
  assert.equal(readFileSync(join(dir, 'argv'), 'utf8').split('\n').slice(0, -1), ['exec', '101', '--', 'sh', '-c', 'nginx -s reload; echo $HOME']);
  process.env.PCT_EXIT = '3';
  const failed = await ex.exec({ type: 'lxc', node: 'pve', vmid: 101 }, ['false']);
  delete process.env.PCT_EXIT;
  assert.is(failed.exitCode, 3);
  assert.match(failed.stderr ?? '', /stderr text/);
});

test('without --allow-host-commands the executor itself refuses containers (second guard)', async () => {
  rmSync(join(dir, 'argv'), { force: true });
  const ex = createGuestExec({ allowHostCommands: false, pct });
  let err: unknown;
  await ex.exec({ type: 'lxc', node: 'pve', vmid: 101 }, ['true']).catch((e) => (err = e));
  assert.match(String(err), /--allow-host-commands/);
  assert.throws(() => readFileSync(join(dir, 'argv')));
});

test('VMs need a guest agent client', async () => {
  const ex = createGuestExec({ allowHostCommands: true, pct });
  let err: unknown;
  await ex.exec({ type: 'qemu', node: 'pve', vmid: 200 }, ['true']).catch((e) => (err = e));
  assert.match(String(err), /guest agent/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
