// docs/reference/manifests.md: one section per kind, rendered from the published JSON Schemas
// (resources/ via publishedSchema), with a table per object level and an example from manifests/.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { KIND_DEFINITIONS, publishedSchema } from '../../resources/index.js';
import { API_VERSION, KINDS, type Kind } from '../../resources/types.js';
import { anchorId, code, generatedNotice, heading, prose, table } from './markdown.js';

type Schema = Record<string, unknown>;

interface Section {
  id: string;
  /** Field path of the object this table describes ('' for the manifest itself). */
  path: string;
  description?: string;
  rows: string[][];
}

const isObjectSchema = (s: Schema) => s.type === 'object' && s.properties !== undefined;
const isMapSchema = (s: Schema) => s.type === 'object' && s.properties === undefined;
const str = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** Constraint words for one scalar schema (enum, const, range, length, pattern, format). */
function constraints(s: Schema): string[] {
  const out: string[] = [];
  if (Array.isArray(s.enum)) out.push(`one of ${s.enum.map((v) => code(str(v))).join(', ')}`);
  if (s.const !== undefined) out.push(`exactly ${code(str(s.const))}`);
  const min = s.minimum as number | undefined;
  const max = s.maximum as number | undefined;
  if (min !== undefined && max !== undefined) out.push(`${min} to ${max}`);
  else if (min !== undefined) out.push(`at least ${min}`);
  else if (max !== undefined) out.push(`at most ${max}`);
  const minL = s.minLength as number | undefined;
  const maxL = s.maxLength as number | undefined;
  if (minL !== undefined && maxL !== undefined) out.push(`${minL} to ${maxL} characters`);
  else if (maxL !== undefined) out.push(`at most ${maxL} characters`);
  else if (minL !== undefined) out.push(`at least ${minL} character${minL === 1 ? '' : 's'}`);
  if (typeof s.format === 'string') out.push(`format ${code(s.format)}`);
  if (typeof s.pattern === 'string') out.push(`pattern ${code(s.pattern)}`);
  return out;
}

function arrayConstraints(s: Schema): string[] {
  const out: string[] = [];
  const min = s.minItems as number | undefined;
  const max = s.maxItems as number | undefined;
  if (min !== undefined && max !== undefined) out.push(`${min} to ${max} items`);
  else if (max !== undefined) out.push(`at most ${max} items`);
  else if (min !== undefined) out.push(`at least ${min} item${min === 1 ? '' : 's'}`);
  if (s.uniqueItems === true) out.push('no duplicates');
  return out;
}

function mapConstraints(s: Schema): string[] {
  const out: string[] = [];
  const keys = s.propertyNames as Schema | undefined;
  const values = s.additionalProperties as Schema | undefined;
  if (keys) out.push(`keys: ${constraints(keys).join(', ')}`);
  if (values && typeof values === 'object') out.push(`values: ${constraints(values).join(', ')}`);
  return out;
}

/** The type column: scalar types, links to nested tables, `list of`, `map of`. */
function typeOf(s: Schema, link: string | undefined): string {
  if (isObjectSchema(s)) return `[object](#${link})`;
  if (isMapSchema(s)) return `map of ${typeOf((s.additionalProperties as Schema | undefined) ?? { type: 'string' }, link)}`;
  if (s.type === 'array') return `list of ${typeOf(s.items as Schema, link)}`;
  return String(s.type);
}

/** The schema a nested table describes: the object itself, or the object items of a list. */
function nestedObject(s: Schema): Schema | undefined {
  if (isObjectSchema(s)) return s;
  if (s.type === 'array' && isObjectSchema(s.items as Schema)) return s.items as Schema;
  return undefined;
}

