// phoenixctl validate [DIR]: load every manifest, check the set, print each resource as ok or with
// its errors (file:line:col), the errors that belong to no resource, then the creation order.
import type { Command } from 'commander';
import { checkSet, loadManifests } from '../../controller/manifests.js';
import { buildGraph } from '../../controller/graph.js';
import type { DependencyGraph } from '../../controller/graph.js';
import { formatManifestError, keyOf } from '../../controller/types.js';
import type { LoadResult, ManifestError } from '../../controller/types.js';

export const DEFAULT_MANIFEST_DIR = './manifests';

export interface CheckedSet extends LoadResult {
  graph: DependencyGraph;
}

/** Loads a directory, runs the cross-file checks and builds the graph of what loaded. */
export async function loadChecked(dir: string): Promise<CheckedSet> {
  const loaded = await loadManifests(dir);
  const errors = [...loaded.errors, ...checkSet(loaded.resources)];
  return { resources: loaded.resources, errors, graph: buildGraph(loaded.resources.map((l) => l.resource)) };
}

interface Entry {
  key: string;
  where: string;
  errors: ManifestError[];
}

/** The report `validate` prints, and whether everything is valid. */
export function renderValidation(set: CheckedSet): { text: string; ok: boolean } {
  const entries = new Map<string, Entry>();
  for (const l of set.resources) {
    const key = keyOf(l.resource);
    if (!entries.has(key)) entries.set(key, { key, where: `${l.source.file}:${l.source.line}:${l.source.col}`, errors: [] });
  }
  const loose: ManifestError[] = [];
  for (const e of set.errors) {
    if (!e.resource) {
      loose.push(e);
      continue;
    }
    const key = keyOf(e.resource);
    if (!entries.has(key)) entries.set(key, { key, where: `${e.file}:${e.line}:${e.col}`, errors: [] });
    entries.get(key)!.errors.push(e);
  }
  const list = [...entries.values()].sort((a, b) => a.where.localeCompare(b.where, 'en', { numeric: true }));
  const width = Math.max(0, ...list.map((e) => e.key.length));
  const lines: string[] = [];
  for (const e of list) {
    lines.push(`${e.errors.length ? 'FAIL' : 'ok  '}  ${e.key.padEnd(width)}  ${e.where}`);
    for (const err of e.errors) lines.push(`        ${formatManifestError(err)}`);
  }
  if (loose.length) {
    lines.push('', 'errors outside any resource:');
    for (const err of loose) lines.push(`        ${formatManifestError(err)}`);
  }
  const order = set.graph.order();
  lines.push('', 'creation order:');
  order.forEach((k, i) => lines.push(`  ${String(i + 1).padStart(3)}. ${k}`));
  const failed = list.filter((e) => e.errors.length).length;
  lines.push(
    '',
    `${list.length} resource${list.length === 1 ? '' : 's'}: ${list.length - failed} ok, ${failed} failed; ${set.errors.length} error${set.errors.length === 1 ? '' : 's'}`,
  );
  return { text: lines.join('\n') + '\n', ok: set.errors.length === 0 };
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('Validate the manifests in DIR and print the creation order (exit 1 on any error)')
    .argument('[dir]', 'manifest directory', DEFAULT_MANIFEST_DIR)
    .action(async (dir: string) => {
      const { text, ok } = renderValidation(await loadChecked(dir));
      process.stdout.write(text);
      process.exitCode = ok ? 0 : 1;
    });
}
