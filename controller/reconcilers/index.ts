// The reconcilers phoenix runs, one per kind. The CertificateAuthority reconciler lives elsewhere:
// pass it in `extra` (or call `register`) and it is served by the same set.
import type { Kind } from '../../resources/types.js';
import type { Metrics } from '../metrics.js';
import type { Reconciler, ReconcilerSet } from '../types.js';
import type { PveClient } from '../pve/client.js';
import type { Limits, LimitsOptions } from '../pve/limits.js';
import { createLimits } from '../pve/limits.js';
import type { ReconcilerOptions, Shared } from './guest-common.js';
import { FleetCache } from './guest-common.js';
import { lxcContainerReconciler } from './lxccontainer.js';
import { templateReconciler } from './template.js';
import { virtualMachineReconciler } from './virtualmachine.js';

export type { ReconcilerOptions } from './guest-common.js';

export interface ReconcilerDeps {
  pve: PveClient;
  metrics?: Metrics;
  options: ReconcilerOptions;
  /** Clone/create concurrency: a Limits instance or its options (default 2 per node, 1 per storage). */
  limits?: Limits | LimitsOptions;
  /** Reconcilers of other kinds (the CertificateAuthority reconciler registers here). */
  extra?: Reconciler[];
}

export interface PhoenixReconcilerSet extends ReconcilerSet {
  /** Add (or replace) the reconciler of a kind, e.g. CertificateAuthority. */
  register(r: Reconciler): void;
}

export function createReconcilers(deps: ReconcilerDeps): PhoenixReconcilerSet {
  const limits = deps.limits && 'run' in deps.limits ? deps.limits : createLimits(deps.limits as LimitsOptions | undefined);
  const sh: Shared = { pve: deps.pve, options: deps.options, limits, fleet: new FleetCache(deps.pve, deps.options.fleetMaxAgeMs), lastFullObserve: new Map() };
  if (deps.metrics) sh.metrics = deps.metrics;
  const byKind = new Map<Kind, Reconciler>();
  const register = (r: Reconciler) => void byKind.set(r.kind, r);
  register(templateReconciler(sh) as unknown as Reconciler);
  register(lxcContainerReconciler(sh) as unknown as Reconciler);
  register(virtualMachineReconciler(sh) as unknown as Reconciler);
  // CertificateAuthority: registered by its owner through `extra` or `register`.
  for (const r of deps.extra ?? []) register(r);
  return {
    get: (kind) => byKind.get(kind),
    startPass: () => sh.fleet.invalidate(),
    register,
  };
}
