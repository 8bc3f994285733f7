// The status API over a fake view: routes, kubernetes-style errors, the auth rules, watch streams,
// and the per-resource metrics (including that a deleted resource's series disappear).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startHttpServer, API_PREFIX, parseListen, isLoopbackHost } from '../../controller/http.js';
import type { HttpServerHandle } from '../../controller/http.js';
import { createMetrics, initControllerSeries } from '../../controller/metrics.js';
import type { Logger } from '../../controller/types.js';
import { FakeView, fleet } from '../helpers/fake-view.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 's3cr3t-token-for-tests-0123456789';

function capturingLogger(lines: string[]): Logger {
  const rec = (level: string) => (msg: string, fields?: Record<string, unknown>) => void lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  return { info: rec('info'), warn: rec('warn'), error: rec('error'), debug: rec('debug') };
}

async function withServer(
  opts: { listen?: string; token?: string; allowUnauthenticated?: boolean; view?: FakeView; logs?: string[] },
  body: (h: HttpServerHandle, view: FakeView, base: string) => Promise<void>,
): Promise<void> {
  const view = opts.view ?? new FakeView();
  const metrics = createMetrics();
  initControllerSeries(metrics, 1);
  const h = await startHttpServer({
    listen: opts.listen ?? '127.0.0.1:0',
    view,
    metrics,
    token: opts.token,
    allowUnauthenticated: opts.allowUnauthenticated,
    log: capturingLogger(opts.logs ?? []),
  });
  try {
    await body(h, view, `http://127.0.0.1:${h.port}`);
  } finally {
    await h.close();
  }
}

const auth = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });

test('parseListen and isLoopbackHost', () => {
  assert.equal(parseListen('127.0.0.1:9750'), { host: '127.0.0.1', port: 9750 });
  assert.equal(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.equal(parseListen(':9750'), { host: '', port: 9750 });
  assert.throws(() => parseListen('9750'), /invalid listen address "9750"/);
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '10.0.0.1', '::', '', 'example.org', '128.0.0.1']) assert.not.ok(isLoopbackHost(h), h);
});

test('loopback without a token: the API answers', async () => {
  await withServer({}, async (_h, _v, base) => {
    const res = await fetch(`${base}${API_PREFIX}/lxccontainers`);
    assert.is(res.status, 200);
    const body = (await res.json()) as { kind: string; items: { metadata: { name: string } }[] };
    assert.is(body.kind, 'LxcContainerList');
    assert.equal(body.items.map((i) => i.metadata.name).sort(), ['dns', 'web']);
  });
});

test('non-loopback without a token refuses to start, unless explicitly allowed', async () => {
  const view = new FakeView();
  const metrics = createMetrics();
  for (const listen of ['0.0.0.0:0', ':0']) {
    try {
      await startHttpServer({ listen, view, metrics });
      assert.unreachable('started without a token');
    } catch (e) {
      assert.match((e as Error).message, /refusing to serve the status API on non-loopback address/);
      assert.match((e as Error).message, /PHOENIX_API_TOKEN/);
    }
  }
  const logs: string[] = [];
  await withServer({ listen: '0.0.0.0:0', allowUnauthenticated: true, logs }, async (_h, _v, base) => {
    assert.is((await fetch(`${base}${API_PREFIX}/templates`)).status, 200);
  });
  assert.ok(logs.some((l) => l.startsWith('warn') && l.includes('without authentication')));
});

