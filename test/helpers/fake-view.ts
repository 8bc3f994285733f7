// A ControllerView over an in-memory fleet, for tests of the HTTP API, the metrics and phoenixctl.
// Times are fixed relative to FAKE_NOW so ages in golden output do not move.
import type { ControllerView, Plan, ResourceView, WatchEvent, ManifestError, FieldChange } from '../../controller/types.js';
import { keyOf } from '../../controller/types.js';
import type { AnyResource, ObjectRef, PhoenixEvent, Condition } from '../../resources/types.js';
import { API_VERSION } from '../../resources/types.js';

export const FAKE_NOW = new Date('2026-01-15T12:00:00Z');
export const ago = (ms: number): string => new Date(FAKE_NOW.getTime() - ms).toISOString();
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

export function cond(type: string, status: Condition['status'], reason: string, message: string, sinceMs: number): Condition {
  return { type, status, reason, message, lastTransitionTime: ago(sinceMs), observedGeneration: 1 };
}

export function fleet(): ResourceView[] {
  return [
    {
      apiVersion: API_VERSION,
      kind: 'Template',
      metadata: { name: 'copy-base', labels: { tier: 'base' }, generation: 1, creationTimestamp: ago(2 * D + 4 * H + 10 * M), source: 'manifests/templates.yaml:1' },
      spec: { vmid: 900, node: 'pve1', type: 'lxc', ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', cores: 1, memory: 512, rootfs: { storage: 'local-lvm', size: '8G' } },
      status: {
        observedGeneration: 1,
        vmid: 900,
        node: 'pve1',
        template: true,
        powerState: 'stopped',
        lastAppliedRevision: 'sha256:4f2a9c1e',
        lastReconcileTime: ago(5 * M),
        conditions: [cond('Ready', 'True', 'ReconciliationSucceeded', 'template 900 is up to date', 2 * D), cond('Reconciling', 'False', 'Idle', '', 2 * D), cond('Stalled', 'False', 'Idle', '', 2 * D)],
      },
    },
    {
      apiVersion: API_VERSION,
      kind: 'LxcContainer',
      metadata: { name: 'dns', labels: { app: 'dns', tier: 'infra' }, annotations: { 'phoenix.hypervisor/owner': 'netops' }, generation: 2, creationTimestamp: ago(3 * M + 20 * S), source: 'manifests/dns.yaml:1' },
      spec: { vmid: 101, node: 'pve1', cores: 1, memory: 1024, source: { template: 'copy-base' }, rootfs: { storage: 'local-lvm', size: '8G' }, networks: [{ name: 'eth0', bridge: 'vmbr0', ip: '10.0.0.101/24', gw: '10.0.0.1' }], tags: ['dns', 'infra'] },
      status: {
        observedGeneration: 2,
        vmid: 101,
        node: 'pve1',
        powerState: 'running',
        addresses: ['10.0.0.101'],
        lastAppliedRevision: 'sha256:4f2a9c1e',
        lastReconcileTime: ago(30 * S),
        conditions: [cond('Ready', 'True', 'ReconciliationSucceeded', 'running, configuration up to date', 3 * M), cond('Reconciling', 'False', 'Idle', '', 3 * M), cond('Stalled', 'False', 'Idle', '', 3 * M)],
      },
    },
    {
      apiVersion: API_VERSION,
      kind: 'LxcContainer',
      metadata: { name: 'web', labels: { app: 'web', tier: 'front' }, generation: 1, creationTimestamp: ago(5 * S), source: 'manifests/web.yaml:1' },
      spec: { vmid: 103, cores: 2, memory: 2048, source: { template: 'copy-base' }, rootfs: { storage: 'local-lvm', size: '16G' }, dependsOn: [{ kind: 'LxcContainer', name: 'dns' }] },
      status: {
        vmid: 103,
        node: 'pve1',
        taskInFlight: { upid: 'UPID:pve1:0000A1B2:0001C3D4:6788D9A0:vzclone:900:root@pam:', node: 'pve1', type: 'vzclone', startedAt: ago(4 * S), step: 'clone' },
        conditions: [cond('Ready', 'False', 'Progressing', 'cloning Template/copy-base (vmid 900) to 103', 4 * S), cond('Reconciling', 'True', 'Progressing', 'cloning', 4 * S), cond('Stalled', 'False', 'Idle', '', 4 * S)],
      },
    },
    {
      apiVersion: API_VERSION,
      kind: 'VirtualMachine',
      metadata: { name: 'k3s', labels: { tier: 'infra', app: 'k3s' }, generation: 3, creationTimestamp: ago(9 * D), source: 'manifests/k3s.yaml:1' },
      spec: { vmid: 9000, node: 'pve2', cores: 4, memory: 8192, source: { guest: 'k3s-golden', snapshot: 'base' }, disks: [{ slot: 'scsi0', storage: 'local-lvm', size: '16G' }] },
      status: {
        observedGeneration: 3,
        vmid: 9000,
        node: 'pve2',
        powerState: 'running',
        addresses: ['10.0.0.90'],
        lastError: 'disk scsi0 is 32G, the manifest asks for 16G: shrinking is refused',
        lastReconcileTime: ago(2 * M),
        conditions: [
          cond('Ready', 'False', 'DiskShrinkRefused', 'disk scsi0 is 32G, the manifest asks for 16G: shrinking is refused', 12 * M),
          cond('Reconciling', 'False', 'Stalled', '', 12 * M),
          cond('Stalled', 'True', 'DiskShrinkRefused', 'disk scsi0 is 32G, the manifest asks for 16G: shrinking is refused', 12 * M),
        ],
      },
    },
    {
      apiVersion: API_VERSION,
      kind: 'CertificateAuthority',
      metadata: { name: 'fleet-ca', generation: 1, creationTimestamp: ago(400 * D), source: 'manifests/ca.yaml:1' },
      spec: { backend: 'embedded', embedded: { root: { commonName: 'Fleet Root' }, intermediate: { commonName: 'Fleet Intermediate' } }, certificates: [{ name: 'web', commonName: 'web.internal', output: { certFile: '/certs/web.crt', keyFile: '/certs/web.key' } }] },
      status: {
        observedGeneration: 1,
        lastReconcileTime: ago(1 * H),
        certificates: [{ name: 'web', serial: '01ab', notBefore: ago(2 * H), notAfter: new Date(FAKE_NOW.getTime() + 22 * H).toISOString(), renewalTime: new Date(FAKE_NOW.getTime() + 14 * H).toISOString(), sha256Fingerprint: 'aa:bb' }],
        conditions: [cond('Ready', 'True', 'CertificatesIssued', '1 certificate valid', 1 * H)],
      },
    },
  ];
}

export function fleetEvents(): Map<string, PhoenixEvent[]> {
  return new Map([
    [
      'LxcContainer/web',
      [
        { type: 'Normal', reason: 'CloneStarted', message: 'cloning Template/copy-base (vmid 900) to 103', count: 1, firstTimestamp: ago(4 * S), lastTimestamp: ago(4 * S), source: 'lxccontainer-controller' },
        { type: 'Warning', reason: 'DependencyNotReady', message: 'waiting for LxcContainer/dns', count: 3, firstTimestamp: ago(10 * M), lastTimestamp: ago(2 * M), source: 'lxccontainer-controller' },
      ],
    ],
  ]);
}

export class FakeView implements ControllerView {
  readonly items = new Map<string, ResourceView>();
  readonly eventMap: Map<string, PhoenixEvent[]>;
  readonly reconcileRequests: ObjectRef[] = [];
  errors: ManifestError[] = [];
  ready = true;
  healthy = true;
  onReconcile?: (ref: ObjectRef) => void;
  private listeners = new Set<(ev: WatchEvent) => void>();

  constructor(resources: ResourceView[] = fleet(), events = fleetEvents()) {
    for (const r of resources) this.items.set(`${r.kind}/${r.metadata.name}`, r);
    this.eventMap = events;
  }

  list(): ResourceView[] {
    return [...this.items.values()];
  }
  get(ref: ObjectRef): ResourceView | undefined {
    return this.items.get(keyOf(ref));
  }
  events(ref: ObjectRef): PhoenixEvent[] {
    return this.eventMap.get(keyOf(ref)) ?? [];
  }
  watch(listener: (ev: WatchEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  watcherCount(): number {
    return this.listeners.size;
  }
  requestReconcile(ref: ObjectRef): boolean {
    if (!this.items.has(keyOf(ref))) return false;
    this.reconcileRequests.push(ref);
    this.onReconcile?.(ref);
    return true;
  }
  /** Plans from a top-level spec comparison: enough to drive `phoenixctl diff`. */
  async diff(resources: AnyResource[]): Promise<Plan[]> {
    return resources.map((r) => {
      const ref = { kind: r.kind, name: r.metadata.name };
      const live = this.items.get(keyOf(ref));
      if (!live) return { ref, steps: [{ action: 'create' as const, description: `create ${r.kind}/${r.metadata.name}` }] };
      const changes: FieldChange[] = [];
      const spec = r.spec as unknown as Record<string, unknown>;
      const was = live.spec as Record<string, unknown>;
      for (const k of Object.keys(spec)) {
        const a = was[k];
        const b = spec[k];
        if (JSON.stringify(a) === JSON.stringify(b)) continue;
        const scalar = (v: unknown) => (v === undefined || typeof v === 'object' ? JSON.stringify(v) ?? null : (v as string | number | boolean));
        changes.push({ field: k, from: scalar(a), to: scalar(b) });
      }
      return { ref, steps: changes.length ? [{ action: 'update' as const, description: `update ${r.kind}/${r.metadata.name} config`, changes }] : [] };
    });
  }
  manifestErrors(): ManifestError[] {
    return this.errors;
  }
  isReady(): boolean {
    return this.ready;
  }
  isHealthy(): boolean {
    return this.healthy;
  }
  /** Replace or add a resource and notify watchers. */
  put(r: ResourceView): void {
    const key = `${r.kind}/${r.metadata.name}`;
    const type = this.items.has(key) ? 'MODIFIED' : 'ADDED';
    this.items.set(key, r);
    for (const l of this.listeners) l({ type, object: r });
  }
  remove(ref: ObjectRef): void {
    const r = this.items.get(keyOf(ref));
    if (!r) return;
    this.items.delete(keyOf(ref));
    for (const l of this.listeners) l({ type: 'DELETED', object: r });
  }
}
