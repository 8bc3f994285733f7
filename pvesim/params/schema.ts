// The parameter checker of pvesim: the semantics of Proxmox VE's JSONSchema (pve-common) re-expressed
// for request parameters that arrive as strings. Order of checks, error keys and error texts follow the
// official server, so a client sees the same `errors` object from pvesim as from a real node.

export type ParamType = 'string' | 'integer' | 'number' | 'boolean' | 'array';

/** A property-string format: sub-key -> its schema. */
export type PropFormat = Readonly<Record<string, Schema>>;

export interface Schema {
  readonly type?: ParamType;
  readonly optional?: boolean;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly enum?: readonly string[];
  /** Anchored as PVE anchors it: `^<pattern>$` (no grouping, so top-level alternations bind loosely). */
  readonly pattern?: string;
  /** A named format (see formats.ts; `-list`/`-opt` suffixes allowed) or an inline property-string format. */
  readonly format?: string | PropFormat;
  /** The name of another parameter that must be present when this one is. */
  readonly requires?: string;
  readonly defaultKey?: boolean;
  /** Sub-key stored under another key (`volume` -> `file`). */
  readonly alias?: string;
  /** With alias: the key itself is stored as the value of this key (`virtio=MAC` -> model=virtio). */
  readonly keyAlias?: string;
  readonly items?: Schema;
  readonly default?: string | number;
}

export type Errors = Record<string, string>;

/** A failure of a named-format validator; the message is what PVE dies with (ending in "\n"). */
export class FormatError extends Error {
  constructor(
    message: string,
    /** Sub-errors of a property string ("format error"), keyed by `<param>.<subkey>`. */
    readonly errors?: Errors,
  ) {
    super(message);
  }
  /** The text PVE's exception object stringifies to. */
  render(): string {
    let msg = this.message.endsWith('\n') ? this.message : `${this.message}\n`;
    if (this.errors) for (const k of Object.keys(this.errors).sort()) msg += `${k}: ${this.errors[k]}\n`;
    return msg;
  }
}

export type FormatValidator = (value: string) => void;

export interface FormatRegistry {
  code(name: string): FormatValidator | undefined;
  hash(name: string): PropFormat | undefined;
  /** A check of the whole parsed value, attached to a hash format. */
  validator(name: string): ((parsed: Record<string, string>) => void) | undefined;
}

function addError(errors: Errors, path: string, msg: string): void {
  const p = path || '_root';
  // PVE joins repeated errors of one key with a literal backslash-n (a single-quoted '\n' in Perl).
  errors[p] = errors[p] ? `${errors[p]}\\n${msg}` : msg;
}

const INTEGER_RE = /^[+-]?\d+$/;
const NUMBER_RE = /^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/;

export function isInteger(v: string): boolean {
  return INTEGER_RE.test(v);
}
export function isNumber(v: string): boolean {
  return NUMBER_RE.test(v);
}

/** PVE's parse_boolean: the words it turns into 1/0 inside property strings. */
export function parseBoolean(v: string): '1' | '0' | undefined {
  if (/^(1|on|yes|true)$/i.test(v)) return '1';
  if (/^(0|off|no|false)$/i.test(v)) return '0';
  return undefined;
}

