// A real Prometheus scrapes phoenix's HTTP endpoint while a fleet converges, then every query of the
// Grafana dashboard (and its variable queries) must return data from Prometheus's HTTP API.
// The fleet is a fake ControllerView plus real metric updates of a simulated converge: the controller
// runtime (controller/main.ts) had not landed on main when this was written. Once it has, the endpoint
// should be the real controller converging manifests/ on pvesim.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startHttpServer } from '../../controller/http.js';
import { createMetrics, initControllerSeries, CONTROLLER_NAMES } from '../../controller/metrics.js';
import type { Metrics } from '../../controller/metrics.js';
import { FakeView, cond } from '../helpers/fake-view.js';
import { loadDashboard, dashboardQueries, substitute, variableQuery } from '../helpers/dashboard.js';
import { prometheusMissing, startPrometheus } from '../helpers/prometheus.js';
import type { PromSample } from '../helpers/prometheus.js';
import { waitFor } from '../helpers/wait.js';

const JOB = 'phoenix';

/** One simulated reconcile: the metric updates a controller pass makes. */
function simulatePass(m: Metrics, i: number): void {
  const controller = CONTROLLER_NAMES[i % CONTROLLER_NAMES.length]!;
  const q = { name: controller, controller };
  m.workqueueAdds.inc(q);
  m.workqueueDepth.set(q, i % 3);
  m.workqueueQueueDuration.observe(q, 0.002);
  m.activeWorkers.set({ controller }, 1);
  m.reconcileTime.observe({ controller }, 0.05 + (i % 7) * 0.03);
  m.workqueueWorkDuration.observe(q, 0.05);
  m.pveApiRequests.inc({ method: 'GET', path: '/nodes/{node}/lxc/{vmid}/config', code: '200' });
  m.pveApiDuration.observe({ method: 'GET', path: '/nodes/{node}/lxc/{vmid}/config' }, 0.01);
  m.pveApiRequests.inc({ method: 'POST', path: '/nodes/{node}/lxc/{vmid}/clone', code: i % 5 === 0 ? '500' : '200' });
  m.pveApiDuration.observe({ method: 'POST', path: '/nodes/{node}/lxc/{vmid}/clone' }, 0.04);
  m.pveTaskDuration.observe({ type: i % 2 ? 'vzclone' : 'vzstart' }, 1.5);
  if (i % 4 === 0) {
    m.reconcileTotal.inc({ controller, result: 'error' });
    m.reconcileErrors.inc({ controller });
    m.workqueueRetries.inc(q);
  } else m.reconcileTotal.inc({ controller, result: i % 3 ? 'success' : 'requeue_after' });
  if (i % 10 === 0) m.driftCorrections.inc({ kind: 'LxcContainer' });
  m.activeWorkers.set({ controller }, 0);
}

test('every dashboard query returns data from a Prometheus scraping phoenix during a converge', async () => {
  const skip = prometheusMissing();
  if (skip) return void console.log(skip);
  const metrics = createMetrics();
  initControllerSeries(metrics, 2);
  const view = new FakeView();
  view.ready = false;
  const server = await startHttpServer({ listen: '127.0.0.1:0', view, metrics });
  const target = `127.0.0.1:${server.port}`;
  const prom = await startPrometheus(JOB, target);
  const started = Date.now();
  let i = 0;
  // the fleet converges: web's clone finishes and it becomes Ready; the first pass completes
  const converge = setInterval(() => {
    simulatePass(metrics, i++);
    if (i === 20) {
      const web = view.get({ kind: 'LxcContainer', name: 'web' })!;
      view.put({ ...web, status: { ...web.status, taskInFlight: undefined, powerState: 'running', conditions: [cond('Ready', 'True', 'ReconciliationSucceeded', 'running', 0)] } });
      view.ready = true;
    }
  }, 100);
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

    // the not-Ready table shows the stalled VM with its reason
    const table = queries.find((q) => q.panel === 'Resources not Ready')!;
    const rows = await prom.query(substitute(table.expr, vars));
    const k3s = rows.find((r) => r.metric.name === 'k3s');
    assert.ok(k3s, JSON.stringify(rows));
    assert.is(k3s.metric.status, 'False');
    assert.is(k3s.metric.reason, 'DiskShrinkRefused');

    // the template variables resolve to this job and instance
    for (const v of dash.templating.list.filter((x) => x.type === 'query')) {
      const m = /^label_values\((.+), (\w+)\)$/.exec(variableQuery(v));
      assert.ok(m, `variable ${v.name}: not a label_values() query`);
      const values = await prom.labelValues(m[2]!, substitute(m[1]!, vars));
      assert.ok(values.includes(m[2] === 'job' ? JOB : target), `variable ${v.name}: ${JSON.stringify(values)}`);
    }
  } finally {
    clearInterval(converge);
    await prom.stop();
    await server.close();
  }
});

test.run();
