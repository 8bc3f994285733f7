// Crash safety: a controller process converging a 20-guest fleet is killed with SIGKILL at seeded
// random moments at least 20 times, restarted each time, then allowed to finish. pvesim's own model
// must then show exactly one guest per manifest, no destroy, no guest created twice, all Ready.
// Reproduce a run with PHOENIX_CRASH_SEED=<the printed seed>.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type SimHandle } from '../../pvesim/index.js';
import { seededRandom } from '../../pvesim/model/util.js';
import { waitFor } from '../controller/helpers.js';
import { invariants, simLayout, writeGeneratedFleet } from './fleet.js';
import { allReady, startController } from './controller-process.js';

const SEED = Number(process.env.PHOENIX_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
const KILLS = 20;

let handle: SimHandle;
let dir: string;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'phoenix-crash-'));
  mkdirSync(join(dir, 'manifests'));
  writeGeneratedFleet(join(dir, 'manifests'), 19, { running: true });
  // slow enough that a converge spans many controller lives
  handle = await startSim({ timeScale: 0.1, nodes: ['pve'], seed: SEED });
});

test.after(async () => {
  await handle.close();
  rmSync(dir, { recursive: true, force: true });
});

test(`SIGKILL at ${KILLS}+ random moments of a converge, restarting each time: one guest per manifest, nothing destroyed`, async () => {
  console.log(`\nfigure: crash e2e seed: ${SEED} (PHOENIX_CRASH_SEED)`);
  const rand = seededRandom(SEED);
  const layout = await simLayout(join(dir, 'manifests'));
  const env = { PHOENIX_PVE_URL: handle.url, PHOENIX_PVE_TOKEN: handle.token, PHOENIX_PVE_FINGERPRINT: handle.fingerprint, PHOENIX_LOG_LEVEL: 'info' };
  const t0 = Date.now();
  let kills = 0;
  const guestsAtKills: number[] = [];
  for (; kills < KILLS; kills++) {
    const c = startController(dir, env);
    // the process needs about a second to load; kill it somewhere from then on
    await waitFor(() => c.url() || c.proc.exitCode !== null, 30_000, 'the controller to listen');
    await new Promise((r) => setTimeout(r, Math.floor(rand() * 1200)));
    c.proc.kill('SIGKILL');
    await c.exited;
    guestsAtKills.push(handle.sim.guests.size);
  }
  const c = startController(dir, env);
  try {
    await waitFor(() => allReady(c, layout.count), 120_000, 'all Ready after the last restart');
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${c.output().slice(-4000)}`);
  } finally {
    c.proc.kill('SIGTERM');
    await c.exited;
  }
  const inv = invariants(handle);
  assert.equal(inv.guests, layout.vmids, 'exactly one guest per manifest');
  assert.equal(inv.destroys, [], 'nothing destroyed');
  for (const [vmid, n] of inv.creates) assert.is(n, 1, `guest ${vmid} created once`);
  assert.is([...inv.creates.values()].reduce((a, b) => a + b, 0) + inv.clones, layout.vmids.length, 'one successful create/clone per guest');
  // the kills landed during the converge, not all after it
  assert.ok(guestsAtKills.some((n) => n < layout.vmids.length), `guests at each kill: ${guestsAtKills.join(',')}`);
  console.log(`figure: kills survived: ${kills} (guests at each kill ${guestsAtKills.join(',')}; ${((Date.now() - t0) / 1000).toFixed(1)} s in all)`);
});

test.run();
