// A real Prometheus server for end-to-end tests: temp config and TSDB, loopback port, short scrape
// interval. Skips (or, under CI=true, fails) when /usr/bin/prometheus is missing.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait.js';

export const PROMETHEUS = process.env.PHOENIX_PROMETHEUS ?? '/usr/bin/prometheus';

/** undefined when Prometheus may run; a skip message otherwise. Throws under CI=true when missing. */
export function prometheusMissing(): string | undefined {
  if (existsSync(PROMETHEUS)) return undefined;
  if (process.env.CI === 'true') throw new Error(`${PROMETHEUS} is missing and CI=true: install Debian's prometheus package`);
  return `skip: ${PROMETHEUS} not installed`;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusHandle {
  url: string;
  query(expr: string): Promise<PromSample[]>;
  labelValues(label: string, match: string): Promise<string[]>;
  stop(): Promise<void>;
  logs(): string;
}

export async function startPrometheus(job: string, target: string, scrapeInterval = '1s'): Promise<PrometheusHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'phoenix-prom-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      `  scrape_interval: ${scrapeInterval}`,
      `  evaluation_interval: ${scrapeInterval}`,
      'scrape_configs:',
      `  - job_name: ${job}`,
      `    scrape_interval: ${scrapeInterval}`,
      `    scrape_timeout: ${scrapeInterval}`,
      '    static_configs:',
      `      - targets: ['${target}']`,
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let out = '';
  const child: ChildProcess = spawn(
    PROMETHEUS,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', '--storage.tsdb.retention.time=1h'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor('prometheus to be ready', async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${out}`);
      return (await fetch(`${url}/-/ready`)).ok;
    }, 30_000, 100);
  } catch (e) {
    await stop();
    throw e;
  }
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    query: async (expr) => (await api<{ result: PromSample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    labelValues: (label, match) => api<string[]>(`/api/v1/label/${label}/values?match[]=${encodeURIComponent(match)}`),
    stop,
    logs: () => out,
  };
}
