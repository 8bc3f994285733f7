// Locates the read-only reference data (/work/shared) from tests: $PHOENIX_SHARED, then
// <repo>/../shared, then /work/shared.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export function sharedDir(): string {
  const candidates = [process.env.PHOENIX_SHARED, join(REPO_ROOT, '..', 'shared'), '/work/shared'].filter((x): x is string => !!x);
  const found = candidates.find((c) => existsSync(join(c, 'phoenix-legacy')));
  if (!found) throw new Error(`reference data not found (set PHOENIX_SHARED); looked in ${candidates.join(', ')}`);
  return found;
}
