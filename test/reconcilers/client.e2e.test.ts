// The Proxmox client layer against pvesim over real HTTPS: TLS verification (pin, CA, refusals),
// token hygiene, metrics labels, error classification, the task waiter, proxmox-api's silent retry.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMetrics } from '../../controller/metrics.js';
import { createPveClient, pveConfigFromEnv, PveConfigError } from '../../controller/pve/client.js';
import { PveError, TaskDeadlineError, TaskFailedError } from '../../controller/pve/errors.js';
import { waitTask } from '../../controller/pve/tasks.js';
import { startSim, type SimHandle } from '../../pvesim/index.js';
import { fingerprintOf, generateCert } from '../../pvesim/tls.js';
import { FAST_POLLING, TIME_SCALE, exitSoonAfterSuite } from './harness.js';

const OSTPL = 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst';
let sim: SimHandle;
/** Another certificate (same host), i.e. the wrong pin or the wrong CA. */
let other: { certPem: string; fingerprint: string };
const dir = mkdtempSync(join(tmpdir(), 'phoenix-client-'));

test.before(async () => {
  sim = await startSim({ timeScale: TIME_SCALE, seed: 3 });
  const c = await generateCert(['127.0.0.1']);
  other = { certPem: c.certPem, fingerprint: fingerprintOf(c.certPem) };
  sim.sim.addGuest('pve', 'lxc', 500, { hostname: 't', memory: '512', rootfs: 'local-lvm:vm-500-disk-0,size=2G', arch: 'amd64', ostype: 'debian' });
});
test.after(async () => {
  await sim.close();
  exitSoonAfterSuite();
});

const env = (extra: Record<string, string>) => ({ PHOENIX_PVE_URL: sim.url, PHOENIX_PVE_TOKEN: sim.token, ...extra });

async function refusal(extra: Record<string, string>): Promise<PveError> {
  const pve = createPveClient(pveConfigFromEnv(env(extra)), undefined, { log: { warn: () => {} } });
  try {
    await pve.clusterGuests();
  } catch (e) {
    return e as PveError;
  } finally {
    await pve.close();
  }
  throw new Error('expected a refusal');
}

test('a pinned fingerprint connects; a wrong pin refuses with a clear error', async () => {
  const ok = createPveClient(pveConfigFromEnv(env({ PHOENIX_PVE_FINGERPRINT: sim.fingerprint })));
  assert.ok(Array.isArray(await ok.clusterGuests()));
  await ok.close();
  const e = await refusal({ PHOENIX_PVE_FINGERPRINT: other.fingerprint });
  assert.instance(e, PveError);
  assert.is(e.kind, 'TlsVerification');
  assert.match(e.message, 'fingerprint mismatch');
  assert.match(e.message, sim.fingerprint);
  assert.is(e.retryable, false);
});

test('a CA file is trusted; a different CA or the system store refuses', async () => {
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, sim.certPem);
  const ok = createPveClient(pveConfigFromEnv(env({ PHOENIX_PVE_CA_FILE: ca })));
  assert.ok(Array.isArray(await ok.nodes()));
  await ok.close();
  const wrong = join(dir, 'wrong.pem');
  writeFileSync(wrong, other.certPem);
  const e = await refusal({ PHOENIX_PVE_CA_FILE: wrong });
  assert.is(e.kind, 'TlsVerification', e.message);
  const sys = await refusal({});
  assert.is(sys.kind, 'TlsVerification', sys.message);
});

test('PHOENIX_PVE_INSECURE=1 works and warns at start', async () => {
  const warnings: string[] = [];
  const pve = createPveClient(pveConfigFromEnv(env({ PHOENIX_PVE_INSECURE: '1' })), undefined, { log: { warn: (m) => void warnings.push(m) } });
  assert.ok(Array.isArray(await pve.clusterGuests()));
  assert.is(warnings.length, 1);
  assert.match(warnings[0]!, 'NOT verified');
  await pve.close();
});

test('configuration errors name the variable and never echo the token', () => {
  const secret = sim.tokenSecret;
  const bad = (e: Record<string, string | undefined>) => {
    try {
      pveConfigFromEnv(e);
    } catch (x) {
      assert.instance(x, PveConfigError);
      assert.not.match((x as Error).message, secret);
      return (x as Error).message;
    }
    throw new Error('expected an error');
  };
  assert.match(bad({}), 'PHOENIX_PVE_URL');
  assert.match(bad({ PHOENIX_PVE_URL: 'http://x:8006', PHOENIX_PVE_TOKEN: sim.token }), 'https');
  assert.match(bad({ PHOENIX_PVE_URL: sim.url, PHOENIX_PVE_TOKEN: `${sim.tokenId}=${secret.toUpperCase()}` }), 'PHOENIX_PVE_TOKEN');
  assert.match(bad({ PHOENIX_PVE_URL: sim.url, PHOENIX_PVE_TOKEN: sim.token, PHOENIX_PVE_FINGERPRINT: 'AB:CD' }), 'PHOENIX_PVE_FINGERPRINT');
  assert.match(bad({ PHOENIX_PVE_URL: sim.url, PHOENIX_PVE_TOKEN: sim.token, PHOENIX_PVE_CA_FILE: '/nonexistent/ca.pem' }), 'PHOENIX_PVE_CA_FILE');
  assert.match(bad({ PHOENIX_PVE_URL: sim.url, PHOENIX_PVE_TOKEN: sim.token, PHOENIX_PVE_INSECURE: '1', PHOENIX_PVE_FINGERPRINT: sim.fingerprint }), 'only one');
});

