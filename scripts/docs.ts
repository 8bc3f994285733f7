// npm run docs (and npm run schemas): writes everything generated under docs/ from the code:
// docs/schemas/<kind>.json (the published JSON Schemas, for editors) and docs/reference/*.md (the
// manifest, phoenixctl and phoenix-controller references). test/resources/reference.test.ts fails
// when any of them is out of date.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProgram as buildCli, CLI_ENVIRONMENT } from '../cli/phoenixctl.js';
import { buildProgram as buildController, CONTROLLER_ENVIRONMENT } from '../controller/main.js';
import { renderControllerReference, renderCliReference } from './reference/commands.js';
import { renderManifestReference } from './reference/manifests.js';
import { renderSchemas } from './schemas.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Path relative to the repository root -> content, for every generated document. */
export function renderDocs(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, text] of renderSchemas()) out.set(`docs/schemas/${name}`, text);
  out.set('docs/reference/manifests.md', renderManifestReference(join(REPO_ROOT, 'manifests')));
  out.set('docs/reference/phoenixctl.md', renderCliReference(buildCli(), CLI_ENVIRONMENT));
  out.set('docs/reference/controller.md', renderControllerReference(buildController(), CONTROLLER_ENVIRONMENT));
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [path, text] of renderDocs()) {
    mkdirSync(dirname(join(REPO_ROOT, path)), { recursive: true });
    writeFileSync(join(REPO_ROOT, path), text);
    process.stdout.write(`wrote ${path}\n`);
  }
}