test('with a token: missing or wrong bearer is 401, the right one passes; probes and metrics stay open', async () => {
  const logs: string[] = [];
  await withServer({ listen: '0.0.0.0:0', token: TOKEN, logs }, async (_h, _v, base) => {
    const url = `${base}${API_PREFIX}/lxccontainers/web`;
    const none = await fetch(url);
    assert.is(none.status, 401);
    assert.is(none.headers.get('www-authenticate'), 'Bearer realm="phoenix"');
    assert.equal(await none.json(), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    assert.is((await fetch(url, auth('wrong'))).status, 401);
    assert.is((await fetch(url, auth(`${TOKEN}x`))).status, 401);
    assert.is((await fetch(url, { headers: { authorization: TOKEN } })).status, 401);
    assert.is((await fetch(`${base}${API_PREFIX}/diff`, { method: 'POST', body: '[]' })).status, 401);
    const ok = await fetch(url, auth(TOKEN));
    assert.is(ok.status, 200);
    assert.is(((await ok.json()) as { metadata: { name: string } }).metadata.name, 'web');
    for (const p of ['/healthz', '/readyz', '/metrics']) assert.is((await fetch(`${base}${p}`)).status, 200, p);
  });
  // A token also protects a loopback bind.
  await withServer({ token: TOKEN, logs }, async (_h, _v, base) => {
    assert.is((await fetch(`${base}${API_PREFIX}/templates`)).status, 401);
    assert.is((await fetch(`${base}${API_PREFIX}/templates`, auth(TOKEN))).status, 200);
  });
  assert.ok(logs.length > 0);
  assert.not.ok(logs.some((l) => l.includes(TOKEN)), 'the token appears in a log line');
});

test('kubernetes-style errors: NotFound, unknown resource, method, bad selector', async () => {
  await withServer({}, async (_h, _v, base) => {
    const nf = await fetch(`${base}${API_PREFIX}/lxccontainers/nope`);
    assert.is(nf.status, 404);
    const body = (await nf.json()) as Record<string, unknown>;
    assert.is(body.kind, 'Status');
    assert.is(body.status, 'Failure');
    assert.is(body.reason, 'NotFound');
    assert.is(body.message, 'lxccontainers "nope" not found');
    assert.is(body.code, 404);
    assert.is((await fetch(`${base}${API_PREFIX}/pods`)).status, 404);
    assert.is((await fetch(`${base}${API_PREFIX}/lxccontainers/nope/events`)).status, 404);
    assert.is((await fetch(`${base}${API_PREFIX}/lxccontainers/nope/reconcile`, { method: 'POST' })).status, 404);
    assert.is((await fetch(`${base}${API_PREFIX}/lxccontainers/web/reconcile`)).status, 405);
    const bad = await fetch(`${base}${API_PREFIX}/lxccontainers?labelSelector=${encodeURIComponent('a b c')}`);
    assert.is(bad.status, 400);
    assert.is(((await bad.json()) as { reason: string }).reason, 'BadRequest');
  });
});

test('probes follow the view', async () => {
  const view = new FakeView();
  view.ready = false;
  await withServer({ view }, async (_h, v, base) => {
    assert.is((await fetch(`${base}/readyz`)).status, 503);
    v.ready = true;
    assert.is((await fetch(`${base}/readyz`)).status, 200);
    v.healthy = false;
    assert.is((await fetch(`${base}/healthz`)).status, 500);
  });
});

test('label selectors, events, discovery, manifest errors', async () => {
  await withServer({}, async (_h, v, base) => {
    const sel = await fetch(`${base}${API_PREFIX}/lxccontainers?labelSelector=${encodeURIComponent('tier notin (infra)')}`);
    assert.equal(((await sel.json()) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name), ['web']);
    const ev = (await (await fetch(`${base}${API_PREFIX}/lxccontainers/web/events`)).json()) as { kind: string; items: { reason: string; count: number; involvedObject: { name: string } }[] };
    assert.is(ev.kind, 'EventList');
    assert.equal(ev.items.map((e) => [e.reason, e.count, e.involvedObject.name]), [['CloneStarted', 1, 'web'], ['DependencyNotReady', 3, 'web']]);
    const disc = (await (await fetch(`${base}${API_PREFIX}`)).json()) as { resources: { name: string; shortNames: string[] }[] };
    assert.equal(disc.resources.map((r) => r.name), ['templates', 'lxccontainers', 'virtualmachines', 'certificateauthorities']);
    v.errors = [{ file: 'manifests/x.yaml', line: 3, col: 1, path: 'spec.memory', message: 'must be >= 16' }];
    const me = (await (await fetch(`${base}${API_PREFIX}/manifesterrors`)).json()) as { items: unknown[] };
    assert.is(me.items.length, 1);
  });
});

test('reconcile queues the resource; diff returns Plan[] and rejects bad bodies', async () => {
  await withServer({}, async (_h, v, base) => {
    const rec = await fetch(`${base}${API_PREFIX}/virtualmachines/k3s/reconcile`, { method: 'POST' });
    assert.is(rec.status, 202);
    assert.equal(v.reconcileRequests, [{ kind: 'VirtualMachine', name: 'k3s' }]);
    const web = fleet().find((r) => r.metadata.name === 'web')!;
    const desired = { apiVersion: web.apiVersion, kind: web.kind, metadata: { name: 'web' }, spec: { ...(web.spec as object), memory: 4096 } };
    const res = await fetch(`${base}${API_PREFIX}/diff`, { method: 'POST', body: JSON.stringify({ items: [desired] }), headers: { 'content-type': 'application/json' } });
    assert.is(res.status, 200);
    const plans = (await res.json()) as { ref: { name: string }; steps: { changes: { field: string; from: number; to: number }[] }[] }[];
    assert.is(plans.length, 1);
    assert.equal(plans[0]!.steps[0]!.changes, [{ field: 'memory', from: 2048, to: 4096 }]);
    for (const body of ['{', '{"items": 3}', '[{"kind":"Pod","apiVersion":"phoenix.hypervisor/v1alpha1","metadata":{"name":"x"}}]', '[{"kind":"LxcContainer","apiVersion":"v1","metadata":{"name":"x"}}]']) {
      const r = await fetch(`${base}${API_PREFIX}/diff`, { method: 'POST', body });
      assert.is(r.status, 400, body);
      assert.is(((await r.json()) as { reason: string }).reason, 'BadRequest');
    }
  });
});

/** Reads NDJSON lines from a streaming response into `out`. */
function collectLines(res: Response, out: unknown[]): Promise<void> {
  return (async () => {
    const dec = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += dec.decode(chunk, { stream: true });
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          out.push(JSON.parse(buf.slice(0, i)));
          buf = buf.slice(i + 1);
        }
      }
    } catch {
      // aborted
    }
  })();
}

