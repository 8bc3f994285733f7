import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildGraph, implicitRefs } from '../controller/graph.js';
import { loadManifests, checkSet } from '../controller/manifests.js';
import type { ResourceKey } from '../controller/types.js';
import { formatManifestError, keyOf } from '../controller/types.js';
import type { AnyResource, Kind, ObjectRef } from '../resources/types.js';
import { REPO_ROOT, sharedDir } from './helpers/shared.js';

/** A resource with just enough spec for the graph. */
function res(kind: Kind, name: string, spec: Record<string, unknown> = {}, dependsOn: ObjectRef[] = []): AnyResource {
  return { apiVersion: 'phoenix.hypervisor/v1alpha1', kind, metadata: { name }, spec: { vmid: 100, ...spec, dependsOn } } as unknown as AnyResource;
}
const lx = (name: string, deps: string[] = [], spec: Record<string, unknown> = { source: { ostemplate: 'x' } }) =>
  res('LxcContainer', name, spec, deps.map((d) => ({ kind: 'LxcContainer', name: d })));

test('implicitRefs: a clone source (template or guest) and a CA host; never an afterRenewal guest or dependsOn', () => {
  assert.equal(implicitRefs(res('LxcContainer', 'a', { source: { template: 'base' } }, [{ kind: 'LxcContainer', name: 'x' }])), [{ kind: 'Template', name: 'base' }]);
  assert.equal(implicitRefs(res('VirtualMachine', 'v', { source: { guest: 'golden', snapshot: 's1' } })), [{ kind: 'VirtualMachine', name: 'golden' }]);
  assert.equal(implicitRefs(res('LxcContainer', 'a', { source: { ostemplate: 'local:vztmpl/x.tar.zst' } })), []);
  const ca = res('CertificateAuthority', 'ca', {
    host: { kind: 'LxcContainer', name: 'step-ca' },
    certificates: [{ name: 'c', afterRenewal: { guest: { kind: 'LxcContainer', name: 'web' }, command: ['x'] } }],
  });
  assert.equal(implicitRefs(ca), [{ kind: 'LxcContainer', name: 'step-ca' }]);
  const g = buildGraph([ca, lx('step-ca'), lx('web')]);
  assert.equal(g.dependenciesOf('CertificateAuthority/ca'), ['LxcContainer/step-ca']);
  assert.equal(g.dependenciesOf('LxcContainer/web'), [], 'the afterRenewal guest does not depend on the CA either');
});

test('height: the longest chain of dependents behind a resource; cycles and leaves are 0', () => {
  const g = buildGraph([lx('a'), lx('b', ['a']), lx('c', ['b']), lx('d', ['a']), lx('e'), lx('x', ['y']), lx('y', ['x'])]);
  const h = (n: string) => g.height(`LxcContainer/${n}` as ResourceKey);
  assert.equal(['a', 'b', 'c', 'd', 'e', 'x', 'y'].map(h), [2, 1, 0, 0, 0, 0, 0]);
  assert.is(g.height('LxcContainer/nope' as ResourceKey), 0);
});

test('order is topological and deterministic whatever the input order', () => {
  const rs = [lx('d', ['b', 'c']), lx('c', ['a']), lx('b', ['a']), lx('a'), lx('e')];
  const expected = ['LxcContainer/a', 'LxcContainer/b', 'LxcContainer/c', 'LxcContainer/d', 'LxcContainer/e'];
  assert.equal(buildGraph(rs).order(), expected);
  assert.equal(buildGraph([...rs].reverse()).order(), expected);
  assert.equal(buildGraph([rs[2]!, rs[0]!, rs[4]!, rs[3]!, rs[1]!]).order(), expected);
  const g = buildGraph(rs);
  assert.equal(g.keys, expected);
  assert.equal(g.dependentsOf('LxcContainer/a'), ['LxcContainer/b', 'LxcContainer/c']);
  assert.equal(g.transitiveDependencies('LxcContainer/d'), ['LxcContainer/a', 'LxcContainer/b', 'LxcContainer/c']);
  assert.equal(g.transitiveDependencies('LxcContainer/a'), []);
});

