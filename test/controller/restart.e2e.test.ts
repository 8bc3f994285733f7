// Restart safety of the real entry point: a controller process (node --import tsx controller/main.ts)
// against a pvesim this test runs, killed with SIGKILL in the middle of converging, then restarted:
// exactly one guest per manifest, no create or clone repeated, nothing destroyed. Also: a second
// controller on the same state dir refuses to start, and SIGTERM exits 0.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type SimHandle } from '../../pvesim/index.js';
import { createPveClient, pveConfigFromEnv, type PveClient, type TaskListEntry } from '../../controller/pve/client.js';
import { createMetrics } from '../../controller/metrics.js';
import { waitFor } from './helpers.js';

const root = new URL('../..', import.meta.url).pathname;
const OSTPL = 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst';
const EXPECTED = [101, 102, 103, 201, 900];

let handle: SimHandle;
let observer: PveClient;
let dir: string;

interface Controller {
  proc: ChildProcess;
  output: () => string;
  url: () => string | undefined;
  exited: Promise<number | null>;
}

function startController(): Controller {
  let out = '';
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'controller/main.ts', '--manifests', join(dir, 'manifests'), '--state-dir', join(dir, 'state'), '--listen', '127.0.0.1:0', '--resync', '0'],
    {
      cwd: root,
      env: { ...process.env, PHOENIX_PVE_URL: handle.url, PHOENIX_PVE_TOKEN: handle.token, PHOENIX_PVE_FINGERPRINT: handle.fingerprint, PHOENIX_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  return { proc, output: () => out, url: () => /"msg":"http endpoint listening","url":"([^"]+)"/.exec(out)?.[1], exited };
}

async function allReady(c: Controller): Promise<boolean> {
  const url = c.url();
  if (!url) return false;
  let ok = 0;
  for (const plural of ['templates', 'lxccontainers']) {
    const res = await fetch(`${url}/apis/phoenix.hypervisor/v1alpha1/${plural}`).catch(() => undefined);
    if (!res?.ok) return false;
    const body = (await res.json()) as { items: Array<{ status: { conditions?: Array<{ type: string; status: string }> } }> };
    ok += body.items.filter((i) => i.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')).length;
  }
  return ok === EXPECTED.length;
}

const tasks = (): Promise<TaskListEntry[]> => observer.tasks('pve', { source: 'all', limit: 1000 });

test.before(async () => {
  handle = await startSim({ timeScale: 0.3, nodes: ['pve'], seed: 5 });
  observer = createPveClient(pveConfigFromEnv({ PHOENIX_PVE_URL: handle.url, PHOENIX_PVE_TOKEN: handle.token, PHOENIX_PVE_FINGERPRINT: handle.fingerprint }), createMetrics());
  dir = mkdtempSync(join(tmpdir(), 'phoenix-restart-'));
  const m = join(dir, 'manifests');
  mkdirSync(m);
  writeFileSync(
    join(m, 'base.yaml'),
    `apiVersion: phoenix.hypervisor/v1alpha1\nkind: Template\nmetadata: { name: base }\nspec:\n  vmid: 900\n  type: lxc\n  ostemplate: ${OSTPL}\n  rootfs: { storage: local-lvm, size: 2G }\n`,
  );
  for (const [name, vmid, source] of [
    ['web1', 101, '{ template: base }'],
    ['web2', 102, '{ template: base }'],
    ['web3', 103, '{ template: base }'],
    ['solo', 201, `{ ostemplate: "${OSTPL}" }`],
  ] as const) {
    writeFileSync(
      join(m, `${name}.yaml`),
      `apiVersion: phoenix.hypervisor/v1alpha1\nkind: LxcContainer\nmetadata: { name: ${name} }\nspec:\n  vmid: ${vmid}\n  source: ${source}\n  powerState: running\n  rootfs: { storage: local-lvm, size: 2G }\n`,
    );
  }
});

test.after(async () => {
  await observer.close();
  await handle.close();
  rmSync(dir, { recursive: true, force: true });
});

test('SIGKILL mid-converge, twice, then a restart: one guest per manifest, no create repeated, nothing destroyed', async () => {
  // first kill: as soon as the first task is running
  let c = startController();
  await waitFor(async () => (await tasks()).some((t) => t.status === undefined || t.endtime === undefined), 30_000, 'a task running');
  c.proc.kill('SIGKILL');
  await c.exited;
  // second kill: once some clone has started (the template is done), mid-way through the clones
  c = startController();
  await waitFor(async () => (await tasks()).some((t) => t.type === 'vzclone'), 60_000, 'a clone started');
  c.proc.kill('SIGKILL');
  await c.exited;
  // the restart converges the rest
  c = startController();
  try {
    await waitFor(() => allReady(c), 90_000, 'all Ready after the restart');
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${c.output().slice(-4000)}`);
  }
  const guests = (await observer.clusterGuests()).map((g) => g.vmid).sort((a, b) => a - b);
  assert.equal(guests, EXPECTED, 'exactly one guest per manifest');
  const list = await tasks();
  for (const vmid of [900, 201]) {
    const creates = list.filter((t) => t.id === String(vmid) && t.type === 'vzcreate');
    assert.is(creates.length, 1, `guest ${vmid} was created once: ${JSON.stringify(creates)}`);
  }
  // Proxmox lists a clone task under its source's vmid: three containers, three clones
  const clones = list.filter((t) => t.type === 'vzclone');
  assert.is(clones.length, 3, `one clone per container: ${JSON.stringify(clones)}`);
  assert.is(list.filter((t) => t.type === 'vzdestroy').length, 0, 'nothing destroyed');

  // a second controller on the same state dir refuses to start
  const second = startController();
  assert.is(await second.exited, 1);
  assert.match(second.output(), /another phoenix controller \(pid \d+\) holds .*controller\.lock/);

  // SIGTERM: clean exit 0 within the deadline
  const t0 = Date.now();
  c.proc.kill('SIGTERM');
  assert.is(await c.exited, 0);
  assert.ok(Date.now() - t0 < 12_000);
  assert.match(c.output(), /"msg":"stopped"/);
});

test.run();
