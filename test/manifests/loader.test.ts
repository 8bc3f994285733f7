import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkSet, loadManifests, parseManifestText } from '../../controller/manifests.js';
import { formatManifestError } from '../../controller/types.js';
import type { LoadResult } from '../../controller/types.js';
import { keyOf } from '../../controller/types.js';
import { lxcYaml, tempDir } from '../helpers/fs.js';

const rendered = (r: LoadResult) => r.errors.map(formatManifestError);
const keys = (r: LoadResult) => r.resources.map((l) => keyOf(l.resource));

test('each error points at the exact node: value, parent mapping for a missing field, key for an unknown one', () => {
  const text = `apiVersion: phoenix.hypervisor/v1alpha1
kind: LxcContainer
metadata:
  name: web
spec:
  vmid: 200
  memroy: 512
  memory: 4G
  source:
    template: base
  rootfs:
    storage: local-lvm
  networks:
    - name: eth0
      bridge: "vmbr0,tag=5"
`;
  const r = parseManifestText('dir/lxc-web.yaml', text);
  assert.equal(r.resources, []);
  const lines = rendered(r);
  assert.equal(lines.slice(0, 3), [
    "dir/lxc-web.yaml:7:3: spec.memroy: unknown field 'memroy' (did you mean 'memory'?)",
    'dir/lxc-web.yaml:8:11: spec.memory: must be integer',
    "dir/lxc-web.yaml:12:5: spec.rootfs: missing required field 'size'",
  ]);
  assert.match(lines[3]!, /^dir\/lxc-web\.yaml:15:15: spec\.networks\[0\]\.bridge: must match pattern .* \(a bridge name: letters, digits, '_', '\.', '-', at most 15 characters\); ',', '=' cannot be used here/);
  assert.is(lines.length, 4);
  assert.ok(r.errors.every((e) => e.resource?.kind === 'LxcContainer' && e.resource.name === 'web'), 'errors name their resource');
});

test('an empty value is reported at its key; a flow mapping value at its own position', () => {
  const r = parseManifestText('a.yaml', lxcYaml('web', 200, '  memory:\n  networks: [{name: eth0, bridge: "vm br"}]\n'));
  assert.equal(rendered(r).map((l) => l.split(': must')[0]), ['a.yaml:12:3: spec.memory', 'a.yaml:13:35: spec.networks[0].bridge']);
});

test('CRLF line endings and a byte-order mark do not shift positions', () => {
  const text = '\uFEFF' + lxcYaml('web', 200, '  memory: lots\n').replaceAll('\n', '\r\n');
  assert.equal(rendered(parseManifestText('w.yaml', text)), ['w.yaml:12:11: spec.memory: must be integer']);
});

test('YAML syntax errors keep the yaml package position; duplicate keys name the key', () => {
  assert.equal(rendered(parseManifestText('s.yaml', 'a: "unterminated\n')), ['s.yaml:2:1: YAML: Missing closing "quote']);
  assert.equal(rendered(parseManifestText('t.yaml', '\tkind: x\n')), ['t.yaml:1:1: YAML: Tabs are not allowed as indentation']);
  const dup = parseManifestText('d.yaml', lxcYaml('web', 200, '  cores: 2\n  cores: 4\n'));
  assert.equal(rendered(dup), ["d.yaml:13:3: duplicate key 'cores'"]);
  assert.equal(dup.resources, [], 'a document with a duplicate key is not loaded');
  assert.equal(dup.errors[0]!.resource, { kind: 'LxcContainer', name: 'web' });
});

test('positions stay right after the parser recovers from a token spanning lines (and after a BOM)', () => {
  const cases: Array<[string, string[]]> = [
    // the scalar "x\n  c" is broken across lines: the ':' and '2' after it are on line 3
    ['  a: 1\nb: x\n  c: 2\n', ['2:1', '2:2', '2:4', '3:4', '3:6']],
    ['    bridge: vmbr0\nkind: VM\napiVersion: v1\n  cloudInit:\n    user: x\n', ['2:1', '2:5', '2:7', '3:1', '3:11', '3:13', '4:12', '5:5', '5:9', '5:11']],
    ['\uFEFFk: 1\nk: 2\n', ['1:1', '2:1']],
  ];
  for (const [text, want] of cases) assert.equal(parseManifestText('p.yaml', text).errors.map((e) => `${e.line}:${e.col}`), want, JSON.stringify(text));
  assert.equal(rendered(parseManifestText('p.yaml', '\uFEFFk: 1\nk: 2\n'))[1], "p.yaml:2:1: duplicate key 'k'");
});

test('source text the parser quotes in its messages is escaped (no control or bidi characters)', () => {
  const cases: Array<[string, string]> = [
    ['|!\u0000x\u001b[31m\n', 'p.yaml:1:2: YAML: Block scalar header includes extra characters: |!\\u0000x\\u001b[31m'],
    ['  a: 1\nb: x\u202e\n  c: 2\n', 'p.yaml:2:4: YAML: Unexpected scalar token in YAML stream: "x\\u202e\\n  c"'],
  ];
  for (const [text, want] of cases) assert.ok(rendered(parseManifestText('p.yaml', text)).includes(want), rendered(parseManifestText('p.yaml', text)).join('\n'));
});

