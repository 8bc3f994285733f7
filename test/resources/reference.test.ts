// The generated documentation (docs/schemas/*, docs/reference/*.md) is current, complete, and says
// what the code does: every schema field is documented and listed, every default annotation is the
// default phoenix applies, every command, option and environment variable is in the references, and
// an editor's plain JSON Schema validator accepts the example fleet through each file's modeline.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import type { Command } from 'commander';
import { renderDocs } from '../../scripts/docs.js';
import { anchorId, cell, code, prose } from '../../scripts/reference/markdown.js';
import { KIND_DEFINITIONS, publishedSchema } from '../../resources/index.js';
import { KINDS, type Kind } from '../../resources/types.js';
import { buildProgram as buildCli } from '../../cli/phoenixctl.js';
import { buildProgram as buildController } from '../../controller/main.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { ca, lxc, lxcTemplate, qemuTemplate, vm } from '../helpers/resources.js';

type Schema = Record<string, any>;
const read = (rel: string) => readFileSync(join(REPO_ROOT, rel), 'utf8');
const docs = renderDocs();

test('docs/schemas and docs/reference hold exactly what the code generates (run `npm run docs` after a change)', () => {
  for (const dir of ['docs/schemas', 'docs/reference']) {
    const want = [...docs.keys()].filter((p) => p.startsWith(`${dir}/`)).map((p) => p.slice(dir.length + 1));
    assert.equal(readdirSync(join(REPO_ROOT, dir)).sort(), want.sort(), `${dir} holds other files than \`npm run docs\` writes`);
  }
  for (const [path, text] of docs) assert.ok(read(path) === text, `${path} is out of date: run \`npm run docs\` and commit the result`);
});

