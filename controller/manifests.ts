// The manifest loader: YAML files -> validated resources + errors with file:line:col.
// Errors are per document: one bad document never stops the good ones from loading.
import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join, relative, sep, isAbsolute } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { Document, Node as YamlNode, Pair } from 'yaml';
import type { AnyResource, LoadedResource, ObjectRef } from '../resources/types.js';
import { KINDS } from '../resources/types.js';
import { didYouMean, formatPath, printable, validateResource } from '../resources/index.js';
import type { Issue } from '../resources/index.js';
import type { LoadResult, ManifestError } from './types.js';
import { keyOf } from './types.js';
import { buildGraph, referencesOf } from './graph.js';

/** Files larger than this are reported, not parsed. */
const MAX_MANIFEST_BYTES = 1024 * 1024;
/** Alias expansions allowed per document: enough for real reuse, far too few for a billion laughs. */
const MAX_ALIAS_COUNT = 100;
/** Documents allowed per file. */
const MAX_DOCUMENTS = 1000;

type Path = ReadonlyArray<string | number>;
type Locate = (path: Path, atKey?: boolean) => { line: number; col: number };

// Where each loaded resource's values sit in its file, for checkSet's positions. Keyed by the
// resource object itself, so it goes away with it.
const locators = new WeakMap<AnyResource, Locate>();

const YAML_FILE = /\.ya?ml$/i;

function keyText(key: unknown): string {
  const v = isScalar(key) ? key.value : key;
  // the yaml package represents a merge key as Symbol('<<')
  return typeof v === 'symbol' ? (v.description ?? '') : String(v);
}

/** Finds the node at `path` (or the nearest existing ancestor) and returns its start offset. */
function offsetOf(doc: Document, path: Path, atKey: boolean): number {
  let node: unknown = doc.contents;
  let best = (doc.contents as YamlNode | null)?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    if (isMap(node)) {
      const pair = findPair(doc, node.items as Pair[], String(seg));
      if (!pair) return best;
      const keyStart = (pair.key as YamlNode | null)?.range?.[0];
      if (last && atKey && keyStart !== undefined) return keyStart;
      const value = pair.value as YamlNode | null;
      // An empty value (`memory:`) has no useful position of its own: point at the key.
      if (!value || !value.range || (isScalar(value) && value.value === null)) return keyStart ?? best;
      next = value;
    } else if (isSeq(node) && typeof seg === 'number') {
      next = node.items[seg];
      if (!next) return best;
    } else return best;
    node = next;
    best = (next as YamlNode).range?.[0] ?? best;
  }
  return best;
}

/** A map's pair for key, looking through `<<` merge keys (nearest first, as YAML merges). */
function findPair(doc: Document, items: Pair[], key: string, depth = 0): Pair | undefined {
  const own = items.find((p) => keyText(p.key) === key);
  if (own || depth > 8) return own;
  for (const p of items) {
    if (keyText(p.key) !== '<<') continue;
    const sources = isSeq(p.value) ? p.value.items : [p.value];
    for (let s of sources) {
      if (isAlias(s)) s = s.resolve(doc);
      if (isMap(s)) {
        const found = findPair(doc, s.items as Pair[], key, depth + 1);
        if (found) return found;
      }
    }
  }
  return undefined;
}

function refOfDoc(doc: Document): ObjectRef | undefined {
  try {
    const kind = doc.get('kind');
    const name = doc.getIn(['metadata', 'name']);
    if (typeof kind === 'string' && (KINDS as readonly string[]).includes(kind) && typeof name === 'string') return { kind: kind as ObjectRef['kind'], name };
  } catch {
    // a broken tree may not answer; the errors are then reported without a resource
  }
  return undefined;
}

/**
 * Offset -> 1-based line and column (UTF-16 units, as the parser's offsets), from the text itself:
 * the parser's own line counter misses the line breaks inside tokens it recovers from, which put
 * every later error of a broken file on the wrong line.
 */
export function linePositions(text: string): (offset: number) => { line: number; col: number } {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, col: offset - starts[lo]! + 1 };
  };
}

function yamlMessage(code: string, message: string, text: string, pos: [number, number]): string {
  if (code === 'DUPLICATE_KEY') {
    const key = text.slice(pos[0], pos[0] + 256).split(/[:\n]/)[0]!.trim();
    return key ? `duplicate key '${printable(key)}'` : 'duplicate key';
  }
  // the parser quotes the offending source text, which may hold control or bidi characters
  return `YAML: ${printable(message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''), 200)}`;
}

/** Parses one file's text: every document in it, each validated on its own. Never throws. */
export function parseManifestText(file: string, text: string): LoadResult {
  try {
    return parseText(file, text);
  } catch (err) {
    // a safety net: whatever the parser or a check trips over stays an error of this one file
    const msg = err instanceof RangeError ? 'the file nests too deeply' : `cannot parse: ${printable(err instanceof Error ? err.message : String(err))}`;
    return { resources: [], errors: [{ file, line: 1, col: 1, path: '', message: `${msg}; not loaded` }] };
  }
}

