// The dependency graph of a set of resources: explicit `dependsOn` plus the implicit edges a
// resource's spec implies (a clone's source, a CA's host). Pure: built from resources, no I/O.
// Edges point from a resource to what it needs; creation order is a topological order of that.
import type { AnyResource, ObjectRef } from '../resources/types.js';
import type { ResourceKey } from './types.js';
import { keyOf } from './types.js';

/** A reference inside a resource, with where it is written (for error positions). */
export interface RefUse {
  ref: ObjectRef;
  path: Array<string | number>;
  /** Implied by the spec rather than listed in dependsOn. */
  implicit: boolean;
  /** Whether the reference orders creation (an afterRenewal guest does not). */
  dependency: boolean;
}

/** Every reference a resource makes to another resource. */
export function referencesOf(r: AnyResource): RefUse[] {
  const uses: RefUse[] = [];
  const add = (ref: ObjectRef, path: Array<string | number>, implicit: boolean, dependency = true) =>
    uses.push({ ref: { kind: ref.kind, name: ref.name }, path, implicit, dependency });
  if (r.kind === 'LxcContainer' || r.kind === 'VirtualMachine') {
    const src = r.spec.source;
    if (src.template !== undefined) add({ kind: 'Template', name: src.template }, ['spec', 'source', 'template'], true);
    if (src.guest !== undefined) add({ kind: r.kind, name: src.guest }, ['spec', 'source', 'guest'], true);
  }
  if (r.kind === 'CertificateAuthority') {
    if (r.spec.host) add(r.spec.host, ['spec', 'host'], true);
    (r.spec.certificates ?? []).forEach((c, i) => {
      if (c.afterRenewal) add(c.afterRenewal.guest, ['spec', 'certificates', i, 'afterRenewal', 'guest'], false, false);
    });
  }
  (r.spec.dependsOn ?? []).forEach((ref, i) => add(ref, ['spec', 'dependsOn', i], false));
  return uses;
}

/** The dependencies a resource's spec implies beyond dependsOn: a clone's source, a CA's host. */
export function implicitRefs(r: AnyResource): ObjectRef[] {
  return referencesOf(r)
    .filter((u) => u.implicit && u.dependency)
    .map((u) => u.ref);
}

