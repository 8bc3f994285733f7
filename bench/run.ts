// `npm run bench`: runs the benchmarks in-process against pvesim with the real controller runtime and
// writes bench/results.md (also printed). Measured figures only: nothing here asserts. BENCH_QUICK=1
// runs smaller sizes. Figures: converge makespan vs. the lower bound and vs. one-by-one, steady-state
// resync cost, manifest-save-to-first-write latency, pvesim throughput, and a soak of 1,000 guests
// under edits and drift (bench/soak.ts).
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StorageSpec } from '../pvesim/index.js';
import { loadManifests } from '../controller/manifests.js';
import { buildGraph } from '../controller/graph.js';
import { keyOf, type ResourceKey } from '../controller/types.js';
import { getCondition } from '../controller/conditions.js';
import { benchPvesim } from './pvesim.js';
import { LIMITS, OSTPL, STORAGES, lxc, quantile, readyKeys, seedCopies, startEnv, tpl, waitFor, type Env, type RemoteSim } from './env.js';
import type { ToChild } from './sim-child.js';
import type { SimStats } from '../pvesim/index.js';
import { fork, spawnSync } from 'node:child_process';
import { benchSoak, soakOptionsFromEnv } from './soak.js';

const QUICK = process.env.BENCH_QUICK === '1';
/**
 * `npm run bench -- soak resync` or BENCH_ONLY=soak,resync runs only the named sections; a partial
 * run writes bench/results-<names>.md (not results.md, which only a full run rewrites).
 */
const SECTIONS = ['example', 'fleet', 'resync', 'resync10k', 'resync10k-apart', 'edit', 'pvesim', 'soak'];
const ONLY = [...process.argv.slice(2), ...(process.env.BENCH_ONLY ?? '').split(',')].map((a) => a.trim()).filter(Boolean);
const unknownSections = ONLY.filter((a) => !SECTIONS.includes(a));
if (unknownSections.length) {
  console.error(`unknown benchmark section(s): ${unknownSections.join(', ')}; known: ${SECTIONS.join(', ')}`);
  process.exit(2);
}
const want = (section: string) => ONLY.length === 0 || ONLY.includes(section);
const TIME_SCALE = QUICK ? 0.02 : 0.1; // wall seconds per simulated second
/**
 * Converge benchmarks run at each of these clock scales: 1 is real time (pvesim's task durations are
 * those of a real node, and so is the controller's overhead against them); 0.1 compresses the tasks
 * tenfold, which magnifies the controller's own per-step cost. BENCH_SCALES=1,0.1 overrides.
 */
const SCALES = (process.env.BENCH_SCALES ?? (QUICK ? '0.02' : '1,0.1')).split(',').map(Number).filter((x) => x > 0);
const repo = new URL('..', import.meta.url).pathname;

interface Row { name: string; figure: string; target: string; verdict: string }
const rows: Row[] = [];
const row = (name: string, figure: string, target = '', verdict = '') => {
  rows.push({ name, figure, target, verdict });
  console.error(`  ${name}: ${figure}${target ? ` (target ${target}: ${verdict})` : ''}`);
};

