// Runs phoenixctl as a child process (node --import tsx cli/phoenixctl.ts), asynchronously so that a
// server in the test process keeps answering.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function startCli(args: string[], env: Record<string, string | undefined> = {}): { child: ChildProcess; stdout: () => string; stderr: () => string; done: Promise<CliResult> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/phoenixctl.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, PHOENIX_API_TOKEN: undefined, PHOENIX_SERVER: undefined, FORCE_COLOR: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

export function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return startCli(args, env).done;
}
