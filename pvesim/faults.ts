// Fault injection: rules that make matching requests fail the way a troubled Proxmox does.
//
// SPEC: items separated by ';' or newlines; each item is either `seed=N` or
//   METHOD PATH EFFECT
// METHOD  GET | POST | PUT | DELETE | *
// PATH    an API path below /api2/json; a segment `*` or `{name}` matches one segment, a final `**`
//         matches the rest (e.g. /nodes/*/qemu/*/clone, /nodes/{node}/lxc/{vmid}/status/start, /**)
// EFFECT  P:ACTION        with probability P (0..1) for every matching request, e.g. 0.3:lock
//         seq:A,B,C       the n-th matching request gets the n-th action; after the list, no fault
//         ACTION          alone = probability 1
// ACTION  ok          no fault (useful in sequences)
//         lock        500 "can't lock file '...' - got timeout" (the guest's config lock file)
//         noworker    500 "got no worker upid"
//         503         503 "Service Unavailable"
//         drop        the connection is destroyed without an answer
//         slow[=MS]   the answer is delayed MS milliseconds (default 2000), then served normally
//         taskfail[=TEXT]  the call succeeds but the task it starts fails with exitstatus TEXT
//                          (default "unexpected status"); TEXT may not contain ',' or ';'
//         taskhang    the task it starts never finishes (keeps its locks)
// Randomness comes from a PRNG seeded by `seed=` (else the simulator's seed), so runs repeat.
import { seededRandom } from './model/util.js';

export type FaultKind = 'ok' | 'lock' | 'noworker' | '503' | 'drop' | 'slow' | 'taskfail' | 'taskhang';
export interface FaultAction {
  kind: FaultKind;
  arg?: string;
}

export interface FaultRule {
  method: string;
  path: string;
  prob?: number;
  seq?: FaultAction[];
  action?: FaultAction;
  /** How many requests matched so far (the sequence position). */
  matched: number;
}

const KINDS: FaultKind[] = ['ok', 'lock', 'noworker', '503', 'drop', 'slow', 'taskfail', 'taskhang'];

function parseAction(s: string, where: string): FaultAction {
  const t = s.trim();
  const eq = t.indexOf('=');
  const kind = (eq < 0 ? t : t.slice(0, eq)) as FaultKind;
  if (!KINDS.includes(kind)) throw new Error(`fault spec ${where}: unknown action '${kind}' (one of ${KINDS.join(', ')})`);
  if (eq < 0) return { kind };
  const arg = t.slice(eq + 1);
  if (kind === 'slow' && !/^\d+$/.test(arg)) throw new Error(`fault spec ${where}: slow=MS needs a number of milliseconds`);
  return { kind, arg };
}

export interface ParsedFaults {
  seed?: number;
  rules: FaultRule[];
}

export function parseFaultSpec(spec: string): ParsedFaults {
  const out: ParsedFaults = { rules: [] };
  const items = spec.split(/[;\n]/).map((s) => s.trim()).filter(Boolean);
  items.forEach((item, i) => {
    const where = `item ${i + 1} '${item}'`;
    const seed = /^seed=(\d+)$/.exec(item);
    if (seed) {
      out.seed = Number(seed[1]);
      return;
    }
    const m = /^(\S+)\s+(\S+)\s+(.+)$/.exec(item);
    if (!m) throw new Error(`fault spec ${where}: expected 'METHOD PATH EFFECT' or 'seed=N'`);
    const method = m[1]!.toUpperCase();
    if (!['GET', 'POST', 'PUT', 'DELETE', '*'].includes(method)) throw new Error(`fault spec ${where}: bad method '${m[1]}'`);
    const path = m[2]!;
    if (!path.startsWith('/')) throw new Error(`fault spec ${where}: path must start with '/'`);
    const effect = m[3]!.trim();
    const rule: FaultRule = { method, path, matched: 0 };
    if (effect.startsWith('seq:')) {
      rule.seq = effect.slice(4).split(',').map((a) => parseAction(a, where));
    } else {
      const pm = /^(\d*\.?\d+):(.+)$/.exec(effect);
      if (pm) {
        rule.prob = Number(pm[1]);
        if (!(rule.prob >= 0 && rule.prob <= 1)) throw new Error(`fault spec ${where}: probability must be between 0 and 1`);
        rule.action = parseAction(pm[2]!, where);
      } else {
        rule.prob = 1;
        rule.action = parseAction(effect, where);
      }
    }
    out.rules.push(rule);
  });
  return out;
}

export function pathMatches(pattern: string, path: string): boolean {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '**') return true;
    if (i >= s.length) return false;
    if (p[i] === '*' || /^\{[^}]+\}$/.test(p[i]!)) continue;
    if (p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

export class FaultInjector {
  private rules: FaultRule[] = [];
  private rand: () => number;
  spec: string | null = null;
  readonly injected: Record<string, number> = {};

  constructor(private defaultSeed: number) {
    this.rand = seededRandom(defaultSeed);
  }

  /** Replace the rules (null or '' clears them). Throws on a malformed spec, keeping the old rules. */
  set(spec: string | null): void {
    if (!spec || !spec.trim()) {
      this.rules = [];
      this.spec = null;
      return;
    }
    const parsed = parseFaultSpec(spec);
    this.rules = parsed.rules;
    this.spec = spec;
    this.rand = seededRandom(parsed.seed ?? this.defaultSeed);
  }

  list(): FaultRule[] {
    return this.rules;
  }

  /** The fault for this request, if any (counted in `injected`). */
  pick(method: string, path: string): FaultAction | undefined {
    for (const r of this.rules) {
      if (r.method !== '*' && r.method !== method) continue;
      if (!pathMatches(r.path, path)) continue;
      let a: FaultAction | undefined;
      if (r.seq) a = r.seq[r.matched];
      else if (r.action && this.rand() < (r.prob ?? 1)) a = r.action;
      r.matched++;
      if (a && a.kind !== 'ok') {
        this.injected[a.kind] = (this.injected[a.kind] ?? 0) + 1;
        return a;
      }
      if (a) return undefined;
    }
    return undefined;
  }
}