/** PVE::Tools::split_list: NUL-separated if it contains NUL, else split on commas, semicolons, spaces. */
export function splitList(text: string): string[] {
  const parts = text.includes('\0') ? text.split('\0') : text.replace(/[,;]/g, ' ').replace(/^\s+/, '').split(/\s+/);
  // Perl's split drops trailing empty fields.
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

const anchoredCache = new Map<string, RegExp>();
/** `^<pattern>$` with Perl's `$` (which also matches before a final newline). */
export function anchored(pattern: string): RegExp {
  let re = anchoredCache.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern}(?=\\n?$)`);
    anchoredCache.set(pattern, re);
  }
  return re;
}

const charLength = (s: string): number => [...s].length;

const requiredCache = new WeakMap<PropFormat, string[]>();
function requiredKeys(schema: PropFormat): string[] {
  let keys = requiredCache.get(schema);
  if (!keys) {
    keys = Object.keys(schema).filter((k) => !schema[k]!.optional && !schema[k]!.alias);
    requiredCache.set(schema, keys);
  }
  return keys;
}

/**
 * The shape a value has when PVE checks it: the HTTP server joins a repeated parameter with NUL
 * into one string, and an array parameter is that string split on NUL.
 */
export function wireValue(value: string | string[], type: ParamType | undefined): string | string[] {
  if (type === 'array') return Array.isArray(value) ? value : value === '' ? [] : value.split('\0');
  return Array.isArray(value) ? value.join('\0') : value;
}

function checkType(path: string, type: ParamType | undefined, value: string | string[], errors: Errors): boolean {
  if (!type || Array.isArray(value)) return true;
  switch (type) {
    case 'boolean':
      if (value === '1' || value === '0') return true;
      break;
    case 'integer':
      if (isInteger(value)) return true;
      break;
    case 'number':
      if (isNumber(value)) return true;
      break;
    default:
      return true;
  }
  addError(errors, path, `type check ('${type}') failed - got '${value}'`);
  return false;
}

export class Checker {
  constructor(private readonly formats: FormatRegistry) {}

  /** check_format: throws FormatError on failure. */
  checkFormat(format: string | PropFormat, value: string, path: string): void {
    if (typeof format !== 'string') {
      this.parsePropertyString(format, value, path);
      return;
    }
    const m = /^(.*?)(?:-(list|opt))?$/.exec(format)!;
    const name = m[1]!;
    const kind = m[2] ?? 'none';
    const code = this.formats.code(name);
    const hash = this.formats.hash(name);
    if (!code && !hash) throw new Error(`undefined format '${format}'`);
    if (kind === 'list') {
      for (const v of splitList(value)) code!(v);
    } else if (kind === 'opt') {
      if (value && value !== '0') code!(value);
    } else if (hash) {
      const parsed = this.parsePropertyString(hash, value, path);
      this.formats.validator(name)?.(parsed);
    } else {
      code!(value);
    }
  }

  /** parse_property_string: returns the parsed keys or throws FormatError. */
  parsePropertyString(format: PropFormat, data: string, path: string): Record<string, string> {
    const res: Record<string, string> = {};
    let defaultKey: string | undefined;
    for (const part of data.split(',')) {
      if (/^\s*$/.test(part)) continue;
      const kv = /^([^=]+)=([\s\S]+)$/.exec(part);
      if (kv) {
        let k = kv[1]!;
        let v = kv[2]!;
        if (res[k] !== undefined) throw new FormatError(`duplicate key in comma-separated list property: ${k}\n`);
        let schema = Object.hasOwn(format, k) ? format[k] : undefined;
        if (schema?.alias) {
          if (schema.keyAlias) {
            if (res[schema.keyAlias] !== undefined) throw new FormatError(`key alias '${schema.keyAlias}' is already defined\n`);
            res[schema.keyAlias] = k;
          }
          k = schema.alias;
          schema = format[k];
        }
        if (!schema) throw new FormatError(`invalid key in comma-separated list property: ${k}\n`);
        if (schema.type === 'boolean') v = parseBoolean(v) ?? v;
        res[k] = v;
      } else if (!part.includes('=')) {
        if (defaultKey) throw new FormatError(`duplicate key in comma-separated list property: ${defaultKey}\n`);
        for (const key of Object.keys(format)) {
          if (!format[key]!.defaultKey) continue;
          defaultKey = key;
          if (!res[key]) {
            res[key] = part;
            break;
          }
          throw new FormatError(`duplicate key in comma-separated list property: ${key}\n`);
        }
        if (!defaultKey) throw new FormatError('value without key, but schema does not define a default key\n');
      } else {
        throw new FormatError('missing key in comma-separated list property\n');
      }
    }
    const errors: Errors = {};
    this.checkObject(path, format, res, errors);
    if (Object.keys(errors).length > 0) throw new FormatError('format error\n', errors);
    return res;
  }

  /**
   * check_object with additionalProperties => 0. Absent optional keys cannot fail, so only the given
   * and the required keys are visited.
   */
  checkObject(path: string, schema: PropFormat, value: Readonly<Record<string, string | string[] | undefined>>, errors: Errors): void {
    const sub = (k: string): string => (path ? `${path}.${k}` : k);
    for (const k of requiredKeys(schema)) {
      if (!Object.hasOwn(value, k)) this.checkProp(undefined, schema[k]!, sub(k), errors);
    }
    for (const k of Object.keys(value)) {
      if (Object.hasOwn(schema, k)) this.checkProp(value[k], schema[k]!, sub(k), errors);
    }
    for (const k of Object.keys(value)) {
      const s = Object.hasOwn(schema, k) ? schema[k] : undefined;
      if (s) {
        if (s.requires && value[s.requires] === undefined) {
          addError(errors, sub(s.requires), `missing property - '${sub(k)}' requires this property`);
        }
        continue;
      }
      addError(errors, sub(k), 'property is not defined in schema and the schema does not allow additional properties');
    }
  }

  checkProp(value: string | string[] | undefined, schema: Schema, path: string, errors: Errors): void {
    if (value === undefined) {
      if (!schema.optional && !schema.alias) addError(errors, path, 'property is missing and it is not optional');
      return;
    }
    value = wireValue(value, schema.type);
    if (!checkType(path, schema.type, value, errors)) return;
    if (Array.isArray(value)) {
      if (schema.items) value.forEach((el, i) => this.checkProp(el, schema.items!, `${path}[${i}]`, errors));
      return;
    }
    if (schema.format) {
      try {
        this.checkFormat(schema.format, value, path);
      } catch (e) {
        const text = e instanceof FormatError ? e.render() : `${(e as Error).message}\n`;
        addError(errors, path, `invalid format - ${text}`);
        return;
      }
    }
    if (schema.pattern !== undefined && !anchored(schema.pattern).test(value)) {
      addError(errors, path, 'value does not match the regex pattern');
      return;
    }
    if (schema.maxLength !== undefined && charLength(value) > schema.maxLength) {
      addError(errors, path, `value may only be ${schema.maxLength} characters long`);
      return;
    }
    if (schema.minLength !== undefined && charLength(value) < schema.minLength) {
      addError(errors, path, `value must be at least ${schema.minLength} characters long`);
      return;
    }
    if (isNumber(value)) {
      if (schema.maximum !== undefined && Number(value) > schema.maximum) {
        addError(errors, path, `value must have a maximum value of ${schema.maximum}`);
        return;
      }
      if (schema.minimum !== undefined && Number(value) < schema.minimum) {
        addError(errors, path, `value must have a minimum value of ${schema.minimum}`);
        return;
      }
    }
    if (schema.enum && !schema.enum.includes(value)) {
      addError(errors, path, `value '${value}' does not have a value in the enumeration '${schema.enum.join(', ')}'`);
    }
  }
}