/** Every property of a schema: [path, schema, required], with `[]` after a list of objects. */
function properties(schema: Schema, prefix = ''): Array<[string, Schema, boolean]> {
  const out: Array<[string, Schema, boolean]> = [];
  const required = new Set<string>(schema.required ?? []);
  for (const [name, prop] of Object.entries<Schema>(schema.properties ?? {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    const item = prop.type === 'array' && prop.items?.properties ? prop.items : undefined;
    out.push([item ? `${path}[]` : path, prop, required.has(name)]);
    if (prop.properties) out.push(...properties(prop, path));
    if (item) out.push(...properties(item, `${path}[]`));
  }
  return out;
}

/** The part of manifests.md about one kind. */
function kindSection(md: string, kind: Kind): string {
  const start = md.indexOf(`\n## ${kind}\n`);
  assert.ok(start >= 0, `manifests.md has no section for ${kind}`);
  const next = md.indexOf('\n## ', start + 1);
  return md.slice(start, next < 0 ? undefined : next);
}

test('every schema property has a description and a row in the manifest reference, with its required flag', () => {
  const md = docs.get('docs/reference/manifests.md')!;
  let count = 0;
  for (const kind of KINDS) {
    const section = kindSection(md, kind);
    for (const [path, prop, required] of properties(publishedSchema(kind))) {
      count++;
      assert.type(prop.description, 'string', `${kind} ${path} has no description in its schema (add one with doc() in resources/)`);
      const row = section.split('\n').find((l) => l.startsWith(`| \`${path}\` |`));
      assert.ok(row, `${kind} ${path} has no row in docs/reference/manifests.md`);
      assert.is(row!.split(' | ')[2], required ? 'yes' : '', `${kind} ${path}: required column`);
    }
  }
  assert.ok(count > 300, `only ${count} fields found: the walk is broken`);
});

test('every `default` in the schemas is the value the kind applies when the field is left out', () => {
  const samples: Record<Kind, () => any> = { Template: lxcTemplate, LxcContainer: lxc, VirtualMachine: vm, CertificateAuthority: ca };
  const checked: string[] = [];
  const values = (v: any, segs: string[]): unknown[] => {
    if (!segs.length) return [v];
    if (v === undefined || v === null) return [];
    const [head, ...rest] = segs;
    if (head!.endsWith('[]')) return ((v[head!.slice(0, -2)] ?? []) as unknown[]).flatMap((x) => values(x, rest));
    return values(v[head!], rest);
  };
  const drop = (v: any, segs: string[]): void => {
    if (v === undefined || v === null) return;
    const [head, ...rest] = segs;
    if (!rest.length) delete v[head!];
    else if (head!.endsWith('[]')) for (const x of v[head!.slice(0, -2)] ?? []) drop(x, rest);
    else drop(v[head!], rest);
  };
  const sampleList = (kind: Kind) => (kind === 'Template' ? [lxcTemplate(), qemuTemplate()] : [samples[kind]()]);
  for (const kind of KINDS) {
    for (const [path, prop] of properties(publishedSchema(kind))) {
      if (prop.default === undefined) continue;
      const segs = path.split('.').slice(1); // below spec
      for (const doc of sampleList(kind)) {
        drop(doc.spec, segs);
        const got = values(KIND_DEFINITIONS[kind].defaults(doc.spec as never, doc.metadata), segs);
        assert.ok(got.length > 0, `${kind} ${path}: the sample has no place for the field`);
        for (const v of got) assert.equal(v, prop.default, `${kind} ${path}: the schema says default ${JSON.stringify(prop.default)}, the kind applies ${JSON.stringify(v)}`);
      }
      checked.push(`${kind} ${path}`);
    }
  }
  for (const must of ['LxcContainer spec.cores', 'LxcContainer spec.swap', 'VirtualMachine spec.powerState', 'CertificateAuthority spec.certificates[].duration'])
    assert.ok(checked.includes(must), `${must} carries no default annotation`);
});

test('every example manifest names its published schema, and a plain JSON Schema validator accepts it and rejects a broken copy', () => {
  const ajv = new Ajv({ strict: false, validateFormats: false });
  const dir = join(REPO_ROOT, 'manifests');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 8);
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    const m = /^# yaml-language-server: \$schema=(\S+)$/.exec(text.split('\n')[0]!);
    assert.ok(m, `${f}: the first line is not a yaml-language-server modeline`);
    const schemaPath = join(dir, m![1]!);
    assert.ok(schemaPath.startsWith(join(REPO_ROOT, 'docs', 'schemas')), `${f}: the modeline points outside docs/schemas: ${m![1]}`);
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
    const doc = parse(text) as Record<string, any>;
    assert.is(schema.properties.kind.const, doc.kind, `${f} names the schema of its own kind`);
    assert.ok(ajv.validate(schema, doc), `${f}: ${ajv.errorsText()}`);
    assert.not.ok(ajv.validate(schema, { ...doc, spec: { ...doc.spec, memroy: 512 } }), `${f}: a misspelt field passes the published schema`);
  }
});

/** Every command below a program with its full name. */
function commands(program: Command, prefix = program.name()): Array<[string, Command]> {
  return program.commands.flatMap((c): Array<[string, Command]> => [[`${prefix} ${c.name()}`, c], ...commands(c, `${prefix} ${c.name()}`)]);
}

