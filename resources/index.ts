// The registry of kinds: names (plural, singular, short), the compiled validator, the semantic
// checks JSON Schema cannot express, and the defaults. `validateResource` turns any parsed document
// into a typed resource or a list of readable issues with their paths.
import { isIP, isIPv6 } from 'node:net';
import { Ajv } from 'ajv';
import type { ErrorObject, JSONSchemaType, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { AnyResource, CertificateAuthority, Kind, LxcContainer, ObjectMeta, ObjectRef, Template, VirtualMachine } from './types.js';
import { API_VERSION, KINDS } from './types.js';
import type { Issue, ManifestMeta } from './common.js';
import { FORMAT_HINT } from './common.js';
import type { KindNames } from './kindnames.js';
import { KIND_NAMES, resolveKind } from './kindnames.js';
import { templateSchema, checkTemplate, templateDefaults } from './template.js';
import { lxcContainerSchema, checkLxcContainer, lxcContainerDefaults } from './lxccontainer.js';
import { virtualMachineSchema, checkVirtualMachine, virtualMachineDefaults } from './virtualmachine.js';
import { certificateAuthoritySchema, checkCertificateAuthority, certificateAuthorityDefaults } from './certificateauthority.js';

export type { Issue } from './common.js';

/** A manifest as written: the resource without controller-owned fields (metadata.generation). */
export type ManifestOf<R extends AnyResource> = Omit<R, 'metadata'> & { metadata: ManifestMeta };

/** A kind's names (from kindnames.ts), schema, validator, semantic checks and defaults. */
export interface KindDefinition<R extends AnyResource = AnyResource> extends KindNames {
  kind: R['kind'];
  /** The JSON Schema of a whole manifest of this kind, as compiled (publishable). */
  schema: Record<string, unknown>;
  validate: ValidateFunction<ManifestOf<R>>;
  /** Rules beyond the schema; run only on documents the schema accepts. */
  check(r: R): Issue[];
  /** The spec with every default applied (pure; one place for defaults). */
  defaults(spec: R['spec'], metadata?: Pick<ObjectMeta, 'name'>): R['spec'];
}

// JSONSchemaType needs `nullable: true` on optional fields; we do not want `memory: null` to pass,
// so the typed schemas are compiled without it (an optional field may be absent, never null).
function stripNullable(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(stripNullable);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) if (k !== 'nullable') out[k] = stripNullable(v);
  return out;
}

const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: false });
ajv.addVocabulary([FORMAT_HINT]);
addFormats.default(ajv, ['uri', 'ipv6']);
ajv.addFormat('ip', (s: string) => isIP(s) !== 0);
ajv.addFormat('ipv6-cidr-or-keyword', (s: string) => {
  if (s === 'dhcp' || s === 'auto' || s === 'manual') return true;
  const [addr, prefix, ...rest] = s.split('/');
  return rest.length === 0 && prefix !== undefined && isIPv6(addr ?? '') && Number(prefix) <= 128;
});

/** One element of a firewall address list: an address, a CIDR or a range a-b; its IP family or 0. */
function fwAddrElement(e: string): 4 | 6 | 0 {
  const [from, to, ...more] = e.split('-');
  if (more.length) return 0;
  const [addr, prefix, ...rest] = (from ?? '').split('/');
  const v = isIP(addr ?? '');
  if (!v || rest.length || (prefix !== undefined && (!/^[0-9]{1,3}$/.test(prefix) || Number(prefix) > (v === 4 ? 32 : 128)))) return 0;
  if (to !== undefined && (prefix !== undefined || isIP(to) !== v)) return 0;
  return v as 4 | 6;
}

// The firewall's address spec: an alias or ipset name, or a list of addresses/CIDRs of one family
// (a range a-b only on its own). The pattern keeps separators out; this checks each address.
ajv.addFormat('fw-addr', (s: string) => {
  if (/^(\+|dc\/|guest\/)?[a-zA-Z][a-zA-Z0-9_-]*$/.test(s)) return true;
  const items = s.split(',');
  const families = new Set(items.map(fwAddrElement));
  return !families.has(0) && families.size === 1 && (items.length === 1 || !s.includes('-'));
});

function define<R extends AnyResource>(
  d: Pick<KindDefinition<R>, 'kind' | 'check' | 'defaults'> & { typedSchema: JSONSchemaType<ManifestOf<R>> },
): KindDefinition<R> {
  const schema = stripNullable(d.typedSchema) as Record<string, unknown>;
  const { typedSchema: _typed, ...rest } = d;
  return { ...KIND_NAMES[d.kind], ...rest, schema, validate: ajv.compile(schema) as ValidateFunction<ManifestOf<R>> };
}

