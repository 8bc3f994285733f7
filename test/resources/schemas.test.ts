import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { SCHEMA_DIR, renderSchemas } from '../../scripts/schemas.js';
import { REPO_ROOT } from '../helpers/shared.js';

test('docs/schemas holds exactly the compiled schemas (run `npm run schemas` after a change)', () => {
  const want = renderSchemas();
  assert.equal(readdirSync(SCHEMA_DIR).sort(), [...want.keys()].sort());
  for (const [name, text] of want) assert.is(readFileSync(join(SCHEMA_DIR, name), 'utf8'), text, `docs/schemas/${name} is out of date`);
});

test('every example manifest names its published schema, and a plain JSON Schema validator accepts it', async () => {
  const { parse } = await import('yaml');
  const ajv = new Ajv({ strict: false, validateFormats: false });
  const dir = join(REPO_ROOT, 'manifests');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 8);
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    const m = /^# yaml-language-server: \$schema=\.\.\/docs\/schemas\/([a-z]+\.json)$/m.exec(text);
    assert.ok(m, `${f} names no schema`);
    const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, m![1]!), 'utf8'));
    const doc = parse(text);
    assert.is(schema.properties.kind.const, doc.kind, `${f} names the schema of its own kind`);
    assert.ok(ajv.validate(schema, doc), `${f}: ${ajv.errorsText()}`);
  }
});

test.run();
