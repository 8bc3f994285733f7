// The published JSON Schemas: docs/schemas/<kind>.json from the compiled schemas, so editors with a
// YAML language server can check manifests as they are typed. Written by `npm run docs` (scripts/docs.ts);
// test/resources/reference.test.ts fails when the files are out of date.
import { fileURLToPath } from 'node:url';
import { KIND_DEFINITIONS, publishedSchema } from '../resources/index.js';
import { KINDS } from '../resources/types.js';

export const SCHEMA_DIR = fileURLToPath(new URL('../docs/schemas/', import.meta.url));

/** File name -> content of every published schema. */
export function renderSchemas(): Map<string, string> {
  return new Map(KINDS.map((k) => [`${KIND_DEFINITIONS[k].singular}.json`, `${JSON.stringify(publishedSchema(k), null, 2)}\n`]));
}
