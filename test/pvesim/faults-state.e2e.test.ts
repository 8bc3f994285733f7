// Fault injection (spec and /_sim/faults), stats, out-of-band edits, state persistence across a
// restart, and the CLI's startup line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSim } from '../../pvesim/index.js';
import { TMPL, client, raw, rejects, until, waitTask } from './helpers.js';
import { freePort, simRequest, startSimProcess } from '../helpers/pvesim-process.js';
import { credentialsFile } from '../../pvesim/credentials.js';

const mkCt = (px: any, vmid: number) => px.nodes.$('pve').lxc.$post({ vmid, ostemplate: TMPL, rootfs: 'local-lvm:8', net0: 'name=eth0,bridge=vmbr0,ip=dhcp' });

test('faults: scripted sequence of lock timeout, no worker, 503, drop; counted in stats', async () => {
  const h = await startSim({ timeScale: 0.01, faults: 'GET /nodes/{node}/lxc/{vmid}/config seq:lock,noworker,503,drop,ok' });
  try {
    const px: any = client(h);
    assert.is(await waitTask(px, await mkCt(px, 100)), 'OK');
    const path = '/api2/json/nodes/pve/lxc/100/config';
    const r1 = await raw(h, 'GET', path);
    assert.is(r1.status, 500);
    assert.is(r1.statusText, "can't lock file '/run/lock/lxc/pve-config-100.lock' - got timeout");
    const r2 = await raw(h, 'GET', path);
    assert.is(r2.status, 500);
    assert.is(r2.statusText, 'got no worker upid');
    assert.is((await raw(h, 'GET', path)).status, 503);
    let dropped = false;
    await raw(h, 'GET', path).catch(() => (dropped = true));
    assert.ok(dropped, 'connection dropped');
    assert.is((await raw(h, 'GET', path)).status, 200);
    assert.is((await raw(h, 'GET', path)).status, 200);
    const s = h.stats();
    assert.equal(s.faults, { lock: 1, noworker: 1, '503': 1, drop: 1 });
    assert.is(s.faultsTotal, 4);
    assert.is(s.requests['GET /nodes/{node}/lxc/{vmid}/config'], 6);
    assert.is(s.statuses['503'], 1);
    assert.is(s.statuses.dropped, 1);
  } finally {
    await h.close();
  }
});

test('faults: seeded probabilities repeat; task failure and hang; set at run time via /_sim/faults', async () => {
  const outcomes = async () => {
    const h = await startSim({ faults: 'seed=42;GET /version 0.5:503' });
    try {
      const out: number[] = [];
      for (let i = 0; i < 20; i++) out.push((await raw(h, 'GET', '/api2/json/version')).status);
      return out;
    } finally {
      await h.close();
    }
  };
  const a = await outcomes();
  assert.equal(await outcomes(), a);
  assert.ok(a.includes(503) && a.includes(200), a.join(','));

  const h = await startSim({ timeScale: 0.01 });
  try {
    const px: any = client(h);
    const put = await raw(h, 'PUT', '/_sim/faults', { body: { spec: 'POST /nodes/*/lxc taskfail=unable to create CT 100 - injected' } });
    assert.is(put.status, 200);
    assert.is((await raw(h, 'GET', '/_sim/faults')).json().data.spec, 'POST /nodes/*/lxc taskfail=unable to create CT 100 - injected');
    assert.is(await waitTask(px, await mkCt(px, 100)), 'unable to create CT 100 - injected');
    await rejects(px.nodes.$('pve').lxc.$(100).config.$get(), 500, "Configuration file 'nodes/pve/lxc/100.conf' does not exist");
    assert.is((await raw(h, 'DELETE', '/_sim/faults')).status, 200);
    assert.is(await waitTask(px, await mkCt(px, 100)), 'OK');
    assert.is((await raw(h, 'PUT', '/_sim/faults', { body: { spec: 'POST /x bogus' } })).status, 400);
    h.setFaults('GET /version slow=300');
    const t0 = Date.now();
    assert.is((await raw(h, 'GET', '/api2/json/version')).status, 200);
    assert.ok(Date.now() - t0 >= 300, 'slow answer');
    assert.is(h.stats().faults.slow, 1);
    assert.is((await raw(h, 'GET', '/_sim/faults', { auth: false })).status, 401);
    h.setFaults('POST /nodes/pve/lxc/100/status/start taskhang');
    const upid: string = await px.nodes.$('pve').lxc.$(100).status.start.$post();
    // a create (longer than a start) begun afterwards finishes while the hung start still runs
    assert.is(await waitTask(px, await mkCt(px, 102)), 'OK');
    assert.is((await px.nodes.$('pve').tasks.$(upid).status.$get()).status, 'running');
    assert.ok((await px.nodes.$('pve').tasks.$get({ source: 'active' })).some((t: any) => t.upid === upid));
  } finally {
    await h.close();
  }
});

