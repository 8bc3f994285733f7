// The runtime keeps the dnsmasq hosts file in step with the fleet, end to end: real loader, queue and
// reconcilers against pvesim over HTTPS, on guests copied from manifests/ (their dependsOn on the CA
// and on traefik-internal dropped, to keep the fleet small), with --domain internal.test. When a
// service is removed from a manifest, its name leaves the file within one reconcile.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { startSim, type SimHandle } from '../../pvesim/index.js';
import { createPveClient, pveConfigFromEnv, type PveClient } from '../../controller/pve/client.js';
import { createReconcilers } from '../../controller/reconcilers/index.js';
import { createMetrics } from '../../controller/metrics.js';
import { Runtime } from '../../controller/runtime.js';
import { StateStore } from '../../controller/state.js';
import { getCondition } from '../../controller/conditions.js';
import { dnsSettings, simTopology } from '../../controller/main.js';
import { loadManifests } from '../../controller/manifests.js';
import type { ResourceKey } from '../../controller/types.js';
import { FAST_POLLING } from '../reconcilers/harness.js';
import { waitFor } from '../controller/helpers.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const FILES = [
  'tpl-900-copy-base.yaml',
  'tpl-9000-ubuntu-2404-cloud-template.yaml',
  'lxc-101-nginx-phoenix.yaml',
  'lxc-103-step-ca.yaml',
  'vm-1001-portainer.yaml',
  'vm-1002-drphoenix.yaml',
];
const GUESTS: ResourceKey[] = ['LxcContainer/nginx-phoenix', 'LxcContainer/step-ca', 'VirtualMachine/portainer', 'VirtualMachine/drphoenix'];

let handle: SimHandle;
let pve: PveClient;
let rt: Runtime;
let dir: string;
let manifests: string;
let hosts: string;

const view = (key: ResourceKey) => {
  const [kind, name] = key.split('/') as ['LxcContainer', string];
  return rt.get({ kind, name });
};
const ready = (key: ResourceKey) => {
  const v = view(key);
  return getCondition(v?.status.conditions, 'Ready')?.status === 'True' && v?.status.observedGeneration === v?.metadata.generation;
};
/** The hosts file as name -> addresses. */
const hostsFile = (): Map<string, string[]> => {
  const out = new Map<string, string[]>();
  if (!existsSync(hosts)) return out;
  for (const line of readFileSync(hosts, 'utf8').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const [addr, name] = line.split(' ') as [string, string];
    out.set(name, [...(out.get(name) ?? []), addr]);
  }
  return out;
};

/** A manifest from manifests/, without its dependsOn (the CA and traefik-internal stay out). */
function copyManifest(file: string, edit?: (spec: Record<string, unknown>) => void): void {
  const doc = parseDocument(readFileSync(join(repo, 'manifests', file), 'utf8'));
  doc.deleteIn(['spec', 'dependsOn']);
  if (edit) {
    const spec = doc.toJS().spec as Record<string, unknown>;
    edit(spec);
    doc.setIn(['spec'], doc.createNode(spec));
  }
  writeFileSync(join(manifests, file), doc.toString());
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'phoenix-dns-e2e-'));
  manifests = join(dir, 'manifests');
  hosts = join(dir, 'dns', 'fleet.hosts');
  mkdirSync(manifests);
  mkdirSync(join(dir, 'dns'));
  for (const f of FILES) copyManifest(f);
  const topo = simTopology((await loadManifests(manifests)).resources.map((l) => l.resource));
  handle = await startSim({
    timeScale: 0.02,
    nodes: topo.nodes.length ? topo.nodes : ["pve"],
    seed: 9,
    storages: topo.storages.filter((s) => s !== 'local' && s !== 'local-lvm').map((name) => ({ name, type: 'zfspool' as const, content: ['images', 'rootdir'], sizeGiB: 2048 })),
  });
  const metrics = createMetrics();
  pve = createPveClient(pveConfigFromEnv({ PHOENIX_PVE_URL: handle.url, PHOENIX_PVE_TOKEN: handle.token, PHOENIX_PVE_FINGERPRINT: handle.fingerprint }), metrics);
  const state = new StateStore(join(dir, 'state'));
  await state.open();
  rt = new Runtime({
    manifestsDir: manifests,
    state,
    reconcilers: createReconcilers({ pve, metrics, options: { prune: false, polling: FAST_POLLING, driftIntervalMs: 0, allowedHostPaths: ['/'] } }),
    metrics,
    concurrency: 4,
    resyncMs: 0,
    debounceMs: 50,
    // the controller's own flag handling, as main.ts does it
    dns: dnsSettings({ domain: 'internal.test', dnsmasqHostsFile: hosts }),
  });
  await rt.start();
});

