// The controller following a git repository (--git-url): it converges the revision it finds, applies a
// new commit whole and shows that commit as each resource's source revision, and refuses a commit that
// fails validation as a whole (the previous revision stays applied, the errors are reported).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim, type SimHandle } from '../../pvesim/index.js';
import { waitFor } from './helpers.js';

const root = new URL('../..', import.meta.url).pathname;
const OSTPL = 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst';
let handle: SimHandle;
let repo: string;
let proc: ChildProcess;
let out = '';

const git = (...args: string[]) =>
  execFileSync('git', args, {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' },
  }).trim();

function ct(name: string, vmid: number, memory: number): string {
  return `apiVersion: phoenix.hypervisor/v1alpha1\nkind: LxcContainer\nmetadata: { name: ${name} }\nspec:\n  vmid: ${vmid}\n  memory: ${memory}\n  source: { ostemplate: "${OSTPL}" }\n  rootfs: { storage: local-lvm, size: 2G }\n`;
}

function commit(files: Record<string, string>, msg: string): string {
  for (const [f, text] of Object.entries(files)) writeFileSync(join(repo, 'fleet', f), text);
  git('add', '-A');
  git('commit', '--quiet', '-m', msg);
  return git('rev-parse', 'HEAD');
}

const api = () => /"msg":"http endpoint listening","url":"([^"]+)"/.exec(out)?.[1];

async function container(name: string): Promise<{ spec: { memory: number }; status: { sourceRevision?: string; conditions?: Array<{ type: string; status: string }> } } | undefined> {
  const url = api();
  if (!url) return undefined;
  const res = await fetch(`${url}/apis/phoenix.hypervisor/v1alpha1/lxccontainers/${name}`).catch(() => undefined);
  return res?.ok ? ((await res.json()) as never) : undefined;
}

const ready = (r: Awaited<ReturnType<typeof container>>) => !!r?.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

test.before(async () => {
  handle = await startSim({ timeScale: 0.02, nodes: ['pve'] });
  repo = mkdtempSync(join(tmpdir(), 'phoenix-git-fleet-'));
  git('init', '--quiet', '--initial-branch', 'main');
  mkdirSync(join(repo, 'fleet'));
});

test.after(async () => {
  proc?.kill('SIGTERM');
  await handle?.close();
});

test('follows commits whole, shows the revision, and refuses an invalid revision', async () => {
  const first = commit({ 'a.yaml': ct('alpha', 301, 512) }, 'one');
  const state = mkdtempSync(join(tmpdir(), 'phoenix-git-state-'));
  proc = spawn(
    process.execPath,
    ['--import', 'tsx', 'controller/main.ts', '--git-url', repo, '--git-ref', 'main', '--git-path', 'fleet', '--git-interval', '200ms', '--state-dir', state, '--listen', '127.0.0.1:0', '--resync', '0'],
    { cwd: root, env: { ...process.env, PHOENIX_PVE_URL: handle.url, PHOENIX_PVE_TOKEN: handle.token, PHOENIX_PVE_FINGERPRINT: handle.fingerprint }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));

  await waitFor(async () => ready(await container('alpha')), 60_000, 'alpha Ready at the first revision');
  assert.is((await container('alpha'))!.status.sourceRevision, first);

  // A new commit changes one resource and adds another: both applied at that revision.
  const second = commit({ 'a.yaml': ct('alpha', 301, 1024), 'b.yaml': ct('beta', 302, 512) }, 'two');
  await waitFor(async () => {
    const [a, b] = [await container('alpha'), await container('beta')];
    return ready(a) && ready(b) && a!.status.sourceRevision === second && b!.status.sourceRevision === second && a!.spec.memory === 1024;
  }, 60_000, 'both applied at the second revision');

  // A commit with one good change and one invalid file is not applied at all.
  commit({ 'a.yaml': ct('alpha', 301, 2048), 'b.yaml': 'apiVersion: phoenix.hypervisor/v1alpha1\nkind: LxcContainer\nmetadata: { name: beta }\nspec: { vmid: 302, memory: lots }\n' }, 'three');
  await waitFor(() => out.includes('source revision failed validation'), 30_000, 'the invalid revision reported');
  const errs = (await (await fetch(`${api()}/apis/phoenix.hypervisor/v1alpha1/manifesterrors`)).json()) as unknown;
  assert.match(JSON.stringify(errs), /not applied/);
  const a = await container('alpha');
  assert.is(a!.spec.memory, 1024, 'the good change in the refused revision was not applied either');
  assert.is(a!.status.sourceRevision, second);
});

test.run();
