// Wire format and authentication, checked with raw HTTPS requests (no client library in between).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { startSim, type SimHandle } from '../../pvesim/index.js';
import { fingerprintOfDer } from '../../pvesim/tls.js';
import { raw } from './helpers.js';

let h: SimHandle;
const logs: string[] = [];

test.before(async () => {
  h = await startSim({ timeScale: 0.01, log: (l) => logs.push(l) });
});
test.after(async () => {
  await h.close();
});

test('success: 200 OK, exact content type, {"data": ...}', async () => {
  const r = await raw(h, 'GET', '/api2/json/version');
  assert.is(r.status, 200);
  assert.is(r.statusText, 'OK');
  assert.is(r.contentType, 'application/json;charset=UTF-8');
  assert.equal(Object.keys(r.json()), ['data']);
  assert.is(r.json().data.release, '9.1');
});

test('errors: message in the reason phrase and {"data":null,"message":"...\\n"}', async () => {
  const r = await raw(h, 'GET', '/api2/json/nodes/pve/lxc/117/config');
  assert.is(r.status, 500);
  assert.is(r.statusText, "Configuration file 'nodes/pve/lxc/117.conf' does not exist");
  assert.is(r.contentType, 'application/json;charset=UTF-8');
  assert.is(r.text, JSON.stringify({ data: null, message: "Configuration file 'nodes/pve/lxc/117.conf' does not exist\n" }));
});

test('create without rootfs defaults to local:4, which holds no container directories', async () => {
  const r = await raw(h, 'POST', '/api2/json/nodes/pve/lxc', { body: { vmid: '199', ostemplate: 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst' } });
  assert.is(r.status, 500);
  assert.is(r.statusText, "storage 'local' does not support container directories");
});

test('400 parameter errors carry the per-parameter errors object', async () => {
  await raw(h, 'POST', '/api2/json/nodes/pve/lxc', { body: { vmid: '100', ostemplate: 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst', rootfs: 'local-lvm:8' } });
  const r = await raw(h, 'GET', '/api2/json/cluster/nextid?vmid=100');
  assert.is(r.status, 400);
  assert.is(r.statusText, 'Parameter verification failed.');
  assert.equal(r.json(), { data: null, errors: { vmid: 'VM 100 already exists' } });
});

test('validator errors answer 400 with its errors object as is', async () => {
  const h2 = await startSim({ validator: (m, t, p) => (t === '/nodes/{node}/lxc/{vmid}/config' && m === 'PUT' && p.memory === 'x' ? { errors: { memory: 'type check (\'integer\') failed - got \'x\'' } } : {}) });
  try {
    await raw(h2, 'POST', '/api2/json/nodes/pve/lxc', { body: { vmid: '100', ostemplate: 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst', rootfs: 'local-lvm:8' } });
    const r = await raw(h2, 'PUT', '/api2/json/nodes/pve/lxc/100/config', { body: { memory: 'x' } });
    assert.is(r.status, 400);
    assert.equal(r.json(), { data: null, errors: { memory: "type check ('integer') failed - got 'x'" } });
  } finally {
    await h2.close();
  }
});

test('401: empty body, no content type; unknown path 501', async () => {
  const r = await raw(h, 'GET', '/api2/json/version', { auth: false });
  assert.is(r.status, 401);
  assert.is(r.contentType, null);
  assert.is(r.text, '');
  const n = await raw(h, 'GET', '/api2/json/nope/x');
  assert.is(n.status, 501);
  assert.is(n.statusText, "Method 'GET /nope/x' not implemented");
  const m = await raw(h, 'PATCH', '/api2/json/version');
  assert.is(m.status, 501);
});

test('a wrong token secret is refused and never echoed or logged', async () => {
  const wrong = h.tokenSecret.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
  const r = await raw(h, 'GET', '/api2/json/version', { headers: { Authorization: `PVEAPIToken=${h.tokenId}=${wrong}` } });
  assert.is(r.status, 401);
  assert.ok(!r.statusText.includes(wrong) && !r.text.includes(wrong));
  const other = await raw(h, 'GET', '/api2/json/version', { headers: { Authorization: `PVEAPIToken=root@pam!other=${wrong}` } });
  assert.is(other.status, 401);
  assert.ok(!other.statusText.includes(wrong));
  assert.ok(!logs.some((l) => l.includes(wrong) || l.includes(h.tokenSecret)), 'no secret in logs');
});

test('ticket login: ticket format, wrong password 401, CSRF required on writes', async () => {
  const bad = await raw(h, 'POST', '/api2/json/access/ticket', { auth: false, body: { username: 'root@pam', password: 'wrong' } });
  assert.is(bad.status, 401);
  assert.is(bad.statusText, 'authentication failure');
  const r = await raw(h, 'POST', '/api2/json/access/ticket', { auth: false, body: { username: 'root@pam', password: h.password } });
  assert.is(r.status, 200);
  const { ticket, CSRFPreventionToken, username, cap } = r.json().data;
  assert.match(ticket, /^PVE:root@pam:[0-9A-F]{8}::[A-Za-z0-9+/]+=*$/);
  assert.is(username, 'root@pam');
  assert.type(cap, 'object');
  const cookie = { Cookie: `PVEAuthCookie=${encodeURIComponent(ticket)}` };
  assert.is((await raw(h, 'GET', '/api2/json/nodes', { auth: false, headers: cookie })).status, 200);
  const noCsrf = await raw(h, 'POST', '/api2/json/nodes/pve/lxc', { auth: false, headers: cookie, body: { vmid: '101', ostemplate: 'x' } });
  assert.is(noCsrf.status, 401);
  assert.is(noCsrf.statusText, 'Permission denied - invalid csrf token');
  const withCsrf = await raw(h, 'PUT', '/api2/json/nodes/pve/lxc/100/config', { auth: false, headers: { ...cookie, CSRFPreventionToken }, body: { description: 'hi' } });
  assert.ok(withCsrf.status === 200 || withCsrf.statusText === 'CT is locked (create)', `${withCsrf.status} ${withCsrf.statusText}`);
  const forged = await raw(h, 'GET', '/api2/json/nodes', { auth: false, headers: { Cookie: `PVEAuthCookie=${ticket.replace(/::.*/, '::AAAA')}` } });
  assert.is(forged.status, 401);
});

test('TLS: the served certificate is the one whose SHA-256 fingerprint was reported', async () => {
  const der = await new Promise<Buffer>((resolve, reject) => {
    const req = request(`${h.url}/api2/json/version`, { ca: h.certPem, headers: { Authorization: `PVEAPIToken=${h.token}` } }, (res) => {
      const cert = (res.socket as TLSSocket).getPeerCertificate();
      res.resume();
      resolve(cert.raw);
    });
    req.on('error', reject);
    req.end();
  });
  assert.match(h.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.is(fingerprintOfDer(der), h.fingerprint);
  assert.ok(h.url.startsWith('https://'));
});

test('plain HTTP only with http: true', async () => {
  const h2 = await startSim({ http: true });
  try {
    assert.ok(h2.url.startsWith('http://'));
    assert.is(h2.fingerprint, '');
    const r = await fetch(`${h2.url}/api2/json/version`, { headers: { Authorization: `PVEAPIToken=${h2.token}` } });
    assert.is(r.status, 200);
  } finally {
    await h2.close();
  }
});

test.run();
