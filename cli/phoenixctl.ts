#!/usr/bin/env node
// phoenixctl: the command line of phoenix. Each command lives in its own module under cli/commands/
// and registers itself on the program; this file only assembles them.
import { Command } from 'commander';
import { register as registerValidate } from './commands/validate.js';
import { register as registerGraph } from './commands/graph.js';
import { register as registerObserve } from './commands/observe.js';
import { register as registerImport } from './commands/import.js';

export function buildProgram(): Command {
  const program = new Command('phoenixctl')
    .description('Inspect and drive phoenix, the reconciling operator for Proxmox VE')
    .option('--server <url>', 'controller address', process.env.PHOENIX_SERVER ?? 'http://127.0.0.1:9750')
    .showHelpAfterError();
  registerValidate(program);
  registerGraph(program);
  registerObserve(program);
  registerImport(program);
  return program;
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain || process.argv[1]?.endsWith('phoenixctl') || process.argv[1]?.endsWith('phoenixctl.js')) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    });
}
