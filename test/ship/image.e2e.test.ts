// No container engine runs here, so this test proves the Dockerfile's install and start steps by
// running them in clean directories: it reads the Dockerfile, copies what each stage COPYs, runs the
// stage's npm steps, starts the ENTRYPOINT with the image's ENV (plus an API token, which a
// non-loopback listen requires) and runs the HEALTHCHECK command until it passes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

const root = new URL('../..', import.meta.url).pathname;

interface Stage {
  name: string;
  copies: Array<{ from?: string; src: string[]; dest: string; cwd: string }>;
  runs: Array<{ cmd: string; cwd: string }>;
  env: Record<string, string>;
  workdir: string;
  entrypoint?: string[];
  healthcheck?: string[];
}

function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  let cur: Stage | undefined;
  for (const line of lines) {
    const [instr, ...rest] = line.split(/\s+/);
    const arg = rest.join(' ');
    switch (instr.toUpperCase()) {
      case 'FROM':
        cur = { name: /AS\s+(\S+)/i.exec(arg)?.[1] ?? `stage${stages.length}`, copies: [], runs: [], env: {}, workdir: '/' };
        stages.push(cur);
        break;
      case 'COPY': {
        const from = /--from=(\S+)/.exec(arg)?.[1];
        const parts = rest.filter((p) => !p.startsWith('--'));
        cur!.copies.push({ from, src: parts.slice(0, -1), dest: parts[parts.length - 1], cwd: cur!.workdir });
        break;
      }
      case 'RUN':
        cur!.runs.push({ cmd: arg, cwd: cur!.workdir });
        break;
      case 'WORKDIR':
        cur!.workdir = arg;
        break;
      case 'ENV':
        for (const m of arg.matchAll(/(\w+)=(\S+)/g)) cur!.env[m[1]] = m[2];
        break;
      case 'ENTRYPOINT':
        cur!.entrypoint = JSON.parse(arg) as string[];
        break;
      case 'HEALTHCHECK':
        cur!.healthcheck = JSON.parse(arg.slice(arg.indexOf('CMD') + 3).trim()) as string[];
        break;
    }
  }
  return stages;
}

/** The install and build steps of a RUN line (apt-get, useradd and npm cache cleaning belong to the image, not here). */
function npmSteps(run: string): string[] {
  return run.split('&&').map((s) => s.trim()).filter((s) => s.startsWith('npm ci') || s.startsWith('npm run'));
}

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

test('the image builds with production dependencies only and its entrypoint passes the healthcheck', async () => {
  const stages = parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  assert.is(stages.length, 2, 'multi-stage: build and runtime');
  const dirs: Record<string, string> = {};
  for (const st of stages) {
    const dir = mkdtempSync(join(tmpdir(), `phoenix-image-${st.name}-`));
    dirs[st.name] = dir;
    // the stage's filesystem lives under `dir`; container paths map onto it
    const at = (p: string, cwd: string) => join(dir, p.startsWith('/') ? p : join(cwd, p));
    for (const c of st.copies) {
      for (const src of c.src) {
        const from = c.from ? join(dirs[c.from], src) : join(root, src);
        const into = at(c.dest, c.cwd);
        // `COPY a b ./` copies into the directory; `COPY dir ./dir` copies onto the path
        const dest = c.dest.endsWith('/') ? join(into, src.split('/').pop()!) : into;
        cpSync(from, dest, { recursive: true });
      }
    }
    for (const run of st.runs) {
      for (const step of npmSteps(run.cmd)) {
        const cmd = step.startsWith('npm ci') ? `${step} --prefer-offline` : step;
        execSync(cmd, { cwd: at('.', run.cwd), stdio: 'pipe', timeout: 300_000 });
      }
    }
  }
  const runtime = stages[stages.length - 1];
  const dir = join(dirs[runtime.name], runtime.workdir);
  assert.ok(existsSync(join(dir, 'dist/controller/main.js')), 'compiled controller copied from the build stage');
  assert.not.ok(existsSync(join(dir, 'node_modules/typescript')), 'no dev dependencies in the runtime stage');
  assert.ok(existsSync(join(dir, 'node_modules/proxmox-api')), 'production dependencies installed');

  const port = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    ...runtime.env,
    PHOENIX_MANIFESTS: join(dirs[runtime.name], runtime.env.PHOENIX_MANIFESTS),
    PHOENIX_STATE_DIR: mkdtempSync(join(tmpdir(), 'phoenix-image-state-')),
    PHOENIX_LISTEN: runtime.env.PHOENIX_LISTEN.replace(/:\d+$/, `:${port}`),
    PHOENIX_API_TOKEN: 'image-test-token',
  };
  delete env.PHOENIX_PVE_URL;
  const [cmd, ...args] = runtime.entrypoint!;
  const proc = spawn(cmd === 'node' ? process.execPath : cmd, args, { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  try {
    const health = runtime.healthcheck!.map((a) => a.replace('9750', String(port)));
    const deadline = Date.now() + 60_000;
    let ok = false;
    while (!ok && Date.now() < deadline) {
      try {
        execSync(health.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ').replace(/^'node'/, `'${process.execPath}'`), { stdio: 'ignore', timeout: 5000 });
        ok = true;
      } catch {
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    assert.ok(ok, `HEALTHCHECK never passed; controller said:\n${err.slice(-2000)}`);
  } finally {
    proc.kill('SIGTERM');
  }
});

test.run();
