// pvesim benchmark: memory held by 10,000 guests and request throughput at that size.
// Load is generated from the same process (undici Pool over keep-alive HTTPS, token auth), so the
// server and the load generator share the CPU: the figures are a lower bound for the server alone.
// The 10,000 guests are put in place with Simulator.addGuest (no tasks), half LXC, half QEMU, over
// three nodes. Run directly: node --expose-gc --import tsx bench/pvesim.ts (without --expose-gc the
// heap figure includes garbage not yet collected, so it overstates).
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { startSim } from '../pvesim/index.js';

export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  target?: number;
  ok?: boolean;
}

/** A full GC before reading the heap: global.gc when node runs with --expose-gc, else nothing. */
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function heapMiB(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.external + m.arrayBuffers) / 1024 / 1024;
}

/** Requests per wall-clock second, and per CPU second this process used (server + load generator). */
async function load(pool: Pool, headers: Record<string, string>, paths: () => string, concurrency: number, seconds: number): Promise<{ wall: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const end = Date.now() + seconds * 1000;
  let n = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const r = await pool.request({ method: 'GET', path: paths(), headers });
        await r.body.text();
        if (r.statusCode === 200) n++;
        else failed++;
      }
    }),
  );
  if (failed) throw new Error(`${failed} requests failed during the benchmark`);
  const used = process.cpuUsage(cpu0);
  return { wall: n / seconds, cpu: n / ((used.user + used.system) / 1e6) };
}

export async function benchPvesim(opts: { guests?: number; seconds?: number } = {}): Promise<BenchFigure[]> {
  const guests = opts.guests ?? 10_000;
  const seconds = opts.seconds ?? 4;
  const nodes = ['pve1', 'pve2', 'pve3'];
  const h = await startSim({
    timeScale: 0,
    nodes,
    seed: 1,
    storages: [{ name: 'bench', type: 'lvmthin', content: ['images', 'rootdir'], sizeGiB: 1_000_000 }],
  });
  try {
    const base = heapMiB();
    const t0 = Date.now();
    for (let i = 0; i < guests; i++) {
      const vmid = 1000 + i;
      const node = nodes[i % nodes.length]!;
      if (i % 2 === 0) {
        h.sim.addGuest(node, 'lxc', vmid, {
          arch: 'amd64', hostname: `ct${vmid}`, memory: '1024', swap: '512', cores: '2', ostype: 'ubuntu', unprivileged: '1',
          features: 'nesting=1', tags: 'bench;lxc', rootfs: 'bench:8', net0: `name=eth0,bridge=vmbr0,ip=10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/8,gw=10.0.0.1`,
          description: 'benchmark container',
        }, i % 4 === 0 ? 'running' : 'stopped');
      } else {
        h.sim.addGuest(node, 'qemu', vmid, {
          name: `vm${vmid}`, memory: '2048', cores: '2', sockets: '1', cpu: 'x86-64-v2-AES', scsihw: 'virtio-scsi-single', scsi0: 'bench:16',
          net0: 'virtio,bridge=vmbr0', agent: '1', ciuser: 'ubuntu', ipconfig0: 'ip=dhcp', boot: 'order=scsi0;net0', ostype: 'l26', tags: 'bench;vm',
        }, i % 4 === 1 ? 'running' : 'stopped');
      }
    }
    const populateMs = Date.now() - t0;
    const held = heapMiB() - base;
    const rss = process.memoryUsage().rss / 1024 / 1024;

    const pool = new Pool(h.url, { connections: 16, pipelining: 1, connect: { ca: h.certPem } });
    const headers = { Authorization: `PVEAPIToken=${h.token}` };
    let k = 0;
    const configPath = () => {
      const i = (k = (k + 7919) % guests);
      const type = i % 2 === 0 ? 'lxc' : 'qemu';
      return `/api2/json/nodes/${nodes[i % nodes.length]}/${type}/${1000 + i}/config`;
    };
    await load(pool, headers, configPath, 8, 0.5); // warm up TLS sessions and JIT
    const configRps = await load(pool, headers, configPath, 32, seconds);
    const resourcesRps = await load(pool, headers, () => '/api2/json/cluster/resources?type=vm', 4, seconds);
    await pool.close();
    return [
      { name: 'pvesim populate 10k guests', value: populateMs, unit: 'ms' },
      { name: `pvesim heap held by ${guests} guests`, value: Math.round(held * 10) / 10, unit: 'MiB', target: 200, ok: held < 200 },
      { name: `pvesim process RSS with ${guests} guests (whole process: node, tsx, server, client)`, value: Math.round(rss), unit: 'MiB' },
      { name: `pvesim GET config at ${guests} guests`, value: Math.round(configRps.wall), unit: 'req/s', target: 2000, ok: configRps.wall >= 2000 },
      { name: `pvesim GET config at ${guests} guests per CPU second (server + client)`, value: Math.round(configRps.cpu), unit: 'req/cpu-s' },
      { name: `pvesim GET /cluster/resources at ${guests} guests`, value: Math.round(resourcesRps.wall * 10) / 10, unit: 'req/s', target: 20, ok: resourcesRps.wall >= 20 },
      { name: `pvesim GET /cluster/resources at ${guests} guests per CPU second (server + client)`, value: Math.round(resourcesRps.cpu * 10) / 10, unit: 'req/cpu-s' },
      { name: 'load average (1 min) during the run', value: loadavg()[0]!, unit: '' },
    ];
  } finally {
    await h.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const f of await benchPvesim()) {
    const target = f.target !== undefined ? ` (target ${f.unit === 'MiB' ? '<' : '>='} ${f.target}: ${f.ok ? 'ok' : 'MISSED'})` : '';
    console.log(`${f.name}: ${f.value} ${f.unit}${target}`);
  }
}
