// A hand-driven ReconcileContext for reconciler unit tests: a controllable clock, recorded events and
// log lines, and a lookup table of other resources with their status.
import type { AnyResource, ObjectRef, PhoenixEvent, ResourceStatus } from '../../resources/types.js';
import type { Clock, FinalizeContext, ReconcileContext } from '../../controller/types.js';

export class FakeClock implements Clock {
  constructor(private t: number = Date.now()) {}
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(d: Date): void {
    this.t = d.getTime();
  }
}

export interface Harness<R extends AnyResource> {
  ctx: ReconcileContext<R>;
  events: Pick<PhoenixEvent, 'type' | 'reason' | 'message'>[];
  logs: string[];
  others: Map<string, { resource: AnyResource; status: ResourceStatus }>;
  persisted: number;
}

export function harness<R extends AnyResource>(resource: R, clock: Clock, status: ResourceStatus = { conditions: [] }): Harness<R> {
  const h: Harness<R> = {
    events: [],
    logs: [],
    others: new Map(),
    persisted: 0,
    ctx: undefined as unknown as ReconcileContext<R>,
  };
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) => h.logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  h.ctx = {
    resource,
    status,
    persist: async () => {
      h.persisted++;
    },
    lookup: (ref: ObjectRef) => h.others.get(`${ref.kind}/${ref.name}`),
    recorder: { event: (type, reason, message) => h.events.push({ type, reason, message }) },
    log: { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') },
    clock,
    signal: new AbortController().signal,
  };
  return h;
}

export function finalizeContext(h: Harness<AnyResource>, prune = false): FinalizeContext {
  return {
    ref: { kind: h.ctx.resource.kind, name: h.ctx.resource.metadata.name },
    lastResource: h.ctx.resource,
    status: h.ctx.status,
    persist: h.ctx.persist,
    prune,
    recorder: h.ctx.recorder,
    log: h.ctx.log,
    clock: h.ctx.clock,
    signal: h.ctx.signal,
  };
}

export const readyStatus = (extra: Partial<ResourceStatus> = {}): ResourceStatus => ({
  conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: '', lastTransitionTime: new Date(0).toISOString() }],
  ...extra,
});
