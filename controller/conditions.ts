// Condition helpers with kstatus semantics:
// - Ready is the summary: True when the resource matches its current spec, False when it does not
//   (with the reason), Unknown while that is not known yet.
// - Reconciling and Stalled are "abnormal-true" conditions: True while the controller works towards the
//   spec (Reconciling) or cannot progress without a manifest change (Stalled); False otherwise.
// - lastTransitionTime changes only when a condition's status changes; reason and message may change
//   without a transition.
// - status.observedGeneration records the generation a conclusion (Ready or Stalled) was reached for.
import type { Condition, ConditionStatus, ResourceStatus } from '../resources/types.js';

export const READY = 'Ready';
export const RECONCILING = 'Reconciling';
export const STALLED = 'Stalled';
/** The conditions phoenix keeps on every resource (and exports as a one-hot metric). */
export const SUMMARY_CONDITIONS = [READY, RECONCILING, STALLED] as const;

export function getCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function conditionStatus(conditions: readonly Condition[] | undefined, type: string): ConditionStatus {
  return getCondition(conditions, type)?.status ?? 'Unknown';
}

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
}

/**
 * Set (or add) a condition in place. lastTransitionTime is kept unless the status changes.
 * Returns true when anything about the condition changed.
 */
export function setCondition(status: ResourceStatus, input: ConditionInput, now: Date): boolean {
  const conds = (status.conditions ??= []);
  const i = conds.findIndex((c) => c.type === input.type);
  const prev = i >= 0 ? conds[i] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message,
    lastTransitionTime: prev && prev.status === input.status ? prev.lastTransitionTime : now.toISOString(),
    ...(input.observedGeneration !== undefined ? { observedGeneration: input.observedGeneration } : {}),
  };
  if (
    prev &&
    prev.status === next.status &&
    prev.reason === next.reason &&
    prev.message === next.message &&
    prev.observedGeneration === next.observedGeneration
  ) {
    return false;
  }
  if (i >= 0) conds[i] = next;
  else conds.push(next);
  return true;
}

export function removeCondition(status: ResourceStatus, type: string): boolean {
  const i = status.conditions?.findIndex((c) => c.type === type) ?? -1;
  if (i < 0) return false;
  status.conditions.splice(i, 1);
  return true;
}

/** The resource matches generation `gen` of its spec. */
export function markReady(status: ResourceStatus, gen: number, message: string, now: Date): boolean {
  let changed = setCondition(status, { type: READY, status: 'True', reason: 'Succeeded', message, observedGeneration: gen }, now);
  changed = setCondition(status, { type: RECONCILING, status: 'False', reason: 'Succeeded', message: '', observedGeneration: gen }, now) || changed;
  changed = setCondition(status, { type: STALLED, status: 'False', reason: 'Succeeded', message: '', observedGeneration: gen }, now) || changed;
  if (status.observedGeneration !== gen) changed = true;
  status.observedGeneration = gen;
  return changed;
}

/**
 * The controller is working towards generation `gen` (a task runs, it waits on a dependency, it retries
 * after an error): Reconciling=True; Ready=False with the reason when there is one, else Unknown.
 */
export function markReconciling(
  status: ResourceStatus,
  gen: number,
  reason: string,
  message: string,
  now: Date,
  ready: 'False' | 'Unknown' = 'Unknown',
): boolean {
  let changed = setCondition(status, { type: RECONCILING, status: 'True', reason, message, observedGeneration: gen }, now);
  changed = setCondition(status, { type: READY, status: ready, reason, message, observedGeneration: gen }, now) || changed;
  changed = setCondition(status, { type: STALLED, status: 'False', reason, message: '', observedGeneration: gen }, now) || changed;
  return changed;
}

/** Progress is impossible until the manifest changes: Stalled=True, Ready=False, same reason. */
export function markStalled(status: ResourceStatus, gen: number, reason: string, message: string, now: Date): boolean {
  let changed = setCondition(status, { type: STALLED, status: 'True', reason, message, observedGeneration: gen }, now);
  changed = setCondition(status, { type: READY, status: 'False', reason, message, observedGeneration: gen }, now) || changed;
  changed = setCondition(status, { type: RECONCILING, status: 'False', reason, message: '', observedGeneration: gen }, now) || changed;
  if (status.observedGeneration !== gen) changed = true;
  status.observedGeneration = gen;
  return changed;
}

/** Ready=True for exactly this generation: what a dependent waits for. */
export function isReadyAt(status: ResourceStatus | undefined, gen: number): boolean {
  if (!status) return false;
  const ready = getCondition(status.conditions, READY);
  return ready?.status === 'True' && status.observedGeneration === gen;
}

/** Why a resource is not Ready, for a dependent's DependencyNotReady message. */
export function notReadyReason(status: ResourceStatus | undefined, gen: number): string {
  if (!status) return 'not reconciled yet';
  const ready = getCondition(status.conditions, READY);
  if (!ready) return 'not reconciled yet';
  if (ready.status === 'True' && status.observedGeneration !== gen) {
    return `generation ${gen} not observed yet (observed ${status.observedGeneration ?? 'none'})`;
  }
  // a chain of waiting resources names each link once: "dependency A is not ready: dependency B ..."
  if (ready.reason === 'DependencyNotReady') return ready.message;
  return ready.message ? `${ready.reason}: ${ready.message}` : ready.reason;
}
