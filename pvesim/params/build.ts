// Small builders for parameter schemas, so the endpoint definitions read like a table.
// Everything a builder makes is optional unless wrapped in need(); property-string sub-keys follow
// the same rule.
import type { PropFormat, Schema } from './schema.js';

type Extra = Partial<Omit<Schema, 'type'>>;

export const bool = (x: Extra = {}): Schema => ({ type: 'boolean', optional: true, ...x });
export const int = (minimum?: number, maximum?: number, x: Extra = {}): Schema => ({
  type: 'integer',
  optional: true,
  ...(minimum !== undefined ? { minimum } : {}),
  ...(maximum !== undefined ? { maximum } : {}),
  ...x,
});
export const num = (minimum?: number, maximum?: number, x: Extra = {}): Schema => ({
  ...int(minimum, maximum, x),
  type: 'number',
});
export const str = (x: Extra = {}): Schema => ({ type: 'string', optional: true, ...x });
/** A string with a named format (`pve-storage-id`, `pve-configid-list`, ...). */
export const fmt = (format: string, x: Extra = {}): Schema => str({ format, ...x });
export const pat = (pattern: string, x: Extra = {}): Schema => str({ pattern, ...x });
export const oneOf = (values: readonly string[], x: Extra = {}): Schema => str({ enum: values, ...x });
/** A property string with its own sub-keys. */
export const ps = (format: PropFormat, x: Extra = {}): Schema => str({ format, ...x });
export const need = (s: Schema): Schema => ({ ...s, optional: false });
/** The default key of a property string (`[file=]<volume>`). */
export const dflt = (s: Schema): Schema => ({ ...s, defaultKey: true });
export const alias = (to: string, keyAlias?: string): Schema => (keyAlias ? { alias: to, keyAlias } : { alias: to });

/** `net[n]`-style families: name0 .. name<count-1>, all with the same schema. */
export function indexed(name: string, count: number, s: Schema): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  for (let i = 0; i < count; i++) out[`${name}${i}`] = s;
  return out;
}

/** The same schema under many names. */
export function each(names: readonly string[], s: Schema): Record<string, Schema> {
  return Object.fromEntries(names.map((n) => [n, s]));
}

/** A copy of a parameter set without some keys. */
export function omit(props: Record<string, Schema>, ...keys: string[]): Record<string, Schema> {
  const out = { ...props };
  for (const k of keys) delete out[k];
  return out;
}
