// The controller runtime end to end: real loader, graph, queue and reconcilers, against pvesim over
// HTTPS. The test observes Proxmox through its own client (tasks, configs), never through the runtime.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type SimHandle } from '../../pvesim/index.js';
import { createPveClient, pveConfigFromEnv, type PveClient, type TaskListEntry } from '../../controller/pve/client.js';
import { createReconcilers } from '../../controller/reconcilers/index.js';
import { createMetrics } from '../../controller/metrics.js';
import { Runtime } from '../../controller/runtime.js';
import { StateStore } from '../../controller/state.js';
import { getCondition } from '../../controller/conditions.js';
import { FAST_POLLING } from '../reconcilers/harness.js';
import { waitFor } from './helpers.js';

const OSTPL = 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst';

const template = `apiVersion: phoenix.hypervisor/v1alpha1
kind: Template
metadata:
  name: base
spec:
  vmid: 900
  type: lxc
  ostemplate: ${OSTPL}
  rootfs: { storage: local-lvm, size: 2G }
`;
const container = (name: string, vmid: number, source: string, storage: string, memory = 512) => `apiVersion: phoenix.hypervisor/v1alpha1
kind: LxcContainer
metadata:
  name: ${name}
spec:
  vmid: ${vmid}
  source: ${source}
  memory: ${memory}
  rootfs: { storage: ${storage}, size: 2G }
`;

let handle: SimHandle;
let observer: PveClient;
let controllerPve: PveClient;
let rt: Runtime;
let dir: string;
let manifests: string;

const cond = (kind: 'LxcContainer' | 'Template', name: string, type = 'Ready') => getCondition(rt.get({ kind, name })?.status.conditions, type);
const ready = (kind: 'LxcContainer' | 'Template', name: string) => cond(kind, name)?.status === 'True' && rt.get({ kind, name })?.status.observedGeneration === rt.get({ kind, name })?.metadata.generation;
const tasks = async (): Promise<TaskListEntry[]> => observer.tasks('pve', { source: 'all', limit: 1000 });
const byGuest = (list: TaskListEntry[], vmid: number) => list.filter((t) => t.id === String(vmid));

test.before(async () => {
  // vzcreate lasts 6 simulated seconds: 3 s here, so overlaps show at Proxmox's one-second resolution
  handle = await startSim({
    timeScale: 0.5,
    nodes: ['pve'],
    seed: 11,
    storages: [
      { name: 'fast1', type: 'lvmthin', content: ['images', 'rootdir'], sizeGiB: 256 },
      { name: 'fast2', type: 'lvmthin', content: ['images', 'rootdir'], sizeGiB: 256 },
    ],
  });
  const env = { PHOENIX_PVE_URL: handle.url, PHOENIX_PVE_TOKEN: handle.token, PHOENIX_PVE_FINGERPRINT: handle.fingerprint };
  observer = createPveClient(pveConfigFromEnv(env), createMetrics());
  const metrics = createMetrics();
  controllerPve = createPveClient(pveConfigFromEnv(env), metrics);
  dir = mkdtempSync(join(tmpdir(), 'phoenix-e2e-'));
  manifests = join(dir, 'manifests');
  mkdirSync(manifests);
  writeFileSync(join(manifests, 'base.yaml'), template);
  writeFileSync(join(manifests, 'app.yaml'), container('app', 101, '{ template: base }', 'local-lvm'));
  writeFileSync(join(manifests, 'solo1.yaml'), container('solo1', 201, `{ ostemplate: "${OSTPL}" }`, 'fast1'));
  writeFileSync(join(manifests, 'solo2.yaml'), container('solo2', 202, `{ ostemplate: "${OSTPL}" }`, 'fast2'));
  const state = new StateStore(join(dir, 'state'));
  await state.open();
  rt = new Runtime({
    manifestsDir: manifests,
    state,
    reconcilers: createReconcilers({ pve: controllerPve, metrics, options: { prune: true, polling: FAST_POLLING, driftIntervalMs: 0 } }),
    metrics,
    concurrency: 4,
    resyncMs: 0,
    prune: true,
    debounceMs: 50,
    deletionGraceMs: 200,
  });
  await rt.start();
});

test.after(async () => {
  await rt.stop();
  await controllerPve.close();
  await observer.close();
  await handle.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the fleet converges: independent branches overlap, the clone waits for its template', async () => {
  await waitFor(() => ready('Template', 'base') && ready('LxcContainer', 'app') && ready('LxcContainer', 'solo1') && ready('LxcContainer', 'solo2'), 60_000, 'fleet Ready');
  const list = await tasks();
  const create = (vmid: number) => byGuest(list, vmid).find((t) => t.type === 'vzcreate')!;
  const [s1, s2, tpl] = [create(201), create(202), create(900)];
  assert.ok(s1 && s2 && tpl, 'every create ran');
  // independent branches ran at the same time: two of the three creates overlapped (the per-node
  // create limit, 2, queues the third)
  const overlap = (a: TaskListEntry, b: TaskListEntry) => a.starttime! < b.endtime! && b.starttime! < a.endtime!;
  const pairs = [[s1, s2], [s1, tpl], [s2, tpl]].filter(([a, b]) => overlap(a!, b!));
  assert.ok(pairs.length >= 1, `no creates overlapped: ${JSON.stringify([s1, s2, tpl])}`);
  // the clone began only after every task of its template had finished
  const clone = byGuest(list, 900).find((t) => t.type === 'vzclone') ?? list.find((t) => t.type === 'vzclone');
  assert.ok(clone, 'the container was cloned');
  const templateEnd = Math.max(...byGuest(list, 900).filter((t) => t !== clone).map((t) => t.endtime!));
  assert.ok(clone!.starttime! >= templateEnd, `clone at ${clone!.starttime} after template tasks ended at ${templateEnd}`);
  // the first pass is done once the last of those Ready statuses is on disk, just after it shows in memory
  await waitFor(() => rt.isReady(), 5000, 'first full pass done');
});

