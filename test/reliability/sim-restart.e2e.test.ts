// pvesim restarted under a running controller: pvesim runs as its own process with a state file on a
// fixed port, the controller as a child process converging the example fleet plus generated clones.
// pvesim is SIGKILLed at least twice while tasks are running, left down briefly, and restarted from
// its state file (same URL, token and certificate, as a rebooted Proxmox node). Tasks running at a
// kill come back as "unexpected status"; the controller must see that verdict, never crash, and
// finish with every resource Ready, exactly one guest per manifest and none without one, nothing
// destroyed or created twice (read from pvesim's persisted model), the outage visible in metrics
// and Warning events.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readState } from '../../pvesim/model/state.js';
import { waitFor } from '../controller/helpers.js';
import { freePort, simRequest, startSimProcess, type SimProcess } from '../helpers/pvesim-process.js';
import { copyExampleFleet, invariantsOf, simLayout, writeGeneratedFleet } from './fleet.js';
import { PLURALS, allReady, getText, startController, statusLists, type Controller } from './controller-process.js';

const KILLS = 2;
const OUTAGE_MS = 1500;
const CLONES = 16;

let dir: string;
let statePath: string;
let sim: SimProcess | undefined;
let ctl: Controller | undefined;

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'phoenix-simrestart-'));
  mkdirSync(join(dir, 'manifests'));
  copyExampleFleet(join(dir, 'manifests'));
  writeGeneratedFleet(join(dir, 'manifests'), CLONES, { running: true });
  statePath = join(dir, 'pvesim', 'state.json');
});

