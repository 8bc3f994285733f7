import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkSet, parseManifestText } from '../../controller/manifests.js';
import { formatManifestError } from '../../controller/types.js';
import type { LoadedResource } from '../../resources/types.js';
import { lxcYaml } from '../helpers/fs.js';

function load(files: Record<string, string>): LoadedResource[] {
  const out: LoadedResource[] = [];
  for (const [file, text] of Object.entries(files)) {
    const r = parseManifestText(file, text);
    assert.equal(r.errors.map(formatManifestError), [], `${file} must be valid on its own`);
    out.push(...r.resources);
  }
  return out;
}

const cloneOf = (name: string, vmid: number, tpl: string, extra = '') =>
  lxcYaml(name, vmid, extra).replace('    ostemplate: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', `    template: ${tpl}`);

const template = (name: string, vmid: number, type: 'lxc' | 'qemu') =>
  type === 'lxc'
    ? `apiVersion: phoenix.hypervisor/v1alpha1\nkind: Template\nmetadata:\n  name: ${name}\nspec:\n  vmid: ${vmid}\n  type: lxc\n  ostemplate: local:vztmpl/x.tar.zst\n  rootfs: {storage: local, size: 8G}\n`
    : `apiVersion: phoenix.hypervisor/v1alpha1\nkind: Template\nmetadata:\n  name: ${name}\nspec:\n  vmid: ${vmid}\n  type: qemu\n  image: local:import/x.img\n  disk: {slot: scsi0, storage: local, size: 8G}\n`;

test('a consistent set has no errors', () => {
  const set = load({ 't.yaml': template('base', 900, 'lxc'), 'a.yaml': cloneOf('a', 201, 'base'), 'b.yaml': lxcYaml('b', 202) });
  assert.equal(checkSet(set), []);
});

test('duplicate kind+name is reported at both declarations, each naming the other', () => {
  const set = load({ 'one.yaml': lxcYaml('web', 201), 'two.yaml': `# another\n${lxcYaml('web', 202)}` });
  assert.equal(checkSet(set).map(formatManifestError), [
    'one.yaml:4:9: metadata.name: duplicate LxcContainer/web: also declared at two.yaml:2:1',
    'two.yaml:5:9: metadata.name: duplicate LxcContainer/web: also declared at one.yaml:1:1',
  ]);
});

test('the same name in two kinds is fine; the same vmid across kinds is not', () => {
  const set = load({ 't.yaml': template('web', 300, 'lxc'), 'c.yaml': lxcYaml('web', 300), 'd.yaml': lxcYaml('other', 301) });
  assert.equal(checkSet(set).map(formatManifestError), [
    't.yaml:6:9: spec.vmid: vmid 300 is also used by LxcContainer/web (c.yaml:1:1)',
    'c.yaml:6:9: spec.vmid: vmid 300 is also used by Template/web (t.yaml:1:1)',
  ]);
});

test('references to missing resources are named, with a did-you-mean, at the reference', () => {
  const set = load({
    't.yaml': template('copy-base', 900, 'lxc'),
    'a.yaml': cloneOf('a', 201, 'copy-bsae', '  dependsOn:\n    - {kind: LxcContainer, name: nope}\n'),
  });
  assert.equal(checkSet(set).map(formatManifestError), [
    "a.yaml:8:15: spec.source.template: Template/copy-bsae does not exist (did you mean 'copy-base'?)",
    'a.yaml:13:7: spec.dependsOn[0]: LxcContainer/nope does not exist',
  ]);
});

test('a clone needs a template of its own type', () => {
  const set = load({ 'q.yaml': template('cloud', 9000, 'qemu'), 'a.yaml': cloneOf('a', 201, 'cloud') });
  assert.equal(checkSet(set).map(formatManifestError), ['a.yaml:8:15: spec.source.template: Template/cloud is a qemu template; a LxcContainer needs a lxc template']);
});

test('a cycle is reported once with its full path, at the reference that closes it', () => {
  const dep = (k: string, n: string) => `  dependsOn:\n    - kind: ${k}\n      name: ${n}\n`;
  const set = load({
    'a.yaml': lxcYaml('a', 201, dep('LxcContainer', 'b')),
    'b.yaml': lxcYaml('b', 202, dep('LxcContainer', 'c')),
    'c.yaml': lxcYaml('c', 203, dep('LxcContainer', 'a')),
  });
  const errs = checkSet(set);
  assert.equal(errs.map(formatManifestError), ['a.yaml:13:7: spec.dependsOn[0]: dependency cycle: LxcContainer/a -> LxcContainer/b -> LxcContainer/c -> LxcContainer/a']);
  assert.equal(errs[0]!.resource, { kind: 'LxcContainer', name: 'a' });
});

test.run();