test('a document with duplicate keys still reports its other problems', () => {
  const r = parseManifestText('d.yaml', lxcYaml('web', 200, '  cores: 2\n  cores: 4\n  memory: lots\n'));
  assert.equal(rendered(r), ["d.yaml:13:3: duplicate key 'cores'", 'd.yaml:14:11: spec.memory: must be integer']);
});

test('unknown apiVersion and kind, with a did-you-mean for the kind', () => {
  const r = parseManifestText('k.yaml', lxcYaml('web', 200).replace('kind: LxcContainer', 'kind: LxcContainr').replace('v1alpha1', 'v2'));
  assert.equal(rendered(r), [
    "k.yaml:2:7: kind: unknown kind 'LxcContainr' (did you mean 'LxcContainer'?); expected one of: Template, LxcContainer, VirtualMachine, CertificateAuthority",
  ]);
  const v = parseManifestText('v.yaml', lxcYaml('web', 200).replace('v1alpha1', 'v2'));
  assert.equal(rendered(v), ["v.yaml:1:13: apiVersion: unknown apiVersion 'phoenix.hypervisor/v2' (expected phoenix.hypervisor/v1alpha1)"]);
});

test('multi-document files: every document on its own, empty ones skipped, source lines right', () => {
  const text = `# leading comment\n---\n${lxcYaml('one', 201)}---\n# only a comment\n---\n---\n${lxcYaml('two', 202).replace('vmid: 202', 'vmid: x')}---\n${lxcYaml('three', 203)}`;
  const r = parseManifestText('m.yaml', text);
  assert.equal(keys(r), ['LxcContainer/one', 'LxcContainer/three']);
  assert.equal(r.resources.map((l) => [l.source.line, l.source.col]), [
    [3, 1],
    [30, 1],
  ]);
  assert.equal(rendered(r), ['m.yaml:23:9: spec.vmid: must be integer']);
  assert.equal(parseManifestText('e.yaml', ''), { resources: [], errors: [] });
  assert.equal(parseManifestText('e.yaml', '---\n# nothing\n---\n'), { resources: [], errors: [] });
});

test('anchors, aliases and merge keys work; a billion laughs fails cleanly and alone', () => {
  const rules = `  firewall:
    rules:
      - &ssh
        type: in
        action: ACCEPT
        proto: tcp
        dport: "22"
      - <<: *ssh
        dport: "80"
      - <<: *ssh
        dport: "x y"
`;
  const r = parseManifestText('a.yaml', lxcYaml('web', 200, rules));
  assert.equal(rendered(r).map((l) => l.split(' (')[0]), ['a.yaml:22:16: spec.firewall.rules[2].dport: must match pattern ^[0-9]{1,5}(:[0-9]{1,5})?(,[0-9]{1,5}(:[0-9]{1,5})?)*$']);
  const ok = parseManifestText('a.yaml', lxcYaml('web', 200, rules.replace('"x y"', '"8080"')));
  const loaded = ok.resources[0]!.resource;
  assert.equal(loaded.kind === 'LxcContainer' && loaded.spec.firewall!.rules!.map((x) => [x.proto, x.dport]), [
    ['tcp', '22'],
    ['tcp', '80'],
    ['tcp', '8080'],
  ]);
  // an error inside a merged value points at the anchor that holds it
  const viaMerge = parseManifestText('b.yaml', lxcYaml('web', 200, rules.replace('proto: tcp', 'proto: "t c p"').replace('"x y"', '"81"')));
  assert.ok(rendered(viaMerge).includes('b.yaml:17:16: spec.firewall.rules[0].proto: must match pattern ^([a-z][a-z0-9-]*|[0-9]{1,3})$ (a protocol name such as tcp, udp, icmp, or a number); whitespace cannot be used here (it would change the meaning of the Proxmox parameter)'), rendered(viaMerge).join('\n'));
  assert.ok(rendered(viaMerge).some((l) => l.startsWith('b.yaml:17:16: spec.firewall.rules[1].proto')), 'merged copies point at the anchor too');

  const lol = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) lol.push(`l${i}: &l${i} [${Array(9).fill(i === 1 ? '*a' : `*l${i - 1}`).join(', ')}]`);
  const started = Date.now();
  const bomb = parseManifestText('bomb.yaml', `${lol.join('\n')}\n---\n${lxcYaml('after', 204)}`);
  assert.ok(Date.now() - started < 2000, 'expansion is refused, not attempted');
  assert.equal(rendered(bomb), ['bomb.yaml:1:1: too many alias expansions (limit 100); not loaded']);
  assert.equal(keys(bomb), ['LxcContainer/after']);
});

test('absurd nesting is an error of that file, never a crash', () => {
  for (const text of ['- '.repeat(10000) + 'x\n', '['.repeat(10000) + ']'.repeat(10000) + '\n']) {
    const r = parseManifestText('deep.yaml', text);
    assert.equal(r.resources, []);
    assert.ok(r.errors.length >= 1);
    assert.ok(r.errors.every((e) => e.file === 'deep.yaml'));
  }
});

