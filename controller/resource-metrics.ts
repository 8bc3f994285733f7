// The per-resource gauges (condition, info, reasons, certificate expiry, manifest errors) mirror the
// controller's view. They are rebuilt from the view on every scrape, synchronously, so a deleted
// resource's series disappear at the next scrape and no stale vmid/node/reason survives a change.
import type { ResourceView, ControllerView } from './types.js';
import type { Metrics } from './metrics.js';

/** Condition types every resource reports, present or not (missing ones count as Unknown). */
export const STANDARD_CONDITION_TYPES = ['Ready', 'Reconciling', 'Stalled'] as const;
const STATUSES = ['True', 'False', 'Unknown'] as const;
const REASON_RE = /^[A-Za-z][A-Za-z0-9]{0,63}$/;

/** Keeps label values bounded: a reason that is not a CamelCase constant is reported as "Other". */
export function boundedReason(reason: string): string {
  return REASON_RE.test(reason) ? reason : 'Other';
}

function vmidOf(r: ResourceView): string {
  const spec = r.spec as { vmid?: unknown } | undefined;
  const v = r.status.vmid ?? (typeof spec?.vmid === 'number' ? spec.vmid : undefined);
  return v === undefined ? '' : String(v);
}

function nodeOf(r: ResourceView): string {
  const spec = r.spec as { node?: unknown } | undefined;
  return r.status.node ?? (typeof spec?.node === 'string' ? spec.node : '');
}

/** Rebuilds the per-resource series from the view. Call right before serialising the registry. */
export function syncResourceMetrics(m: Metrics, view: ControllerView): void {
  const resources = view.list();
  m.resourceCondition.reset();
  m.resourceInfo.reset();
  m.resourceConditionReason.reset();
  m.certificateExpiry.reset();
  for (const r of resources) {
    const kind = r.kind;
    const name = r.metadata.name;
    m.resourceInfo.set({ kind, name, vmid: vmidOf(r), node: nodeOf(r) }, 1);
    const types = new Set<string>(STANDARD_CONDITION_TYPES);
    for (const c of r.status.conditions ?? []) types.add(c.type);
    for (const type of types) {
      const c = r.status.conditions?.find((x) => x.type === type);
      const status = c?.status ?? 'Unknown';
      for (const s of STATUSES) m.resourceCondition.set({ kind, name, type, status: s }, s === status ? 1 : 0);
      if (c) m.resourceConditionReason.set({ kind, name, type, reason: boundedReason(c.reason) }, 1);
    }
    if (kind === 'CertificateAuthority') {
      for (const cert of r.status.certificates ?? []) {
        const t = Date.parse(cert.notAfter);
        if (Number.isFinite(t)) m.certificateExpiry.set({ ca: name, certificate: cert.name }, t / 1000);
      }
    }
  }
  m.manifestErrors.set(view.manifestErrors().length);
}
