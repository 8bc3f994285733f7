// phoenixctl graph [DIR]: the dependency graph of the manifests in DIR, as text and as Mermaid.
import type { Command } from 'commander';
import { formatManifestError } from '../../controller/types.js';
import { DEFAULT_MANIFEST_DIR, loadChecked } from './validate.js';

export function register(program: Command): void {
  program
    .command('graph')
    .description('Print the dependency graph of the manifests in DIR as text and as a Mermaid block')
    .argument('[dir]', 'manifest directory', DEFAULT_MANIFEST_DIR)
    .option('--format <format>', 'text, mermaid or both', 'both')
    .action(async (dir: string, opts: { format: string }) => {
      if (!['text', 'mermaid', 'both'].includes(opts.format)) throw new Error(`--format must be text, mermaid or both, not '${opts.format}'`);
      const set = await loadChecked(dir);
      for (const e of set.errors) process.stderr.write(`${formatManifestError(e)}\n`);
      const out: string[] = [];
      if (opts.format !== 'mermaid') out.push(set.graph.toText());
      if (opts.format === 'both') out.push('');
      if (opts.format !== 'text') out.push('```mermaid', set.graph.toMermaid(), '```');
      process.stdout.write(out.join('\n') + '\n');
      process.exitCode = set.errors.length ? 1 : 0;
    });
}
