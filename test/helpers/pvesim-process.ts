// pvesim as a separate process (node --import tsx pvesim/cli.ts): its startup JSON line parsed, all
// output kept, and a free loopback port to pin --listen to so a restart answers at the same URL.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface SimInfo {
  url: string;
  token: string;
  fingerprint: string;
  password?: string;
}

export interface SimProcess {
  proc: ChildProcess;
  info: SimInfo;
  /** stderr so far (pvesim's human log; never holds the token secret). */
  log: () => string;
  exited: Promise<number | null>;
  /** Signal it and wait for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** A port nothing listens on right now (bound and released). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((res, rej) => {
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => res());
  });
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}

/** Start pvesim/cli.ts with these arguments; resolves once its JSON line is out. */
export async function startSimProcess(args: string[], timeoutMs = 30_000): Promise<SimProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'pvesim/cli.ts', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    await exited;
  };
  try {
    const first = await Promise.race([
      waitFor('the pvesim JSON line', () => (out.includes('\n') ? out.slice(0, out.indexOf('\n')) : undefined), timeoutMs),
      exited.then((code) => ({ code })),
    ]);
    if (typeof first !== 'string') throw new Error(`pvesim exited with ${first.code} before it started: ${err.slice(-2000)}`);
    return { proc, info: JSON.parse(first) as SimInfo, log: () => err, exited, stop };
  } catch (e) {
    await stop('SIGKILL');
    throw e;
  }
}

/** A token-authenticated API request to a pvesim process, trusting only its certificate (PEM). */
export async function simRequest(info: SimInfo, certPem: string, method: string, path: string, body?: Record<string, string>): Promise<{ status: number; data: any }> {
  const { Agent, fetch } = await import('undici');
  const dispatcher = new Agent({ connect: { ca: certPem } });
  try {
    const headers: Record<string, string> = { Authorization: `PVEAPIToken=${info.token}` };
    if (body) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    const r = await fetch(`${info.url}${path}`, { method, headers, dispatcher, ...(body ? { body: new URLSearchParams(body).toString() } : {}) });
    const text = await r.text();
    return { status: r.status, data: text ? (JSON.parse(text) as { data?: unknown }).data : undefined };
  } finally {
    await dispatcher.close();
  }
}