test('watch streams ADDED for the current state, then MODIFIED and DELETED; a closed client unsubscribes', async () => {
  await withServer({}, async (_h, v, base) => {
    const ac = new AbortController();
    const res = await fetch(`${base}${API_PREFIX}/lxccontainers?watch=1`, { signal: ac.signal });
    assert.is(res.headers.get('content-type'), 'application/x-ndjson');
    const got: { type: string; object: { kind: string; metadata: { name: string }; status: { powerState?: string } } }[] = [];
    const done = collectLines(res, got);
    await waitFor('initial ADDED events', () => got.length >= 2);
    assert.equal(got.map((e) => [e.type, e.object.metadata.name]).sort(), [['ADDED', 'dns'], ['ADDED', 'web']]);
    const web = v.get({ kind: 'LxcContainer', name: 'web' })!;
    v.put({ ...web, status: { ...web.status, powerState: 'running' } });
    v.put({ ...fleet()[0]!, metadata: { ...fleet()[0]!.metadata, name: 'other-template' } }); // another kind: filtered out
    v.remove({ kind: 'LxcContainer', name: 'dns' });
    await waitFor('MODIFIED and DELETED', () => got.length >= 4);
    assert.equal(got.slice(2).map((e) => [e.type, e.object.metadata.name]), [['MODIFIED', 'web'], ['DELETED', 'dns']]);
    assert.is(got[2]!.object.status.powerState, 'running');
    assert.is(v.watcherCount(), 1);
    ac.abort();
    await done;
    await waitFor('the server to drop the watcher', () => v.watcherCount() === 0);
  });
});

test('a named watch only streams that resource', async () => {
  await withServer({}, async (_h, v, base) => {
    const ac = new AbortController();
    const res = await fetch(`${base}${API_PREFIX}/lxccontainers/web?watch=true`, { signal: ac.signal });
    const got: { type: string; object: { metadata: { name: string } } }[] = [];
    const done = collectLines(res, got);
    await waitFor('initial event', () => got.length >= 1);
    v.put({ ...v.get({ kind: 'LxcContainer', name: 'dns' })! });
    v.put({ ...v.get({ kind: 'LxcContainer', name: 'web' })! });
    await waitFor('MODIFIED web', () => got.length >= 2);
    assert.equal(got.map((e) => e.object.metadata.name), ['web', 'web']);
    ac.abort();
    await done;
  });
});

test('watch as Server-Sent Events when the client asks for text/event-stream', async () => {
  await withServer({}, async (_h, v, base) => {
    const ac = new AbortController();
    const res = await fetch(`${base}${API_PREFIX}/virtualmachines?watch=1`, { signal: ac.signal, headers: { accept: 'text/event-stream' } });
    assert.is(res.headers.get('content-type'), 'text/event-stream');
    let text = '';
    const reading = (async () => {
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) text += Buffer.from(chunk).toString();
      } catch {
        // aborted
      }
    })();
    await waitFor('the ADDED event', () => text.includes('\n\n'));
    v.remove({ kind: 'VirtualMachine', name: 'k3s' });
    await waitFor('the DELETED event', () => text.split('\n\n').length >= 3);
    const events = text.split('\n\n').filter(Boolean).map((block) => {
      const [ev, data] = block.split('\n');
      return [ev, (JSON.parse(data!.replace(/^data: /, '')) as { type: string; object: { metadata: { name: string } } })] as const;
    });
    assert.equal(events.map(([ev, d]) => [ev, d.type, d.object.metadata.name]), [['event: ADDED', 'ADDED', 'k3s'], ['event: DELETED', 'DELETED', 'k3s']]);
    ac.abort();
    await reading;
  });
});