test('unknown tags are errors, not silently strings', () => {
  const r = parseManifestText('t.yaml', lxcYaml('web', 200, '  description: !include notes.txt\n'));
  assert.equal(rendered(r), ['t.yaml:12:16: YAML: Unresolved tag: !include']);
  assert.equal(r.resources, []);
});

test('files over 1 MiB are reported and not parsed', () => {
  const big = lxcYaml('web', 200, `  description: "${'x'.repeat(1024 * 1024)}"\n`);
  const r = parseManifestText('big.yaml', big);
  assert.equal(r.resources, []);
  assert.match(rendered(r)[0]!, /^big\.yaml:1:1: file is \d+ bytes, larger than the 1048576-byte limit; not loaded$/);
});

test('loadManifests: recursive, sorted, *.yaml and *.yml only, hidden entries skipped, good files load next to broken ones', async () => {
  const { dir, cleanup } = tempDir();
  try {
    mkdirSync(join(dir, 'b-dir', 'nested'), { recursive: true });
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, 'z.yaml'), lxcYaml('zeta', 210));
    writeFileSync(join(dir, 'a.yml'), lxcYaml('alpha', 211));
    writeFileSync(join(dir, 'b-dir', 'nested', 'n.yaml'), lxcYaml('nested', 212));
    writeFileSync(join(dir, 'b-dir', 'broken.yaml'), lxcYaml('broken', 213, '  cores: many\n'));
    writeFileSync(join(dir, 'notes.txt'), 'kind: nope');
    writeFileSync(join(dir, '.git', 'x.yaml'), 'kind: nope');
    writeFileSync(join(dir, '.hidden.yaml'), 'kind: nope');
    writeFileSync(join(dir, 'big.yaml'), 'x'.repeat(1024 * 1024 + 1));
    const r = await loadManifests(dir);
    assert.equal(keys(r), ['LxcContainer/alpha', 'LxcContainer/nested', 'LxcContainer/zeta']);
    assert.equal(rendered(r).map((l) => l.replace(dir, 'D')), [
      'D/b-dir/broken.yaml:12:10: spec.cores: must be integer',
      'D/big.yaml:1:1: file is 1048577 bytes, larger than the 1048576-byte limit; not loaded',
    ]);
    assert.equal(r.resources[0]!.source, { file: join(dir, 'a.yml'), line: 1, col: 1 });
  } finally {
    cleanup();
  }
});

test('symlinks: followed inside the directory (each file once, loops stop), reported when they point outside', async () => {
  const { dir, cleanup } = tempDir();
  const outside = tempDir();
  try {
    mkdirSync(join(dir, 'real'));
    writeFileSync(join(dir, 'real', 'web.yaml'), lxcYaml('web', 220));
    writeFileSync(join(outside.dir, 'secret.yaml'), lxcYaml('secret', 221));
    symlinkSync(join(dir, 'real', 'web.yaml'), join(dir, 'alias.yaml'));
    symlinkSync(join(dir, 'real'), join(dir, 'current'));
    symlinkSync(dir, join(dir, 'real', 'loop'));
    symlinkSync(join(outside.dir, 'secret.yaml'), join(dir, 'secret.yaml'));
    symlinkSync(outside.dir, join(dir, 'elsewhere'));
    symlinkSync(join(dir, 'missing.yaml'), join(dir, 'dangling.yaml'));
    const r = await loadManifests(dir);
    assert.equal(keys(r), ['LxcContainer/web'], 'loaded once, however many links lead to it');
    const errs = rendered(r).map((l) => l.replaceAll(outside.dir, 'OUT').replaceAll(dir, 'D'));
    assert.equal(errs, [
      'D/dangling.yaml:1:1: broken symlink; skipped',
      'D/elsewhere:1:1: symlink points outside D (to OUT); not followed',
      'D/secret.yaml:1:1: symlink points outside D (to OUT/secret.yaml); not followed',
    ]);
  } finally {
    cleanup();
    outside.cleanup();
  }
});

test('figure: loading and checking 500 manifests', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const n = 500;
    for (let i = 0; i < n; i++) writeFileSync(join(dir, `lxc-${1000 + i}.yaml`), lxcYaml(`guest-${i}`, 1000 + i, i ? `  dependsOn:\n    - {kind: LxcContainer, name: guest-${i - 1}}\n` : ''));
    const started = performance.now();
    const r = await loadManifests(dir);
    const errors = checkSet(r.resources);
    const ms = performance.now() - started;
    assert.is(r.resources.length, n);
    assert.equal([...r.errors, ...errors], []);
    console.log(`\nfigure: loadManifests + checkSet of ${n} files (a 500-long dependency chain): ${ms.toFixed(0)} ms`);
  } finally {
    cleanup();
  }
});

test('a missing directory is an error, not a crash', async () => {
  const r = await loadManifests('/nonexistent/phoenix-manifests');
  assert.equal(r.resources, []);
  assert.match(rendered(r)[0]!, /^\/nonexistent\/phoenix-manifests:1:1: cannot read manifest directory: ENOENT/);
});

test.run();
