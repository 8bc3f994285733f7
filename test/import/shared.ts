// Locates the read-only reference data (../shared next to the repository) for tests:
// PHOENIX_SHARED, else <repo>/../shared, else /work/shared. Under CI=true missing data is an error.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function sharedDir(sub: string): string | undefined {
  const candidates = [process.env.PHOENIX_SHARED, join(repoRoot, '..', 'shared'), '/work/shared'].filter((x): x is string => !!x);
  for (const c of candidates) if (existsSync(join(c, sub))) return join(c, sub);
  if (process.env.CI === 'true') throw new Error(`reference data ${sub} not found (looked in ${candidates.join(', ')}); CI needs it`);
  return undefined;
}