/** Lower bounds from the tasks pvesim ran (ms-precision start/end of the same records /nodes/{node}/tasks lists). */
async function bounds(env: Env, manifests: string) {
  const { h, cloneTarget } = env;
  const loaded = await loadManifests(manifests);
  const tasks = h.sim.tasks.all().filter((t) => t.endedAtMs !== undefined);
  const dur = (t: (typeof tasks)[number]) => t.endedAtMs! - t.startedAtMs;
  const perGuest = new Map<string, number>();
  const guestOf = (t: (typeof tasks)[number]) => cloneTarget.get(t.upid) ?? t.id;
  for (const t of tasks) perGuest.set(guestOf(t), (perGuest.get(guestOf(t)) ?? 0) + dur(t));
  // an LXC clone holds its source's config lock (lock: disk) for the whole copy: clones of one template serialise
  const bySource = new Map<string, number>();
  for (const t of tasks) if (t.type === 'vzclone') bySource.set(t.id, (bySource.get(t.id) ?? 0) + dur(t));
  const sourceBound = Math.max(0, ...bySource.values());
  // idle time between one clone of a source ending and the next starting (what the controller adds per clone)
  const gaps: number[] = [];
  const clonesBy = new Map<string, typeof tasks>();
  for (const t of tasks) if (t.type === 'vzclone') clonesBy.set(t.id, [...(clonesBy.get(t.id) ?? []), t]);
  for (const list of clonesBy.values()) {
    list.sort((a, b) => a.startedAtMs - b.startedAtMs);
    for (let i = 1; i < list.length; i++) gaps.push(list[i]!.startedAtMs - list[i - 1]!.endedAtMs!);
  }
  gaps.sort((a, b) => a - b);
  const cloneGap = gaps.length ? { p50: gaps[Math.floor(gaps.length / 2)]!, n: gaps.length, mean: gaps.reduce((a, b) => a + b, 0) / gaps.length } : undefined;
  const res = new Map(loaded.resources.map((lr) => [keyOf(lr.resource), lr.resource]));
  // the controller's own dependency graph: clone sources, dependsOn, and implicit edges such as a
  // CertificateAuthority waiting for the guest that hosts it
  const graph = buildGraph(loaded.resources.map((lr) => lr.resource));
  const deps = (r: any): ResourceKey[] => graph.dependenciesOf(keyOf(r));
  const memo = new Map<ResourceKey, number>();
  const path = (k: ResourceKey): number => {
    if (memo.has(k)) return memo.get(k)!;
    const r: any = res.get(k);
    if (!r) return 0;
    memo.set(k, 0);
    const own = r.spec?.vmid !== undefined ? (perGuest.get(String(r.spec.vmid)) ?? 0) : 0;
    const v = own + Math.max(0, ...deps(r).map(path));
    memo.set(k, v);
    return v;
  };
  const critical = Math.max(0, ...[...res.keys()].map(path));
  // serialisation: creates/clones per node share LIMITS.perNode slots, per target storage LIMITS.perStorage
  const heavy = tasks.filter((t) => /^(vzcreate|qmcreate|vzclone|qmclone)$/.test(t.type));
  const byNode = new Map<string, number>();
  const byStorage = new Map<string, number>();
  const storageOf = new Map<string, string>();
  for (const r of res.values() as Iterable<any>) {
    const s = r.spec?.rootfs?.storage ?? r.spec?.disks?.[0]?.storage ?? r.spec?.storage;
    if (r.spec?.vmid !== undefined && s) storageOf.set(String(r.spec.vmid), s);
  }
  for (const t of heavy) {
    byNode.set(t.node, (byNode.get(t.node) ?? 0) + dur(t));
    const s = storageOf.get(guestOf(t));
    if (s) byStorage.set(s, (byStorage.get(s) ?? 0) + dur(t));
  }
  const nodeBound = Math.max(0, ...[...byNode.values()].map((v) => v / LIMITS.perNode));
  const storageBound = Math.max(0, ...[...byStorage.values()].map((v) => v / LIMITS.perStorage));
  const serial = tasks.reduce((a, t) => a + dur(t), 0);
  const first = Math.min(...tasks.map((t) => t.startedAtMs));
  const last = Math.max(...tasks.map((t) => t.endedAtMs!));
  return { critical, nodeBound, storageBound, sourceBound, lower: Math.max(critical, nodeBound, storageBound, sourceBound), cloneGap, serial, tasks: tasks.length, first, last };
}