test('while a dependency is not ready its dependent says so and does not act', async () => {
  const before = byGuest(await tasks(), 101).length;
  writeFileSync(join(manifests, 'base.yaml'), template.replace('size: 2G', 'size: 3G'));
  await waitFor(() => cond('LxcContainer', 'app')?.reason === 'DependencyNotReady' || (rt.get({ kind: 'Template', name: 'base' })?.metadata.generation === 2 && ready('Template', 'base')), 20_000);
  // whichever we saw, the container never acted while its template was at a generation not yet Ready
  await waitFor(() => ready('Template', 'base'), 30_000, 'template Ready at generation 2');
  await waitFor(() => ready('LxcContainer', 'app'), 30_000, 'app Ready again');
  assert.is(byGuest(await tasks(), 101).length, before, 'no task against the container');
});

test('an edit triggers a reconcile that changes the guest', async () => {
  writeFileSync(join(manifests, 'solo1.yaml'), container('solo1', 201, `{ ostemplate: "${OSTPL}" }`, 'fast1', 768));
  await waitFor(async () => (await observer.guestConfig('pve', 'lxc', 201)).memory === 768, 20_000, 'memory 768 on the guest');
  await waitFor(() => ready('LxcContainer', 'solo1') && rt.get({ kind: 'LxcContainer', name: 'solo1' })!.status.observedGeneration === 2, 10_000);
});

test('drift is corrected on the next full pass', async () => {
  await observer.updateConfig('pve', 'lxc', 202, { memory: 2048 });
  assert.is((await observer.guestConfig('pve', 'lxc', 202)).memory, 2048);
  rt.fullPass(); // what --resync does
  await waitFor(async () => (await observer.guestConfig('pve', 'lxc', 202)).memory === 512, 20_000, 'memory back to 512');
  await waitFor(() => rt.events({ kind: 'LxcContainer', name: 'solo2' }).some((e) => e.reason === 'DriftCorrected'), 5000);
});

test('an invalid edit stalls the resource and prunes nothing, even with --prune; fixing it resumes', async () => {
  writeFileSync(join(manifests, 'solo2.yaml'), 'apiVersion: phoenix.hypervisor/v1alpha1\nkind: LxcContainer\nmetadata: { name: solo2\nspec: [\n');
  await waitFor(() => cond('LxcContainer', 'solo2', 'Stalled')?.reason === 'ManifestInvalid', 10_000);
  assert.match(cond('LxcContainer', 'solo2', 'Stalled')!.message, /solo2\.yaml:\d+:\d+: /);
  writeFileSync(join(manifests, 'solo1.yaml'), container('solo1', 201, `{ ostemplate: "${OSTPL}" }`, 'fast1', 0));
  await waitFor(() => cond('LxcContainer', 'solo1', 'Stalled')?.reason === 'ManifestInvalid', 10_000, 'invalid spec stalls');
  // longer than the deletion grace and a full pass: both guests are still there
  rt.fullPass();
  await rt.whenIdle();
  await new Promise((r) => setTimeout(r, 400));
  await rt.whenIdle();
  const vmids = (await observer.clusterGuests()).map((g) => g.vmid).sort();
  assert.equal(vmids, [101, 201, 202, 900]);
  assert.is(byGuest(await tasks(), 202).filter((t) => t.type === 'vzdestroy').length, 0);
  writeFileSync(join(manifests, 'solo2.yaml'), container('solo2', 202, `{ ostemplate: "${OSTPL}" }`, 'fast2'));
  writeFileSync(join(manifests, 'solo1.yaml'), container('solo1', 201, `{ ostemplate: "${OSTPL}" }`, 'fast1', 768));
  await waitFor(() => ready('LxcContainer', 'solo2') && ready('LxcContainer', 'solo1'), 20_000, 'resumed');
});

test('a removed manifest with --prune deletes its guest', async () => {
  rmSync(join(manifests, 'solo2.yaml'));
  await waitFor(async () => !(await observer.clusterGuests()).some((g) => g.vmid === 202), 30_000, 'guest 202 deleted');
  await waitFor(() => rt.get({ kind: 'LxcContainer', name: 'solo2' }) === undefined, 5000);
});

test.run();
