// Where `phoenixctl diff` gets the resources of a manifest directory: the controller's own loader
// (controller/manifests.ts, the same parsing and validation the controller applies).
import type { LoadResult } from '../controller/types.js';

type Loader = (dir: string) => Promise<LoadResult>;

export async function loadManifestDir(dir: string): Promise<LoadResult> {
  // Resolved at run time so this module builds before the loader lands on the branch.
  const spec = '../controller/manifests.js';
  let load: Loader | undefined;
  try {
    load = ((await import(spec)) as { loadManifests?: Loader }).loadManifests;
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
  }
  if (!load) throw new Error('this build of phoenixctl has no manifest loader (controller/manifests)');
  return load(dir);
}