test('ready: not done, every dependency done; a dangling dependency never becomes ready', () => {
  const g = buildGraph([lx('a'), lx('b', ['a']), lx('c', ['a', 'b']), lx('x', ['ghost'])]);
  assert.equal(g.ready(new Set()), ['LxcContainer/a']);
  assert.equal(g.ready(new Set<ResourceKey>(['LxcContainer/a'])), ['LxcContainer/b']);
  assert.equal(g.ready(new Set<ResourceKey>(['LxcContainer/a', 'LxcContainer/b'])), ['LxcContainer/c']);
  assert.equal(g.ready(new Set<ResourceKey>(['LxcContainer/a', 'LxcContainer/b', 'LxcContainer/c'])), []);
  assert.equal(g.dangling, [{ from: 'LxcContainer/x', to: 'LxcContainer/ghost' }]);
  assert.equal(g.dependenciesOf('LxcContainer/x'), ['LxcContainer/ghost']);
  assert.ok(g.order().includes('LxcContainer/x'), 'order still lists it');
});

test('cycles are reported with their full path, starting at their smallest key; what waits behind them is not a cycle', () => {
  const g = buildGraph([lx('c', ['a']), lx('a', ['b']), lx('b', ['c']), lx('d', ['c']), lx('e'), lx('self', ['self'])]);
  assert.equal(g.cycles, [
    ['LxcContainer/a', 'LxcContainer/b', 'LxcContainer/c', 'LxcContainer/a'],
    ['LxcContainer/self', 'LxcContainer/self'],
  ]);
  assert.equal(g.order(), ['LxcContainer/e', 'LxcContainer/a', 'LxcContainer/b', 'LxcContainer/c', 'LxcContainer/d', 'LxcContainer/self']);
  assert.equal(g.ready(new Set()), ['LxcContainer/e']);
  assert.match(g.toText(), 'cycle: LxcContainer/a -> LxcContainer/b -> LxcContainer/c -> LxcContainer/a');
});

test('two separate cycles are both found', () => {
  const g = buildGraph([lx('a', ['b']), lx('b', ['a']), lx('x', ['y']), lx('y', ['x']), lx('z', ['a', 'x'])]);
  assert.equal(g.cycles.map((c) => c.join(' -> ')), ['LxcContainer/a -> LxcContainer/b -> LxcContainer/a', 'LxcContainer/x -> LxcContainer/y -> LxcContainer/x']);
});

test('text and Mermaid renderings show every edge, dangling ones marked', () => {
  const g = buildGraph([lx('a'), lx('b', ['a', 'ghost'])]);
  assert.is(g.toText(), 'LxcContainer/a\nLxcContainer/b <- LxcContainer/a, LxcContainer/ghost (missing)');
  assert.is(
    g.toMermaid(),
    ['graph TD', '  n0["LxcContainer/a"]', '  n1["LxcContainer/b"]', '  n0 --> n1', '  n2["LxcContainer/ghost (missing)"]', '  n2 -.-> n1'].join('\n'),
  );
});

test('a large graph builds and orders quickly', () => {
  const n = 5000;
  const rs = Array.from({ length: n }, (_, i) => lx(`g${String(i).padStart(5, '0')}`, i ? [`g${String(Math.floor((i - 1) / 2)).padStart(5, '0')}`] : []));
  const started = performance.now();
  const g = buildGraph(rs);
  const order = g.order();
  const ms = performance.now() - started;
  assert.is(order.length, n);
  const pos = new Map(order.map((k, i) => [k, i]));
  for (const k of g.keys) for (const d of g.dependenciesOf(k)) assert.ok(pos.get(d)! < pos.get(k)!);
  console.log(`\nfigure: buildGraph + order of ${n} resources (binary tree): ${ms.toFixed(1)} ms`);
  assert.ok(ms < 10_000, 'no quadratic blow-up (bound generous: the test machine is shared)');
});

