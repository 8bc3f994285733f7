// The real configuration of one legacy installation (../shared/phoenix-legacy): every guest comes
// over, re-import is byte-identical, and an edited manifest is never overwritten.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { runImport } from '../../cli/commands/import.js';
import { INDEX_FILE } from '../../cli/import/output.js';
import { loadManifests } from '../../controller/manifests.js';
import { buildGraph } from '../../controller/graph.js';
import type { ResourceKey } from '../../controller/types.js';
import { repoRoot, sharedDir } from './shared.js';

const run = promisify(execFile);

const legacy = sharedDir('phoenix-legacy');
let root: string;

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'phoenix-legacy-'));
});
test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) out[f] = await readFile(join(dir, f), 'utf8');
  return out;
}

if (!legacy) {
  console.log('skipped: ../shared/phoenix-legacy not found (set PHOENIX_SHARED)');
} else {
  test('every legacy guest is imported, with the expected kinds and sources', async () => {
    const lxc = JSON.parse(await readFile(join(legacy, 'phoenix_lxc_configs.json'), 'utf8'));
    const vm = JSON.parse(await readFile(join(legacy, 'phoenix_vm_configs.json'), 'utf8'));
    const ids = [...Object.keys(lxc.lxc_configs).map(Number), ...vm.vms.map((v: { vmid: number }) => v.vmid)].sort((a, b) => a - b);
    const out = join(root, 'fleet');
    const run = await runImport([legacy], out);
    assert.equal(run.result.guests.map((g) => g.vmid), ids);
    for (const g of run.result.guests) assert.equal(g.errors, [], `${g.path}: ${JSON.stringify(g.errors)}`);
    const files = (await readdir(out)).filter((f) => f.endsWith('.yaml'));
    assert.is(files.length, ids.length);
    const docs = await Promise.all(files.map(async (f) => parse(await readFile(join(out, f), 'utf8'))));
    const byId = new Map(docs.map((d) => [d.spec.vmid as number, d]));
    assert.equal(docs.filter((d) => d.kind === 'Template').map((d) => d.spec.vmid).sort(), [900, 9000]);
    assert.equal(byId.get(101).spec.source, { template: 'copy-base' });
    assert.equal(byId.get(910).spec.source, { guest: 'copy-cuda12-8', snapshot: 'final-form' });
    assert.equal(byId.get(801).spec.source, { guest: 'copy-vllm-gpu0', snapshot: 'final-form' });
    assert.equal(byId.get(1001).spec.source, { template: 'ubuntu-2404-cloud-template' });
    assert.equal(byId.get(901).spec.dependsOn, [{ kind: 'VirtualMachine', name: 'drphoenix' }]);
    // the places where the data disagrees with the schema are reported at their legacy paths
    const notes = run.result.guests.flatMap((g) => g.notes.map((n) => `${n.path}: ${n.message}`));
    assert.ok(notes.some((n) => n.startsWith('lxc_configs.911.unprivileged: missing (required by the legacy schema); true inherited')));
    assert.ok(notes.some((n) => n.startsWith('lxc_configs.103.firewall.rules[2]: duplicate of firewall.rules[1]')));
    assert.ok(notes.some((n) => n.startsWith('vms[2].docker_stacks[0]: string "qdrant_service"')));
    assert.ok(run.result.guests.find((g) => g.vmid === 103)!.unmapped.some((u) => u.field === 'health_check'));
    assert.equal(byId.get(101).spec.firewall.rules.find((r: { source?: string }) => r.source === '10.0.0.10').dport, '80,443');
    assert.match(run.summary, /Imported 15 of 15 guests/);
  });

  test('phoenixctl validate accepts the output', async () => {
    const out = join(root, 'fleet');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'cli/phoenixctl.ts', 'validate', out], { cwd: repoRoot }).catch((err) => {
      throw new Error(`phoenixctl validate failed (exit ${err.code}):\n${err.stdout}\n${err.stderr}`);
    });
    assert.match(stdout, /15 resources: 15 ok, 0 failed; 0 errors/);
  });

  test('the dependency graph is the original one: clone_from_* and dependencies, across kinds', async () => {
    const lxc = JSON.parse(await readFile(join(legacy, 'phoenix_lxc_configs.json'), 'utf8'));
    const vm = JSON.parse(await readFile(join(legacy, 'phoenix_vm_configs.json'), 'utf8'));
    // The original's edges, straight from the legacy JSON: vmid -> the vmids it needs.
    const needs = new Map<number, Set<number>>();
    for (const [id, c] of Object.entries<any>(lxc.lxc_configs))
      needs.set(Number(id), new Set([...(c.clone_from_ctid ? [Number(c.clone_from_ctid)] : []), ...(c.dependencies ?? []).map(Number)]));
    for (const v of vm.vms) needs.set(v.vmid, new Set([...(v.clone_from_vmid ? [Number(v.clone_from_vmid)] : []), ...(v.dependencies ?? []).map(Number)]));

    const loaded = await loadManifests(join(root, 'fleet'));
    assert.equal(loaded.errors, []);
    const vmidOf = new Map<ResourceKey, number>(loaded.resources.map((l) => [`${l.resource.kind}/${l.resource.metadata.name}` as ResourceKey, (l.resource.spec as { vmid: number }).vmid]));
    const graph = buildGraph(loaded.resources.map((l) => l.resource));
    assert.equal(graph.cycles, []);
    assert.equal(graph.dangling, []);
    // the same edges, no more, no fewer
    for (const key of graph.keys) {
      const got = graph.dependenciesOf(key).map((k) => vmidOf.get(k)!).sort((a, b) => a - b);
      assert.equal(got, [...needs.get(vmidOf.get(key)!)!].sort((a, b) => a - b), key);
    }
    // and so an order the original accepts: everything a guest needs comes before it
    const order = graph.order().map((k) => vmidOf.get(k)!);
    assert.is(order.length, needs.size);
    for (const [id, deps] of needs) for (const d of deps) assert.ok(order.indexOf(d) < order.indexOf(id), `${d} must come before ${id}: ${order.join(' ')}`);
  });

  test('re-import is byte-identical and writes nothing', async () => {
    const out = join(root, 'fleet');
    const before = await snapshot(out);
    const run = await runImport([join(legacy, 'phoenix_vm_configs.json'), join(legacy, 'phoenix_lxc_configs.json')], out);
    assert.equal(run.plan.write, []);
    assert.equal(await snapshot(out), before);
    const other = join(root, 'fleet2');
    await runImport([legacy], other);
    assert.equal(await snapshot(other), before);
  });

  test('an edited manifest is not overwritten', async () => {
    const out = join(root, 'fleet');
    const file = join(out, 'lxc-103-step-ca.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('memory: 1024', 'memory: 1536'));
    const before = await snapshot(out);
    const run = await runImport([legacy], out);
    assert.equal(run.plan.refused.map((r) => r.file), ['lxc-103-step-ca.yaml']);
    assert.equal(await snapshot(out), before);
    assert.ok(before[INDEX_FILE]);
  });
}

test.run();
