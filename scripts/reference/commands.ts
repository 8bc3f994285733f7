// docs/reference/phoenixctl.md and docs/reference/controller.md: rendered from the commander
// programs themselves (their commands, arguments, options, defaults and environment variables), so
// the reference says exactly what `--help` says, without terminal-width wrapping.
import type { Argument, Command, Option } from 'commander';
import { anchorId, code, generatedNotice, heading, prose, table } from './markdown.js';

export interface EnvVar {
  name: string;
  description: string;
}

function defaultOf(value: unknown): string {
  if (value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.length ? code(value.join(', ')) : '';
  return code(typeof value === 'string' ? value : JSON.stringify(value));
}

function optionRows(options: readonly Option[], withEnv: boolean): string[][] {
  return options
    .filter((o) => !o.hidden)
    .map((o) => {
      const choices = o.argChoices ? ` (one of ${o.argChoices.map(code).join(', ')})` : '';
      const row = [code(o.flags), `${prose(o.description)}${choices}`, o.mandatory ? 'required' : defaultOf(o.defaultValue)];
      return withEnv ? [...row, o.envVar ? code(o.envVar) : ''] : row;
    });
}

function argumentRows(args: readonly Argument[]): string[][] {
  return args.map((a) => {
    const name = `${a.name()}${a.variadic ? '...' : ''}`;
    return [code(a.required ? `<${name}>` : `[${name}]`), prose(a.description), a.required ? 'yes' : '', defaultOf(a.defaultValue)];
  });
}

function optionTable(options: readonly Option[]): string {
  const withEnv = options.some((o) => o.envVar !== undefined);
  return table(withEnv ? ['Option', 'Description', 'Default', 'Environment'] : ['Option', 'Description', 'Default'], optionRows(options, withEnv));
}

/** Every command below `program`, depth first, with its full name ("phoenixctl get"). */
function commandsOf(program: Command, prefix = program.name()): Array<{ name: string; cmd: Command }> {
  return program.commands.flatMap((cmd) => {
    const name = `${prefix} ${cmd.name()}`;
    return [{ name, cmd }, ...commandsOf(cmd, name)];
  });
}

function commandSection(name: string, cmd: Command): string {
  const parts = [heading(3, code(name), anchorId(name)), prose(cmd.description())];
  const aliases = cmd.aliases();
  if (aliases.length) parts.push(`Aliases: ${aliases.map(code).join(', ')}.`);
  parts.push(`\`\`\`\n${name} ${cmd.usage()}\n\`\`\``);
  if (cmd.registeredArguments.length) parts.push(table(['Argument', 'Description', 'Required', 'Default'], argumentRows(cmd.registeredArguments)));
  if (cmd.options.length) parts.push(optionTable(cmd.options));
  return parts.join('\n\n');
}

/** Notice, title, description and usage of a program's reference. */
function intro(program: Command, source: string): string[] {
  return [generatedNotice(`the commander program in ${source}`), `# ${program.name()} reference`, prose(program.description()), '```\n' + `${program.name()} ${program.usage()}` + '\n```'];
}

const envTable = (env: EnvVar[]) => table(['Variable', 'Meaning'], env.map((e) => [code(e.name), prose(e.description)]));

/** docs/reference/phoenixctl.md from the phoenixctl program. */
export function renderCliReference(program: Command, env: EnvVar[]): string {
  const commands = commandsOf(program);
  const parts = [
    ...intro(program, 'cli/phoenixctl.ts'),
    heading(2, 'Global options', 'global-options'),
    'These go before the command (`phoenixctl --server URL get all`).',
    optionTable(program.options),
    heading(2, 'Environment', 'environment'),
    envTable(env),
    heading(2, 'Commands', 'commands'),
    commands.map(({ name, cmd }) => `- [${code(name)}](#${anchorId(name)}): ${prose(cmd.description())}`).join('\n'),
    ...commands.map(({ name, cmd }) => commandSection(name, cmd)),
  ];
  return `${parts.join('\n\n')}\n`;
}

/** docs/reference/controller.md from the phoenix-controller program. */
export function renderControllerReference(program: Command, env: EnvVar[]): string {
  const parts = [
    ...intro(program, 'controller/main.ts'),
    heading(2, 'Options', 'options'),
    'Every option can also be set by the environment variable named next to it; a flag on the command line wins over the environment.',
    optionTable(program.options),
    heading(2, 'Other environment variables', 'environment'),
    'These have no flag: they carry secrets (kept out of the process list) or select the Proxmox VE backend.',
    envTable(env),
  ];
  return `${parts.join('\n\n')}\n`;
}
