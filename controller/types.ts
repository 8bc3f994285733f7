// Contracts between the controller's stages. Each stage is a module with a small typed surface:
//   loader (files -> LoadedResource[] + ManifestError[]) -> graph -> work queue -> Reconciler -> Proxmox
// and status/events flow back through StateStore to the HTTP endpoint.
import type {
  AnyResource,
  Condition,
  Kind,
  LoadedResource,
  ObjectRef,
  PhoenixEvent,
  ResourceStatus,
  EventType,
} from '../resources/types.js';

/** The work queue key of a resource: "Kind/name". */
export type ResourceKey = `${Kind}/${string}`;

export function keyOf(ref: { kind: Kind; name: string } | AnyResource): ResourceKey {
  if ('metadata' in ref) return `${ref.kind}/${ref.metadata.name}`;
  return `${ref.kind}/${ref.name}`;
}

export function refOfKey(key: ResourceKey | string): ObjectRef {
  const i = key.indexOf('/');
  return { kind: key.slice(0, i) as Kind, name: key.slice(i + 1) };
}

/** One problem in a manifest, rendered as `file:line:col: path: message`. */
export interface ManifestError {
  file: string;
  line: number;
  col: number;
  /** Dotted path inside the document, e.g. "spec.memory"; empty for document-level problems. */
  path: string;
  message: string;
  /** The resource the error belongs to, when it could be identified. */
  resource?: ObjectRef;
}

export function formatManifestError(e: ManifestError): string {
  return `${e.file}:${e.line}:${e.col}: ${e.path ? `${e.path}: ` : ''}${e.message}`;
}

export interface LoadResult {
  resources: LoadedResource[];
  errors: ManifestError[];
}

// ---------------------------------------------------------------------------------------------
// Plan: what a reconcile would do, step by step (printed by `phoenixctl diff`).

export type PlanAction =
  | 'create'
  | 'clone'
  | 'update'
  | 'resize'
  | 'start'
  | 'stop'
  | 'restart'
  | 'template'
  | 'firewall'
  | 'snapshot'
  | 'delete'
  | 'issue'
  | 'write';

export interface FieldChange {
  /** Proxmox parameter or spec path, e.g. "memory", "net0", "spec.cores". */
  field: string;
  from?: string | number | boolean | null;
  to?: string | number | boolean | null;
  /** True when Proxmox applies the change only after a restart. */
  restartRequired?: boolean;
}

export interface PlanStep {
  action: PlanAction;
  /** Human summary, e.g. "clone Template/copy-base (vmid 900) to 103, linked". */
  description: string;
  changes?: FieldChange[];
  /** True when this step destroys data (delete, replace). */
  destructive?: boolean;
}

export interface Plan {
  ref: ObjectRef;
  steps: PlanStep[];
  /** Terminal problems found while planning (e.g. a disk shrink, a foreign guest at the vmid). */
  blocked?: { reason: string; message: string };
}

// ---------------------------------------------------------------------------------------------
// Reconcilers

/** What a reconcile concluded. Transient failures are thrown (classified by controller/pve/errors). */
export type ReconcileOutcome =
  | { state: 'Ready'; message?: string; requeueAfterMs?: number }
  /** Work continues (e.g. a task runs); the runtime requeues after the given delay. */
  | { state: 'Progressing'; reason: string; message: string; requeueAfterMs?: number }
  /** Cannot progress without a manifest change (invalid, Conflict, shrink refused, ...). */
  | { state: 'Stalled'; reason: string; message: string };

export interface EventRecorder {
  event(type: EventType, reason: string, message: string): void;
}

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

export interface Clock {
  now(): Date;
}

export interface ReconcileContext<R extends AnyResource = AnyResource> {
  /** Desired state (last valid version), with metadata.generation set. */
  resource: R;
  /** Persisted status; the reconciler updates fields (vmid, node, powerState, taskInFlight, ...). */
  status: ResourceStatus;
  /** Persist `status` now (e.g. right after a task's UPID is known, before waiting on it). */
  persist(): Promise<void>;
  /** Another resource (desired) and its status, e.g. the Template a clone comes from. */
  lookup(ref: ObjectRef): { resource: AnyResource; status: ResourceStatus } | undefined;
  recorder: EventRecorder;
  log: Logger;
  clock: Clock;
  signal: AbortSignal;
  /** Wait (on a Proxmox task, a node or storage limit) lending the worker slot to other resources. */
  whileWaiting?: WaitWrapper;
  /** How many resources wait behind this one in a chain; the longest chains get scarce slots first. */
  priority?: number;
}

/** Runs `wait` without occupying a reconcile worker (the work queue's `lend`, Limits' `whileQueued`). */
export type WaitWrapper = <T>(wait: () => Promise<T>) => Promise<T>;

export interface FinalizeContext {
  ref: ObjectRef;
  /** The last desired state known before the manifest disappeared. */
  lastResource: AnyResource;
  status: ResourceStatus;
  persist(): Promise<void>;
  /** True when --prune is on or the resource carries the prune annotation. */
  prune: boolean;
  recorder: EventRecorder;
  log: Logger;
  clock: Clock;
  signal: AbortSignal;
  whileWaiting?: WaitWrapper;
}

export interface Reconciler<R extends AnyResource = AnyResource> {
  readonly kind: Kind;
  /** Observe live state and compute the plan, writing nothing. */
  plan(ctx: ReconcileContext<R>): Promise<Plan>;
  /** Observe, plan and act. Level-based: reads current state, never the event that triggered it. */
  reconcile(ctx: ReconcileContext<R>): Promise<ReconcileOutcome>;
  /** The manifest is gone: orphan (default) or, with prune, stop and delete what phoenix owns. */
  finalize(ctx: FinalizeContext): Promise<ReconcileOutcome>;
}

export interface ReconcilerSet {
  get(kind: Kind): Reconciler | undefined;
  /** Called at the start of every full pass (startup, resync): drop cached live state. */
  startPass(): void;
}

// ---------------------------------------------------------------------------------------------
// What the runtime exposes to the HTTP endpoint and phoenixctl.

export interface ResourceView {
  apiVersion: string;
  kind: Kind;
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    generation: number;
    creationTimestamp: string;
    /** file:line where the manifest declares it. */
    source?: string;
  };
  spec: unknown;
  status: ResourceStatus;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  type: WatchEventType;
  object: ResourceView;
}

export interface ControllerView {
  list(): ResourceView[];
  get(ref: ObjectRef): ResourceView | undefined;
  events(ref: ObjectRef): PhoenixEvent[];
  /** Subscribe to changes; returns an unsubscribe function. */
  watch(listener: (ev: WatchEvent) => void): () => void;
  /** Queue a reconcile now; false if the resource is unknown. */
  requestReconcile(ref: ObjectRef): boolean;
  /** Plans for a set of desired resources (server-side dry run), as `phoenixctl diff` shows them. */
  diff(resources: AnyResource[]): Promise<Plan[]>;
  /** Manifest errors currently known, for `phoenix_manifest_errors` and the API. */
  manifestErrors(): ManifestError[];
  /** Ready after the first full pass. */
  isReady(): boolean;
  isHealthy(): boolean;
}

export type { Condition };