// ---------------------------------------------------------------------------------------------
// The example fleet against the original tool's dependency edges.

interface LegacyGuest {
  id: number;
  cloneFrom?: number;
  dependencies: number[];
}

function legacyGuests(): LegacyGuest[] {
  const dir = join(sharedDir(), 'phoenix-legacy');
  const lxcs = JSON.parse(readFileSync(join(dir, 'phoenix_lxc_configs.json'), 'utf8')).lxc_configs as Record<string, { clone_from_ctid?: string; dependencies?: string[] }>;
  const vms = JSON.parse(readFileSync(join(dir, 'phoenix_vm_configs.json'), 'utf8')).vms as Array<{ vmid: number; clone_from_vmid?: number; dependencies?: string[] }>;
  return [
    ...Object.entries(lxcs).map(([id, c]) => ({ id: Number(id), cloneFrom: c.clone_from_ctid ? Number(c.clone_from_ctid) : undefined, dependencies: (c.dependencies ?? []).map(Number) })),
    ...vms.map((v) => ({ id: v.vmid, cloneFrom: v.clone_from_vmid, dependencies: (v.dependencies ?? []).map(Number) })),
  ];
}

function closure(edges: Array<[number, number]>, ids: number[]): Set<string> {
  // edges: [dependency, dependent]
  const out = new Set<string>();
  for (const start of ids) {
    const stack = edges.filter(([, b]) => b === start).map(([a]) => a);
    const seen = new Set<number>();
    while (stack.length) {
      const d = stack.pop()!;
      if (seen.has(d)) continue;
      seen.add(d);
      out.add(`${d}->${start}`);
      stack.push(...edges.filter(([, b]) => b === d).map(([a]) => a));
    }
  }
  return out;
}

test('the example fleet orders exactly as the original: its edges, transitively, and nothing more', async () => {
  const fleet = [900, 9000, 103, 101, 102, 1001, 1002];
  const legacy = legacyGuests().filter((g) => fleet.includes(g.id));
  assert.equal(legacy.map((g) => g.id).sort(), [...fleet].sort(), 'every fleet guest is in the legacy configs');
  const legacyEdges: Array<[number, number]> = [];
  for (const g of legacy) {
    if (g.cloneFrom !== undefined) legacyEdges.push([g.cloneFrom, g.id]);
    for (const d of g.dependencies) legacyEdges.push([d, g.id]);
  }
  assert.ok(legacyEdges.length >= 9, 'the legacy data holds the clone and dependency edges');

  const loaded = await loadManifests(join(REPO_ROOT, 'manifests'));
  assert.equal([...loaded.errors, ...checkSet(loaded.resources)].map(formatManifestError), []);
  const resources = loaded.resources.map((l) => l.resource);
  const g = buildGraph(resources);
  assert.equal(g.cycles, []);
  assert.equal(g.dangling, []);

  const byVmid = new Map<number, ResourceKey>();
  for (const r of resources) if (r.kind !== 'CertificateAuthority') byVmid.set(r.spec.vmid, keyOf(r));
  assert.equal([...byVmid.keys()].sort(), [...fleet].sort(), 'the fleet is exactly these guests');

  const ours = new Set<string>();
  for (const id of fleet) {
    const deps = g.transitiveDependencies(byVmid.get(id)!);
    for (const [vmid, key] of byVmid) if (deps.includes(key)) ours.add(`${vmid}->${id}`);
  }
  assert.equal([...ours].sort(), [...closure(legacyEdges, fleet)].sort());

  const order = g.order();
  const pos = (id: number) => order.indexOf(byVmid.get(id)!);
  for (const [a, b] of legacyEdges) assert.ok(pos(a) < pos(b), `${a} before ${b}`);
  // the CA sits between its host and the guests that use its certificates
  const ca = order.indexOf('CertificateAuthority/internal-ca');
  assert.ok(pos(103) < ca && ca < pos(101) && ca < pos(102));
});

test.run();
