// Kubernetes label selectors: `app=web,tier!=db,env in (prod,staging),!legacy,owner`.
// Parsed once into requirements, used by the HTTP API (?labelSelector=) and phoenixctl (-l).

export type SelectorOp = '=' | '!=' | 'in' | 'notin' | 'exists' | '!';

export interface Requirement {
  key: string;
  op: SelectorOp;
  values: string[];
}

const KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function checkKey(key: string, selector: string): string {
  if (!KEY.test(key)) throw new Error(`invalid label selector "${selector}": invalid label key "${key}"`);
  return key;
}

function checkValue(v: string, selector: string): string {
  if (v.length > 63 || !VALUE.test(v)) throw new Error(`invalid label selector "${selector}": invalid label value "${v}"`);
  return v;
}

/** Parses a selector; throws an Error naming the selector and the bad part. Empty selects everything. */
export function parseSelector(selector: string): Requirement[] {
  const reqs: Requirement[] = [];
  if (selector.trim() === '') return reqs;
  for (const raw of splitTop(selector)) {
    const part = raw.trim();
    if (part === '') throw new Error(`invalid label selector "${selector}": empty requirement`);
    const set = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(part);
    if (set) {
      const values = set[3]!.split(',').map((v) => checkValue(v.trim(), selector));
      if (values.length === 0 || (values.length === 1 && values[0] === '')) throw new Error(`invalid label selector "${selector}": ${set[2]} needs at least one value`);
      reqs.push({ key: checkKey(set[1]!, selector), op: set[2] as 'in' | 'notin', values });
      continue;
    }
    const eq = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
    if (eq) {
      reqs.push({ key: checkKey(eq[1]!, selector), op: eq[2] === '!=' ? '!=' : '=', values: [checkValue(eq[3]!.trim(), selector)] });
      continue;
    }
    if (part.startsWith('!')) {
      reqs.push({ key: checkKey(part.slice(1).trim(), selector), op: '!', values: [] });
      continue;
    }
    reqs.push({ key: checkKey(part, selector), op: 'exists', values: [] });
  }
  return reqs;
}

/** Whether labels satisfy every requirement (Kubernetes semantics: != and notin match a missing key). */
export function matchesSelector(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case '=':
        return has && v === r.values[0];
      case '!=':
        return !has || v !== r.values[0];
      case 'in':
        return has && r.values.includes(v!);
      case 'notin':
        return !has || !r.values.includes(v!);
      case 'exists':
        return has;
      case '!':
        return !has;
    }
  });
}