export const KIND_DEFINITIONS: { [K in Kind]: KindDefinition<Extract<AnyResource, { kind: K }>> } = {
  Template: define<Template>({
    kind: 'Template',
    typedSchema: templateSchema,
    check: checkTemplate,
    defaults: templateDefaults,
  }),
  LxcContainer: define<LxcContainer>({
    kind: 'LxcContainer',
    typedSchema: lxcContainerSchema,
    check: checkLxcContainer,
    defaults: lxcContainerDefaults,
  }),
  VirtualMachine: define<VirtualMachine>({
    kind: 'VirtualMachine',
    typedSchema: virtualMachineSchema,
    check: checkVirtualMachine,
    defaults: virtualMachineDefaults,
  }),
  CertificateAuthority: define<CertificateAuthority>({
    kind: 'CertificateAuthority',
    typedSchema: certificateAuthoritySchema,
    check: checkCertificateAuthority,
    defaults: certificateAuthorityDefaults,
  }),
};

export function kindDefinition<K extends Kind>(kind: K): KindDefinition<Extract<AnyResource, { kind: K }>> {
  return KIND_DEFINITIONS[kind];
}

/** Resolves a kind as a user types it: Kind, plural, singular or short name, any case. */
export const lookupKind = resolveKind;

/** The resource with its kind's defaults applied to the spec (a new object; the input is untouched). */
export function applyDefaults<R extends AnyResource>(r: R): R {
  const def = KIND_DEFINITIONS[r.kind] as unknown as KindDefinition<R>;
  return { ...r, spec: def.defaults(r.spec, r.metadata) };
}

// ---------------------------------------------------------------------------------------------
// Validation with readable messages

export interface ValidationResult {
  /** Set when the document is a valid resource. */
  resource?: AnyResource;
  /** Set when kind and metadata.name could be read, even if the document is invalid. */
  ref?: ObjectRef;
  issues: Issue[];
}

/** Levenshtein distance, for did-you-mean suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate within a small edit distance (or equal ignoring case), if any. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  return best !== undefined && bestD <= limit ? best : undefined;
}

/**
 * A user-supplied string made safe to print inside a message: control, C1 and bidirectional
 * formatting characters escaped (no terminal escape sequences or reordered text), long values cut.
 */
export function printable(s: string, max = 80): string {
  // eslint-disable-next-line no-control-regex
  const esc = s.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  return esc.length > max ? `${esc.slice(0, max)}...` : esc;
}

const suggest = (word: string, candidates: readonly string[]) => {
  const s = didYouMean(word, candidates);
  return s ? ` (did you mean '${s}'?)` : '';
};