test('close() ends open watch streams', async () => {
  const view = new FakeView();
  const h = await startHttpServer({ listen: '127.0.0.1:0', view, metrics: createMetrics() });
  const res = await fetch(`http://127.0.0.1:${h.port}${API_PREFIX}/templates?watch=1`);
  const got: unknown[] = [];
  const done = collectLines(res, got);
  await waitFor('initial event', () => got.length >= 1);
  await h.close();
  await done;
  assert.is(view.watcherCount(), 0);
});

function series(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

test('metrics: one-hot conditions, info, reasons, certificate expiry and manifest errors follow the view; deleted resources disappear', async () => {
  await withServer({}, async (_h, v, base) => {
    v.errors = [{ file: 'a.yaml', line: 1, col: 1, path: '', message: 'x' }, { file: 'b.yaml', line: 1, col: 1, path: '', message: 'y' }];
    let text = await (await fetch(`${base}/metrics`)).text();
    assert.ok(series(text, 'phoenix_resource_condition').includes('phoenix_resource_condition{kind="VirtualMachine",name="k3s",type="Stalled",status="True"} 1'));
    assert.ok(series(text, 'phoenix_resource_condition').includes('phoenix_resource_condition{kind="VirtualMachine",name="k3s",type="Ready",status="True"} 0'));
    // a CA without Reconciling/Stalled conditions still reports them, as Unknown
    assert.ok(series(text, 'phoenix_resource_condition').includes('phoenix_resource_condition{kind="CertificateAuthority",name="fleet-ca",type="Stalled",status="Unknown"} 1'));
    assert.is(series(text, 'phoenix_resource_condition').length, 5 * 3 * 3);
    assert.ok(series(text, 'phoenix_resource_info').includes('phoenix_resource_info{kind="LxcContainer",name="web",vmid="103",node="pve1"} 1'));
    assert.ok(text.includes('phoenix_resource_condition_reason{kind="VirtualMachine",name="k3s",type="Ready",reason="DiskShrinkRefused"} 1'));
    const expiry = series(text, 'phoenix_certificate_expiry_timestamp_seconds');
    assert.is(expiry.length, 1);
    assert.match(expiry[0]!, /^phoenix_certificate_expiry_timestamp_seconds\{ca="fleet-ca",certificate="web"\} 1768557600$/);
    assert.ok(text.includes('phoenix_manifest_errors 2'));

    // the VM moves node and is then deleted; web's reason changes
    const k3s = v.get({ kind: 'VirtualMachine', name: 'k3s' })!;
    v.put({ ...k3s, status: { ...k3s.status, node: 'pve3' } });
    text = await (await fetch(`${base}/metrics`)).text();
    assert.equal(series(text, 'phoenix_resource_info').filter((l) => l.includes('name="k3s"')), ['phoenix_resource_info{kind="VirtualMachine",name="k3s",vmid="9000",node="pve3"} 1']);
    v.remove({ kind: 'VirtualMachine', name: 'k3s' });
    v.remove({ kind: 'CertificateAuthority', name: 'fleet-ca' });
    v.errors = [];
    text = await (await fetch(`${base}/metrics`)).text();
    assert.not.ok(text.includes('name="k3s"'), 'series of a deleted resource survive');
    assert.is(series(text, 'phoenix_certificate_expiry_timestamp_seconds').length, 0);
    assert.is(series(text, 'phoenix_resource_condition').length, 3 * 3 * 3);
    assert.ok(text.includes('phoenix_manifest_errors 0'));
  });
});

test('metrics: a reason that is not a CamelCase constant is reported as Other (bounded labels)', async () => {
  await withServer({}, async (_h, v, base) => {
    const web = v.get({ kind: 'LxcContainer', name: 'web' })!;
    v.put({ ...web, status: { ...web.status, conditions: [{ ...web.status.conditions[0]!, reason: 'failed: task UPID:pve1:1234' }] } });
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.ok(text.includes('phoenix_resource_condition_reason{kind="LxcContainer",name="web",type="Ready",reason="Other"} 1'));
    assert.not.ok(text.includes('UPID'));
  });
});

const PROMTOOL = '/usr/bin/promtool';

test('promtool check metrics passes on a scrape', async () => {
  if (!existsSync(PROMTOOL)) {
    if (process.env.CI === 'true') assert.unreachable(`${PROMTOOL} is missing (CI=true)`);
    console.log(`skip: ${PROMTOOL} not installed`);
    return;
  }
  await withServer({}, async (_h, _v, base) => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const child = execFile(PROMTOOL, ['check', 'metrics']);
    const result = new Promise<{ code: number | null; out: string }>((resolve) => {
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      child.on('close', (code) => resolve({ code, out }));
    });
    child.stdin!.end(text);
    const { code, out } = await result;
    assert.is(code, 0, `promtool check metrics failed:\n${out}`);
    assert.is(out.trim(), '', `promtool reported problems:\n${out}`);
  });
});

test.run();
