// Mutations of valid manifests for the bad-input suites (fuzz.test.ts, fuzz.e2e.test.ts): fast-check
// arbitraries that take one of the example manifests and break it in a known place (a value of the
// wrong type, an extreme number, odd unicode, a duplicated key, tab indentation), at random (bytes
// inserted, lines dropped or swapped, truncation, garbage), or rewrite it into an equivalent that
// exercises YAML features (anchors, aliases, merge keys).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { isMap, isScalar, isSeq, parseDocument, Pair, Scalar, YAMLMap } from 'yaml';
import type { Node as YamlNode } from 'yaml';
import { repoRoot } from './fleet.js';

export interface Example {
  file: string;
  text: string;
}

/** manifests/*.yaml, in name order. */
export function examples(): Example[] {
  const dir = join(repoRoot, 'manifests');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') }));
}

/** A mutated manifest. `line` (1-based) is where the mutation sits when it has one place. */
export interface Mutant {
  file: string;
  what: string;
  text: string;
  line?: number;
  /** The path of the replaced node (for value replacements). */
  path?: Array<string | number>;
}

// --- the values a mutation writes --------------------------------------------------------------

export const WRONG_TYPES = ['42', '-1', '0', '3.5', 'true', 'false', 'null', '~', '""', '"text"', '[]', '{}', '[1, 2]', '{a: 1}', '"42"', '[[]]', '{x: {y: [z]}}'];
export const EXTREME_NUMBERS = [
  '1e308', '-1e308', '1e400', '9007199254740993', '-9007199254740993', '99999999999999999999', '2147483648', '4294967296',
  '-0', '0.0000001', '.nan', '.NaN', '.inf', '-.inf', '0x7fffffff', '0o777', '"NaN"', '"Infinity"', '"-0"', '"1e308"', '"0x10"', '" 42 "',
];
/** Characters that must never reach Proxmox or a terminal unescaped. */
export const ODD_CHARS = [
  '\u202e', // RIGHT-TO-LEFT OVERRIDE
  '\u200f', // RIGHT-TO-LEFT MARK
  '\u2066', // LEFT-TO-RIGHT ISOLATE
  '\u200b', // ZERO WIDTH SPACE
  '\u200d', // ZERO WIDTH JOINER
  '\ufeff', // a BOM in the middle
  '\u00a0', // NO-BREAK SPACE
  '\u2028', // LINE SEPARATOR
  '\u0085', // NEXT LINE (C1)
  '\u001b[31m', // a terminal escape
  '\u0000', // NUL
  '\u0007', // BEL
  '\ud800', // a lone high surrogate
  '\udfff', // a lone low surrogate
  '\u{1f525}', // emoji
  '\u{1f468}\u200d\u{1f469}\u200d\u{1f467}', // emoji ZWJ sequence
  'e\u0301', // combining accent
  '\u0130', // dotted capital I (case folding)
  'Ω', 'ß', '漢字', 'עברית', 'العربية',
];

const quoted = (s: string) => JSON.stringify(s); // a YAML double-quoted scalar escapes like JSON

/** A value as YAML flow text: a wrong type, an extreme number, or a string with odd characters in. */
export const oddValue = fc.oneof(
  fc.constantFrom(...WRONG_TYPES),
  fc.constantFrom(...EXTREME_NUMBERS),
  fc.tuple(fc.constantFrom(...ODD_CHARS), fc.constantFrom('', 'vmbr0', '10.0.0.1', 'web', '32G', '443')).map(([c, s]) => quoted(s + c)),
  fc.constantFrom(...ODD_CHARS).map((c) => quoted(c.repeat(3))),
  fc.string({ unit: 'grapheme', maxLength: 12 }).map(quoted),
  fc.string({ unit: 'binary', maxLength: 12 }).map(quoted),
);

// --- where a mutation can go -------------------------------------------------------------------

interface Site {
  path: Array<string | number>;
  node: YamlNode;
  start: number;
  end: number;
}

/** Every value node (mapping values, sequence items) below the root, with its text range. */
function sites(text: string): Site[] {
  const doc = parseDocument(text);
  const out: Site[] = [];
  const walk = (node: unknown, path: Array<string | number>) => {
    if (isMap(node)) {
      for (const p of node.items) {
        const v = p.value as YamlNode | null;
        const k = isScalar(p.key) ? String(p.key.value) : String(p.key);
        if (v?.range) {
          out.push({ path: [...path, k], node: v, start: v.range[0], end: endOf(text, v) });
          walk(v, [...path, k]);
        }
      }
    } else if (isSeq(node)) {
      node.items.forEach((v, i) => {
        const n = v as YamlNode | null;
        if (n?.range) {
          out.push({ path: [...path, i], node: n, start: n.range[0], end: endOf(text, n) });
          walk(n, [...path, i]);
        }
      });
    }
  };
  walk(doc.contents, []);
  return out;
}

