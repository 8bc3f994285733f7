import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PveError, TaskFailedError, classify, scrub, toPveError } from '../../controller/pve/errors.js';

const url = 'https://127.0.0.1:8006/api2/json/nodes/pve/lxc';

test('classify: Proxmox answers to kinds', () => {
  const table: [number, string, string][] = [
    [500, "CT 100 already exists on node 'pve'", 'AlreadyExists'],
    [500, 'unable to create VM 101: config file already exists', 'AlreadyExists'],
    [500, "Configuration file 'nodes/pve/lxc/117.conf' does not exist", 'NotFound'],
    [500, 'CT is locked (disk)', 'Locked'],
    [500, 'VM is locked (clone)', 'Locked'],
    [500, "can't lock file '/run/lock/lxc/pve-config-100.lock' - got timeout", 'LockTimeout'],
    [500, "unable to create CT 100 - can't lock file '/run/lock/lxc/pve-config-100.lock' - got timeout", 'LockTimeout'],
    [500, 'detected modified configuration - file changed by other user? Try again.', 'Modified'],
    [500, 'checksum mismatch (file change by other user?)', 'Modified'],
    [500, 'got no worker upid - start worker failed', 'Transient'],
    [500, 'unable to shrink disk size', 'Invalid'],
    [500, 'shrinking disks is not supported', 'Invalid'],
    [500, 'Full clone of a running container is only possible from a snapshot', 'Invalid'],
    [500, "Linked clone feature for 'local-lvm:vm-100-disk-0' is not available", 'Invalid'],
    [500, "base volume 'base-9000-disk-0' is still in use by linked cloned volume 'vm-101-disk-0'", 'Invalid'],
    [500, "bridge 'vmbr9' does not exist", 'Invalid'],
    [500, 'some unexpected server trouble', 'Transient'],
    [502, 'Bad Gateway', 'Transient'],
    [503, 'Service Unavailable', 'Transient'],
    [400, 'Parameter verification failed.', 'Invalid'],
    [400, 'no such task', 'NotFound'],
    [401, 'authentication failure', 'Unauthorized'],
    [403, 'Permission check failed (/vms/100, VM.Allocate)', 'Forbidden'],
    [501, "Method 'GET /x' not implemented", 'Invalid'],
    [0, 'connect ECONNREFUSED 127.0.0.1:8006', 'Transient'],
    [0, 'self-signed certificate', 'TlsVerification'],
  ];
  for (const [status, msg, kind] of table) assert.is(classify(status, msg), kind, `${status} ${msg}`);
});

test('toPveError parses what proxmox-api throws', () => {
  const e500 = toPveError(new Error(`POST ${url} return Error 500 CT 100 already exists on node 'pve': {"data":null,"message":"CT 100 already exists on node 'pve'\\n"}`));
  assert.ok(e500 instanceof PveError);
  assert.is(e500.kind, 'AlreadyExists');
  assert.is(e500.status, 500);
  assert.is(e500.method, 'POST');
  assert.is(e500.path, '/api2/json/nodes/pve/lxc');
  assert.is(e500.pveMessage, "CT 100 already exists on node 'pve'");
  assert.is(e500.retryable, false);

  const e400 = toPveError(new Error(`POST ${url} return Error 400 Parameter verification failed.: {"data":null,"errors":{"memory":"value must have a minimum value of 16\\n"}}`));
  assert.is(e400.kind, 'Invalid');
  assert.equal(e400.paramErrors, { memory: 'value must have a minimum value of 16' });
  assert.match(e400.message, 'memory: value must have a minimum value of 16');

  const e401 = toPveError(new Error(`GET ${url} return Error 401 authentication failure: {"data":null,"errors":""}`));
  assert.is(e401.kind, 'Unauthorized');
  const e403 = toPveError(new Error(`GET ${url} connection failed with 403 Permission check failed return: {"data":null}`));
  assert.is(e403.kind, 'Forbidden');
  const lock = toPveError(new Error(`POST ${url}/100/clone return Error 500 CT is locked (disk): {"data":null,"message":"CT is locked (disk)\\n"}`));
  assert.is(lock.kind, 'Locked');
  assert.is(lock.retryable, true);

  const cause = Object.assign(new Error('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) });
  const net = toPveError(Object.assign(new Error(`FaILED to call GET ${url} cause by:connect ECONNREFUSED 127.0.0.1:1`), { cause }));
  assert.is(net.kind, 'Transient');
  assert.is(net.status, 0);
  assert.match(net.pveMessage, 'ECONNREFUSED');

  const ct = toPveError(new Error(`GET ${url} unexpected contentType "text/html" status Line:200 undefined`));
  assert.is(ct.kind, 'Transient');
});

test('secrets are scrubbed from every message', () => {
  const secret = '0b1c2d3e-1111-2222-3333-444455556666';
  const e = toPveError(new Error(`GET ${url} return Error 500 boom PVEAPIToken=root@pam!ci=${secret}: {"data":null,"message":"token ${secret} rejected"}`), [secret]);
  assert.not.match(e.message, secret);
  assert.not.match(e.pveMessage, secret);
  assert.not.match(scrub(`Authorization: PVEAPIToken=a@b!c=${secret}`), secret);
  assert.not.match(scrub('password=hunter2&x=1'), 'hunter2');
});

test('task failures classify by their exit status', () => {
  assert.is(new TaskFailedError('UPID:x', 'vzclone', "clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local' - got timeout", []).retryable, true);
  const t = new TaskFailedError('UPID:x', 'vzstart', "you can't start a CT if it's a template", ['TASK ERROR: nope']);
  assert.is(t.kind, 'Invalid');
  assert.match(t.message, 'TASK ERROR: nope');
  // what a restarted node reports for a task whose worker vanished: worth another attempt
  const lost = new TaskFailedError('UPID:x', 'vzclone', 'unexpected status', []);
  assert.is(lost.kind, 'Transient');
  assert.is(lost.retryable, true);
});

test.run();