test.after(async () => {
  await rt.stop();
  await pve.close();
  await handle.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the hosts file holds every guest and service of the fleet once it is Ready', async () => {
  const t0 = Date.now();
  await waitFor(() => GUESTS.every(ready), Number(process.env.DNS_E2E_READY_MS ?? 240_000), "guests Ready").catch((err: Error) => {
    throw new Error(`${err.message}: ${GUESTS.filter((k) => !ready(k)).map((k) => `${k} ${JSON.stringify(getCondition(view(k)?.status.conditions, "Ready"))}`).join("; ")}`);
  });
  console.log(`figure: 6-resource fleet Ready in ${Date.now() - t0} ms`);
  const expected: Record<string, string> = {
    'nginx-phoenix.internal.test': '10.0.0.153',
    'nginx.internal.test': '10.0.0.153',
    'step-ca.internal.test': '10.0.0.10',
    'ca.internal.test': '10.0.0.10',
    'portainer.internal.test': '10.0.0.111',
    'drphoenix.internal.test': '10.0.0.102',
    'portainer-agent.internal.test': '10.0.0.102',
  };
  const got = await waitFor(() => {
    const m = hostsFile();
    return Object.keys(expected).every((n) => m.has(n)) ? m : undefined;
  }, 5000, 'every name in the hosts file');
  for (const [name, addr] of Object.entries(expected)) assert.equal(got.get(name), [addr], name);
  // templates are never served
  assert.not.ok([...got.keys()].some((n) => n.startsWith('copy-base.') || n.startsWith('ubuntu-2404')));
  // status.dnsNames and a DnsUpdated event per guest
  await waitFor(() => view('LxcContainer/step-ca')?.status.dnsNames?.join(' ') === 'ca.internal.test step-ca.internal.test', 5000, 'status.dnsNames');
  assert.equal(view('VirtualMachine/drphoenix')?.status.dnsNames, ['drphoenix.internal.test', 'portainer-agent.internal.test']);
  assert.ok(rt.events({ kind: 'VirtualMachine', name: 'portainer' }).some((e) => e.reason === 'DnsUpdated' && e.type === 'Normal'));
});

test('removing a service from a manifest drops its name within one reconcile', async () => {
  assert.ok(hostsFile().has('portainer-agent.internal.test'), 'served before the edit');
  const t0 = Date.now();
  copyManifest('vm-1002-drphoenix.yaml', (spec) => delete spec.services);
  await waitFor(() => !hostsFile().has('portainer-agent.internal.test'), 10_000, 'portainer-agent gone from the hosts file');
  console.log(`figure: manifest edit -> name gone from the hosts file in ${Date.now() - t0} ms`);
  const m = hostsFile();
  assert.equal(m.get('drphoenix.internal.test'), ['10.0.0.102'], 'the guest keeps its own name');
  assert.equal(m.get('portainer.internal.test'), ['10.0.0.111']);
  await waitFor(() => view('VirtualMachine/drphoenix')?.status.dnsNames?.join(' ') === 'drphoenix.internal.test', 5000, 'status.dnsNames updated');
});

test('a name claimed by two guests is left out and reported on both', async () => {
  // step-ca declares the service "nginx" too, which nginx-phoenix already declares
  copyManifest('lxc-103-step-ca.yaml', (spec) => {
    spec.services = [...(spec.services as object[]), { name: 'nginx', port: 8443, protocol: 'https' }];
  });
  await waitFor(() => !hostsFile().has('nginx.internal.test'), 10_000, 'nginx.internal.test left out');
  for (const name of ['step-ca', 'nginx-phoenix'])
    await waitFor(() => rt.events({ kind: 'LxcContainer', name }).some((e) => e.type === 'Warning' && e.reason === 'DnsConflict' && /nginx\.internal\.test/.test(e.message)), 5000, `DnsConflict on ${name}`);
  assert.ok(hostsFile().has('ca.internal.test'), 'other names are still served');
});

test.run();
