// npm run schemas: writes docs/schemas/<kind>.json from the compiled schemas, so editors with a
// YAML language server can check manifests as they are typed. test/resources/schemas.test.ts
// fails when the files are out of date.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { KIND_DEFINITIONS, publishedSchema } from '../resources/index.js';
import { KINDS } from '../resources/types.js';

export const SCHEMA_DIR = fileURLToPath(new URL('../docs/schemas/', import.meta.url));

/** File name -> content of every published schema. */
export function renderSchemas(): Map<string, string> {
  return new Map(KINDS.map((k) => [`${KIND_DEFINITIONS[k].singular}.json`, `${JSON.stringify(publishedSchema(k), null, 2)}\n`]));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  mkdirSync(SCHEMA_DIR, { recursive: true });
  for (const [name, text] of renderSchemas()) {
    writeFileSync(join(SCHEMA_DIR, name), text);
    process.stdout.write(`wrote docs/schemas/${name}\n`);
  }
}
