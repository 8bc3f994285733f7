// Test doubles for the runtime's collaborators (tests only): a small YAML loader, a dependsOn-only
// graph and scriptable reconcilers that record what they were asked to do.
import { LineCounter, parseAllDocuments } from 'yaml';
import type { AnyResource, Kind, LoadedResource } from '../../resources/types.js';
import type { LoadResult, ManifestError, Plan, Reconciler, ReconcilerSet, ReconcileOutcome, ResourceKey } from '../../controller/types.js';
import { keyOf } from '../../controller/types.js';
import type { GraphView, ManifestLoader } from '../../controller/runtime.js';

export const fakeLoader: ManifestLoader = {
  parseManifestText(file: string, text: string): LoadResult {
    const lc = new LineCounter();
    const out: LoadResult = { resources: [], errors: [] };
    for (const doc of parseAllDocuments(text, { lineCounter: lc })) {
      const pos = lc.linePos(doc.range[0]);
      if (doc.errors.length) {
        const p = lc.linePos(doc.errors[0]!.pos[0]);
        out.errors.push({ file, line: p.line, col: p.col, path: '', message: doc.errors[0]!.message.split('\n')[0]! });
        continue;
      }
      const obj = doc.toJS() as AnyResource | null;
      if (!obj) continue;
      if ((obj.spec as { invalid?: boolean }).invalid) {
        out.errors.push({ file, line: pos.line, col: pos.col, path: 'spec.invalid', message: 'must not be true', resource: { kind: obj.kind, name: obj.metadata.name } });
        continue;
      }
      out.resources.push({ resource: obj, source: { file, line: pos.line, col: pos.col } });
    }
    return out;
  },
  checkSet(_resources: LoadedResource[]): ManifestError[] {
    return [];
  },
};

export function fakeGraph(resources: AnyResource[]): GraphView {
  const keys = new Set(resources.map((r) => keyOf(r)));
  const deps = new Map<ResourceKey, ResourceKey[]>();
  const dependents = new Map<ResourceKey, ResourceKey[]>();
  const problems = new Map<ResourceKey, { reason: string; message: string }>();
  for (const r of resources) {
    const k = keyOf(r);
    const d = ((r.spec as { dependsOn?: Array<{ kind: Kind; name: string }> }).dependsOn ?? []).map((x) => keyOf(x));
    deps.set(k, d);
    for (const x of d) {
      if (!keys.has(x)) problems.set(k, { reason: 'DependencyMissing', message: `depends on ${x}, which is not declared` });
      dependents.set(x, [...(dependents.get(x) ?? []), k]);
    }
  }
  return { dependenciesOf: (k) => deps.get(k) ?? [], dependentsOf: (k) => dependents.get(k) ?? [], problems };
}

export interface Call {
  op: 'reconcile' | 'finalize' | 'plan';
  key: string;
  generation?: number;
  prune?: boolean;
  start: number;
  end?: number;
}

/** Reconcilers for every kind; `behave` decides each reconcile's outcome (default: Ready after `delayMs`). */
export class FakeReconcilers implements ReconcilerSet {
  calls: Call[] = [];
  passes = 0;
  delayMs = 20;
  behave: (key: string, n: number) => Promise<ReconcileOutcome> | ReconcileOutcome | undefined = () => undefined;

  get(kind: Kind): Reconciler {
    return {
      kind,
      plan: async (ctx): Promise<Plan> => {
        this.calls.push({ op: 'plan', key: keyOf(ctx.resource), start: performance.now() });
        return { ref: { kind, name: ctx.resource.metadata.name }, steps: [{ action: 'update', description: `gen ${ctx.resource.metadata.generation}` }] };
      },
      reconcile: async (ctx) => {
        const key = keyOf(ctx.resource);
        const call: Call = { op: 'reconcile', key, generation: ctx.resource.metadata.generation, start: performance.now() };
        this.calls.push(call);
        await new Promise((r) => setTimeout(r, this.delayMs));
        const n = this.calls.filter((c) => c.op === 'reconcile' && c.key === key).length;
        try {
          const o = await this.behave(key, n);
          ctx.status.vmid = (ctx.resource.spec as { vmid?: number }).vmid;
          ctx.status.node = 'pve1';
          return o ?? { state: 'Ready' };
        } finally {
          call.end = performance.now();
        }
      },
      finalize: async (ctx) => {
        this.calls.push({ op: 'finalize', key: keyOf(ctx.lastResource), prune: ctx.prune, start: performance.now(), end: performance.now() });
        return { state: 'Ready' };
      },
    };
  }

  startPass(): void {
    this.passes++;
  }

  of(op: Call['op'], key?: string): Call[] {
    return this.calls.filter((c) => c.op === op && (key === undefined || c.key === key));
  }
}

export function doc(kind: Kind, name: string, spec: Record<string, unknown>, extra = ''): string {
  return `apiVersion: phoenix.hypervisor/v1alpha1\nkind: ${kind}\nmetadata:\n  name: ${name}\n${extra}spec: ${JSON.stringify(spec)}\n`;
}
