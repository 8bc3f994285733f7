// metadata.generation: increases by one each time what a resource asks for changes. "What it asks
// for" is its spec, its labels and its phoenix.hypervisor/* annotations, compared as canonical JSON
// (object keys sorted, undefined dropped), so reformatting a manifest or reordering keys is no change.
import { createHash } from 'node:crypto';
import type { AnyResource } from '../resources/types.js';

export const ANNOTATION_PREFIX = 'phoenix.hypervisor/';

/** JSON with object keys sorted at every level; undefined members are dropped as JSON does. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortDeep(value));
}

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : sortDeep(x)));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[k] = sortDeep(x);
  }
  return out;
}

/** Digest of the parts of a resource that bump its generation. */
export function specDigest(r: AnyResource): string {
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.metadata.annotations ?? {})) if (k.startsWith(ANNOTATION_PREFIX)) annotations[k] = v;
  const material = canonicalJson({ spec: r.spec, labels: r.metadata.labels ?? {}, annotations });
  return createHash('sha256').update(material).digest('hex');
}

/** The generation of `r` given what was recorded before (undefined: never seen, generation 1). */
export function nextGeneration(prev: { generation: number; digest: string } | undefined, r: AnyResource): { generation: number; digest: string } {
  const digest = specDigest(r);
  if (!prev) return { generation: 1, digest };
  if (prev.digest === digest) return prev;
  return { generation: prev.generation + 1, digest };
}
