// Soak: converge a generated fleet (default 1,000 LXC clones) on an in-process pvesim with the real
// runtime watching the manifest directory, then hold it for a bounded time under a steady stream of
// manifest edits (memory, cores, tags written to the files) and injected drift (memory or tags
// changed, guests stopped, through pvesim's /_sim admin API as an operator's hand would). Reports
// invariants (one guest per manifest, none created twice, none destroyed), edits applied and drift
// corrected with p50/p99 latency (drift is found by the periodic resync, so its latency follows the
// resync interval), memory at the start and end of the soak, and series growth: Prometheus series in
// the registry and events stored. Measured figures only; nothing here asserts.
//
// Settings (environment): PHOENIX_SOAK_GUESTS (1000), PHOENIX_SOAK_SECONDS (90),
// PHOENIX_SOAK_RESYNC_SECONDS (15), PHOENIX_SOAK_EDIT_MS (500, one edit per interval),
// PHOENIX_SOAK_DRIFT_MS (1000, one drift per interval), PHOENIX_SOAK_TIME_SCALE (0.01).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { desiredTags } from '../controller/plan/desired.js';
import { MAX_EVENTS_PER_RESOURCE } from '../controller/events.js';
import type { ResourceKey } from '../controller/types.js';
import { STORAGES, quantile, readyKeys, startEnv, tpl, waitFor, type Env } from './env.js';

export interface SoakOptions {
  guests: number;
  seconds: number;
  resyncMs: number;
  editEveryMs: number;
  driftEveryMs: number;
  timeScale: number;
}

export type RowFn = (name: string, figure: string, target?: string, verdict?: string) => void;