test('out-of-band edits through /_sim (drift): config key, power, delete', async () => {
  const h = await startSim({ timeScale: 0.01 });
  try {
    const px: any = client(h);
    assert.is(await waitTask(px, await mkCt(px, 100)), 'OK');
    const before = (await px.nodes.$('pve').lxc.$(100).config.$get()).digest;
    assert.is((await raw(h, 'PUT', '/_sim/guests/100/config', { body: { memory: '2048' } })).status, 200);
    const after = await px.nodes.$('pve').lxc.$(100).config.$get();
    assert.is(after.memory, 2048);
    assert.is.not(after.digest, before);
    assert.is((await raw(h, 'POST', '/_sim/guests/100/power', { body: { state: 'running' } })).status, 200);
    assert.is((await px.nodes.$('pve').lxc.$(100).status.current.$get()).status, 'running');
    assert.is((await raw(h, 'DELETE', '/_sim/guests/100')).status, 200);
    await rejects(px.nodes.$('pve').lxc.$(100).config.$get(), 500, "Configuration file 'nodes/pve/lxc/100.conf' does not exist");
    assert.equal((await px.nodes.$('pve').storage.$('local-lvm').content.$get({ vmid: 100 })).length, 0);
  } finally {
    await h.close();
  }
});

test('state persists across a restart (0600, same cert); interrupted tasks end "unexpected status" and roll back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pvesim-state-'));
  const statePath = join(dir, 'sub', 'state.json');
  const h1 = await startSim({ timeScale: 0.01, statePath });
  const px1: any = client(h1);
  assert.is(await waitTask(px1, await mkCt(px1, 100)), 'OK');
  assert.is(await waitTask(px1, await px1.nodes.$('pve').lxc.$(100).status.start.$post()), 'OK');
  h1.setFaults('POST /nodes/pve/lxc taskhang');
  const hung: string = await mkCt(px1, 101);
  await h1.close();
  assert.is(statSync(statePath).mode & 0o777, 0o600);
  assert.is(statSync(join(dir, 'sub')).mode & 0o777, 0o700);
  assert.is(statSync(`${statePath}.key.pem`).mode & 0o777, 0o600);
  assert.ok(!readFileSync(statePath, 'utf8').includes(h1.tokenSecret));

  const h2 = await startSim({ timeScale: 0.01, statePath });
  try {
    assert.is(h2.fingerprint, h1.fingerprint);
    const px2: any = client(h2);
    const c = await px2.nodes.$('pve').lxc.$(100).status.current.$get();
    assert.is(c.status, 'running');
    const st = await px2.nodes.$('pve').tasks.$(hung).status.$get();
    assert.is(st.status, 'stopped');
    assert.is(st.exitstatus, 'unexpected status');
    await rejects(px2.nodes.$('pve').lxc.$(101).config.$get(), 500, "Configuration file 'nodes/pve/lxc/101.conf' does not exist");
    assert.is(await waitTask(px2, await mkCt(px2, 101)), 'OK');
  } finally {
    await h2.close();
  }
});

