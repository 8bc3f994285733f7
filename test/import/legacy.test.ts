// The real configuration of one legacy installation (../shared/phoenix-legacy): every guest comes
// over, re-import is byte-identical, and an edited manifest is never overwritten.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runImport } from '../../cli/commands/import.js';
import { INDEX_FILE } from '../../cli/import/output.js';
import { sharedDir } from './shared.js';

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
    const file = join(out, '103-step-ca.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('memory: 1024', 'memory: 1536'));
    const before = await snapshot(out);
    const run = await runImport([legacy], out);
    assert.equal(run.plan.refused.map((r) => r.file), ['103-step-ca.yaml']);
    assert.equal(await snapshot(out), before);
    assert.ok(before[INDEX_FILE]);
  });
}

test.run();