test('the phoenixctl reference lists every command with its arguments and options, and the controller reference every flag', () => {
  const cli = docs.get('docs/reference/phoenixctl.md')!;
  const program = buildCli();
  const all = commands(program);
  assert.ok(all.length >= 8, `only ${all.length} commands`);
  const rowOf = (md: string, flags: string) => md.split('\n').some((l) => l.startsWith(`| \`${flags}\` |`));
  for (const o of program.options) assert.ok(rowOf(cli, o.flags), `global option ${o.flags} missing`);
  for (const [name, cmd] of all) {
    const at = cli.indexOf(`\n### \`${name}\`\n`);
    assert.ok(at >= 0, `${name} has no section`);
    const next = cli.indexOf('\n### ', at + 1);
    const section = cli.slice(at, next < 0 ? undefined : next);
    // (as Markdown: a '<' outside code is written &lt; so that it is not taken for an HTML tag)
    assert.ok(section.includes(cmd.description().replace(/</g, '&lt;')), `${name}: description missing`);
    for (const o of cmd.options) assert.ok(rowOf(section, o.flags), `${name}: option ${o.flags} missing`);
    for (const a of cmd.registeredArguments) assert.ok(section.includes(a.name()), `${name}: argument ${a.name()} missing`);
  }
  const controller = docs.get('docs/reference/controller.md')!;
  const flags = buildController().options;
  assert.ok(flags.length >= 15);
  for (const o of flags) {
    assert.ok(rowOf(controller, o.flags), `controller option ${o.flags} missing`);
    if (o.envVar) assert.ok(controller.includes(`\`${o.envVar}\``), `controller option ${o.flags}: env ${o.envVar} missing`);
  }
});

/** The PHOENIX_* / PHOENIXCTL_* names the TypeScript sources under dir read. */
function envNames(dir: string): Set<string> {
  const names = new Set<string>();
  const walk = (d: string) => {
    for (const e of readdirSync(join(REPO_ROOT, d), { withFileTypes: true })) {
      if (e.isDirectory()) walk(`${d}/${e.name}`);
      else if (e.name.endsWith('.ts')) for (const m of read(`${d}/${e.name}`).matchAll(/\bPHOENIX(?:CTL)?_[A-Z0-9_]+\b/g)) names.add(m[0]);
    }
  };
  walk(dir);
  return names;
}

test('every environment variable the controller and phoenixctl read is in their reference', () => {
  for (const [dir, file] of [
    ['controller', 'docs/reference/controller.md'],
    ['cli', 'docs/reference/phoenixctl.md'],
  ] as const) {
    const names = envNames(dir);
    assert.ok(names.size >= 2, `${dir}: no environment variables found`);
    const md = docs.get(file)!;
    for (const n of names) assert.ok(md.includes(`\`${n}\``), `${n} (read in ${dir}/) is not documented in ${file}`);
  }
});

test('links in README.md and docs/ lead to files that exist, and to anchors that exist in the generated references', () => {
  const pages = ['README.md', ...readdirSync(join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), ...[...docs.keys()].filter((p) => p.endsWith('.md'))];
  let checked = 0;
  for (const page of pages) {
    // links outside code: fenced blocks and code spans (schema patterns look like links) removed
    const text = (docs.get(page) ?? read(page)).replace(/```[\s\S]*?```/g, '').replace(/(`+)[\s\S]*?\1/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/.test(target)) continue;
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const path = file ? relative(REPO_ROOT, join(REPO_ROOT, dirname(page), file)) : page;
      assert.ok(docs.has(path) || existsSync(join(REPO_ROOT, path)), `${page}: link to ${target}: no such file`);
      const body = docs.get(path) ?? (path.endsWith('.md') ? read(path) : '');
      if (anchor && body.includes('<a id="')) assert.ok(body.includes(`<a id="${anchor}"></a>`), `${page}: link to ${target}: no such anchor`);
      checked++;
    }
  }
  assert.ok(checked > 100, `only ${checked} links found`);
});

test('Markdown helpers: cells cannot break a table, code spans hold backticks, prose keeps <placeholders> visible', () => {
  assert.is(cell('a|b\nc'), 'a\\|b c');
  assert.is(code('x'), '`x`');
  assert.is(code('a`b'), '``a`b``');
  assert.is(code('`a'), '`` `a ``');
  assert.is(prose('under <dir> and `<code>` too'), 'under &lt;dir> and `<code>` too');
  assert.is(prose('``a<b`` c<d'), '``a<b`` c&lt;d');
  assert.is(anchorId('LxcContainer', 'spec.networks[]'), 'lxccontainer-spec-networks');
  assert.is(anchorId('phoenixctl get'), 'phoenixctl-get');
});

test.run();
