// Resolving what the user named on the command line, kubectl style: `lxc`, `lxc web db`, `lxc/web`,
// `lxc,vm`, `all`; and phoenixctl helpers shared by the commands (clock, durations, exit handling).
import type { Kind } from '../resources/types.js';
import { KINDS } from '../resources/types.js';
import { resolveKind } from '../resources/kindnames.js';
import { CliError } from './client.js';

export interface Target {
  kind: Kind;
  /** Named resources; undefined lists the kind. */
  names?: string[];
}

export function kindOrError(word: string): Kind {
  const k = resolveKind(word);
  if (!k) throw new CliError(`error: the server doesn't have a resource type "${word}"`);
  return k;
}

function kindsOf(word: string): Kind[] {
  if (word.toLowerCase() === 'all') return [...KINDS];
  return word.split(',').flatMap((w) => (w.toLowerCase() === 'all' ? [...KINDS] : [kindOrError(w)]));
}

/** `[KIND[,KIND]] [NAME...]` or `KIND/NAME...`; no arguments means every kind. */
export function parseTargets(args: string[]): Target[] {
  if (args.length === 0) return KINDS.map((kind) => ({ kind }));
  if (args[0]!.includes('/')) {
    const out: Target[] = [];
    for (const a of args) {
      const i = a.indexOf('/');
      if (i <= 0 || i === a.length - 1) throw new CliError(`error: arguments in resource/name form must have a single resource and name, got "${a}"`);
      const kind = kindOrError(a.slice(0, i));
      const name = a.slice(i + 1);
      const t = out.find((x) => x.kind === kind);
      if (t) t.names!.push(name);
      else out.push({ kind, names: [name] });
    }
    return out;
  }
  const kinds = kindsOf(args[0]!);
  const names = args.slice(1);
  if (names.some((n) => n.includes('/'))) throw new CliError('error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form');
  if (names.length > 0 && kinds.length > 1) throw new CliError('error: a resource cannot be retrieved by name across all resource types');
  return kinds.map((kind) => ({ kind, ...(names.length ? { names } : {}) }));
}

/** phoenixctl's clock; PHOENIXCTL_NOW (RFC 3339) pins it, so ages in tests are fixed. */
export function cliNow(): Date {
  const pinned = process.env.PHOENIXCTL_NOW;
  if (pinned) {
    const t = Date.parse(pinned);
    if (Number.isFinite(t)) return new Date(t);
  }
  return new Date();
}

/** Parses a Go-style duration (`90s`, `5m`, `1h30m`, `500ms`) into milliseconds. */
export function parseDuration(s: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * units[m[2]!]!;
    matched = re.lastIndex;
  }
  if (s === '' || matched !== s.length) throw new CliError(`error: invalid duration "${s}": use e.g. 30s, 5m, 1h30m`);
  return total;
}

/** Runs a command body, printing CliErrors as they are and anything else as `error: ...`, then exits. */
export function runCommand(body: () => Promise<number | void>, errorExit = 1): Promise<void> {
  return body().then(
    (code) => exitAfterFlush(code ?? 0),
    (err: unknown) => {
      const msg = err instanceof CliError ? err.message : `error: ${err instanceof Error ? err.message : String(err)}`;
      process.stderr.write(`${msg}\n`);
      exitAfterFlush(err instanceof CliError && err.exitCode !== 1 ? err.exitCode : errorExit);
    },
  );
}

function exitAfterFlush(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