test('CLI prints one JSON line with url, token, fingerprint (and a generated password); logs go to stderr', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'pvesim/cli.ts', '--listen', '127.0.0.1:0', '--nodes', 'pve1,pve2', '--time-scale', '0.01', '--storage', 'quickOS-lxc-disks:lvmthin:200', '--storage', 'nfs1:nfs:100:shared'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  try {
    const line = await until('JSON line', () => (out.includes('\n') ? out.split('\n')[0] : undefined), 30_000);
    const info = JSON.parse(line!);
    assert.equal(Object.keys(info).sort(), ['fingerprint', 'password', 'token', 'url']);
    assert.match(info.token, /^root@pam!pvesim=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.match(info.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const r = await fetch(`${info.url}/api2/json/version`).catch((e: Error) => e);
    assert.ok(r instanceof Error, 'the certificate is not trusted by default');
    // pin the certificate by the printed fingerprint
    const got = await new Promise<{ fp: string; status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest(`${info.url}/api2/json/nodes/pve1/storage`, { rejectUnauthorized: false, headers: { Authorization: `PVEAPIToken=${info.token}` } }, (res) => {
        const fp = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ fp, status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.is(got.fp, info.fingerprint);
    assert.is(got.status, 200);
    const storages = JSON.parse(got.body).data;
    assert.ok(storages.some((s: any) => s.storage === 'quickOS-lxc-disks' && s.type === 'lvmthin' && s.total === 200 * 1024 ** 3));
    assert.ok(storages.some((s: any) => s.storage === 'nfs1' && s.shared === 1));
    await until('stderr log', () => err.includes('listening on'), 5000);
    assert.ok(!err.includes(info.token.split('=')[1]), 'no secret on stderr');
    assert.is(out.trim().split('\n').length, 1);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
});

test('with a state file the token, password and certificate survive a restart; given ones replace them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pvesim-creds-'));
  const statePath = join(dir, 'state.json');
  try {
    const h1 = await startSim({ timeScale: 0.01, statePath });
    await h1.close();
    assert.is(statSync(credentialsFile(statePath)).mode & 0o777, 0o600);
    assert.ok(!readFileSync(statePath, 'utf8').includes(h1.tokenSecret), 'the state file holds no secret');
    const h2 = await startSim({ timeScale: 0.01, statePath });
    try {
      assert.is(h2.token, h1.token);
      assert.is(h2.password, h1.password);
      assert.is(h2.fingerprint, h1.fingerprint);
      assert.is((await raw(h2, 'GET', '/api2/json/version')).status, 200);
    } finally {
      await h2.close();
    }
    const token = 'root@pam!other=00000000-0000-4000-8000-000000000001';
    const h3 = await startSim({ timeScale: 0.01, statePath, token });
    await h3.close();
    assert.is(h3.token, token);
    assert.is(h3.password, h1.password);
    const h4 = await startSim({ timeScale: 0.01, statePath });
    await h4.close();
    assert.is(h4.token, token, 'the given token is the one kept');
    // without a state file every start makes new credentials
    const a = await startSim({ timeScale: 0.01 });
    const b = await startSim({ timeScale: 0.01 });
    await a.close();
    await b.close();
    assert.is.not(a.token, b.token);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGKILLed pvesim process: every answered write survives; a running task ends "unexpected status"; same URL, token and certificate', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pvesim-kill-'));
  const statePath = join(dir, 'state.json');
  const args = ['--listen', `127.0.0.1:${await freePort()}`, '--time-scale', '0.01', '--state', statePath];
  const p1 = await startSimProcess(args);
  let p2: Awaited<ReturnType<typeof startSimProcess>> | undefined;
  try {
    const cert = readFileSync(`${statePath}.cert.pem`, 'utf8');
    const call = (info: typeof p1.info, method: string, path: string, body?: Record<string, string>) => simRequest(info, cert, method, path, body);
    const status = async (info: typeof p1.info, upid: string) => (await call(info, 'GET', `/api2/json/nodes/pve/tasks/${encodeURIComponent(upid)}/status`)).data;
    const created = await call(p1.info, 'POST', '/api2/json/nodes/pve/lxc', { vmid: '100', ostemplate: TMPL, rootfs: 'local-lvm:8' });
    assert.is(created.status, 200);
    await until('the create task', async () => (await status(p1.info, created.data)).status === 'stopped');
    assert.is((await call(p1.info, 'PUT', '/_sim/faults', { spec: 'POST /nodes/pve/lxc/100/status/start taskhang' })).status, 200);
    // both writes are answered well inside the save debounce; the kill follows at once
    assert.is((await call(p1.info, 'PUT', '/api2/json/nodes/pve/lxc/100/config', { memory: '1536' })).status, 200);
    const hung = await call(p1.info, 'POST', '/api2/json/nodes/pve/lxc/100/status/start');
    assert.is(hung.status, 200);
    await p1.stop('SIGKILL');

    p2 = await startSimProcess(args);
    assert.equal({ url: p2.info.url, token: p2.info.token, fingerprint: p2.info.fingerprint }, { url: p1.info.url, token: p1.info.token, fingerprint: p1.info.fingerprint });
    assert.is(p2.info.password, p1.info.password);
    assert.is((await call(p2.info, 'GET', '/api2/json/nodes/pve/lxc/100/config')).data.memory, 1536, 'the answered write was kept');
    const st = await status(p2.info, hung.data);
    assert.is(st.status, 'stopped');
    assert.is(st.exitstatus, 'unexpected status');
    assert.match(p2.log(), /1 interrupted task\(s\) ended as "unexpected status"/);
    assert.ok(!p2.log().includes(p2.info.token.split('=')[1]!), 'no secret in the log');
  } finally {
    await p1.stop('SIGKILL');
    await p2?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
