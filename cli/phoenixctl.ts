#!/usr/bin/env node
// phoenixctl: the command line of phoenix. Each command lives in its own module under cli/commands/
// and registers itself on the program; this file only assembles them.
import { Command, Option } from 'commander';
import { DEFAULT_SERVER } from './client.js';
import { register as registerValidate } from './commands/validate.js';
import { register as registerGraph } from './commands/graph.js';
import { register as registerObserve } from './commands/observe.js';
import { register as registerImport } from './commands/import.js';

/** Environment variables phoenixctl reads that have no flag (docs/reference/phoenixctl.md lists them). */
export const CLI_ENVIRONMENT = [
  { name: 'PHOENIX_API_TOKEN', description: "bearer token for the controller's status API, when the controller requires one (never printed)" },
  { name: 'PHOENIXCTL_NOW', description: "pins phoenixctl's clock (an RFC 3339 time), so the ages it prints are reproducible; for tests" },
];

/** The phoenixctl program with every command registered; builds only, parses and runs nothing. */
export function buildProgram(): Command {
  const program = new Command('phoenixctl')
    .description('Inspect and drive phoenix, the reconciling operator for Proxmox VE')
    .addOption(new Option('--server <url>', 'controller address (its HTTP endpoint)').env('PHOENIX_SERVER').default(DEFAULT_SERVER))
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
