// After-renewal actions in a VM, end to end: the CA reconciler renews a certificate and runs the
// declared command through the QEMU guest agent API of pvesim, over real HTTPS with proxmox-api.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Proxmox } from 'proxmox-api';
import { startSim, type SimHandle } from '../../pvesim/index.js';
import { controllerGuestExec, type PveRequester } from '../../controller/ca/exec.js';
import { createCertificateAuthorityReconciler } from '../../controller/reconcilers/certificateauthority.js';
import type { CertificateAuthority } from '../../resources/types.js';
import { FakeClock, harness, readyStatus } from '../support/ca-context.js';
import { client, until, waitTask } from '../pvesim/helpers.js';

/** Call proxmox-api by path template: '/nodes/{node}/qemu/{vmid}/agent/exec' walks the typed proxy. */
function requesterOver(px: Proxmox.Api): PveRequester {
  return {
    async request<T>(method: 'GET' | 'POST', template: string, vars: Record<string, string | number> = {}, params: Record<string, unknown> = {}) {
      let node: any = px;
      for (const seg of template.split('/').filter(Boolean)) {
        const m = /^\{(\w+)\}$/.exec(seg);
        node = m ? node.$(vars[m[1]!]) : node[seg];
      }
      return (await (method === 'GET' ? node.$get(params) : node.$post(params))) as T;
    },
  };
}

const ca: CertificateAuthority = {
  apiVersion: 'phoenix.hypervisor/v1alpha1',
  kind: 'CertificateAuthority',
  metadata: { name: 'internal-ca', generation: 1 },
  spec: {
    embedded: { root: { commonName: 'ThinkHeads Internal CA' }, intermediate: { commonName: 'ThinkHeads Intermediate' } },
    certificates: [
      {
        name: 'portainer',
        commonName: 'portainer.internal.thinkheads.ai',
        output: { certFile: 'portainer/portainer.crt', keyFile: 'portainer/portainer.key' },
        afterRenewal: { guest: { kind: 'VirtualMachine', name: 'portainer' }, command: ['docker', 'restart', 'portainer'] },
      },
    ],
  },
};

let h: SimHandle;
let px: Proxmox.Api;
const dir = mkdtempSync(join(tmpdir(), 'phoenix-agent-'));

test.before(async () => {
  h = await startSim({ timeScale: 0.01, seed: 11 });
  px = client(h);
  const vm = px.nodes.$('pve').qemu;
  await waitTask(px, await vm.$post({ vmid: 1001, name: 'portainer', scsi0: 'local-lvm:8', net0: 'virtio,bridge=vmbr0', agent: '1' }));
  await waitTask(px, await vm.$(1001).status.start.$post());
  await until('guest agent up', () => vm.$(1001).agent.exec.$post({ command: ['true'] }), 10_000);
});

test.after(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a renewal runs the command in the VM through agent/exec; a failing command is reported and retried', async () => {
  const clock = new FakeClock();
  const rec = createCertificateAuthorityReconciler({
    stateDir: join(dir, 'state'),
    certDir: join(dir, 'certs'),
    exec: controllerGuestExec(requesterOver(px), false),
    allowHostCommands: false,
    clock,
  });
  const t = harness(ca, clock);
  t.others.set('VirtualMachine/portainer', { resource: { kind: 'VirtualMachine', spec: { vmid: 1001 } } as any, status: readyStatus({ vmid: 1001, node: 'pve' }) });
  const ran = () => h.sim.agentExecs.filter((e) => e.vmid === 1001 && e.command.join(' ') === 'docker restart portainer');

  assert.is((await rec.reconcile(t.ctx)).state, 'Ready');
  assert.is(ran().length, 1, 'ran once after the first issuance');
  assert.ok(t.events.some((e) => e.type === 'Normal' && e.reason === 'AfterRenewal'));

  // the container restart fails in the guest: Warning with its stderr, retried on the next pass
  h.sim.agentExecHandler = () => ({ exitcode: 125, errData: 'Error response from daemon: No such container: portainer' });
  clock.set(new Date(Date.parse(t.ctx.status.certificates![0]!.renewalTime)));
  const out = await rec.reconcile(t.ctx);
  assert.is(ran().length, 2);
  const w = t.events.find((e) => e.reason === 'AfterRenewalFailed');
  assert.ok(w && w.type === 'Warning' && /exited with 125: Error response from daemon/.test(w.message), JSON.stringify(t.events));
  assert.ok(out.state === 'Ready' && out.requeueAfterMs === 30_000);
  h.sim.agentExecHandler = () => ({ exitcode: 0 });
  await rec.reconcile(t.ctx);
  assert.is(ran().length, 3, 'retried once');
  await rec.reconcile(t.ctx);
  assert.is(ran().length, 3, 'and not again');

  // the VM is stopped: the agent call is refused by the API, reported as such
  await waitTask(px, await px.nodes.$('pve').qemu.$(1001).status.stop.$post());
  t.events.length = 0;
  clock.set(new Date(Date.parse(t.ctx.status.certificates![0]!.renewalTime)));
  await rec.reconcile(t.ctx);
  const stopped = t.events.find((e) => e.reason === 'AfterRenewalFailed');
  assert.ok(stopped && /not running/.test(stopped.message), JSON.stringify(t.events));
});

test.run();
