// Waiting on the controller: `reconcile --wait` and `create`, which reconciles targets with their
// dependency closure in order and shows each resource's progress until it is Ready or fails.
import type { ResourceKey, ResourceView, WatchEvent } from '../controller/types.js';
import { keyOf } from '../controller/types.js';
import { buildGraph } from '../controller/graph.js';
import type { DependencyGraph } from '../controller/graph.js';
import type { AnyResource, Kind } from '../resources/types.js';
import { API_VERSION, KINDS } from '../resources/types.js';
import { resolveKind } from '../resources/kindnames.js';
import { humanDuration } from './humanduration.js';
import type { ApiClient } from './client.js';
import { CliError } from './client.js';
import { condition, stepWord } from './printers.js';

function lastTransition(r: ResourceView): number {
  return Math.max(0, ...(r.status.conditions ?? []).map((c) => Date.parse(c.lastTransitionTime) || 0));
}

/**
 * Whether the controller has acted on the resource since `before` was read: a finished reconcile
 * (lastReconcileTime), a new generation observed, or a condition that changed (a permanent error
 * marks the resource Stalled without finishing a reconcile).
 */
export function reconciledSince(before: ResourceView, now: ResourceView): boolean {
  return (
    now.status.lastReconcileTime !== before.status.lastReconcileTime ||
    now.status.observedGeneration !== before.status.observedGeneration ||
    lastTransition(now) > lastTransition(before)
  );
}

export type Outcome = { done: true; ok: true } | { done: true; ok: false; why: string } | { done: false };

const isOk = (o: Outcome | undefined): boolean => o?.done === true && o.ok;
const isFailed = (o: Outcome | undefined): o is { done: true; ok: false; why: string } => o?.done === true && !o.ok;

/** Ready once reconciled since `before` with Ready=True; failed once reconciled and Stalled. */
export function outcomeOf(before: ResourceView, now: ResourceView): Outcome {
  if (!reconciledSince(before, now)) return { done: false };
  const ready = condition(now.status, 'Ready');
  const gen = now.metadata.generation;
  const current = now.status.observedGeneration === undefined || now.status.observedGeneration >= gen;
  if (ready?.status === 'True' && current) return { done: true, ok: true };
  const stalled = condition(now.status, 'Stalled');
  if (stalled?.status === 'True') return { done: true, ok: false, why: `Stalled (${stalled.reason}): ${stalled.message}` };
  return { done: false };
}

/** Streams watch events of several kinds into `onEvent` until the signal aborts; reconnects when the connection drops. */
async function watchKinds(client: ApiClient, kinds: Kind[], signal: AbortSignal, onEvent: (ev: WatchEvent) => void): Promise<void> {
  await Promise.all(
    kinds.map(async (kind) => {
      while (!signal.aborted) {
        try {
          for await (const ev of client.watch(kind, { signal })) onEvent(ev);
        } catch (e) {
          if (signal.aborted) return;
          if (!(e instanceof CliError) || !e.retryable) throw e;
        }
        if (signal.aborted) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }),
  );
}

function refText(r: ResourceView): string {
  const vmid = r.status.vmid ?? (r.spec as { vmid?: number }).vmid;
  return `${r.kind}/${r.metadata.name}${vmid !== undefined ? ` (vmid ${vmid})` : ''}`;
}

export async function waitForReconcile(client: ApiClient, before: ResourceView, timeoutMs: number): Promise<void> {
  const controller = new AbortController();
  let result = { done: false } as Outcome;
  let last = before;
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    await watchKinds(client, [before.kind], controller.signal, (ev) => {
      if (ev.object.metadata.name !== before.metadata.name) return;
      last = ev.object;
      if (ev.type === 'DELETED') result = { done: true, ok: false, why: 'the resource was deleted' };
      else result = outcomeOf(before, ev.object);
      if (result.done) controller.abort();
    });
  } finally {
    clearTimeout(timer);
  }
  if (!result.done) {
    throw new CliError(`error: timed out after ${humanDuration(timeoutMs)} waiting for ${refText(last)} to be reconciled and Ready`);
  }
  if (!result.ok) throw new CliError(`error: ${refText(last)} failed: ${result.why}`);
}

// ---------------------------------------------------------------------------------------------
// create

/** Finds a resource by vmid, name, or KIND/NAME; throws when none or several match. */
export function resolveCreateTarget(all: ResourceView[], arg: string): ResourceView {
  let matches: ResourceView[];
  const slash = arg.indexOf('/');
  if (slash > 0) {
    const kind = resolveKind(arg.slice(0, slash));
    matches = all.filter((r) => r.kind === kind && r.metadata.name === arg.slice(slash + 1));
  } else if (/^\d+$/.test(arg)) {
    const id = Number(arg);
    matches = all.filter((r) => (r.status.vmid ?? (r.spec as { vmid?: number }).vmid) === id);
  } else {
    matches = all.filter((r) => r.metadata.name === arg);
  }
  if (matches.length === 0) throw new CliError(`error: no resource has vmid or name "${arg}"`);
  if (matches.length > 1) throw new CliError(`error: "${arg}" is ambiguous: ${matches.map((r) => `${r.kind}/${r.metadata.name}`).join(', ')}; use KIND/NAME`);
  return matches[0]!;
}

/** The resources as the graph module sees them (the view's spec is the desired spec). */
function asResource(r: ResourceView): AnyResource {
  return { apiVersion: API_VERSION, kind: r.kind, metadata: { name: r.metadata.name }, spec: r.spec } as AnyResource;
}