async function benchConverge(label: string, manifests: string, nodes: string[], storages: StorageSpec[], timeoutMs: number, timeScale = TIME_SCALE) {
  const env = await startEnv({ manifests, timeScale, nodes, storages });
  try {
    const keys = (await loadManifests(manifests)).resources.map((lr) => keyOf(lr.resource));
    const t0 = Date.now();
    const c0 = process.cpuUsage();
    await env.rt.start();
    const ok = await waitFor(() => readyKeys(env.rt, keys).length === keys.length, timeoutMs);
    const makespan = Date.now() - t0;
    const cpu = process.cpuUsage(c0);
    const calls = env.h.stats().totalRequests;
    if (!ok) {
      const ready = new Set(readyKeys(env.rt, keys));
      const notReady = keys.filter((k) => !ready.has(k));
      row(`${label}: converge`, `did not converge in ${timeoutMs / 1000} s; not Ready: ${notReady.slice(0, 5).join(', ')}${notReady.length > 5 ? ` (+${notReady.length - 5})` : ''}`, 'converges', 'gap');
      return;
    }
    const tReady = Date.now();
    if (process.env.BENCH_TIMELINE) {
      for (const t of env.h.sim.tasks.all().sort((a, c) => a.startedAtMs - c.startedAtMs)) {
        console.error(`    ${String(t.startedAtMs - t0).padStart(6)} → ${String((t.endedAtMs ?? 0) - t0).padStart(6)} ms  ${t.type} ${t.id}${env.cloneTarget.has(t.upid) ? ` → ${env.cloneTarget.get(t.upid)}` : ''}`);
      }
    }
    const b = await bounds(env, manifests);
    const r = makespan / b.lower;
    row(`${label}: makespan (${keys.length} resources, ${b.tasks} tasks, time scale ${timeScale})`, `${makespan} ms`);
    row(`${label}: lower bound = max(critical path ${b.critical} ms, per-node ${b.nodeBound.toFixed(0)} ms, per-storage ${b.storageBound.toFixed(0)} ms, per-source-template ${b.sourceBound.toFixed(0)} ms)`, `${b.lower.toFixed(0)} ms`);
    row(`${label}: makespan / lower bound`, r.toFixed(2), '≤ 1.10', r <= 1.1 ? 'met' : `gap ${((r - 1.1) * 100).toFixed(0)} pts`);
    row(`${label}: before the first task (load, observe) / after the last task (until all Ready)`, `${b.first - t0} ms / ${tReady - b.last} ms`);
    row(`${label}: API calls / CPU of the process (controller + pvesim) while converging`, `${calls} / ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms`);
    if (b.cloneGap) row(`${label}: idle between consecutive clones of one template (p50 / mean over ${b.cloneGap.n})`, `${b.cloneGap.p50} ms / ${b.cloneGap.mean.toFixed(0)} ms`);
    row(`${label}: makespan / one-by-one (sum of task durations ${b.serial} ms)`, (makespan / b.serial).toFixed(2));
  } finally {
    await env.close();
  }
}

/** n clones of two LXC templates over four storages; every fifth depends on the one ten before it. */
function generatedFleet(n: number, source: 'clone' | 'create' = 'clone'): string {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-bench-fleet-'));
  writeFileSync(join(dir, 'tpl-a.yaml'), tpl('tpl-a', 800, 's0'));
  writeFileSync(join(dir, 'tpl-b.yaml'), tpl('tpl-b', 801, 's1'));
  for (let i = 0; i < n; i++) {
    const src = source === 'clone' ? `{ template: ${i % 2 ? 'tpl-b' : 'tpl-a'} }` : `{ ostemplate: "${OSTPL}" }`;
    writeFileSync(join(dir, `ct${i}.yaml`), lxc(`ct${i}`, 1000 + i, src, `s${i % 4}`, 512, source === 'clone' && i % 5 === 0 && i >= 10 ? `ct${i - 10}` : undefined));
  }
  return dir;
}

/** n in-sync guests: one is created through the runtime, the rest seeded in pvesim as copies of it
 * (Simulator.addGuest), then one full pass converges whatever differs; the pass after is measured. */
/**
 * n in-sync guests: one is created through the runtime, the rest seeded in pvesim as copies of it,
 * then one full pass converges whatever differs; the passes after are measured. `apart`: pvesim runs
 * in a process of its own (bench/sim-child.ts), so this process's memory is the controller's.
 */