function parseText(file: string, text: string): LoadResult {
  const resources: LoadedResource[] = [];
  const errors: ManifestError[] = [];
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_MANIFEST_BYTES) {
    errors.push({ file, line: 1, col: 1, path: '', message: `file is ${bytes} bytes, larger than the ${MAX_MANIFEST_BYTES}-byte limit; not loaded` });
    return { resources, errors };
  }
  const source = text.replace(/^\uFEFF/, '');
  const parsed = parseAllDocuments(source, { merge: true, uniqueKeys: true, prettyErrors: false, strict: true });
  const docs = Array.isArray(parsed) ? parsed : [];
  const at = linePositions(source);
  if (docs.length > MAX_DOCUMENTS) {
    errors.push({ file, line: 1, col: 1, path: '', message: `file holds ${docs.length} documents, more than the limit of ${MAX_DOCUMENTS}; not loaded` });
    return { resources, errors };
  }

  for (const doc of docs) {
    const problems = [...doc.errors, ...doc.warnings];
    // Empty documents (only comments, or `---` separators) are skipped.
    if (problems.length === 0 && (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null))) continue;
    const docStart = (doc.contents as YamlNode | null)?.range?.[0] ?? doc.range[0];
    const push = (offset: number, path: string, message: string, resource?: ObjectRef) =>
      errors.push({ file, ...at(offset), path, message, ...(resource ? { resource } : {}) });

    // Name the resource from the syntax tree, which exists even when the document is broken.
    const ref = refOfDoc(doc);
    for (const p of problems) push(p.pos[0], '', yamlMessage(p.code, p.message, source, p.pos), ref);
    // A document whose only problem is a duplicate key still converts: validate it too, so every
    // problem shows at once (it is not loaded). Anything else is not converted at all.
    if (problems.some((p) => p.code !== 'DUPLICATE_KEY')) continue;
    let js: unknown;
    try {
      js = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      push(docStart, '', /alias/i.test(msg) ? `too many alias expansions (limit ${MAX_ALIAS_COUNT}); not loaded` : `cannot read document: ${printable(msg)}`, ref);
      continue;
    }

    const result = validateResource(js);
    const locate: Locate = (path, atKey = false) => at(offsetOf(doc, path, atKey));
    for (const issue of result.issues) errors.push(issueError(file, locate, issue, result.ref));
    if (result.resource && problems.length === 0) {
      locators.set(result.resource, locate);
      resources.push({ resource: result.resource, source: { file, ...at(docStart) } });
    }
  }
  errors.sort((a, b) => a.line - b.line || a.col - b.col);
  return { resources, errors };
}

function issueError(file: string, locate: Locate, issue: Issue, resource?: ObjectRef): ManifestError {
  return { file, ...locate(issue.path, issue.atKey), path: formatPath(issue.path), message: issue.message, ...(resource ? { resource } : {}) };
}

function isInside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

/** The problem with one manifest file, as an error of that file. */
function fileFailure(file: string, message: string): LoadResult {
  return { resources: [], errors: [{ file, line: 1, col: 1, path: '', message }] };
}

/** Where a directory entry leads: itself, or a symlink's target when that lies inside root. */
async function resolveEntry(root: string, realRoot: string, path: string): Promise<{ target: string } | { error: string }> {
  if (!(await lstat(path)).isSymbolicLink()) return { target: path };
  let target: string;
  try {
    target = await realpath(path);
  } catch {
    return { error: 'broken symlink; skipped' };
  }
  return isInside(realRoot, target) ? { target } : { error: `symlink points outside ${root} (to ${target}); not followed` };
}

const gone = (err: unknown) => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');

/**
 * Reads and parses one manifest file under root (shown in errors as `shown`), with the directory's
 * rules: a symlink is followed only when it resolves inside root (one outside, dangling or looping is
 * an error of that file, never a removal), files over the size limit are not read. Returns null when
 * there is no such file (removed, or a directory): only then are its resources gone.
 */