const viewKey = (r: ResourceView): ResourceKey => keyOf({ kind: r.kind, name: r.metadata.name });

/** Targets plus everything they depend on, in creation order; throws on a cycle or a missing dependency. */
export function closureInOrder(graph: DependencyGraph, all: ResourceView[], targets: ResourceView[]): ResourceView[] {
  const wanted = new Set<ResourceKey>();
  for (const t of targets) for (const k of [viewKey(t), ...graph.transitiveDependencies(viewKey(t))]) wanted.add(k);
  for (const d of graph.dangling) {
    if (wanted.has(d.from)) throw new CliError(`error: ${d.from} depends on ${d.to}, which the controller does not know`);
  }
  for (const c of graph.cycles) {
    if (c.some((k) => wanted.has(k))) throw new CliError(`error: dependency cycle: ${c.join(' -> ')}`);
  }
  const byKey = new Map(all.map((r) => [viewKey(r), r]));
  return graph
    .order()
    .filter((k) => wanted.has(k))
    .map((k) => byKey.get(k)!);
}

/** A short word for where a resource is: queued, waiting on dependencies, cloning, configuring, ready, failed. */
export function progressText(r: ResourceView, outcome: Outcome, waitingOn: string[]): string {
  if (outcome.done) return outcome.ok ? 'ready' : `failed: ${outcome.why}`;
  if (r.status.taskInFlight) return stepWord(r.status.taskInFlight.step || r.status.taskInFlight.type).toLowerCase();
  if (waitingOn.length) return `waiting on dependencies (${waitingOn.join(', ')})`;
  const reconciling = condition(r.status, 'Reconciling');
  if (reconciling?.status === 'True') return `configuring (${reconciling.reason})`;
  return 'queued';
}

export interface CreateOptions {
  timeoutMs: number;
  tty: boolean;
  write?: (s: string) => void;
}

export async function runCreate(client: ApiClient, args: string[], opts: CreateOptions): Promise<number> {
  const write = opts.write ?? ((s: string) => void process.stdout.write(s));
  const all = (await Promise.all(KINDS.map((k) => client.list(k)))).flat();
  const targets = args.map((a) => resolveCreateTarget(all, a));
  const graph = buildGraph(all.map(asResource));
  const order = closureInOrder(graph, all, targets);
  const keys = order.map(viewKey);
  const before = new Map<string, ResourceView>();
  const current = new Map<string, ResourceView>();
  for (const r of order) {
    const k = viewKey(r);
    const fresh = await client.get(r.kind, r.metadata.name);
    before.set(k, fresh);
    current.set(k, fresh);
    await client.reconcile(r.kind, r.metadata.name);
  }
  const outcomes = new Map<string, Outcome>(keys.map((k) => [k, { done: false }]));
  const texts = new Map<string, string>();
  const started = Date.now();
  const labelWidth = Math.max(...order.map((r) => refText(r).length));
  let drawn = 0;

  const render = () => {
    const lines: string[] = [];
    for (const k of keys) {
      const r = current.get(k)!;
      const waiting = graph.dependenciesOf(k).filter((d) => !isOk(outcomes.get(d)));
      const text = progressText(r, outcomes.get(k)!, waiting);
      if (opts.tty) lines.push(`${refText(r).padEnd(labelWidth)}  ${text}`);
      else if (texts.get(k) !== text) lines.push(`${refText(r)}: ${text}`);
      texts.set(k, text);
    }
    if (opts.tty) {
      const up = drawn ? `\x1b[${drawn}A` : '';
      write(`${up}${lines.map((l) => `\x1b[2K${l}\n`).join('')}`);
      drawn = lines.length;
    } else if (lines.length) write(`${lines.join('\n')}\n`);
  };

  const failedKey = (): string | undefined => keys.find((k) => isFailed(outcomes.get(k)));
  const allDone = () => keys.every((k) => isOk(outcomes.get(k)));

  render();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs);
  try {
    if (!allDone()) {
      await watchKinds(client, [...new Set(order.map((r) => r.kind))], controller.signal, (ev) => {
        const k = viewKey(ev.object);
        if (!before.has(k)) return;
        current.set(k, ev.object);
        outcomes.set(k, ev.type === 'DELETED' ? { done: true, ok: false, why: 'the resource was deleted' } : outcomeOf(before.get(k)!, ev.object));
        render();
        if (allDone() || failedKey()) controller.abort();
      });
    }
  } finally {
    clearTimeout(timer);
  }
  const failed = failedKey();
  if (failed) {
    const r = current.get(failed)!;
    const o = outcomes.get(failed) as { why: string };
    const dependents = order.filter((x) => graph.transitiveDependencies(viewKey(x)).includes(failed as ResourceKey));
    const blocked = dependents.length ? `; blocks ${dependents.map(refText).join(', ')}` : '';
    throw new CliError(`error: ${refText(r)} failed: ${o.why}${blocked}`);
  }
  if (!allDone()) {
    const pending = keys.filter((k) => !isOk(outcomes.get(k))).map((k) => `${refText(current.get(k)!)}: ${texts.get(k)}`);
    throw new CliError(`error: timed out after ${humanDuration(opts.timeoutMs)} waiting for ${pending.join('; ')}`);
  }
  write(`${targets.length === 1 ? refText(targets[0]!) : `${targets.length} targets`} ready in ${humanDuration(Date.now() - started)}\n`);
  return 0;
}
