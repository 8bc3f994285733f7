// Property: whatever the example manifests are mutated into (wrong types, extreme numbers, odd
// unicode, duplicate keys, tabs, anchors and merges, billion laughs, several documents, files over
// the size limit, garbage, symlinks, files vanishing while the directory is read), the loader never
// throws, loads nothing it should not, and every problem is an error naming the file with a line and
// column inside it, in a message that is safe to print. Seeded: PHOENIX_FUZZ_SEED (printed on failure).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseAllDocuments, isScalar } from 'yaml';
import { loadManifests, parseManifestText } from '../../controller/manifests.js';
import { formatManifestError, keyOf } from '../../controller/types.js';
import type { LoadResult, ManifestError } from '../../controller/types.js';
import { formatPath } from '../../resources/index.js';
import { billionLaughs, damage, duplicateKey, equivalent, examples, replaceValue, tabIndent, type Mutant } from './mutate.js';

const SEED = Number(process.env.PHOENIX_FUZZ_SEED ?? 20261126);
const EXAMPLES = examples();
const example = fc.constantFrom(...EXAMPLES);
const params = (numRuns: number): fc.Parameters<unknown> => ({ seed: SEED, numRuns, endOnFailure: true });
let inputs = 0;
let crashes = 0;
let located = 0; // errors checked for file, line, column and printability
const started = Date.now();

// what printable() escapes: no raw control, C1, bidi or line-separator characters in a message
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** Parses, and checks the invariants every result must keep; returns the result. */
function parse(m: { file: string; text: string; what?: string }): LoadResult {
  inputs++;
  let r: LoadResult;
  try {
    r = parseManifestText(m.file, m.text);
  } catch (err) {
    crashes++;
    throw new Error(`parseManifestText threw on ${m.what ?? 'input'}: ${String(err)}`);
  }
  const lines = m.text.split('\n');
  for (const e of r.errors) {
    const where = `${formatManifestError(e)} (${m.what ?? ''})`;
    assert.is(e.file, m.file, `error names the file: ${where}`);
    assert.ok(Number.isInteger(e.line) && e.line >= 1 && e.line <= lines.length + 1, `line inside the file: ${where}`);
    const len = lines[e.line - 1]?.length ?? 0;
    assert.ok(Number.isInteger(e.col) && e.col >= 1 && e.col <= len + 2, `column inside the line: ${where}`);
    assert.ok(typeof e.message === 'string' && e.message.length > 0, `a message: ${where}`);
    assert.not.match(e.message, UNSAFE, `message is safe to print: ${JSON.stringify(e.message)}`);
    assert.not.match(e.path, UNSAFE, `path is safe to print: ${JSON.stringify(e.path)}`);
    located++;
  }
  for (const l of r.resources) assert.is(l.source.file, m.file);
  // nothing silently dropped: a file with content yields a resource or an error
  if (r.resources.length === 0 && r.errors.length === 0) assert.ok(blank(m.text), `no resource and no error for ${m.what}: ${JSON.stringify(m.text.slice(0, 200))}`);
  return r;
}

/** A file with no content: only comments, separators or null documents. */
function blank(text: string): boolean {
  return parseAllDocuments(text).every((d) => d.errors.length === 0 && (d.contents === null || (isScalar(d.contents) && d.contents.value === null)));
}

const original = new Map(EXAMPLES.map((ex) => [ex.file, parse(ex)]));

function run<T>(name: string, arb: fc.Arbitrary<T>, numRuns: number, check: (v: T) => void): void {
  const out = fc.check(fc.property(arb, (v) => check(v)), params(numRuns));
  if (out.failed) {
    const cex = (out.counterexample as unknown[] | null)?.[0] as Partial<Mutant> | undefined;
    throw new Error(
      `${name}: property failed (PHOENIX_FUZZ_SEED=${SEED}, path ${out.counterexamplePath}) on ${cex?.what ?? ''}\n` +
        `${String((out.errorInstance as Error | undefined)?.message ?? out.errorInstance)}\ninput: ${JSON.stringify(cex?.text?.slice(0, 400) ?? cex)}`,
    );
  }
}

test('the examples load cleanly (the ground every mutation starts from)', () => {
  for (const [file, r] of original) {
    assert.equal(r.errors, [], file);
    assert.is(r.resources.length, 1, file);
  }
});

test('a value of the wrong type, an extreme number or odd unicode: never a crash; a type change is an error at its line', () => {
  run('replaceValue', example.chain(replaceValue), 2000, (m) => {
    const r = parse(m);
    if (m.from === m.to) return; // same JSON type: may be valid (then it loads) or not (then errors); checked above
    assert.equal(r.resources, [], `${m.what} must not load`);
    // an empty value (null) is reported at its key, which may sit on the line above a block value
    const at = (e: ManifestError) => e.line === m.line || (m.to === 'null' && e.path === formatPath(m.path!) && e.line <= m.line!);
    assert.ok(
      r.errors.some(at),
      `an error at line ${m.line} for ${m.what}; got ${r.errors.map(formatManifestError).join(' | ')}`,
    );
  });
});

