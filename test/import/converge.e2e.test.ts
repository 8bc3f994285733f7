// Issue 7, end to end: the real legacy configs, imported with `phoenixctl import --no-adopt`, are
// converged by the in-process controller on pvesim, and Proxmox's own task list shows every guest was
// created after what the legacy JSON says it clones from or depends on.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { TaskListEntry } from '../../controller/pve/client.js';
import type { Kind } from '../../resources/types.js';
import { runCli } from '../helpers/cli.js';
import { startConverge, type Converge } from '../helpers/converge.js';
import { waitFor } from '../helpers/wait.js';
import { sharedDir } from './shared.js';

const legacy = sharedDir('phoenix-legacy');
if (!legacy) {
  console.log('converge.e2e: reference data phoenix-legacy not found (set PHOENIX_SHARED); skipped');
  process.exit(0);
}

interface LegacyGuest {
  vmid: number;
  clone?: number;
  deps: number[];
}
function legacyGuests(): LegacyGuest[] {
  const lxc = JSON.parse(readFileSync(join(legacy!, 'phoenix_lxc_configs.json'), 'utf8')) as { lxc_configs: Record<string, { clone_from_ctid?: number | string; dependencies?: (string | number)[] }> };
  const vms = JSON.parse(readFileSync(join(legacy!, 'phoenix_vm_configs.json'), 'utf8')) as { vms: { vmid: number; clone_from_vmid?: number | string; dependencies?: (string | number)[] }[] };
  const out: LegacyGuest[] = [];
  for (const [k, c] of Object.entries(lxc.lxc_configs)) out.push({ vmid: Number(k), ...(c.clone_from_ctid !== undefined ? { clone: Number(c.clone_from_ctid) } : {}), deps: (c.dependencies ?? []).map(Number) });
  for (const v of vms.vms) out.push({ vmid: Number(v.vmid), ...(v.clone_from_vmid !== undefined ? { clone: Number(v.clone_from_vmid) } : {}), deps: (v.dependencies ?? []).map(Number) });
  return out;
}

let out: string;
let c: Converge;
let resources: { kind: Kind; name: string; vmid: number }[];

test.before(async () => {
  out = mkdtempSync(join(tmpdir(), 'phoenix-import-converge-'));
  const r = await runCli(['import', legacy!, '--no-adopt', '-o', out]);
  assert.is(r.code, 0, r.stderr);
  // what the summary says the fleet needs: storages (name: content types) and bind-mounted host dirs
  const section = (title: string) => (r.stdout.split(title)[1] ?? '').split('\n\n')[0]!.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
  const storages = section('Storages the fleet needs').map((l) => {
    const [name, content] = l.split(':').map((s) => s.trim());
    return { name: name!, content: content!.split(',') };
  });
  const hostPaths = section('Host directories bind-mounted');
  assert.ok(storages.length >= 3 && hostPaths.length >= 1, r.stdout);
  resources = readdirSync(out)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => parse(readFileSync(join(out, f), 'utf8')) as { kind: Kind; metadata: { name: string }; spec: { vmid: number } })
    .map((d) => ({ kind: d.kind, name: d.metadata.name, vmid: d.spec.vmid }));
  c = await startConverge({
    manifestsDir: out,
    storages: storages
      .filter((s) => s.name !== 'local')
      .map((s) => ({ name: s.name, type: s.content.includes('images') ? ('lvmthin' as const) : ('zfspool' as const), content: s.content as never, sizeGiB: 4096 })),
    allowedHostPaths: hostPaths,
    concurrency: 6,
    // creates take seconds, so an order shows at Proxmox's one-second resolution
    timeScale: 0.1,
  });
});

test.after(async () => {
  await c?.close();
  rmSync(out, { recursive: true, force: true });
});

test('all 15 imported guests become Ready, created in clone and dependency order', async () => {
  assert.is(resources.length, 15);
  await waitFor(
    'all imported guests Ready',
    () => resources.every((r) => c.ready(r.kind, r.name)),
    90_000,
    100,
  ).catch((e: Error) => {
    const notReady = resources.filter((r) => !c.ready(r.kind, r.name)).map((r) => `${r.kind}/${r.name}: ${JSON.stringify(c.rt.get(r)?.status.conditions)}`);
    throw new Error(`${e.message}\n${notReady.join('\n')}`);
  });
  const guests = await c.observer.clusterGuests();
  assert.equal(guests.map((g) => g.vmid).sort((a, b) => a - b), resources.map((r) => r.vmid).sort((a, b) => a - b));

  // Which task created each guest: create tasks are logged under the new id, clone tasks under the
  // source's, so a clone's target is read from its log (the volume it made).
  const tasks: TaskListEntry[] = await c.observer.tasks('pve', { source: 'all', limit: 5000 });
  const created = new Map<number, TaskListEntry>();
  for (const t of tasks) {
    if (t.status !== 'OK') continue;
    if (t.type === 'vzcreate' || t.type === 'qmcreate') created.set(Number(t.id), t);
    if (t.type === 'vzclone' || t.type === 'qmclone') {
      const log = (await c.observer.taskLog('pve', t.upid)).map((l) => l.t).join('\n');
      const target = /[:/](?:vm|subvol)-(\d+)-disk-\d+ created/.exec(log)?.[1];
      assert.ok(target, `clone task ${t.upid} names the guest it made: ${log}`);
      assert.not.ok(created.has(Number(target)), `guest ${target} created twice`);
      created.set(Number(target), t);
    }
  }
  const creation = (vmid: number) => {
    const t = created.get(vmid);
    assert.ok(t?.starttime !== undefined && t.endtime !== undefined, `a finished task created guest ${vmid}`);
    return { start: t.starttime!, end: t.endtime! };
  };
  // every edge of the legacy JSON: the guest's creation began only once what it clones from, or
  // depends on, had been created (Proxmox's times have one-second resolution)
  const edges: { from: number; to: number; via: string }[] = [];
  for (const g of legacyGuests()) {
    if (g.clone !== undefined) edges.push({ from: g.vmid, to: g.clone, via: 'clone_from' });
    for (const d of g.deps) edges.push({ from: g.vmid, to: d, via: 'dependencies' });
  }
  assert.ok(edges.some((e) => e.via === 'clone_from') && edges.some((e) => e.via === 'dependencies'));
  const broken = edges.filter((e) => creation(e.from).start < creation(e.to).end);
  assert.equal(broken, [], `created before what it needs: ${JSON.stringify(broken.map((e) => ({ ...e, fromCreated: creation(e.from), toCreated: creation(e.to) })))}`);
  // and the order is not vacuous: the longest chain spans several seconds of creation
  const spread = Math.max(...[...created.values()].map((t) => t.endtime!)) - Math.min(...[...created.values()].map((t) => t.starttime!));
  assert.ok(spread >= 3, `creations spread over ${spread} s`);
});

test.run();