test('a rejected token is Unauthorized, and no secret reaches the error', async () => {
  const wrongSecret = '00000000-1111-2222-3333-444444444444';
  const pve = createPveClient(pveConfigFromEnv({ PHOENIX_PVE_URL: sim.url, PHOENIX_PVE_TOKEN: `${sim.tokenId}=${wrongSecret}`, PHOENIX_PVE_FINGERPRINT: sim.fingerprint }));
  try {
    await pve.clusterGuests();
    assert.unreachable();
  } catch (e) {
    assert.instance(e, PveError);
    assert.is((e as PveError).kind, 'Unauthorized');
    assert.not.match((e as Error).message, wrongSecret);
    assert.not.match(JSON.stringify(e), wrongSecret);
  } finally {
    await pve.close();
  }
});

test('errors are classified from real answers; metrics carry path templates and codes, never ids', async () => {
  const metrics = createMetrics();
  const pve = createPveClient(pveConfigFromEnv(env({ PHOENIX_PVE_FINGERPRINT: sim.fingerprint })), metrics);
  try {
    await pve.guestConfig('pve', 'lxc', 4242);
    assert.unreachable();
  } catch (e) {
    assert.is((e as PveError).kind, 'NotFound');
  }
  try {
    await pve.updateConfig('pve', 'lxc', 500, { delete: 'bogus' });
    assert.unreachable();
  } catch (e) {
    assert.is((e as PveError).kind, 'Invalid');
    assert.match((e as PveError).paramErrors.delete ?? '', "unknown option 'bogus'");
  }
  const text = await metrics.registry.metrics();
  assert.match(text, /phoenix_pve_api_requests_total\{method="GET",path="\/nodes\/\{node\}\/lxc\/\{vmid\}\/config",code="500"\} 1/);
  assert.match(text, /phoenix_pve_api_requests_total\{method="PUT",path="\/nodes\/\{node\}\/lxc\/\{vmid\}\/config",code="400"\} 1/);
  assert.match(text, /phoenix_pve_api_request_duration_seconds_count\{method="GET",path="\/nodes\/\{node\}\/lxc\/\{vmid\}\/config"\} 1/);
  for (const line of text.split('\n').filter((l) => l.startsWith('phoenix_pve_api'))) {
    assert.not.match(line, /4242|"\/[^"]*\b500\b|UPID|pvesim=/, line);
  }
  await pve.close();
});

test('the task waiter: OK, WARNINGS counted as success, failure with the log tail, deadline', async () => {
  const metrics = createMetrics();
  const pve = createPveClient(pveConfigFromEnv(env({ PHOENIX_PVE_FINGERPRINT: sim.fingerprint })), metrics);
  const stopped = () => sim.sim.setPower(500, 'stopped');
  sim.setFaults('POST /nodes/*/lxc/*/status/start seq:taskfail=WARNINGS: 2,ok,taskfail=boom happened,taskhang');
  const started = Date.now();
  const w = await waitTask(pve, await pve.power('pve', 'lxc', 500, 'start'), { polling: FAST_POLLING, metrics });
  assert.is(w.warnings, 2);
  stopped();
  const ok = await waitTask(pve, await pve.power('pve', 'lxc', 500, 'start'), { polling: FAST_POLLING });
  assert.is(ok.exitstatus, 'OK');
  stopped();
  try {
    await waitTask(pve, await pve.power('pve', 'lxc', 500, 'start'), { polling: FAST_POLLING });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TaskFailedError);
    assert.match((e as TaskFailedError).exitstatus, 'boom happened');
    assert.ok((e as TaskFailedError).logTail.some((l) => l.includes('TASK ERROR')), (e as TaskFailedError).logTail.join('|'));
  }
  stopped();
  try {
    await waitTask(pve, await pve.power('pve', 'lxc', 500, 'start'), { polling: { ...FAST_POLLING, deadlines: { vzstart: 150 } } });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TaskDeadlineError);
    assert.is((e as TaskDeadlineError).retryable, true);
  }
  sim.setFaults(null);
  assert.ok(Date.now() - started < 3000, 'fast polling against the scaled simulator');
  assert.match(await metrics.registry.metrics(), /phoenix_pve_task_duration_seconds_count\{type="vzstart"\} 1/);
  await pve.close();
});

test('a dropped connection is retried once by proxmox-api; the create still happens once', async () => {
  const pve = createPveClient(pveConfigFromEnv(env({ PHOENIX_PVE_FINGERPRINT: sim.fingerprint })));
  sim.setFaults('POST /nodes/*/lxc seq:drop');
  const upid = await pve.createGuest('pve', 'lxc', { vmid: 510, ostemplate: OSTPL, rootfs: 'local-lvm:2' });
  sim.setFaults(null);
  await waitTask(pve, upid, { polling: FAST_POLLING });
  assert.is(sim.stats().statuses.dropped, 1);
  assert.is(pve.stats().byMethod.POST, 2, 'two attempts on the wire');
  assert.ok(sim.sim.guests.has(510));
  await pve.close();
});

test.run();