export async function readManifestFile(
  root: string,
  path: string,
  shown: string,
  parse: (file: string, text: string) => LoadResult = parseManifestText,
): Promise<LoadResult | null> {
  try {
    const entry = await resolveEntry(root, await realpath(root).catch(() => root), path);
    if ('error' in entry) return fileFailure(shown, entry.error);
    const target = entry.target;
    const st = await stat(target);
    if (!st.isFile()) return null;
    if (st.size > MAX_MANIFEST_BYTES) return fileFailure(shown, `file is ${st.size} bytes, larger than the ${MAX_MANIFEST_BYTES}-byte limit; not loaded`);
    return parse(shown, await readFile(target, 'utf8'));
  } catch (err) {
    if (gone(err)) return null;
    return fileFailure(shown, `cannot read: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Loads every *.yaml / *.yml under dir (recursively, in sorted order; entries starting with '.'
 * are skipped). Symlinks are followed only when they resolve inside dir; others are reported.
 * Each real file is read once, however many links lead to it.
 */
export async function loadManifests(dir: string): Promise<LoadResult> {
  const out: LoadResult = { resources: [], errors: [] };
  const fileError = (file: string, message: string) => out.errors.push(...fileFailure(file, message).errors);
  let root: string;
  try {
    root = await realpath(dir);
    if (!(await stat(root)).isDirectory()) throw new Error('not a directory');
  } catch (err) {
    fileError(dir, `cannot read manifest directory: ${err instanceof Error ? err.message : String(err)}`);
    return out;
  }
  const seen = new Set<string>();
  const add = (r: LoadResult | null) => {
    if (!r) return;
    out.resources.push(...r.resources);
    out.errors.push(...r.errors);
  };

  async function visit(shown: string, real: string): Promise<void> {
    if (seen.has(real)) return;
    seen.add(real);
    let entries: string[];
    try {
      entries = (await readdir(real)).sort(byName);
    } catch (err) {
      fileError(shown, `cannot read directory: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    for (const name of entries) {
      if (name.startsWith('.')) continue;
      const shownPath = join(shown, name);
      const p = join(real, name);
      try {
        const entry = await resolveEntry(dir, root, p);
        if ('error' in entry) {
          fileError(shownPath, entry.error);
          continue;
        }
        const target = entry.target;
        const st = await stat(target);
        if (st.isDirectory()) {
          await visit(shownPath, target);
        } else if (st.isFile() && YAML_FILE.test(name)) {
          if (seen.has(target)) continue;
          seen.add(target);
          add(await readManifestFile(dir, p, shownPath));
        }
      } catch (err) {
        fileError(shownPath, `cannot read: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
  await visit(dir, root);
  return out;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function where(l: LoadedResource): string {
  return `${l.source.file}:${l.source.line}:${l.source.col}`;
}

/**
 * Checks across files: duplicate kind+name, a vmid used twice (across all guest kinds), references
 * to resources that do not exist or of the wrong type, and dependency cycles.
 */
export function checkSet(resources: LoadedResource[]): ManifestError[] {
  const errors: ManifestError[] = [];
  const err = (l: LoadedResource, path: Path, message: string, atKey = false) => {
    const locate = locators.get(l.resource);
    const pos = locate ? locate(path, atKey) : { line: l.source.line, col: l.source.col };
    errors.push({ file: l.source.file, ...pos, path: formatPath(path), message, resource: { kind: l.resource.kind, name: l.resource.metadata.name } });
  };

  const byKey = new Map<string, LoadedResource[]>();
  const byVmid = new Map<number, LoadedResource[]>();
  for (const l of resources) {
    const k = keyOf(l.resource);
    byKey.set(k, [...(byKey.get(k) ?? []), l]);
    if (l.resource.kind !== 'CertificateAuthority') {
      const v = l.resource.spec.vmid;
      byVmid.set(v, [...(byVmid.get(v) ?? []), l]);
    }
  }
  for (const [k, group] of byKey)
    if (group.length > 1)
      for (const l of group)
        err(l, ['metadata', 'name'], `duplicate ${k}: also declared at ${group.filter((o) => o !== l).map(where).join(', ')}`);
  for (const [vmid, group] of byVmid)
    if (group.length > 1)
      for (const l of group)
        err(l, ['spec', 'vmid'], `vmid ${vmid} is also used by ${group.filter((o) => o !== l).map((o) => `${keyOf(o.resource)} (${where(o)})`).join(', ')}`);

  for (const l of resources) {
    const r = l.resource;
    for (const use of referencesOf(r)) {
      const target = byKey.get(keyOf(use.ref))?.[0]?.resource;
      if (!target) {
        const names = resources.filter((o) => o.resource.kind === use.ref.kind).map((o) => o.resource.metadata.name);
        const hint = didYouMean(use.ref.name, names);
        err(l, use.path, `${keyOf(use.ref)} does not exist${hint ? ` (did you mean '${hint}'?)` : ''}`);
        continue;
      }
      // a clone's source template must be of the clone's own type (a dependsOn entry may be anything)
      if (use.implicit && target.kind === 'Template' && (r.kind === 'LxcContainer' || r.kind === 'VirtualMachine')) {
        const want = r.kind === 'LxcContainer' ? 'lxc' : 'qemu';
        const an = (t: string) => (t === 'lxc' ? `an ${t}` : `a ${t}`);
        if (target.spec.type !== want)
          err(l, use.path, `Template/${target.metadata.name} is ${an(target.spec.type)} template; a ${r.kind} is cloned from ${an(want)} template`);
      }
    }
  }

  const graph = buildGraph(resources.map((l) => l.resource));
  for (const cycle of graph.cycles) {
    const first = byKey.get(cycle[0]!)?.[0];
    if (!first) continue;
    const use = referencesOf(first.resource).find((u) => u.dependency && keyOf(u.ref) === cycle[1]);
    err(first, use?.path ?? [], `dependency cycle: ${cycle.join(' -> ')}`);
  }
  return errors;
}
