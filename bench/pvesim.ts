// pvesim benchmark: memory held by 10,000 guests and request throughput at that size. pvesim runs in
// a child process (bench/pvesim-server.ts) and the load generator here (undici Pool over keep-alive
// HTTPS, token auth), so the CPU each side uses is measured apart: per-CPU-second rates are given for
// pvesim alone and for the load generator. The load generator reads every body to its end and checks
// its length against Content-Length, without decoding it (that is the client's cost, not pvesim's).
// The 10,000 guests are put in place with Simulator.addGuest (no tasks), half LXC, half QEMU, over
// three nodes. Run directly: node --import tsx bench/pvesim.ts
import { fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import type { ServerCpu, ServerReady, ToServer } from './pvesim-server.js';

export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  target?: number;
  ok?: boolean;
}

/** pvesim in its own process: the figures it reports once filled, and its CPU time on request. */
class ServerProcess {
  private constructor(
    private child: ChildProcess,
    readonly ready: ServerReady,
  ) {}

  static async start(guests: number): Promise<ServerProcess> {
    const child = fork(new URL('./pvesim-server.ts', import.meta.url).pathname, [], {
      execArgv: [...process.execArgv, '--expose-gc'],
      env: { ...process.env, PVESIM_BENCH_GUESTS: String(guests) },
    });
    const ready = await new Promise<ServerReady>((resolve, reject) => {
      child.once('message', (m: ServerReady) => resolve(m));
      child.once('exit', (code) => reject(new Error(`the pvesim bench server exited (code ${code}) before it was ready`)));
    });
    return new ServerProcess(child, ready);
  }

  /** Seconds of CPU (user + system) the pvesim process has used so far. */
  cpu(): Promise<number> {
    return new Promise((resolve) => {
      const on = (m: ServerCpu) => {
        if (m.kind !== 'cpu') return;
        this.child.off('message', on);
        resolve((m.usage.user + m.usage.system) / 1e6);
      };
      this.child.on('message', on);
      this.child.send({ kind: 'cpu' } satisfies ToServer);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ kind: 'stop' } satisfies ToServer);
    const timer = setTimeout(() => this.child.kill(), 5000);
    await exited;
    clearTimeout(timer);
  }
}

interface Load {
  /** Answered requests per wall-clock second. */
  wall: number;
  /** Requests per CPU second of the pvesim process, and of this process (the load generator). */
  server: number;
  client: number;
}

interface Step {
  path: string;
  /** A config change made through /_sim before the request (not counted as a request). */
  change?: { vmid: number; description: string };
}

/** Read a body to its end without decoding it; its length in bytes. */
async function drain(body: AsyncIterable<Buffer>): Promise<number> {
  let n = 0;
  for await (const chunk of body) n += chunk.length;
  return n;
}

async function load(server: ServerProcess, pool: Pool, headers: Record<string, string>, next: () => Step, concurrency: number, seconds: number): Promise<Load> {
  const s0 = await server.cpu();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const end = Date.now() + seconds * 1000;
  let n = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const step = next();
        if (step.change) {
          const body = new URLSearchParams({ description: step.change.description }).toString();
          const r = await pool.request({ method: 'PUT', path: `/_sim/guests/${step.change.vmid}/config`, headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' }, body });
          await drain(r.body);
          if (r.statusCode !== 200) failed++;
        }
        const r = await pool.request({ method: 'GET', path: step.path, headers });
        const bytes = await drain(r.body);
        if (r.statusCode === 200 && bytes === Number(r.headers['content-length'])) n++;
        else failed++;
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const serverCpu = (await server.cpu()) - s0;
  if (failed) throw new Error(`${failed} requests failed during the benchmark`);
  return { wall: n / wall, server: n / serverCpu, client: n / ((c.user + c.system) / 1e6) };
}

const round = (v: number, digits = 0) => Math.round(v * 10 ** digits) / 10 ** digits;

/** The three figures of one load: wall-clock rate (with its target, if any), then per CPU second of each side. */
function figures(label: string, l: Load, target?: number): BenchFigure[] {
  const digits = l.wall < 1000 ? 1 : 0;
  return [
    { name: label, value: round(l.wall, digits), unit: 'req/s', ...(target !== undefined ? { target, ok: l.wall >= target } : {}) },
    { name: `${label}, per CPU second of pvesim`, value: round(l.server, digits), unit: 'req/cpu-s' },
    { name: `${label}, per CPU second of the load generator`, value: round(l.client, digits), unit: 'req/cpu-s' },
  ];
}

export async function benchPvesim(opts: { guests?: number; seconds?: number } = {}): Promise<BenchFigure[]> {
  const guests = opts.guests ?? 10_000;
  const seconds = opts.seconds ?? 4;
  const server = await ServerProcess.start(guests);
  const { url, token, certPem, nodes, populateMs, heldMiB, rssMiB } = server.ready;
  const pool = new Pool(url, { connections: 16, pipelining: 1, connect: { ca: certPem } });
  try {
    const headers = { Authorization: `PVEAPIToken=${token}` };
    let k = 0;
    const configStep = (): Step => {
      const i = (k = (k + 7919) % guests);
      const type = i % 2 === 0 ? 'lxc' : 'qemu';
      return { path: `/api2/json/nodes/${nodes[i % nodes.length]}/${type}/${1000 + i}/config` };
    };
    let edits = 0;
    const changedStep = (): Step => {
      const i = (k = (k + 7919) % guests);
      return { path: '/api2/json/cluster/resources?type=vm', change: { vmid: 1000 + i, description: `edit ${++edits}` } };
    };
    await load(server, pool, headers, configStep, 8, 0.5); // warm up TLS sessions and JIT
    const config = await load(server, pool, headers, configStep, 32, seconds);
    // the first large answers after the small ones cost the load generator about twice as much CPU
    // (measured): warm up on them too, so that the first case measured is not penalised
    await load(server, pool, headers, () => ({ path: '/api2/json/cluster/resources' }), 4, 1);
    const vms = await load(server, pool, headers, () => ({ path: '/api2/json/cluster/resources?type=vm' }), 4, seconds);
    const all = await load(server, pool, headers, () => ({ path: '/api2/json/cluster/resources' }), 4, seconds);
    const changing = await load(server, pool, headers, changedStep, 4, seconds);
    return [
      { name: `pvesim populate ${guests} guests`, value: populateMs, unit: 'ms' },
      { name: `pvesim heap held by ${guests} guests`, value: round(heldMiB, 1), unit: 'MiB', target: 200, ok: heldMiB < 200 },
      { name: `pvesim process RSS with ${guests} guests (node, tsx, pvesim)`, value: Math.round(rssMiB), unit: 'MiB' },
      ...figures(`pvesim GET config at ${guests} guests`, config, 2000),
      ...figures(`pvesim GET /cluster/resources?type=vm at ${guests} guests`, vms, 20),
      ...figures(`pvesim GET /cluster/resources (all types) at ${guests} guests`, all),
      ...figures(`pvesim GET /cluster/resources?type=vm at ${guests} guests, a guest's config changed before each (PUT /_sim, not counted)`, changing),
      { name: 'load average (1 min) during the run', value: loadavg()[0]!, unit: '' },
    ];
  } finally {
    await pool.close();
    await server.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const f of await benchPvesim()) {
    const target = f.target !== undefined ? ` (target ${f.unit === 'MiB' ? '<' : '>='} ${f.target}: ${f.ok ? 'ok' : 'MISSED'})` : '';
    console.log(`${f.name}: ${f.value} ${f.unit}${target}`);
  }
}