export interface DependencyGraph {
  /** Every resource, sorted. */
  keys: ResourceKey[];
  /** Direct dependencies, including dangling ones (which never become done). */
  dependenciesOf(key: ResourceKey): ResourceKey[];
  dependentsOf(key: ResourceKey): ResourceKey[];
  /** Every resource `key` needs, directly or not, in creation order. */
  transitiveDependencies(key: ResourceKey): ResourceKey[];
  /** References to resources that do not exist. */
  dangling: Array<{ from: ResourceKey; to: ResourceKey }>;
  /** Each cycle as its full path, the first key repeated at the end: [a, b, a]. */
  cycles: ResourceKey[][];
  /** A deterministic creation order: dependencies first, ties by key; resources in or behind a cycle last. */
  order(): ResourceKey[];
  /** Resources not in `done` whose dependencies are all in `done`. */
  ready(done: Set<ResourceKey>): ResourceKey[];
  /**
   * The longest chain of dependents waiting on `key` (0: nothing waits on it). Work on a long chain's
   * head goes first when resources are short, so the chain is not left to run alone at the end.
   */
  height(key: ResourceKey): number;
  toMermaid(): string;
  toText(): string;
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function buildGraph(resources: AnyResource[]): DependencyGraph {
  const deps = new Map<ResourceKey, ResourceKey[]>();
  for (const r of resources) {
    const own = keyOf(r);
    const list = referencesOf(r)
      .filter((u) => u.dependency)
      .map((u) => keyOf(u.ref));
    deps.set(own, [...new Set([...(deps.get(own) ?? []), ...list])].sort(byKey));
  }
  const keys = [...deps.keys()].sort(byKey);
  const dependents = new Map<ResourceKey, ResourceKey[]>(keys.map((k) => [k, []]));
  const dangling: Array<{ from: ResourceKey; to: ResourceKey }> = [];
  for (const k of keys)
    for (const d of deps.get(k)!) {
      if (deps.has(d)) dependents.get(d)!.push(k);
      else dangling.push({ from: k, to: d });
    }

  // Kahn's algorithm, always taking the smallest ready key: deterministic.
  const pending = new Map<ResourceKey, number>(keys.map((k) => [k, deps.get(k)!.filter((d) => deps.has(d)).length]));
  const queue = new MinHeap(keys.filter((k) => pending.get(k) === 0));
  const order: ResourceKey[] = [];
  for (let k = queue.pop(); k !== undefined; k = queue.pop()) {
    order.push(k);
    for (const dep of dependents.get(k)!) {
      const n = pending.get(dep)! - 1;
      pending.set(dep, n);
      if (n === 0) queue.push(dep);
    }
  }
  const stuck = keys.filter((k) => pending.get(k)! > 0);

  // Every stuck resource has a stuck dependency; following them must come back round: a cycle.
  const cycles: ResourceKey[][] = [];
  const stuckSet = new Set(stuck);
  const settled = new Set<ResourceKey>();
  for (const start of stuck) {
    if (settled.has(start)) continue;
    const path: ResourceKey[] = [];
    const index = new Map<ResourceKey, number>();
    let k: ResourceKey | undefined = start;
    while (k !== undefined && !settled.has(k) && !index.has(k)) {
      index.set(k, path.length);
      path.push(k);
      k = deps.get(k)!.find((d) => stuckSet.has(d));
    }
    if (k !== undefined && index.has(k)) {
      const loop = path.slice(index.get(k));
      const min = loop.reduce((a, b) => (b < a ? b : a));
      const rotated = [...loop.slice(loop.indexOf(min)), ...loop.slice(0, loop.indexOf(min))];
      cycles.push([...rotated, rotated[0]!]);
    }
    for (const p of path) settled.add(p);
  }
  const fullOrder = [...order, ...stuck];
  const heights = new Map<ResourceKey, number>();
  for (let i = order.length - 1; i >= 0; i--) {
    const k = order[i]!;
    heights.set(k, Math.max(0, ...dependents.get(k)!.map((d) => 1 + (heights.get(d) ?? 0))));
  }

  const graph: DependencyGraph = {
    keys,
    dangling,
    cycles,
    dependenciesOf: (key) => [...(deps.get(key) ?? [])],
    dependentsOf: (key) => [...(dependents.get(key) ?? [])],
    transitiveDependencies(key) {
      const seen = new Set<ResourceKey>();
      const stack = [...(deps.get(key) ?? [])];
      while (stack.length) {
        const d = stack.pop()!;
        if (seen.has(d) || !deps.has(d)) continue;
        seen.add(d);
        stack.push(...deps.get(d)!);
      }
      seen.delete(key);
      return fullOrder.filter((k) => seen.has(k));
    },
    order: () => [...fullOrder],
    ready: (done) => fullOrder.filter((k) => !done.has(k) && deps.get(k)!.every((d) => done.has(d))),
    height: (key) => heights.get(key) ?? 0,
    toText() {
      const lines = fullOrder.map((k) => {
        const ds = deps.get(k)!;
        return ds.length ? `${k} <- ${ds.map((d) => (deps.has(d) ? d : `${d} (missing)`)).join(', ')}` : k;
      });
      for (const c of cycles) lines.push(`cycle: ${c.join(' -> ')}`);
      return lines.join('\n');
    },
    toMermaid() {
      const id = new Map<ResourceKey, string>();
      const lines = ['graph TD'];
      const node = (k: ResourceKey) => {
        if (!id.has(k)) {
          id.set(k, `n${id.size}`);
          lines.push(`  ${id.get(k)}["${k}${deps.has(k) ? '' : ' (missing)'}"]`);
        }
        return id.get(k)!;
      };
      for (const k of fullOrder) node(k);
      for (const k of fullOrder)
        for (const d of deps.get(k)!) lines.push(`  ${node(d)} ${deps.has(d) ? '-->' : '-.->'} ${node(k)}`);
      return lines.join('\n');
    },
  };
  return graph;
}

/** A binary min-heap of keys, so the topological order costs O((V + E) log V). */
class MinHeap {
  private readonly items: ResourceKey[] = [];
  constructor(initial: ResourceKey[]) {
    for (const k of initial) this.push(k);
  }
  push(k: ResourceKey): void {
    const a = this.items;
    a.push(k);
    for (let i = a.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= a[i]!) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }
  pop(): ResourceKey | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}
