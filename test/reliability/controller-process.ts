// A child controller process (node --import tsx controller/main.ts) for the reliability suites:
// all output captured, the HTTP endpoint's URL read from its log, readiness read from the status API.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './fleet.js';

export const PLURALS = ['templates', 'lxccontainers', 'virtualmachines', 'certificateauthorities'];
const PREFIX = '/apis/phoenix.hypervisor/v1alpha1';

export interface Controller {
  proc: ChildProcess;
  output: () => string;
  url: () => string | undefined;
  exited: Promise<number | null>;
}

export function startController(dir: string, env: Record<string, string>): Controller {
  let out = '';
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'controller/main.ts', '--manifests', join(dir, 'manifests'), '--state-dir', join(dir, 'state'), '--listen', '127.0.0.1:0', '--resync', '0'],
    { cwd: repoRoot, env: { ...process.env, PHOENIX_LOG_LEVEL: 'debug', PHOENIX_ALLOW_HOST_PATHS: '/', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res(code)));
  return { proc, output: () => out, url: () => /"msg":"http endpoint listening","url":"([^"]+)"/.exec(out)?.[1], exited };
}

interface Item {
  metadata: { name: string };
  status: { conditions?: Array<{ type: string; status: string }> };
}

/** Every resource's status, by plural (undefined while the endpoint is not up). */
export async function statusLists(c: Controller): Promise<Record<string, Item[]> | undefined> {
  const url = c.url();
  if (!url) return undefined;
  const out: Record<string, Item[]> = {};
  for (const plural of PLURALS) {
    const res = await fetch(`${url}${PREFIX}/${plural}`).catch(() => undefined);
    if (!res?.ok) return undefined;
    out[plural] = ((await res.json()) as { items: Item[] }).items;
  }
  return out;
}

/** True once `count` resources exist and all are Ready. */
export async function allReady(c: Controller, count: number): Promise<boolean> {
  const lists = await statusLists(c);
  if (!lists) return false;
  const items = Object.values(lists).flat();
  return items.length === count && items.every((i) => i.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));
}

/** Raw text of a GET on the controller's endpoint. */
export async function getText(c: Controller, path: string): Promise<string> {
  const res = await fetch(`${c.url()}${path.startsWith('/apis') || path.startsWith('/metrics') ? '' : PREFIX}${path}`);
  return res.text();
}