function pointerToPath(pointer: string): Array<string | number> {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

/** Renders a path as spec.networks[0].bridge. */
export function formatPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${printable(seg)}` : printable(seg);
  return out;
}

const SEPARATORS: Array<[RegExp, string]> = [
  [/,/, "','"],
  [/=/, "'='"],
  [/;/, "';'"],
  [/%/, "'%'"],
  [/[\r\n]/, 'a line break'],
  [new RegExp(String.fromCharCode(0)), 'NUL'],
  [/\s/, 'whitespace'],
];

/** Names the characters in a value that Proxmox property strings cannot carry. */
function unsafeCharacters(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const found = SEPARATORS.filter(([re]) => re.test(value)).map(([, name]) => name);
  return found.length ? found.join(', ') : undefined;
}

function typeWord(t: unknown): string {
  if (t === 'object') return 'a mapping';
  if (t === 'array') return 'a list';
  return String(t);
}

/** One ajv error as an Issue (or none, for wrapper errors whose detail is reported separately). */
function issueOf(e: ErrorObject): Issue | undefined {
  const path = pointerToPath(e.instancePath);
  // a field's format in a few words: its format hint when the field has its own documentation
  const formatText = e.parentSchema?.[FORMAT_HINT] ?? e.parentSchema?.description;
  const hint = typeof formatText === 'string' ? ` (${formatText})` : '';
  const p = e.params as Record<string, unknown>;
  const propertyName = (e as { propertyName?: string }).propertyName;
  if (propertyName !== undefined) {
    const hintOf = typeof e.schema === 'string' && e.keyword === 'pattern' ? hint : '';
    return { path: [...path, propertyName], atKey: true, message: `key '${printable(propertyName)}' ${e.keyword === 'pattern' ? `must match pattern ${String(p.pattern)}` : (e.message ?? 'is invalid')}${hintOf}` };
  }
  switch (e.keyword) {
    case 'propertyNames':
      return undefined;
    case 'type': {
      const yes = p.type === 'boolean' && typeof e.data === 'string' && /^(yes|no|on|off|y|n)$/i.test(e.data);
      return { path, message: `must be ${typeWord(p.type)}${yes ? ` (write true or false, not '${e.data}')` : ''}` };
    }
    case 'required':
      return { path, message: `missing required field '${String(p.missingProperty)}'` };
    case 'additionalProperties': {
      const prop = String(p.additionalProperty);
      const at = [...path, prop];
      if (path.length === 0 && prop === 'status') return { path: at, atKey: true, message: "'status' is written by the controller and is not accepted in manifests" };
      if (path.length === 1 && path[0] === 'metadata' && prop === 'generation')
        return { path: at, atKey: true, message: "'metadata.generation' is set by the controller and is not accepted in manifests" };
      const known = Object.keys((e.parentSchema?.properties as Record<string, unknown> | undefined) ?? {});
      return { path: at, atKey: true, message: `unknown field '${printable(prop)}'${suggest(prop, known)}` };
    }
    case 'pattern': {
      const bad = unsafeCharacters(e.data);
      const note = bad ? `; ${bad} cannot be used here (it would change the meaning of the Proxmox parameter)` : '';
      return { path, message: `must match pattern ${String(p.pattern)}${hint}${note}` };
    }
    case 'format':
      return { path, message: `must be ${hint ? hint.slice(2, -1) : `a valid ${String(p.format)}`}` };
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String);
      return { path, message: `must be one of: ${allowed.join(', ')}${typeof e.data === 'string' ? suggest(e.data, allowed) : ''}` };
    }
    case 'const':
      if (path.length === 1 && path[0] === 'apiVersion') return { path, message: `unknown apiVersion '${printable(String(e.data))}' (expected ${API_VERSION})` };
      return { path, message: `must be ${String(p.allowedValue)}` };
    case 'minLength':
      return { path, message: p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters long` };
    case 'maxLength':
      return { path, message: `must be at most ${String(p.limit)} characters long` };
    case 'minItems':
      return { path, message: `must have at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}` };
    case 'maxItems':
      return { path, message: `must have at most ${String(p.limit)} items` };
    case 'uniqueItems':
      // ajv scans from the end: the later duplicate is max(i, j)
      return { path: [...path, Math.max(Number(p.i), Number(p.j))], message: `duplicate item: the same as item ${Math.min(Number(p.i), Number(p.j))}` };
    default:
      return { path, message: e.message ?? `is invalid (${e.keyword})` };
  }
}

/** Converts ajv errors into issues, one per problem. */
export function issuesOf(errors: ErrorObject[] | null | undefined): Issue[] {
  const out: Issue[] = [];
  const seen = new Set<string>();
  // a value that fails its pattern usually fails its format too: say it once
  const patternFailed = new Set((errors ?? []).filter((e) => e.keyword === 'pattern').map((e) => e.instancePath));
  for (const e of errors ?? []) {
    if (e.keyword === 'format' && patternFailed.has(e.instancePath)) continue;
    const issue = issueOf(e);
    if (!issue) continue;
    const key = `${formatPath(issue.path)}\u0000${issue.message}`;
    if (!seen.has(key)) out.push(issue);
    seen.add(key);
  }
  return out;
}

function isMapping(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/** Validates one parsed document (any JSON-like value) as a phoenix resource. */
export function validateResource(doc: unknown): ValidationResult {
  if (!isMapping(doc)) return { issues: [{ path: [], message: 'a manifest must be a mapping with apiVersion, kind, metadata and spec' }] };
  const kindValue = doc.kind;
  if (kindValue === undefined) return { issues: [{ path: [], message: "missing required field 'kind'" }] };
  if (typeof kindValue !== 'string' || !(KINDS as readonly string[]).includes(kindValue))
    return { issues: [{ path: ['kind'], message: `unknown kind '${printable(String(kindValue))}'${suggest(String(kindValue), KINDS)}; expected one of: ${KINDS.join(', ')}` }] };
  const kind = kindValue as Kind;
  const name = isMapping(doc.metadata) && typeof doc.metadata.name === 'string' ? doc.metadata.name : undefined;
  const ref = name !== undefined ? { kind, name } : undefined;
  const def = KIND_DEFINITIONS[kind] as unknown as KindDefinition;
  if (!def.validate(doc)) return { ref, issues: issuesOf(def.validate.errors) };
  const resource = doc as unknown as AnyResource;
  const issues = def.check(resource);
  return issues.length ? { ref, issues } : { ref, resource, issues };
}

/** A kind's manifest schema as published in docs/schemas/<singular>.json (for editors). */
export function publishedSchema(kind: Kind): Record<string, unknown> {
  const def = KIND_DEFINITIONS[kind];
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: `${kind} (${API_VERSION})`,
    ...def.schema,
  };
}