test.after(async () => {
  if (ctl && ctl.proc.exitCode === null) {
    ctl.proc.kill('SIGKILL');
    await ctl.exited;
  }
  await sim?.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface SimTask { upid: string; type: string; status: string; exitstatus?: string; startedAtMs: number }

test(`pvesim SIGKILLed ${KILLS} times mid-converge and restarted from its state: controller survives, fleet converges exactly once`, async () => {
  const layout = await simLayout(join(dir, 'manifests'));
  const args = [
    '--listen', `127.0.0.1:${await freePort()}`,
    '--nodes', layout.nodes.join(','),
    // slow enough that the converge spans both kills and their outages
    '--time-scale', '0.1',
    '--state', statePath,
    '--seed', '11',
    ...layout.storages.flatMap((s) => ['--storage', `${s.name}:${s.type}:${s.sizeGiB}:${(s.content ?? []).join(',')}`]),
  ];
  sim = await startSimProcess(args);
  const first = sim.info;
  const cert = readFileSync(`${statePath}.cert.pem`, 'utf8');
  const simTasks = async () => (await simRequest(sim!.info, cert, 'GET', '/_sim/tasks')).data as SimTask[];
  const simGuests = async () => ((await simRequest(sim!.info, cert, 'GET', '/api2/json/cluster/resources?type=vm')).data as unknown[]).length;

  ctl = startController(dir, { PHOENIX_PVE_URL: first.url, PHOENIX_PVE_TOKEN: first.token, PHOENIX_PVE_FINGERPRINT: first.fingerprint, PHOENIX_LOG_LEVEL: 'info' });
  const alive = () => {
    if (ctl!.proc.exitCode !== null || ctl!.proc.signalCode !== null) throw new Error(`the controller exited (${ctl!.proc.exitCode ?? ctl!.proc.signalCode}):\n${ctl!.output().slice(-4000)}`);
  };
  await waitFor(() => (alive(), ctl!.url()), 30_000, 'the controller to listen');

  const t0 = Date.now();
  const guestsAtKills: number[] = [];
  const runningAtKills: string[][] = [];
  for (let k = 0; k < KILLS; k++) {
    // spread the kills over the converge: kill k once k/(KILLS+1) of the guests exist, and while a
    // task runs. To be sure one does, every task started from then on hangs (a worker the node dies
    // under); the restarted pvesim has no faults.
    const atLeast = Math.max((guestsAtKills[k - 1] ?? 0) + 1, Math.floor(((k + 1) * layout.vmids.length) / (KILLS + 1)));
    let guests = 0;
    await waitFor(async () => (alive(), (guests = await simGuests()) >= atLeast), 90_000, `kill ${k + 1}: ${atLeast} guests`);
    const armedAt = Date.now();
    assert.is((await simRequest(sim.info, cert, 'PUT', '/_sim/faults', { spec: 'POST /nodes/** taskhang' })).status, 200);
    let running: SimTask[] = [];
    await waitFor(async () => (alive(), (running = (await simTasks()).filter((t) => t.status === 'running' && t.startedAtMs >= armedAt)).length > 0), 60_000, `kill ${k + 1}: a task started after ${guests} guests`);
    await sim.stop('SIGKILL');
    guestsAtKills.push(guests);
    runningAtKills.push(running.map((t) => t.type));
    await new Promise((r) => setTimeout(r, OUTAGE_MS)); // the outage: the controller keeps working against a dead port
    alive();
    sim = await startSimProcess(args);
    assert.equal([sim.info.url, sim.info.token, sim.info.fingerprint], [first.url, first.token, first.fingerprint], 'same URL, token and certificate after the restart');
    assert.match(sim.log(), /; \d+ interrupted task\(s\) ended as "unexpected status"/, `restart ${k + 1} resolved the running tasks`);
  }

  try {
    await waitFor(async () => (alive(), allReady(ctl!, layout.count)), 180_000, 'every resource Ready after the restarts');
  } catch (err) {
    const lists = await statusLists(ctl).catch(() => undefined);
    const stuck = Object.values(lists ?? {}).flat().filter((i) => !i.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    throw new Error(`${(err as Error).message}\nnot Ready: ${JSON.stringify(stuck.slice(0, 4))}\n${ctl.output().slice(-3000)}`);
  }
  const secs = (Date.now() - t0) / 1000;
  alive();

  // the outage is visible: failed connections counted, Warning events recorded, and the controller saw
  // the interrupted tasks' verdict rather than waiting on them for ever
  const metrics = await getText(ctl, '/metrics');
  const refused = [...metrics.matchAll(/^phoenix_pve_api_requests_total\{[^}]*code="0"[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
  assert.ok(refused > 0, 'API calls that found no pvesim are counted (code="0")');
  const errors = [...metrics.matchAll(/^controller_runtime_reconcile_errors_total\{[^}]*\} (\d+)/gm)].reduce((a, m) => a + Number(m[1]), 0);
  assert.ok(errors > 0, 'reconcile errors counted');
  const lists = (await statusLists(ctl))!;
  const warnings: string[] = [];
  for (const plural of PLURALS) {
    for (const item of lists[plural] ?? []) {
      const ev = JSON.parse(await getText(ctl, `/${plural}/${item.metadata.name}/events`)) as { items: Array<{ type: string; message: string }> };
      warnings.push(...ev.items.filter((e) => e.type === 'Warning').map((e) => e.message));
    }
  }
  assert.ok(warnings.length > 0, 'Warning events recorded');
  assert.ok(warnings.some((m) => m.includes('unexpected status')), `an interrupted task's verdict reached the controller: ${warnings.slice(0, 5).join(' | ')}`);

  ctl.proc.kill('SIGTERM');
  assert.is(await ctl.exited, 0, 'the controller shuts down cleanly');
  await sim.stop('SIGTERM'); // saves its final state
  const state = readState(statePath)!;
  const inv = invariantsOf(state.tasks, state.guests.map((g) => g.vmid));
  assert.equal(inv.guests, layout.vmids, 'exactly one guest per manifest, none without one');
  assert.equal(inv.destroys, [], 'nothing destroyed');
  for (const [vmid, n] of inv.creates) assert.is(n, 1, `guest ${vmid} created once`);
  assert.is([...inv.creates.values()].reduce((a, b) => a + b, 0) + inv.clones, layout.vmids.length, 'one successful create/clone per guest: none recreated');
  const interrupted = state.tasks.filter((t) => t.exitstatus === 'unexpected status');
  assert.ok(interrupted.length >= KILLS, `tasks interrupted by the kills: ${interrupted.length}`);
  assert.ok(guestsAtKills.every((n) => n < layout.vmids.length), `the kills landed mid-converge (guests at each kill ${guestsAtKills.join(',')} of ${layout.vmids.length})`);

  console.log(`\nfigure: sim-restart e2e: ${KILLS} pvesim kills (guests at each ${guestsAtKills.join(',')}/${layout.vmids.length}; running then: ${runningAtKills.map((r) => r.join('+')).join(' / ')}), ${OUTAGE_MS} ms outages`);
  console.log(`figure: sim-restart e2e: ${interrupted.length} tasks ended "unexpected status" (${[...new Set(interrupted.map((t) => t.type))].join(', ')}); ${refused} refused API calls, ${errors} reconcile errors, ${warnings.length} Warning events; ${layout.count} resources Ready in ${secs.toFixed(1)} s`);
});

test.run();
