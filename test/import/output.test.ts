// Writing imported manifests: deterministic bytes, readable annotations, and never overwriting a
// manifest edited since the last import unless forced.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, readdir, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { runImport } from '../../cli/commands/import.js';
import { INDEX_FILE, ANN_UNMAPPED, ANN_ADJUSTED, ANN_SOURCE } from '../../cli/import/output.js';
import { REPO_ROOT } from '../helpers/shared.js';

const lxc = {
  $schema: 'x',
  nvidia_driver_version: '1',
  lxc_configs: {
    '900': { name: 'Base', template: '/c/debian.tar.zst', storage_pool: 'tank', storage_size_gb: 8, memory_mb: 512, cores: 1, unprivileged: true, network_config: { name: 'eth0', bridge: 'vmbr0', ip: '10.0.0.2/24', gw: '10.0.0.1' }, template_snapshot_name: 'f' },
    '101': { name: 'Web', clone_from_ctid: '900', storage_pool: 'tank', storage_size_gb: 8, memory_mb: 512, cores: 1, gpu_assignment: '0', lxc_options: ['lxc.x=1'], network_config: { name: 'eth0', bridge: 'vmbr0', ip: '10.0.0.3/24', gw: '10.0.0.1' } },
    '102': { name: 'Db', clone_from_ctid: '900', storage_pool: 'tank', storage_size_gb: 8, memory_mb: 512, cores: 1, network_config: { name: 'eth0', bridge: 'vmbr0', ip: '10.0.0.4/24', gw: '10.0.0.1' } },
  },
};
const vm = { vm_defaults: { cores: 1, memory_mb: 1024, disk_size_gb: 10, storage_pool: 'vmpool', network_bridge: 'vmbr0', template: 't' }, vms: [] as unknown[] };

let root: string;
async function legacyDir(l: unknown = lxc, v: unknown = vm): Promise<string> {
  const d = await mkdtemp(join(root, 'legacy-'));
  await writeFile(join(d, 'phoenix_lxc_configs.json'), JSON.stringify(l));
  await writeFile(join(d, 'phoenix_vm_configs.json'), JSON.stringify(v));
  return d;
}
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await readdir(dir)).sort()) out[f] = await readFile(join(dir, f), 'utf8');
  return out;
}

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'phoenix-import-'));
});
test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('writes one manifest per guest plus the index; annotations are valid JSON holding the unmapped values', async () => {
  const src = await legacyDir();
  const out = join(root, 'out1');
  const run = await runImport([src], out);
  assert.equal((await readdir(out)).sort(), [INDEX_FILE, 'lxc-101-web.yaml', 'lxc-102-db.yaml', 'tpl-900-base.yaml']);
  const web = parse(await readFile(join(out, 'lxc-101-web.yaml'), 'utf8'));
  assert.is(web.kind, 'LxcContainer');
  assert.is(web.metadata.annotations[ANN_SOURCE], 'phoenix_lxc_configs.json#lxc_configs.101');
  assert.equal(JSON.parse(web.metadata.annotations[ANN_UNMAPPED]), { gpu_assignment: '0', lxc_options: ['lxc.x=1'] });
  assert.ok(JSON.parse(web.metadata.annotations[ANN_ADJUSTED]).some((s: string) => s.startsWith('unprivileged: missing')));
  const index = JSON.parse(await readFile(join(out, INDEX_FILE), 'utf8'));
  assert.equal(Object.keys(index.files).sort(), ['lxc-101-web.yaml', 'lxc-102-db.yaml', 'tpl-900-base.yaml']);
  assert.match(run.summary, /lxc_configs\.101 "Web" -> LxcContainer\/web \(lxc-101-web\.yaml\)/);
  assert.match(run.summary, /not imported: gpu_assignment: GPU passthrough/);
  assert.match(run.summary, /nvidia_driver_version: host NVIDIA driver/);
  assert.match(run.summary, /\/c\/debian\.tar\.zst -> local:vztmpl\/debian\.tar\.zst/);
});

test('re-import is byte-identical and rewrites nothing; the output does not depend on the input location or key order', async () => {
  const src = await legacyDir();
  const out = join(root, 'out2');
  await runImport([src], out);
  const first = await snapshot(out);
  const mtime = (await stat(join(out, 'lxc-101-web.yaml'))).mtimeMs;
  const again = await runImport([join(src, 'phoenix_vm_configs.json'), join(src, 'phoenix_lxc_configs.json')], out);
  assert.equal(again.plan.write, []);
  assert.equal(again.plan.unchanged.length, 3);
  assert.equal(await snapshot(out), first);
  assert.is((await stat(join(out, 'lxc-101-web.yaml'))).mtimeMs, mtime);
  const reordered = { ...lxc, lxc_configs: Object.fromEntries(Object.entries(lxc.lxc_configs).reverse()) };
  const out3 = join(root, 'out3');
  await runImport([await legacyDir(reordered)], out3);
  assert.equal(await snapshot(out3), first);
});