/** Tables of an object schema and, depth first, of every object below it. */
function sections(kind: Kind, schema: Schema, path: string, out: Section[]): Section[] {
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const props = schema.properties as Record<string, Schema>;
  const section: Section = { id: anchorId(kind, path || 'manifest'), path, description: schema.description as string | undefined, rows: [] };
  out.push(section);
  const nested: Array<[string, Schema]> = [];
  for (const [name, prop] of Object.entries(props)) {
    const fieldPath = path ? `${path}.${name}` : name;
    const obj = nestedObject(prop);
    // a list of objects has a table of its own, for the fields of each item: spec.networks[].bridge
    const childPath = obj && prop.type === 'array' ? `${fieldPath}[]` : fieldPath;
    const link = obj ? anchorId(kind, childPath) : undefined;
    const items = prop.type === 'array' ? (prop.items as Schema) : undefined;
    const allowed =
      prop.type === 'array'
        ? [...arrayConstraints(prop), ...(obj ? [] : constraints(items!).map((c) => `each ${c}`))]
        : isMapSchema(prop)
          ? mapConstraints(prop)
          : constraints(prop);
    const description = (prop.description as string | undefined) ?? (items && !obj ? (items.description as string | undefined) : undefined) ?? '';
    section.rows.push([
      code(childPath),
      typeOf(prop, link),
      required.has(name) ? 'yes' : '',
      prop.default !== undefined ? code(str(prop.default)) : '',
      allowed.join('; '),
      prose(description),
    ]);
    if (obj) nested.push([childPath, obj]);
  }
  for (const [p, obj] of nested) sections(kind, obj, p, out);
  return out;
}

/** The shortest manifest of a kind in the example fleet (a real, validated file). */
function exampleOf(kind: Kind, manifestDir: string): { file: string; text: string } | undefined {
  const candidates = readdirSync(manifestDir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => ({ file, text: readFileSync(join(manifestDir, file), 'utf8') }))
    .filter(({ text }) => (parse(text) as { kind?: unknown } | null)?.kind === kind);
  candidates.sort((a, b) => a.text.length - b.text.length || a.file.localeCompare(b.file));
  return candidates[0];
}

function kindSection(kind: Kind, manifestDir: string): string {
  const schema = publishedSchema(kind);
  const names = KIND_DEFINITIONS[kind];
  const parts: string[] = [heading(2, kind, anchorId(kind))];
  if (typeof schema.description === 'string') parts.push(prose(schema.description));
  parts.push(
    `Names on the command line: ${[names.plural, names.singular, ...names.shortNames].map(code).join(', ')}. ` +
      `Schema: [docs/schemas/${names.singular}.json](../schemas/${names.singular}.json).`,
  );
  const example = exampleOf(kind, manifestDir);
  if (example) parts.push(`Example ([manifests/${example.file}](../../manifests/${example.file})):\n\n\`\`\`yaml\n${example.text.trimEnd()}\n\`\`\``);
  for (const s of sections(kind, schema, '', [])) {
    const title = s.path ? `${kind} ${code(s.path)}` : `${kind} manifest`;
    const body = [heading(3, title, s.id)];
    if (s.path && s.description) body.push(prose(s.description));
    body.push(table(['Field', 'Type', 'Required', 'Default', 'Allowed values', 'Description'], s.rows));
    parts.push(body.join('\n\n'));
  }
  return parts.join('\n\n');
}

/** The whole of docs/reference/manifests.md. */
export function renderManifestReference(manifestDir: string): string {
  const intro = [
    generatedNotice('the JSON Schemas in resources/ and the example manifests in manifests/'),
    '# Manifest reference',
    `Every manifest has \`apiVersion: ${API_VERSION}\`, a \`kind\`, \`metadata\` and a \`spec\`. This page lists every field ` +
      'the schemas accept, one table per object; a field whose type is a link has its own table. Required fields ' +
      'must be present; a default is what phoenix uses when the field is left out. Rules that span several fields ' +
      '(for example "exactly one of `template`, `guest` or `ostemplate`") are checked after the schema and named in ' +
      'the descriptions; `phoenixctl validate` reports both.',
    'Editors with a YAML language server (VS Code with the Red Hat YAML extension, Neovim, ...) check and complete ' +
      'manifests as you type when the first line names the schema of the kind, as the files in `manifests/` do:',
    '```yaml\n# yaml-language-server: $schema=../docs/schemas/lxccontainer.json\n```',
    'The path is relative to the manifest file (here: a manifest directory next to `docs/` in a checkout of phoenix); a URL works too. ' +
      'The line applies to every document in the file, so keep one kind per file where you use it. `phoenixctl import` writes it ' +
      '(see its `--schema-base`).',
    KINDS.map((k) => `- [${k}](#${anchorId(k)})`).join('\n'),
  ];
  return `${[...intro, ...KINDS.map((k) => kindSection(k, manifestDir))].join('\n\n')}\n`;
}