test('a duplicated key is an error at the second occurrence, naming the key; nothing loads', () => {
  run('duplicateKey', example.chain(duplicateKey), 400, (m) => {
    const r = parse(m);
    assert.equal(r.resources, []);
    assert.ok(r.errors.some((e) => e.line === m.line && e.message.startsWith('duplicate key')), `${m.what}: ${r.errors.map(formatManifestError).join(' | ')}`);
  });
});

test('tab indentation is an error at its line; nothing loads', () => {
  run('tabIndent', example.chain(tabIndent), 400, (m) => {
    const r = parse(m);
    assert.equal(r.resources, [], m.what);
    assert.ok(r.errors.some((e) => e.line === m.line), `${m.what}: ${r.errors.map(formatManifestError).join(' | ')}`);
  });
});

test('random damage, truncation, garbage, empty files: never a crash, every error located and printable', () => {
  run('damage', example.chain(damage), 2000, (m) => void parse(m));
});

test('anchors, aliases and merge keys that expand to the same manifest load the same resource', () => {
  run('equivalent', example.chain(equivalent), 300, (m) => {
    const r = parse(m);
    assert.equal(r.errors, [], m.what);
    assert.equal(r.resources.map((l) => l.resource), original.get(m.file)!.resources.map((l) => l.resource), m.what);
  });
});

test('a billion laughs is refused quickly, and only its own document', () => {
  const bomb = fc.tuple(fc.integer({ min: 3, max: 12 }), fc.integer({ min: 5, max: 12 }), fc.nat({ max: EXAMPLES.length - 1 }), fc.boolean());
  run('billionLaughs', bomb, 60, ([width, depth, i, asValue]) => {
    const ex = EXAMPLES[i]!;
    const laughs = billionLaughs(width, depth);
    // either its own document, or hidden inside the manifest's spec
    const text = asValue ? ex.text.replace(/^spec:\n/m, `x: &root\n${laughs.replace(/^/gm, '  ')}spec:\n`) : `${laughs}---\n${ex.text}`;
    const t0 = Date.now();
    const r = parse({ file: ex.file, text, what: `laughs ${width}^${depth}${asValue ? ' inside' : ''}` });
    assert.ok(Date.now() - t0 < 1000, `refused in ${Date.now() - t0} ms`);
    assert.ok(r.errors.some((e) => /too many alias expansions/.test(e.message)), r.errors.map(formatManifestError).join(' | '));
    if (!asValue) assert.equal(r.resources.map((l) => l.resource), original.get(ex.file)!.resources.map((l) => l.resource), 'the next document still loads');
    else assert.equal(r.resources, []);
  });
});

test('several documents in one file: each reports as it would alone, at its own lines', () => {
  const part = fc.oneof(example, example.chain(replaceValue), example.chain(duplicateKey));
  run('multidoc', fc.array(part, { minLength: 2, maxLength: 4 }), 150, (parts) => {
    const texts = parts.map((p) => (p.text.endsWith('\n') ? p.text : `${p.text}\n`));
    const whole = parse({ file: 'multi.yaml', text: texts.map((t) => `---\n${t}`).join(''), what: 'multidoc' });
    const expected: string[] = [];
    const loaded: string[] = [];
    let offset = 1; // each part starts after its '---' line
    for (const t of texts) {
      const alone = parseManifestText('multi.yaml', t);
      for (const e of alone.errors) expected.push(formatManifestError({ ...e, line: e.line + offset }));
      for (const l of alone.resources) loaded.push(`${keyOf(l.resource)}@${l.source.line + offset}`);
      offset += t.split('\n').length;
    }
    assert.equal(whole.errors.map(formatManifestError).sort(), expected.sort());
    assert.equal(whole.resources.map((l) => `${keyOf(l.resource)}@${l.source.line}`), loaded);
  });
});

test('files over the 1 MiB limit are refused by size in bytes, whatever fills them', () => {
  const filler = fc.oneof(fc.constant('x'), fc.constant('\u{1f525}'), fc.constant('漢'), fc.constant('# comment\n'));
  run('huge', fc.tuple(example, filler, fc.integer({ min: 1, max: 64 * 1024 })), 20, ([ex, fill, extra]) => {
    const unit = Buffer.byteLength(fill);
    const pad = fill.repeat(Math.ceil((1024 * 1024 + extra) / unit));
    const text = fill.endsWith('\n') ? ex.text + pad : ex.text.replace(/^spec:\n/m, `spec:\n  description: "${pad}"\n`);
    const r = parse({ file: ex.file, text, what: 'huge' });
    assert.equal(r.resources, []);
    assert.equal(r.errors.map((e) => [e.line, e.col]), [[1, 1]]);
    assert.match(r.errors[0]!.message, /larger than the 1048576-byte limit/);
  });
});

// --- the directory loader: symlinks, loops, special files, and files vanishing mid-read ---------

type Entry =
  | { t: 'valid'; ex: number }
  | { t: 'mutant'; text: string }
  | { t: 'empty' }
  | { t: 'huge' }
  | { t: 'outside' }
  | { t: 'dangling' }
  | { t: 'loop' }
  | { t: 'dirloop' }
  | { t: 'inside' }
  | { t: 'dirnamedyaml' }
  | { t: 'hidden' };

