// phoenixctl import: brings an installation of the original, script-based Phoenix Hypervisor over
// from its JSON configuration, one manifest per guest. See docs/import.md.
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_IMPORT_OPTIONS, importLegacy, LegacyInputError, type ImportResult, type LegacyDoc } from '../import/map.js';
import { applyWrite, defaultSchemaBase, fileNameOf, ImportRefusedError, planWrite, renderManifest, type WritePlan } from '../import/output.js';
import { formatSummary } from '../import/summary.js';

export const LXC_FILE = 'phoenix_lxc_configs.json';
export const VM_FILE = 'phoenix_vm_configs.json';

async function readJson(path: string): Promise<LegacyDoc> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new LegacyInputError(`${path}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return { file: basename(path), doc: JSON.parse(text) };
  } catch (err) {
    throw new LegacyInputError(`${path}: not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Finds the LXC and VM documents among the paths given: files (told apart by content: `lxc_configs`
 * or `vms`) or a directory holding phoenix_lxc_configs.json and/or phoenix_vm_configs.json.
 */
export async function locateLegacy(paths: string[]): Promise<{ lxc?: LegacyDoc; vm?: LegacyDoc }> {
  const docs: LegacyDoc[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (!st) throw new LegacyInputError(`${p}: no such file or directory`);
    if (st.isDirectory()) {
      const found = [];
      for (const f of [LXC_FILE, VM_FILE]) {
        if (await stat(join(p, f)).catch(() => undefined)) found.push(await readJson(join(p, f)));
      }
      if (!found.length) throw new LegacyInputError(`${p}: holds neither ${LXC_FILE} nor ${VM_FILE}`);
      docs.push(...found);
    } else docs.push(await readJson(p));
  }
  const out: { lxc?: LegacyDoc; vm?: LegacyDoc } = {};
  for (const d of docs) {
    const o = d.doc as Record<string, unknown> | null;
    const kind = o && typeof o === 'object' && 'lxc_configs' in o ? 'lxc' : o && typeof o === 'object' && 'vms' in o ? 'vm' : undefined;
    if (!kind) throw new LegacyInputError(`${d.file}: neither a legacy LXC configuration ("lxc_configs") nor a VM configuration ("vms")`);
    if (out[kind]) throw new LegacyInputError(`${d.file}: a second legacy ${kind.toUpperCase()} configuration (first: ${out[kind]!.file})`);
    out[kind] = d;
  }
  return out;
}

export interface ImportRun {
  result: ImportResult;
  plan: WritePlan;
  summary: string;
}

export interface ImportOptions {
  force?: boolean;
  templateStorage?: string;
  imageStorage?: string;
  adopt?: boolean;
  /** Where editors find the schemas (URL, or path relative to outDir); default: this installation's docs/schemas; '' for no modeline. */
  schemaBase?: string;
}

/** The whole command as a function: read, map, plan, write (unless refused). */
export async function runImport(paths: string[], outDir: string, opts: ImportOptions = {}): Promise<ImportRun> {
  const { lxc, vm } = await locateLegacy(paths);
  const result = importLegacy(lxc, vm, {
    templateStorage: opts.templateStorage ?? DEFAULT_IMPORT_OPTIONS.templateStorage,
    imageStorage: opts.imageStorage ?? DEFAULT_IMPORT_OPTIONS.imageStorage,
    adopt: opts.adopt ?? DEFAULT_IMPORT_OPTIONS.adopt,
  });
  const schemaBase = opts.schemaBase ?? defaultSchemaBase(outDir);
  const files = result.guests.flatMap((g) => (g.resource ? [{ file: fileNameOf(g)!, content: renderManifest(g, schemaBase), source: `${g.file}#${g.path}` }] : []));
  const plan = await planWrite(outDir, files, { force: opts.force });
  const summary = formatSummary(result, plan);
  if (!plan.refused.length) await applyWrite(plan);
  return { result, plan, summary };
}

export function register(program: Command): void {
  program
    .command('import')
    .description(
      'Bring an installation of the original Phoenix Hypervisor over: one manifest per guest from phoenix_lxc_configs.json and phoenix_vm_configs.json (files, or a directory holding them)',
    )
    .argument('<legacy...>', 'LXC_JSON VM_JSON, or a directory holding both')
    .requiredOption('-o, --out <dir>', 'directory to write the manifests to')
    .option('--force', 'overwrite manifests edited since the last import', false)
    .option('--template-storage <storage>', 'storage holding LXC OS templates (ostemplate paths become <storage>:vztmpl/<file>)', DEFAULT_IMPORT_OPTIONS.templateStorage)
    .option('--image-storage <storage>', 'storage holding cloud images (image files become <storage>:import/<file>)', DEFAULT_IMPORT_OPTIONS.imageStorage)
    .option('--no-adopt', 'do not mark the resources adopt: true (for a fresh installation where none of the guests exist yet)')
    .option(
      '--schema-base <url-or-path>',
      "where editors find phoenix's JSON Schemas, for the `# yaml-language-server: $schema=` first line: a URL, or a path relative to --out ('' for no such line; default: this installation's docs/schemas)",
    )
    .action(async (legacy: string[], o: { out: string; force: boolean; templateStorage: string; imageStorage: string; adopt: boolean; schemaBase?: string }) => {
      let run: ImportRun;
      try {
        run = await runImport(legacy, o.out, o);
      } catch (err) {
        if (err instanceof LegacyInputError || err instanceof ImportRefusedError) {
          process.stderr.write(`error: ${err.message}\n`);
          process.exitCode = 1;
          return;
        }
        throw err;
      }
      process.stdout.write(run.summary);
      if (run.plan.refused.length) {
        for (const r of run.plan.refused)
          process.stderr.write(`error: refusing to overwrite ${join(o.out, r.file)}: ${r.reason}; nothing was written (move it away or re-run with --force)\n`);
        process.exitCode = 1;
        return;
      }
      const failed = run.result.guests.filter((g) => !g.resource);
      if (failed.length) {
        process.stderr.write(`error: ${failed.length} guest(s) not imported: ${failed.map((g) => g.path).join(', ')} (see above)\n`);
        process.exitCode = 1;
      }
    });
}
