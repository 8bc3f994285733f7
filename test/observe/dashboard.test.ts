// dashboards/phoenix.json: valid against a JSON Schema of Grafana's dashboard model (10/11,
// schemaVersion 39+), laid out without overlaps, wired to the job/instance variables, and querying
// only metrics phoenix exports.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { createMetrics } from '../../controller/metrics.js';
import { ROOT } from '../helpers/cli.js';
import { loadDashboard, allPanels, dashboardQueries, metricNames, selectors, variableQuery } from '../helpers/dashboard.js';

const schema = JSON.parse(readFileSync(join(ROOT, 'test', 'schemas', 'grafana-dashboard.schema.json'), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

test('the dashboard validates against the Grafana dashboard schema', () => {
  const ok = validate(loadDashboard());
  assert.ok(ok, JSON.stringify(validate.errors, null, 2));
});

test('the schema rejects what Grafana 10/11 would not load', () => {
  const broken: [string, (d: Record<string, any>) => void][] = [
    ['old schemaVersion', (d) => (d.schemaVersion = 38)],
    ['no graphTooltip', (d) => delete d.graphTooltip],
    ['panel without fieldConfig', (d) => delete d.panels[1].fieldConfig],
    ['panel wider than the grid', (d) => (d.panels[1].gridPos.w = 25)],
    ['empty panel type', (d) => (d.panels[1].type = '')],
    ['deprecated graph panel', (d) => (d.panels[1].type = 'graph')],
    ['target without refId', (d) => delete d.panels[1].targets[0].refId],
    ['unknown variable type', (d) => (d.templating.list[1].type = 'promql')],
    ['row without panels', (d) => delete d.panels[0].panels],
  ];
  for (const [what, mutate] of broken) {
    const d = loadDashboard() as unknown as Record<string, any>;
    mutate(d);
    assert.not.ok(validate(d), `schema accepted: ${what}`);
  }
});

test('panel ids are unique and panels do not overlap', () => {
  const panels = allPanels(loadDashboard());
  const ids = panels.map((p) => p.id);
  assert.is(new Set(ids).size, ids.length);
  const cells = new Map<string, string>();
  for (const p of panels) {
    const g = p.gridPos;
    assert.ok(g.x + g.w <= 24, `${p.title} runs off the grid`);
    for (let x = g.x; x < g.x + g.w; x++)
      for (let y = g.y; y < g.y + g.h; y++) {
        const k = `${x},${y}`;
        assert.not.ok(cells.has(k), `${p.title} overlaps ${cells.get(k)}`);
        cells.set(k, p.title);
      }
  }
});

test('job and instance variables exist and every selector uses them', () => {
  const d = loadDashboard();
  const names = d.templating.list.map((v) => v.name);
  for (const n of ['datasource', 'job', 'instance']) assert.ok(names.includes(n), n);
  for (const q of dashboardQueries(d)) {
    const sels = selectors(q.expr);
    assert.ok(sels.length > 0, `${q.panel}: no selector`);
    for (const s of sels) {
      assert.ok(s.includes('job=~"$job"'), `${q.panel}: selector {${s}} ignores $job`);
      assert.ok(s.includes('instance=~"$instance"'), `${q.panel}: selector {${s}} ignores $instance`);
    }
  }
});

test('every metric the dashboard queries is exported by phoenix', async () => {
  const exported = new Set<string>();
  for (const m of await createMetrics().registry.getMetricsAsJSON()) {
    exported.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(m.name + s);
  }
  const d = loadDashboard();
  const used = [...dashboardQueries(d).map((q) => q.expr), ...d.templating.list.map(variableQuery)].flatMap(metricNames);
  for (const name of used) assert.ok(exported.has(name), `the dashboard queries ${name}, which phoenix does not export`);
});

test('the dashboard covers what operators ask for', () => {
  const exprs = dashboardQueries(loadDashboard()).map((q) => q.expr);
  const has = (re: RegExp) => exprs.some((e) => re.test(e));
  assert.ok(has(/phoenix_resource_condition\{[^}]*type="Ready"/), 'fleet readiness');
  assert.ok(has(/phoenix_resource_condition_reason/), 'not-Ready reasons');
  assert.ok(has(/rate\(controller_runtime_reconcile_total/), 'reconcile rate');
  assert.ok(has(/controller_runtime_reconcile_errors_total/), 'reconcile errors');
  for (const q of ['0.5', '0.9', '0.99']) assert.ok(has(new RegExp(`histogram_quantile\\(${q.replace('.', '\\.')}, sum by \\(le, controller\\) \\(rate\\(controller_runtime_reconcile_time_seconds_bucket`)), `reconcile P${q}`);
  assert.ok(has(/workqueue_depth/) && has(/workqueue_retries_total/), 'queue depth and retries');
  assert.ok(has(/by \(le, path\) \(rate\(phoenix_pve_api_request_duration_seconds_bucket/), 'API latency by path');
  assert.ok(has(/by \(path\) \(rate\(phoenix_pve_api_requests_total\{[^}]*code!~"2\.\."/), 'API error rate by path');
  assert.ok(has(/by \(le, type\) \(rate\(phoenix_pve_task_duration_seconds_bucket/), 'task durations by type');
  assert.ok(has(/phoenix_drift_corrections_total/), 'drift corrections');
  assert.ok(has(/phoenix_certificate_expiry_timestamp_seconds/), 'certificate expiry');
});

test.run();