const entry: fc.Arbitrary<Entry> = fc.oneof(
  fc.nat({ max: EXAMPLES.length - 1 }).map((ex) => ({ t: 'valid' as const, ex })),
  example.chain(damage).map((m) => ({ t: 'mutant' as const, text: m.text })),
  fc.constantFrom<Entry>({ t: 'empty' }, { t: 'huge' }, { t: 'outside' }, { t: 'dangling' }, { t: 'loop' }, { t: 'dirloop' }, { t: 'inside' }, { t: 'dirnamedyaml' }, { t: 'hidden' }),
);

test('loadManifests: symlinks outside, loops, dangling links, huge and empty files, and files deleted while it reads', async () => {
  const base = mkdtempSync(join(tmpdir(), 'phoenix-fuzz-'));
  const outside = join(base, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'elsewhere.yaml'), EXAMPLES[0]!.text);
  let round = 0;
  try {
    const layout = fc.tuple(fc.array(fc.tuple(entry, fc.boolean()), { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 6 }));
    const out = await fc.check(
      fc.asyncProperty(layout, async ([entries, vanish]) => {
        inputs++;
        const dir = join(base, `m${round++}`);
        mkdirSync(join(dir, 'sub'), { recursive: true });
        const names: string[] = [];
        entries.forEach(([e, nested], i) => {
          const name = join(nested ? 'sub' : '', `f${i}.yaml`);
          const p = join(dir, name);
          names.push(name);
          switch (e.t) {
            case 'valid': return writeFileSync(p, EXAMPLES[e.ex]!.text);
            case 'mutant': return writeFileSync(p, e.text);
            case 'empty': return writeFileSync(p, '');
            case 'huge': return writeFileSync(p, ''), truncateSync(p, 1024 * 1024 + 1);
            case 'outside': return symlinkSync(join(outside, 'elsewhere.yaml'), p);
            case 'dangling': return symlinkSync(join(dir, 'nowhere.yaml'), p);
            case 'loop': return symlinkSync(p, p);
            case 'dirloop': return symlinkSync('..', join(dir, nested ? 'sub' : '', `loop${i}`));
            case 'inside': return symlinkSync(join(dir, 'sub'), join(dir, `in${i}`));
            case 'dirnamedyaml': return mkdirSync(p);
            case 'hidden': return writeFileSync(join(dir, `.f${i}.yaml`), '\u0000garbage');
          }
        });
        // delete some entries (and maybe the whole sub directory) while the loader walks the tree
        const loading = loadManifests(dir);
        await Promise.all(vanish.map((v) => (v % 7 === 6 ? rm(join(dir, 'sub'), { recursive: true, force: true }) : rm(join(dir, names[v % names.length]!), { recursive: true, force: true }))));
        let r: LoadResult;
        try {
          r = await loading;
        } catch (err) {
          throw new Error(`loadManifests threw: ${String(err)}`);
        }
        for (const e of r.errors) {
          assert.ok(e.file.startsWith(dir), `error names a file under the directory: ${formatManifestError(e)}`);
          assert.ok(e.line >= 1 && e.col >= 1, formatManifestError(e));
          assert.not.match(e.message, UNSAFE, formatManifestError(e));
        }
        // once quiet, every entry still there is accounted for
        const quiet = await loadManifests(dir);
        const errorsOf = (name: string) => quiet.errors.filter((e) => basename(e.file) === basename(name)).map((e) => e.message);
        entries.forEach(([e], i) => {
          const name = names[i]!;
          if (!lexists(join(dir, name))) return;
          if (e.t === 'outside') assert.ok(errorsOf(name).some((m) => /points outside/.test(m)), `${name}: ${errorsOf(name)}`);
          if (e.t === 'dangling' || e.t === 'loop') assert.ok(errorsOf(name).some((m) => /broken symlink/.test(m)), `${name}: ${errorsOf(name)}`);
          if (e.t === 'huge') assert.ok(errorsOf(name).some((m) => /larger than/.test(m)), `${name}: ${errorsOf(name)}`);
          // a file reached through a symlinked directory is read once, under the first path that reaches it
          if (e.t === 'valid') assert.ok(quiet.resources.some((l) => basename(l.source.file) === basename(name)), `${name} loads`);
        });
        assert.not.ok(quiet.errors.some((e) => e.file.includes(`${dir}/.`)), 'hidden files are skipped');
        assert.not.ok(quiet.resources.some((l) => l.source.file.includes('elsewhere')), 'nothing is read from outside');
        rmSync(dir, { recursive: true, force: true });
      }),
      params(150),
    );
    if (out.failed) throw new Error(`loadManifests property failed (PHOENIX_FUZZ_SEED=${SEED}): ${String((out.errorInstance as Error)?.message ?? out.errorInstance)}\n${JSON.stringify(out.counterexample).slice(0, 800)}`);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

function lexists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

test.after(() => {
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`\nfigure: manifest fuzz (loader, seed ${SEED}): ${inputs} inputs tried in ${secs} s, ${crashes} crashes, ${located} errors each naming file:line:col`);
});

test.run();
