// A real Prometheus scrapes phoenix's HTTP endpoint while a fleet converges, then every query of the
// Grafana dashboard (and its variable queries) must return data from Prometheus's HTTP API.
// The endpoint is the real controller (runtime, reconcilers and embedded CA, in-process) converging the
// example fleet (manifests/) on pvesim, slowed so that Prometheus scrapes it mid-converge.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startHttpServer } from '../../controller/http.js';
import { exampleFleet, startConverge } from '../helpers/converge.js';
import { loadDashboard, dashboardQueries, substitute, variableQuery } from '../helpers/dashboard.js';
import { prometheusMissing, startPrometheus } from '../helpers/prometheus.js';
import type { PromSample } from '../helpers/prometheus.js';
import { waitFor } from '../helpers/wait.js';

const JOB = 'phoenix';

test('every dashboard query returns data from a Prometheus scraping phoenix during a converge', async () => {
  const skip = prometheusMissing();
  if (skip) return void console.log(skip);
  const fleet = exampleFleet();
  // guest tasks take seconds: the converge outlasts Prometheus's start and several scrapes
  const c = await startConverge({ manifestsDir: fleet.manifestsDir, storages: fleet.storages, allowedHostPaths: fleet.allowedHostPaths, ca: true, timeScale: 0.5, concurrency: 2 });
  const server = await startHttpServer({ listen: '127.0.0.1:0', view: c.rt, metrics: c.metrics });
  const target = `127.0.0.1:${server.port}`;
  const prom = await startPrometheus(JOB, target);
  const started = Date.now();
  try {
    await waitFor('Prometheus to scrape phoenix', async () => {
      const up = await prom.query(`up{job="${JOB}"}`);
      return up.length === 1 && up[0]!.value[1] === '1';
    }, 30_000, 200);

    const vars = { job: JOB, instance: target.replaceAll('.', '\\\\.'), window: '1m' };
    const dash = loadDashboard();
    const queries = dashboardQueries(dash);
    assert.ok(queries.length >= 15, `only ${queries.length} queries`);
    const pending = new Map(queries.map((q) => [`${q.panel} ${q.refId}`, substitute(q.expr, vars)]));
    const last = new Map<string, PromSample[] | string>();
    try {
      await waitFor('every dashboard query to return finite data', async () => {
        for (const [name, expr] of pending) {
          let result: PromSample[] | string;
          try {
            result = await prom.query(expr);
          } catch (e) {
            result = (e as Error).message;
          }
          last.set(name, result);
          if (Array.isArray(result) && result.some((s) => Number.isFinite(Number(s.value[1])))) pending.delete(name);
        }
        return pending.size === 0;
      }, 90_000, 500);
    } catch (e) {
      const detail = [...pending].map(([n, expr]) => `${n}: ${expr}\n  -> ${JSON.stringify(last.get(n))}`).join('\n');
      throw new Error(`${(e as Error).message}\n${detail}\n${prom.logs()}`);
    }
    console.log(`figure: prometheus e2e: ${queries.length} dashboard queries returned data ${((Date.now() - started) / 1000).toFixed(1)}s after Prometheus started (scrape interval 1s)`);

    // the converge finishes, and Prometheus sees the whole fleet Ready and the CA's certificates
    await waitFor('the fleet Ready in Prometheus', async () => {
      const ready = await prom.query(`sum(phoenix_resource_condition{job="${JOB}",type="Ready",status="True"})`);
      return c.rt.isReady() && ready.length === 1 && ready[0]!.value[1] === '8'; // 7 guests and the CA
    }, 120_000, 500);
    const expiry = await prom.query(substitute(queries.find((q) => q.panel === 'Certificate expiry')!.expr, vars));
    assert.equal(expiry.map((r) => r.metric.certificate).sort(), ['nginx', 'portainer', 'traefik']);
    for (const r of expiry) assert.ok(Number(r.value[1]) > 23 * 3600 && Number(r.value[1]) <= 24 * 3600, JSON.stringify(r));

    // the template variables resolve to this job and instance
    for (const v of dash.templating.list.filter((x) => x.type === 'query')) {
      const m = /^label_values\((.+), (\w+)\)$/.exec(variableQuery(v));
      assert.ok(m, `variable ${v.name}: not a label_values() query`);
      const values = await prom.labelValues(m[2]!, substitute(m[1]!, vars));
      assert.ok(values.includes(m[2] === 'job' ? JOB : target), `variable ${v.name}: ${JSON.stringify(values)}`);
    }
  } finally {
    await prom.stop();
    await server.close();
    await c.close();
    fleet.remove();
  }
});

test.run();