async function benchResync(n: number, budgetMs: number, apart = false) {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-bench-resync-'));
  const manifest = (i: number) => lxc(`ct${i}`, 1000 + i, `{ ostemplate: "${OSTPL}" }`, `s${i % 4}`);
  writeFileSync(join(dir, 'ct0.yaml'), manifest(0));
  const remote = apart ? await startSimChild() : undefined;
  const env = await startEnv({ manifests: dir, timeScale: 0, nodes: ['pve'], storages: STORAGES(4), concurrency: 16, driftIntervalMs: undefined, ...(remote ? { remote } : {}) });
  const label = apart ? `resync ${n} (pvesim in its own process)` : `resync ${n}`;
  try {
    await env.rt.start();
    if (!(await waitFor(() => readyKeys(env.rt, ['LxcContainer/ct0' as ResourceKey]).length === 1, 30_000))) return row(`${label}: seed`, 'the first guest did not converge', '', 'gap');
    await env.rt.whenIdle();
    if (remote) await remote.seed(n);
    else seedCopies(env.h.sim, n);
    for (let i = 1; i < n; i++) writeFileSync(join(dir, `ct${i}.yaml`), manifest(i));
    const keys = Array.from({ length: n }, (_, i) => `LxcContainer/ct${i}` as ResourceKey);
    const t0 = Date.now();
    await env.rt.switchRoot(dir); // reload every manifest and queue them all: the converging pass
    const ok = await waitFor(() => readyKeys(env.rt, keys).length === n, budgetMs);
    if (!ok) {
      const ready = new Set(readyKeys(env.rt, keys));
      const stuck = keys.filter((k) => !ready.has(k)).slice(0, 3).map((k) => {
        const v = env.rt.get({ kind: 'LxcContainer', name: k.split('/')[1]! });
        const c = getCondition(v?.status.conditions, 'Ready');
        return `${k}: ${c?.reason ?? 'no status'} ${c?.message ?? ''}`.trim();
      });
      return row(`${label}: converge the seeded guests`, `${ready.size}/${n} Ready after ${((Date.now() - t0) / 1000).toFixed(0)} s (budget); not Ready: ${stuck.join('; ')}`, '', 'not measured');
    }
    row(`${label}: converge the seeded guests (first pass, every config read)`, `${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await env.rt.whenIdle();
    await env.state.flush();
    // a steady pass as production runs it (configs re-read every 10 min), then one reading every config
    await measurePass(env, n, `${label}: in-sync guests`, true, apart);
    env.options.driftIntervalMs = 0;
    await measurePass(env, n, `${label}: drift check of every config`, false, apart);
  } finally {
    await env.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** pvesim in a child process (bench/sim-child.ts) behind the RemoteSim surface. */
async function startSimChild(): Promise<RemoteSim & { seed(n: number): Promise<void> }> {
  const child = fork(new URL('./sim-child.ts', import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = <T>(kind: string) => new Promise<T>((resolve) => {
    const on = (m: { kind: string }) => {
      if (m.kind !== kind) return;
      child.off('message', on);
      resolve(m as T);
    };
    child.on('message', on);
  });
  const ready = await next<{ url: string; token: string; fingerprint: string }>('ready');
  return {
    url: ready.url,
    token: ready.token,
    fingerprint: ready.fingerprint,
    async stats() {
      const reply = next<{ stats: SimStats }>('stats');
      child.send({ kind: 'stats' } satisfies ToChild);
      return (await reply).stats;
    },
    async seed(n) {
      const reply = next('seeded');
      child.send({ kind: 'seed', n } satisfies ToChild);
      await reply;
    },
    async close() {
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ kind: 'stop' } satisfies ToChild);
      await exited;
    },
  };
}

/** BENCH_PROFILE=prefix: a CPU profile of each measured pass (open in Chrome DevTools). */
async function startProfile(): Promise<(file: string) => Promise<void>> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async (file) => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

async function measurePass(env: Env, n: number, label: string, targets: boolean, apart = false) {
  const s0 = await env.simStats();
  const files0 = env.state.stats.written;
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const prof = process.env.BENCH_PROFILE ? await startProfile() : undefined;
  const c0 = process.cpuUsage();
  const w0 = Date.now();
  env.rt.fullPass();
  await env.rt.whenIdle();
  await env.state.flush();
  const cpu = process.cpuUsage(c0);
  if (prof) await prof(`${process.env.BENCH_PROFILE}-${label.replace(/\W+/g, '-')}.cpuprofile`);
  const wall = Date.now() - w0;
  clearInterval(sampler);
  const s1 = await env.simStats();
  const calls = s1.totalRequests - s0.totalRequests;
  let writes = 0;
  for (const [k, v] of Object.entries(s1.requests)) if (!k.startsWith('GET ')) writes += v - (s0.requests[k] ?? 0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const mb = peak / 1024 / 1024;
  const big = targets && n >= 10_000;
  const who = apart ? 'controller' : 'controller + pvesim in one process';
  row(`${label}: API calls / state files written`, `${calls} / ${env.state.stats.written - files0}`);
  row(`${label}: Proxmox writes`, String(writes), '0', writes === 0 ? 'met' : 'gap');
  row(`${label}: CPU (${who})`, `${cpuS.toFixed(2)} s (wall ${wall} ms)`, big ? '< 2 s' : '', big ? (cpuS < 2 ? 'met' : 'gap') : '');
  const rssWhat = apart ? 'the controller and the bench driving it' : `whole process: controller, pvesim with its ${n} guests, the bench`;
  row(`${label}: peak RSS (${rssWhat})`, `${mb.toFixed(0)} MB`, big ? '< 300 MB' : '', big ? (mb < 300 ? 'met' : 'gap') : '');
  // what stays live after the pass (npm run bench passes --expose-gc): controller and pvesim together
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    row(`${label}: heap in use after a full GC (${apart ? 'controller' : 'controller and pvesim'})`, `${(process.memoryUsage().heapUsed / 1024 / 1024).toFixed(0)} MB`);
  }
}

async function benchEditLatency(edits: number) {
  const dir = generatedFleet(4, 'create');
  const env = await startEnv({ manifests: dir, timeScale: TIME_SCALE, nodes: ['pve'], storages: STORAGES(4), watch: true });
  try {
    const keys = (await loadManifests(dir)).resources.map((lr) => keyOf(lr.resource));
    await env.rt.start();
    if (!(await waitFor(() => readyKeys(env.rt, keys).length === keys.length, 60_000))) return row('edit latency', 'fleet did not converge', '', 'gap');
    await env.rt.whenIdle();
    let seen: number | undefined;
    const sim = env.h.sim;
    const orig = sim.updateConfig.bind(sim);
    sim.updateConfig = ((...a: Parameters<typeof orig>) => {
      seen ??= performance.now();
      return orig(...a);
    }) as typeof sim.updateConfig;
    const lat: number[] = [];
    for (let i = 0; i < edits; i++) {
      seen = undefined;
      const t0 = performance.now();
      writeFileSync(join(dir, 'ct1.yaml'), lxc('ct1', 1001, `{ ostemplate: "${OSTPL}" }`, 's1', 600 + 8 * i));
      if (!(await waitFor(() => seen !== undefined, 10_000))) break;
      lat.push(seen! - t0);
      await env.rt.whenIdle();
      await new Promise((r) => setTimeout(r, 150)); // let the watcher settle before the next save
    }
    const q = (p: number) => quantile(lat, p);
    row(`save-to-first-write over ${lat.length}/${edits} edits: p50`, `${q(0.5).toFixed(0)} ms`);
    row(`save-to-first-write: p99`, `${q(0.99).toFixed(0)} ms`);
  } finally {
    await env.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const started = Date.now();
const machine = `${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;
console.error(`machine: ${machine}${QUICK ? ' (BENCH_QUICK)' : ''}${ONLY.length ? `; sections: ${ONLY.join(', ')}` : ''}`);

// the example fleet needs its storages; templates on local, guests on quickOS-*
const exampleDir = mkdtempSync(join(tmpdir(), 'phoenix-bench-example-'));
for (const f of readdirSync(join(repo, 'manifests'))) if (f.endsWith('.yaml')) copyFileSync(join(repo, 'manifests', f), join(exampleDir, f));
mkdirSync(exampleDir, { recursive: true });
const bigStorage = (name: string, type: StorageSpec['type'] = 'lvmthin'): StorageSpec => ({ name, type, content: ['images', 'rootdir'], sizeGiB: 100_000 });
if (want('example')) {
  for (const scale of SCALES) {
    await benchConverge(`example fleet @${scale}`, exampleDir, ['pve'], [bigStorage('quickOS-lxc-disks'), bigStorage('quickOS-vm-disks'), bigStorage('fastData-shared-bulk-data')], 120_000 / Math.min(1, scale * 10), scale);
  }
}
rmSync(exampleDir, { recursive: true, force: true });

const fleetN = QUICK ? 40 : 200;
if (want('fleet')) {
  const fleet = generatedFleet(fleetN);
  for (const scale of SCALES) {
    await benchConverge(`generated fleet (${fleetN} clones of 2 templates, 4 storages) @${scale}`, fleet, ['pve'], STORAGES(4), 300_000 / Math.min(1, scale * 10), scale);
  }
  rmSync(fleet, { recursive: true, force: true });
}

if (want('resync')) {
  const n = Number(process.env.BENCH_RESYNC_N ?? (QUICK ? 200 : 1000));
  await benchResync(n, 120_000);
  if (process.env.BENCH_RESYNC_APART === '1') await benchResync(n, 120_000, true);
}
if (!QUICK && want('resync10k')) {
  await benchResync(10_000, 600_000);
  // the controller's own memory: pvesim in another process, and this run in a fresh one (a process's
  // peak RSS keeps what earlier sections used)
  const rowsFile = join(tmpdir(), `phoenix-bench-rows-${process.pid}.json`);
  const r = spawnSync(process.execPath, [...process.execArgv, new URL(import.meta.url).pathname], { env: { ...process.env, BENCH_ONLY: 'resync10k-apart', BENCH_ROWS_FILE: rowsFile }, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status === 0) rows.push(...(JSON.parse(readFileSync(rowsFile, 'utf8')) as Row[]));
  else row('resync 10000 (pvesim in its own process)', `the run failed (exit ${r.status})`, '', 'not measured');
  rmSync(rowsFile, { force: true });
}
if (ONLY.includes('resync10k-apart')) await benchResync(10_000, 600_000, true);

if (want('edit')) await benchEditLatency(QUICK ? 8 : 30);

if (want('pvesim')) for (const f of await benchPvesim({ guests: QUICK ? 2000 : 10_000, seconds: QUICK ? 1 : 4 })) {
  const target = f.target === undefined ? '' : `${f.unit === 'MiB' ? '<' : '≥'} ${f.target} ${f.unit}`;
  row(f.name, `${f.value} ${f.unit}`.trim(), target, f.target === undefined ? '' : f.ok ? 'met' : 'gap');
}

if (want('soak')) await benchSoak(soakOptionsFromEnv(process.env, QUICK), row);

const md = [
  '# Benchmark results',
  '',
  `Machine: ${machine}. Load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}. Run took ${((Date.now() - started) / 1000).toFixed(0)} s${QUICK ? ' (BENCH_QUICK=1)' : ''}${ONLY.length ? ` (sections: ${ONLY.join(', ')})` : ''}, ${new Date().toISOString()}.`,
  '',
  '| benchmark | figure | target | met/gap |',
  '|---|---|---|---|',
  ...rows.map((r) => `| ${r.name} | ${r.figure} | ${r.target} | ${r.verdict} |`),
  '',
].join('\n');
if (process.env.BENCH_ROWS_FILE) writeFileSync(process.env.BENCH_ROWS_FILE, JSON.stringify(rows));
else if (!QUICK) writeFileSync(join(repo, 'bench', ONLY.length ? `results-${[...new Set(ONLY)].sort().join('-')}.md` : 'results.md'), md);
console.log(md);