test('imported manifests start with a modeline naming the installed schema of their kind, which a plain validator checks them against', async () => {
  const src = await legacyDir();
  const out = join(root, 'modeline', 'nested', 'out');
  await runImport([src], out);
  const ajv = new Ajv({ strict: false, validateFormats: false });
  const files = (await readdir(out)).filter((f) => f.endsWith('.yaml'));
  assert.equal(files.length, 3);
  for (const f of files) {
    const text = await readFile(join(out, f), 'utf8');
    const m = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text);
    assert.ok(m, `${f} does not start with a modeline`);
    const schemaFile = resolve(out, m![1]!);
    assert.is(schemaFile, join(REPO_ROOT, 'docs', 'schemas', f.startsWith('tpl-') ? 'template.json' : 'lxccontainer.json'), f);
    const schema = JSON.parse(await readFile(schemaFile, 'utf8'));
    assert.ok(ajv.validate(schema, parse(text)), `${f}: ${ajv.errorsText()}`);
  }
  const url = join(root, 'modeline-url');
  await runImport([src], url, { schemaBase: 'https://example.org/phoenix/schemas/' });
  assert.match(await readFile(join(url, 'lxc-101-web.yaml'), 'utf8'), /^# yaml-language-server: \$schema=https:\/\/example\.org\/phoenix\/schemas\/lxccontainer\.json\n# Generated by/);
  const none = join(root, 'modeline-none');
  await runImport([src], none, { schemaBase: '' });
  assert.match(await readFile(join(none, 'lxc-101-web.yaml'), 'utf8'), /^# Generated by/);
});

test('an edited manifest is never overwritten: the import refuses naming the file and writes nothing', async () => {
  const src = await legacyDir();
  const out = join(root, 'out4');
  await runImport([src], out);
  const edited = (await readFile(join(out, 'lxc-101-web.yaml'), 'utf8')).replace('memory: 512', 'memory: 1024');
  await writeFile(join(out, 'lxc-101-web.yaml'), edited);
  // the legacy input changes too, so the other files would be rewritten: they must not be
  const changed = structuredClone(lxc);
  changed.lxc_configs['102'].memory_mb = 2048;
  const before = await snapshot(out);
  const run = await runImport([await legacyDir(changed)], out);
  assert.equal(run.plan.refused, [{ file: 'lxc-101-web.yaml', reason: 'changed since the last import (hand-edited?)' }]);
  assert.equal(await snapshot(out), before);
  // --force overwrites it
  const forced = await runImport([await legacyDir(changed)], out, { force: true });
  assert.equal(forced.plan.forced, ['lxc-101-web.yaml']);
  assert.not.match(await readFile(join(out, 'lxc-101-web.yaml'), 'utf8'), /memory: 1024/);
  assert.match(await readFile(join(out, 'lxc-102-db.yaml'), 'utf8'), /memory: 2048/);
});

test('unchanged import-written files are rewritten freely when the legacy data changes', async () => {
  const src = await legacyDir();
  const out = join(root, 'out5');
  await runImport([src], out);
  const changed = structuredClone(lxc);
  changed.lxc_configs['101'].cores = 3;
  const run = await runImport([await legacyDir(changed)], out);
  assert.equal(run.plan.write.map((w) => w.file), ['lxc-101-web.yaml']);
  assert.match(await readFile(join(out, 'lxc-101-web.yaml'), 'utf8'), /cores: 3/);
});

test('a file import did not write is refused; a corrupt index is refused naming it', async () => {
  const src = await legacyDir();
  const out = join(root, 'out6');
  await runImport([src], out);
  await rm(join(out, INDEX_FILE));
  await writeFile(join(out, 'lxc-102-db.yaml'), '# mine\n');
  const run = await runImport([src], out);
  assert.equal(run.plan.refused.map((r) => r.file), ['lxc-102-db.yaml']);
  assert.match(run.plan.refused[0]!.reason, /not written by phoenixctl import/);
  assert.is(await readFile(join(out, 'lxc-102-db.yaml'), 'utf8'), '# mine\n');
  await writeFile(join(out, INDEX_FILE), '{nope');
  try {
    await runImport([src], out);
    assert.unreachable('corrupt index accepted');
  } catch (err) {
    assert.match(String(err), new RegExp(`${INDEX_FILE}: not a valid import index`));
  }
});

test('guests gone from the legacy files: their unchanged manifests are removed, edited ones left in place', async () => {
  const src = await legacyDir();
  const out = join(root, 'out7');
  await runImport([src], out);
  await writeFile(join(out, 'lxc-102-db.yaml'), (await readFile(join(out, 'lxc-102-db.yaml'), 'utf8')) + '# note\n');
  const fewer = structuredClone(lxc) as any;
  delete fewer.lxc_configs['101'];
  delete fewer.lxc_configs['102'];
  const run = await runImport([await legacyDir(fewer)], out);
  // with its clones gone, 900 is no longer a template by role: it becomes a container
  assert.equal(run.plan.remove, ['lxc-101-web.yaml', 'tpl-900-base.yaml']);
  assert.equal(run.plan.keepEdited, ['lxc-102-db.yaml']);
  assert.equal((await readdir(out)).sort(), [INDEX_FILE, 'lxc-102-db.yaml', 'lxc-900-base.yaml']);
});

test('the command exits 1 and says why on bad input, naming the file', async () => {
  const d = await mkdtemp(join(root, 'bad-'));
  await writeFile(join(d, 'phoenix_lxc_configs.json'), '{"lxc_configs": ');
  await rm(join(root, 'never'), { recursive: true, force: true });
  try {
    await runImport([d], join(root, 'never'));
    assert.unreachable('bad JSON accepted');
  } catch (err) {
    assert.match(String(err), /phoenix_lxc_configs\.json: not valid JSON/);
  }
  assert.not.ok(await stat(join(root, 'never')).catch(() => false));
});

test.run();