/** Where a node's own text ends: a block collection's range runs on over the next line's indentation. */
function endOf(text: string, n: YamlNode): number {
  const [start, end] = n.range!;
  return start + text.slice(start, end).trimEnd().length;
}

const siteCache = new Map<string, Site[]>();
function cachedSites(text: string): Site[] {
  let s = siteCache.get(text);
  if (!s) siteCache.set(text, (s = sites(text)));
  return s;
}

/** 1-based line of a character offset. */
export function lineOf(text: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

/** The JSON type of a YAML flow text ('string', 'number', 'boolean', 'null', 'array', 'object'). */
export function yamlType(flow: string): string {
  const v: unknown = parseDocument(`v: ${flow}\n`).toJS()?.v;
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function nodeType(n: YamlNode): string {
  if (isMap(n)) return 'object';
  if (isSeq(n)) return 'array';
  const v = (n as Scalar).value;
  return v === null ? 'null' : typeof v;
}

// --- the mutations -----------------------------------------------------------------------------

/** One value node (scalar or whole collection) replaced by an odd value, written in place. */
export function replaceValue(ex: Example): fc.Arbitrary<Mutant & { from: string; to: string }> {
  const all = cachedSites(ex.text);
  return fc.tuple(fc.nat({ max: all.length - 1 }), oddValue).map(([i, value]) => {
    const s = all[i]!;
    // a block collection's range starts at its first entry: keep it on its own (new) line
    const text = ex.text.slice(0, s.start) + value + ex.text.slice(s.end);
    return { file: ex.file, what: `${s.path.join('.')} := ${value}`, text, line: lineOf(ex.text, s.start), path: s.path, from: nodeType(s.node), to: yamlType(value) };
  });
}

/** A `key: value` line copied right below itself: a duplicate key. */
export function duplicateKey(ex: Example): fc.Arbitrary<Mutant> {
  const lines = ex.text.split('\n');
  const candidates = lines.flatMap((l, i) => (/^ *[A-Za-z][\w.-]*: +[^\s#{[][^#]*$/.test(l) ? [i] : []));
  return fc.constantFrom(...candidates).map((i) => {
    const copy = [...lines.slice(0, i + 1), lines[i]!, ...lines.slice(i + 1)];
    return { file: ex.file, what: `line ${i + 1} duplicated`, text: copy.join('\n'), line: i + 2 };
  });
}

/** The indentation of one indented line replaced by a tab (or a tab added after it). */
export function tabIndent(ex: Example): fc.Arbitrary<Mutant> {
  const lines = ex.text.split('\n');
  const candidates = lines.flatMap((l, i) => (/^ +[^ #-]/.test(l) ? [i] : []));
  return fc.tuple(fc.constantFrom(...candidates), fc.boolean()).map(([i, replace]) => {
    const l = lines[i]!;
    const indent = /^ +/.exec(l)![0];
    const changed = replace ? `\t${l.slice(indent.length)}` : `${indent}\t${l.slice(indent.length)}`;
    const text = [...lines.slice(0, i), changed, ...lines.slice(i + 1)].join('\n');
    return { file: ex.file, what: `line ${i + 1} ${replace ? 'indented with a tab' : 'tab after the indentation'}`, text, line: i + 1 };
  });
}

/** Random damage: characters inserted, ranges deleted, lines swapped, dropped, re-indented, truncation. */
export function damage(ex: Example): fc.Arbitrary<Mutant> {
  const t = ex.text;
  const n = t.length;
  const lines = t.split('\n');
  const at = fc.nat({ max: n });
  const line = fc.nat({ max: lines.length - 1 });
  const insertion = fc.oneof(
    fc.constantFrom(...ODD_CHARS),
    fc.constantFrom('\t', ' ', '\n', '\r', '\r\n', ':', '- ', '---\n', '...\n', '&a ', '*a', '*nope', '<<: ', '!!binary ', '!tag ', '%YAML 1.1\n', '"', "'", '{', '[', '}', ']', '|', '>', '#', '? ', ',', '@', '`'),
    fc.string({ unit: 'binary', maxLength: 8 }),
  );
  return fc.oneof(
    fc.tuple(at, insertion).map(([i, s]) => ({ file: ex.file, what: `${JSON.stringify(s)} inserted at offset ${i}`, text: t.slice(0, i) + s + t.slice(i) })),
    fc.tuple(at, fc.nat({ max: 40 })).map(([i, len]) => ({ file: ex.file, what: `${len} chars deleted at ${i}`, text: t.slice(0, i) + t.slice(i + len) })),
    at.map((i) => ({ file: ex.file, what: `truncated at ${i}`, text: t.slice(0, i) })),
    fc.tuple(line, line).map(([a, b]) => {
      const l = [...lines];
      [l[a], l[b]] = [l[b]!, l[a]!];
      return { file: ex.file, what: `lines ${a + 1} and ${b + 1} swapped`, text: l.join('\n') };
    }),
    line.map((i) => ({ file: ex.file, what: `line ${i + 1} dropped`, text: [...lines.slice(0, i), ...lines.slice(i + 1)].join('\n') })),
    fc.tuple(line, fc.integer({ min: -3, max: 3 })).map(([i, d]) => {
      const l = [...lines];
      l[i] = d >= 0 ? ' '.repeat(d) + l[i] : l[i]!.replace(new RegExp(`^ {0,${-d}}`), '');
      return { file: ex.file, what: `line ${i + 1} re-indented by ${d}`, text: l.join('\n') };
    }),
    fc.uint8Array({ minLength: 1, maxLength: 512 }).map((b) => ({ file: ex.file, what: 'binary garbage', text: Buffer.from(b).toString('utf8') })),
    fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 64 }), at).map(([b, i]) => ({ file: ex.file, what: `binary inserted at ${i}`, text: t.slice(0, i) + Buffer.from(b).toString('utf8') + t.slice(i) })),
    fc.constantFrom('', ' ', '\n', '\n\n\n', '# only a comment\n', '---\n', '---\n...\n', '\u0000', '\ufeff', '~\n', 'null\n', '[]\n', '{}\n', '42\n', '"just a string"\n').map((s) => ({ file: ex.file, what: `whole file ${JSON.stringify(s)}`, text: s })),
  );
}

/** An equivalent manifest: repeated scalars made anchors + aliases, some mapping pairs moved into `<<` merges. */
export function equivalent(ex: Example): fc.Arbitrary<Mutant> {
  return fc.tuple(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.boolean(), fc.boolean()).map(([seed, useAliases, useMerges]) => {
    const doc = parseDocument(ex.text, { merge: true });
    let rnd = seed || 1;
    const coin = () => ((rnd = (rnd * 1103515245 + 12345) & 0x7fffffff) & 0x10000) !== 0;
    const firstOf = new Map<string, Scalar>();
    let anchors = 0;
    let merges = 0;
    const walk = (node: unknown) => {
      if (isMap(node) || isSeq(node)) {
        const items = node.items as unknown[];
        for (let i = 0; i < items.length; i++) {
          const it = items[i];
          const value = it instanceof Pair ? it.value : it;
          if (isScalar(value) && useAliases && value.value !== null) {
            const id = `${typeof value.value}:${String(value.value)}`;
            const first = firstOf.get(id);
            if (!first) firstOf.set(id, value);
            else if (coin()) {
              first.anchor ??= `a${anchors++}`;
              const alias = doc.createAlias(first);
              if (it instanceof Pair) it.value = alias;
              else items[i] = alias;
            }
          } else walk(value);
        }
        if (isMap(node) && useMerges && node.items.length > 1 && coin()) {
          // move a prefix of its pairs into a merge (explicit keys win over merged ones, so keep them unique)
          const k = 1 + (seed % (node.items.length - 1));
          const moved = node.items.splice(0, k);
          const src = new YAMLMap();
          src.flow = coin();
          src.items = moved as typeof src.items;
          node.items.unshift(new Pair(new Scalar('<<'), src) as (typeof node.items)[number]);
          merges++;
        }
      }
    };
    walk(doc.contents);
    return { file: ex.file, what: `${anchors} anchors, ${merges} merges`, text: doc.toString({ lineWidth: 0 }) };
  });
}

/** A billion-laughs document: `depth` levels, each `width` aliases of the previous one. */
export function billionLaughs(width: number, depth: number): string {
  const out = [`l0: &l0 [${Array(width).fill('"lol"').join(', ')}]`];
  for (let i = 1; i <= depth; i++) out.push(`l${i}: &l${i} [${Array(width).fill(`*l${i - 1}`).join(', ')}]`);
  return `${out.join('\n')}\n`;
}

/** Odd but perhaps valid: a string value with an odd character inside, or a number at a boundary. */
export function oddButMaybeValid(ex: Example, avoid?: RegExp): fc.Arbitrary<Mutant> {
  const all = cachedSites(ex.text).filter(
    (s) => isScalar(s.node) && (typeof s.node.value === 'string' || typeof s.node.value === 'number') && !s.path.some((p) => avoid?.test(String(p))),
  );
  const bounds = [0, 1, -1, 2, 63, 64, 128, 255, 256, 1023, 1024, 8192, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53 + 1, 1e308];
  return fc.tuple(fc.nat({ max: all.length - 1 }), fc.constantFrom(...ODD_CHARS), fc.nat(), fc.constantFrom(...bounds)).map(([i, ch, at, n]) => {
    const s = all[i]!;
    const v = (s.node as Scalar).value;
    const value = typeof v === 'number' ? String(n) : quoted(String(v).slice(0, at % (String(v).length + 1)) + ch + String(v).slice(at % (String(v).length + 1)));
    const text = ex.text.slice(0, s.start) + value + ex.text.slice(s.end);
    return { file: ex.file, what: `${s.path.join('.')} := ${value}`, text, line: lineOf(ex.text, s.start), path: s.path };
  });
}
