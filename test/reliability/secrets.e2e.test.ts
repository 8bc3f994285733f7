// Secrets stay secret through a whole converge of the example fleet by a real controller process:
// the Proxmox token secret and the CA private keys appear in no output (stdout, stderr, state files
// other than the key files themselves, /metrics, the status API, events); the state dir is 0700 and
// its files 0600; a wrong PHOENIX_PVE_FINGERPRINT refuses to connect, says why, and writes nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createPrivateKey } from 'node:crypto';
import { join, relative } from 'node:path';
import { startSim, type SimHandle } from '../../pvesim/index.js';
import { waitFor } from '../controller/helpers.js';
import { copyExampleFleet, simLayout } from './fleet.js';
import { PLURALS, allReady, getText, startController, statusLists } from './controller-process.js';

let handle: SimHandle;
let dir: string;

function walk(d: string): string[] {
  return readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [join(d, e.name), ...walk(join(d, e.name))] : [join(d, e.name)]));
}

/**
 * What would betray a private key: its PEM body, and its secret scalar in base64url, base64 and hex
 * (a PEM's first bytes are an algorithm header every P-256 key shares, so no prefix slices).
 */
function needles(pem: string): string[] {
  const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const d = createPrivateKey(pem).export({ format: 'jwk' }).d!;
  const raw = Buffer.from(d, 'base64url');
  return [body, d, raw.toString('base64'), raw.toString('hex')];
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'phoenix-secrets-'));
  mkdirSync(join(dir, 'manifests'));
  copyExampleFleet(join(dir, 'manifests'));
  const layout = await simLayout(join(dir, 'manifests'));
  handle = await startSim({ timeScale: 0.01, nodes: layout.nodes, seed: 3, storages: layout.storages });
});

test.after(async () => {
  await handle.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a wrong PHOENIX_PVE_FINGERPRINT refuses to connect with a clear error and writes nothing', async () => {
  const wrong = handle.fingerprint.replace(/^../, handle.fingerprint.startsWith('00') ? '11' : '00');
  const c = startController(dir, { PHOENIX_PVE_URL: handle.url, PHOENIX_PVE_TOKEN: handle.token, PHOENIX_PVE_FINGERPRINT: wrong });
  try {
    await waitFor(() => /fingerprint mismatch/.test(c.output()), 60_000, 'the controller to report the mismatch');
  } finally {
    c.proc.kill('SIGTERM');
    await c.exited;
  }
  assert.match(c.output(), new RegExp(`PHOENIX_PVE_FINGERPRINT pins ${wrong}`));
  // the handshake failed, so pvesim saw no request at all, least of all a write
  assert.equal(handle.stats().requests, {}, 'no request reached pvesim');
  assert.is(handle.sim.guests.size, 0);
  assert.not.match(c.output(), handle.token.split('=')[1]!);
  rmSync(join(dir, 'state'), { recursive: true, force: true });
});

test('the token secret and the CA private keys appear in no output of a full converge', async () => {
  const secret = handle.token.split('=')[1]!;
  const layout = await simLayout(join(dir, 'manifests'));
  const c = startController(dir, { PHOENIX_PVE_URL: handle.url, PHOENIX_PVE_TOKEN: handle.token, PHOENIX_PVE_FINGERPRINT: handle.fingerprint });
  const outputs: Array<[string, string]> = [];
  try {
    try {
      await waitFor(() => allReady(c, layout.count), 120_000, 'the example fleet Ready');
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${JSON.stringify(await statusLists(c))}\n${c.output().slice(-3000)}`);
    }
    outputs.push(['/metrics', await getText(c, '/metrics')]);
    const lists = (await statusLists(c))!;
    outputs.push(['status API', JSON.stringify(lists)]);
    for (const plural of PLURALS) {
      for (const item of lists[plural]!) outputs.push([`events ${plural}/${item.metadata.name}`, await getText(c, `/${plural}/${item.metadata.name}/events`)]);
    }
  } finally {
    c.proc.kill('SIGTERM');
    await c.exited;
  }
  outputs.push(['stdout+stderr', c.output()]);
  const state = join(dir, 'state');
  const entries = walk(state);
  const keyFiles = entries.filter((f) => /\/ca\/[^/]+\/(root|intermediate)\.key$/.test(f));
  assert.ok(keyFiles.length >= 2, `CA key files: ${JSON.stringify(entries.map((f) => relative(state, f)))}`);
  const keys = keyFiles.flatMap((f) => needles(readFileSync(f, 'utf8')));
  for (const f of entries.filter((f) => statSync(f).isFile() && !keyFiles.includes(f))) outputs.push([relative(state, f), readFileSync(f, 'latin1')]);
  assert.ok(outputs.length > 10, `${outputs.length} outputs captured`);
  for (const [where, text] of outputs) {
    assert.not.ok(text.includes(secret), `the token secret appears in ${where}`);
    for (const k of keys) assert.not.ok(text.includes(k), `a CA private key appears in ${where}`);
  }
  // the state dir and everything in it: directories 0700, files 0600. The default --cert-dir
  // (state/certs) is the exception by design: certificates are public and its directories
  // traversable for bind mounts; issued keys carry their manifest's mode but never world access.
  for (const f of [state, ...entries]) {
    const rel = relative(state, f);
    const st = statSync(f);
    const mode = (st.mode & 0o777).toString(8);
    if (rel === 'certs' || rel.startsWith('certs/')) {
      if (rel.endsWith('.key')) assert.is(st.mode & 0o007, 0, `${rel} (${mode}) is not world-accessible`);
    } else if (st.isDirectory()) assert.is(mode, '700', `${rel || 'state dir'} is a 0700 directory`);
    else assert.is(mode, '600', `${rel} is 0600`);
  }
  console.log(`\nfigure: secrets e2e: ${outputs.length} outputs scanned (${outputs.reduce((a, [, t]) => a + t.length, 0)} bytes), ${keyFiles.length} CA keys and the token secret found in none`);
});

test.run();