export function soakOptionsFromEnv(env: NodeJS.ProcessEnv, quick: boolean): SoakOptions {
  const num = (name: string, dflt: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return dflt;
    const v = Number(raw);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${name}=${raw}: expected a positive number`);
    return v;
  };
  return {
    guests: Math.round(num('PHOENIX_SOAK_GUESTS', quick ? 100 : 1000)),
    seconds: num('PHOENIX_SOAK_SECONDS', quick ? 20 : 90),
    resyncMs: num('PHOENIX_SOAK_RESYNC_SECONDS', quick ? 5 : 15) * 1000,
    editEveryMs: num('PHOENIX_SOAK_EDIT_MS', 500),
    driftEveryMs: num('PHOENIX_SOAK_DRIFT_MS', 1000),
    timeScale: num('PHOENIX_SOAK_TIME_SCALE', 0.01),
  };
}

interface Want {
  memory: number;
  cores: number;
  tags: string[];
}

const manifest = (i: number, w: Want) => `apiVersion: phoenix.hypervisor/v1alpha1
kind: LxcContainer
metadata:
  name: ct${i}
spec:
  vmid: ${1000 + i}
  source: { template: ${i % 2 ? 'tpl-b' : 'tpl-a'} }
  memory: ${w.memory}
  cores: ${w.cores}
  tags: [${w.tags.join(', ')}]
  rootfs: { storage: s${i % 4}, size: 2G }
`;

const tagSet = (s: unknown) => [...new Set(String(s ?? '').split(/[;, ]+/).filter(Boolean))].sort().join(';');

/** A full GC first when node runs with --expose-gc (npm run bench does), so heap figures hold live data. */
function memory(): { heapMiB: number; rssMiB: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { heapMiB: m.heapUsed / 1024 / 1024, rssMiB: m.rss / 1024 / 1024 };
}

/** Series per metric name in the registry. */
async function seriesCount(env: Env): Promise<Map<string, number>> {
  return new Map((await env.metrics.registry.getMetricsAsJSON()).map((m) => [m.name, m.values.length]));
}

const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/** The metrics with more series in `b` than in `a`, e.g. "x +2, y +1". */
function grown(a: Map<string, number>, b: Map<string, number>): string {
  return [...b].filter(([k, v]) => v > (a.get(k) ?? 0)).map(([k, v]) => `${k} +${v - (a.get(k) ?? 0)}`).join(', ');
}

function eventCounts(env: Env): { total: number; max: number } {
  let total = 0;
  let max = 0;
  for (const r of env.rt.list()) {
    const n = env.rt.events({ kind: r.kind, name: r.metadata.name }).length;
    total += n;
    max = Math.max(max, n);
  }
  return { total, max };
}

interface Pending {
  vmid: number;
  what: string;
  t0: number;
  done: () => boolean;
}

export async function benchSoak(o: SoakOptions, row: RowFn): Promise<void> {
  const n = o.guests;
  const label = `soak ${n} guests`;
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-bench-soak-'));
  const want = new Map<number, Want>();
  writeFileSync(join(dir, 'tpl-a.yaml'), tpl('tpl-a', 800, 's0'));
  writeFileSync(join(dir, 'tpl-b.yaml'), tpl('tpl-b', 801, 's1'));
  for (let i = 0; i < n; i++) {
    const w = { memory: 512, cores: 1, tags: ['soak'] };
    want.set(1000 + i, w);
    writeFileSync(join(dir, `ct${i}.yaml`), manifest(i, w));
  }
  const env = await startEnv({ manifests: dir, timeScale: o.timeScale, nodes: ['pve'], storages: STORAGES(4), watch: true, concurrency: 8, resyncMs: o.resyncMs, driftIntervalMs: 0 });
  // every create, clone and destroy that ran, counted as it ends (pvesim's task list is pruned at 5,000)
  const created = new Map<number, number>();
  let destroyed = 0;
  const finish = env.h.sim.tasks.finish.bind(env.h.sim.tasks);
  env.h.sim.tasks.finish = (rec, exitstatus) => {
    if (rec.status === 'running' && exitstatus === 'OK') {
      if (/^(vzcreate|qmcreate|vzclone|qmclone)$/.test(rec.type)) {
        const vmid = Number(env.cloneTarget.get(rec.upid) ?? rec.id);
        created.set(vmid, (created.get(vmid) ?? 0) + 1);
      }
    }
    if (rec.status === 'running' && /destroy$/.test(rec.type)) destroyed++;
    finish(rec, exitstatus);
  };
  const pool = new Pool(env.h.url, { connections: 2, connect: { ca: env.h.certPem } });
  const admin = async (method: string, path: string, body: Record<string, string>) => {
    const r = await pool.request({ method, path, headers: { Authorization: `PVEAPIToken=${env.h.token}`, 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body).toString() });
    await r.body.text();
    if (r.statusCode !== 200) throw new Error(`${method} ${path}: HTTP ${r.statusCode}`);
  };
  const timers: NodeJS.Timeout[] = [];
  try {
    const t0 = Date.now();
    await env.rt.start();
    const all = env.rt.list().map((r) => `${r.kind}/${r.metadata.name}` as ResourceKey);
    const ok = await waitFor(() => readyKeys(env.rt, all).length === all.length, Math.max(300_000, n * 600));
    if (!ok) {
      row(`${label}: converge`, `${readyKeys(env.rt, all).length}/${all.length} Ready after ${((Date.now() - t0) / 1000).toFixed(0)} s`, 'converges', 'gap');
      return;
    }
    row(`${label}: converge (${all.length} resources, time scale ${o.timeScale}, watch on, resync every ${o.resyncMs / 1000} s reading every config)`, `${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await env.rt.whenIdle();

    // --- the soak ---
    const pending: Pending[] = [];
    const busy = new Set<number>();
    const lat = { edit: [] as number[], drift: [] as number[] };
    let edits = 0;
    let drifts = 0;
    const driftKinds = { memory: 0, stopped: 0, tags: 0 };
    const guestOf = (vmid: number) => env.h.sim.guests.get(vmid);
    const matches = (vmid: number) => {
      const g = guestOf(vmid);
      const w = want.get(vmid)!;
      return !!g && Number(g.conf.memory) === w.memory && Number(g.conf.cores) === w.cores && tagSet(g.conf.tags) === tagSet(desiredTags(w.tags));
    };
    const pick = (): number | undefined => {
      for (let tries = 0; tries < 20; tries++) {
        const vmid = 1000 + Math.floor(Math.random() * n);
        if (!busy.has(vmid)) return vmid;
      }
      return undefined;
    };
    const settle = () => {
      const now = performance.now();
      for (let i = pending.length - 1; i >= 0; i--) {
        const p = pending[i]!;
        if (!p.done()) continue;
        (p.what === 'edit' ? lat.edit : lat.drift).push(now - p.t0);
        busy.delete(p.vmid);
        pending.splice(i, 1);
      }
    };
    const inject = async () => {
      const vmid = pick();
      if (vmid === undefined) return;
      const kind = (['memory', 'stopped', 'tags'] as const)[drifts % 3]!;
      busy.add(vmid);
      const w = want.get(vmid)!;
      const path = `/_sim/guests/${vmid}`;
      const t = performance.now();
      if (kind === 'stopped') await admin('POST', `${path}/power`, { state: 'stopped' });
      else await admin('PUT', `${path}/config`, kind === 'memory' ? { memory: String(w.memory + 1024) } : { tags: 'drifted' });
      drifts++;
      driftKinds[kind]++;
      pending.push({ vmid, what: 'drift', t0: t, done: () => guestOf(vmid)?.status === 'running' && matches(vmid) });
    };
    const edit = () => {
      const vmid = pick();
      if (vmid === undefined) return;
      busy.add(vmid);
      const k = edits++;
      const w = { memory: 512 + 64 * (1 + (k % 7)), cores: 1 + (k % 3), tags: ['soak', `e${k % 5}`] };
      want.set(vmid, w);
      const t = performance.now();
      writeFileSync(join(dir, `ct${vmid - 1000}.yaml`), manifest(vmid - 1000, w));
      pending.push({ vmid, what: 'edit', t0: t, done: () => matches(vmid) });
    };

    const mem0 = memory();
    const series0 = await seriesCount(env);
    const events0 = eventCounts(env);
    const calls0 = env.h.stats().totalRequests;
    const cpu0 = process.cpuUsage();
    const s0 = Date.now();
    let injectErrors = 0;
    timers.push(setInterval(edit, o.editEveryMs));
    timers.push(setInterval(() => void inject().catch(() => injectErrors++), o.driftEveryMs));
    timers.push(setInterval(settle, 20));
    // series are also counted halfway: label sets first seen early in the soak (a task type, an API
    // path) may add series once; bounded means nothing is added per edit or drift after that
    await new Promise((r) => setTimeout(r, (o.seconds * 1000) / 2));
    const seriesMid = await seriesCount(env);
    await new Promise((r) => setTimeout(r, (o.seconds * 1000) / 2));
    timers.splice(0).forEach(clearInterval);
    const soakMs = Date.now() - s0;
    const cpu = process.cpuUsage(cpu0);
    const calls = env.h.stats().totalRequests - calls0;
    // what was injected near the end gets up to two resyncs to be corrected
    await waitFor(() => (settle(), pending.length === 0), 2 * o.resyncMs + 10_000);
    const open = pending.length;
    const mem1 = memory();
    const series1 = await seriesCount(env);
    const events1 = eventCounts(env);

    const guests = [...env.h.sim.guests.keys()].sort((a, b) => a - b);
    const expected = [800, 801, ...want.keys()].sort((a, b) => a - b);
    const missing = expected.filter((v) => !env.h.sim.guests.has(v)).length;
    const extra = guests.filter((v) => !expected.includes(v)).length;
    const twice = [...created.values()].filter((c) => c > 1).length;
    const broken = missing + extra + twice + destroyed;
    const ms = (v: number[], p: number) => (v.length ? `${quantile(v, p).toFixed(0)} ms` : 'n/a');
    row(`${label}: soak length / edits (one per ${o.editEveryMs} ms) / drift injected (one per ${o.driftEveryMs} ms: ${driftKinds.memory} memory, ${driftKinds.stopped} stopped, ${driftKinds.tags} tags)`, `${(soakMs / 1000).toFixed(0)} s / ${edits} / ${drifts}${injectErrors ? ` (${injectErrors} injections refused)` : ''}`);
    row(`${label}: invariants broken (guests ${guests.length} for ${expected.length} manifests: ${missing} missing, ${extra} without a manifest, ${twice} created twice, ${destroyed} destroyed)`, String(broken), '0', broken === 0 ? 'met' : 'gap');
    row(`${label}: edits applied / drift corrected (after the soak plus up to two resyncs)`, `${lat.edit.length}/${edits} / ${lat.drift.length}/${drifts}`, 'all', open === 0 ? 'met' : `gap (${open} open)`);
    row(`${label}: edit save-to-applied p50 / p99`, `${ms(lat.edit, 0.5)} / ${ms(lat.edit, 0.99)}`);
    row(`${label}: drift injected-to-corrected p50 / p99 (found by the resync every ${o.resyncMs / 1000} s)`, `${ms(lat.drift, 0.5)} / ${ms(lat.drift, 0.99)}`);
    row(`${label}: API calls / CPU (controller + pvesim in one process) during the soak`, `${calls} (${((calls * 1000) / soakMs).toFixed(0)}/s) / ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`);
    row(
      `${label}: heap / RSS at soak start → end (whole process: controller, pvesim, client${(globalThis as { gc?: unknown }).gc ? ', after a full GC' : ', no --expose-gc: includes garbage'})`,
      `${mem0.heapMiB.toFixed(0)} → ${mem1.heapMiB.toFixed(0)} MiB (${mem1.heapMiB - mem0.heapMiB >= 0 ? '+' : ''}${(mem1.heapMiB - mem0.heapMiB).toFixed(1)}) / ${mem0.rssMiB.toFixed(0)} → ${mem1.rssMiB.toFixed(0)} MiB (${mem1.rssMiB - mem0.rssMiB >= 0 ? '+' : ''}${(mem1.rssMiB - mem0.rssMiB).toFixed(0)})`,
    );
    // node's default metrics (nodejs_*, process_*) label what is in flight at scrape time (handle and
    // request types): bounded by libuv's types, and they wobble; judged are phoenix's own series
    const own = (m: Map<string, number>) => new Map([...m].filter(([k]) => !/^(nodejs|process)_/.test(k)));
    const [o0, oMid, o1] = [own(series0), own(seriesMid), own(series1)];
    const late = grown(oMid, o1);
    row(
      `${label}: Prometheus series of phoenix's own metrics, soak start → halfway → end (all series incl. node's defaults: ${total(series0)} → ${total(series1)})`,
      `${total(o0)} → ${total(oMid)} → ${total(o1)}${late ? ` (second half: ${late})` : ''}`,
      'no growth in the second half',
      total(o1) <= total(oMid) ? 'met' : `gap (+${total(o1) - total(oMid)})`,
    );
    row(
      `${label}: events stored, start → end (most for one resource)`,
      `${events0.total} → ${events1.total} (max ${events0.max} → ${events1.max})`,
      `≤ ${MAX_EVENTS_PER_RESOURCE} per resource`,
      events1.max <= MAX_EVENTS_PER_RESOURCE ? 'met' : 'gap',
    );
  } finally {
    timers.forEach(clearInterval);
    await pool.close();
    await env.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
