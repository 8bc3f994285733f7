// The per-resource gauges (condition, info, reasons, certificate expiry, manifest errors) mirror the
// controller's view. They are brought in line with the view on every scrape, synchronously, so a
// deleted resource's series disappear at the next scrape and no stale vmid/node/reason survives a
// change. These gauges belong to this module: nothing else sets them.
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

type Setter = { gauge: { set(labels: Record<string, string>, v: number): void; remove(labels: Record<string, string>): void }; labels: Record<string, string>; value: number };

/** The series one resource contributes. */
function seriesOf(m: Metrics, r: ResourceView): Setter[] {
  const kind = r.kind;
  const name = r.metadata.name;
  const out: Setter[] = [{ gauge: m.resourceInfo, labels: { kind, name, vmid: vmidOf(r), node: nodeOf(r) }, value: 1 }];
  const types = new Set<string>(STANDARD_CONDITION_TYPES);
  for (const c of r.status.conditions ?? []) types.add(c.type);
  for (const type of types) {
    const c = r.status.conditions?.find((x) => x.type === type);
    const status = c?.status ?? 'Unknown';
    for (const s of STATUSES) out.push({ gauge: m.resourceCondition, labels: { kind, name, type, status: s }, value: s === status ? 1 : 0 });
    if (c) out.push({ gauge: m.resourceConditionReason, labels: { kind, name, type, reason: boundedReason(c.reason) }, value: 1 });
  }
  if (kind === 'CertificateAuthority') {
    for (const cert of r.status.certificates ?? []) {
      const t = Date.parse(cert.notAfter);
      if (Number.isFinite(t)) out.push({ gauge: m.certificateExpiry, labels: { ca: name, certificate: cert.name }, value: t / 1000 });
    }
  }
  return out;
}

/** What the series of a resource depend on: when it is unchanged, its series are left alone. */
function fingerprint(r: ResourceView): string {
  return JSON.stringify([
    vmidOf(r),
    nodeOf(r),
    (r.status.conditions ?? []).map((c) => [c.type, c.status, c.reason]),
    r.kind === 'CertificateAuthority' ? (r.status.certificates ?? []).map((c) => [c.name, c.notAfter]) : 0,
  ]);
}

const synced = new WeakMap<Metrics, Map<string, { fp: string; series: Setter[] }>>();

/**
 * Brings the per-resource series in line with the view. Call right before serialising the registry.
 * Only resources whose conditions, placement or certificates changed are rewritten; the series of
 * resources no longer in the view are removed.
 */
export function syncResourceMetrics(m: Metrics, view: ControllerView): void {
  let known = synced.get(m);
  if (!known) {
    known = new Map();
    synced.set(m, known);
  }
  const seen = new Set<string>();
  for (const r of view.list()) {
    const key = `${r.kind}/${r.metadata.name}`;
    seen.add(key);
    const fp = fingerprint(r);
    const prev = known.get(key);
    if (prev?.fp === fp) continue;
    for (const s of prev?.series ?? []) s.gauge.remove(s.labels);
    const series = seriesOf(m, r);
    for (const s of series) s.gauge.set(s.labels, s.value);
    known.set(key, { fp, series });
  }
  for (const [key, entry] of known) {
    if (seen.has(key)) continue;
    for (const s of entry.series) s.gauge.remove(s.labels);
    known.delete(key);
  }
  m.manifestErrors.set(view.manifestErrors().length);
}
