// What phoenixctl prints: kubectl-style tables for `get`, the `describe` layout, and the List shape of
// `-o json|yaml`. Pure functions of the resources and an injected `now`, so output is testable.
import { stringify as toYaml } from 'yaml';
import type { ResourceView } from '../controller/types.js';
import type { Condition, Kind, PhoenixEvent, ResourceStatus } from '../resources/types.js';
import { KINDS } from '../resources/types.js';
import { qualifiedName } from '../resources/kindnames.js';
import { ageSince } from './humanduration.js';
import { alignColumns, DESCRIBE, GET_TABLE } from './tabwriter.js';

const NONE = '<none>';

export function condition(status: ResourceStatus | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

function specOf(r: ResourceView): Record<string, unknown> {
  return r.spec && typeof r.spec === 'object' ? (r.spec as Record<string, unknown>) : {};
}

const STEP_WORDS: Record<string, string> = {
  create: 'Creating',
  clone: 'Cloning',
  start: 'Starting',
  stop: 'Stopping',
  shutdown: 'Stopping',
  restart: 'Restarting',
  reboot: 'Restarting',
  resize: 'Resizing',
  update: 'Configuring',
  config: 'Configuring',
  template: 'Templating',
  delete: 'Deleting',
  destroy: 'Deleting',
  snapshot: 'Snapshotting',
  import: 'Importing',
  migrate: 'Migrating',
  issue: 'Issuing',
};

/** A step name (clone, start, ...) as a present participle (Cloning, Starting, ...). */
export function stepWord(step: string): string {
  const w = STEP_WORDS[step.toLowerCase()];
  if (w) return w;
  return step.charAt(0).toUpperCase() + step.slice(1);
}

/** The STATUS column: Stalled, the task in flight, what a reconcile waits on, or the power state. */
export function phaseOf(r: ResourceView): string {
  const st = r.status;
  if (condition(st, 'Stalled')?.status === 'True') return 'Stalled';
  if (st.taskInFlight) return stepWord(st.taskInFlight.step || st.taskInFlight.type);
  const reconciling = condition(st, 'Reconciling');
  if (reconciling?.status === 'True') return reconciling.reason || 'Reconciling';
  const ready = condition(st, 'Ready');
  if (r.kind === 'Template' && (st.template || ready?.status === 'True')) return 'Template';
  if (st.powerState && st.powerState !== 'unknown') return st.powerState.charAt(0).toUpperCase() + st.powerState.slice(1);
  if (ready?.status === 'True') return 'Ready';
  if (ready?.status === 'False') return ready.reason || 'NotReady';
  return 'Pending';
}

export function readyOf(r: ResourceView): string {
  return condition(r.status, 'Ready')?.status ?? 'Unknown';
}

function vmidOf(r: ResourceView): string {
  const v = r.status.vmid ?? specOf(r).vmid;
  return v === undefined || v === null ? NONE : String(v);
}

function nodeOf(r: ResourceView): string {
  const v = r.status.node ?? specOf(r).node;
  return typeof v === 'string' && v ? v : NONE;
}

/** The SOURCE column: where a guest comes from. */
export function sourceOf(r: ResourceView): string {
  const spec = specOf(r);
  if (r.kind === 'Template') return String(spec.ostemplate ?? spec.image ?? NONE);
  if (r.kind === 'CertificateAuthority') return String(spec.backend ?? 'embedded');
  const src = (spec.source ?? {}) as { template?: string; guest?: string; snapshot?: string; ostemplate?: string };
  if (src.template) return `Template/${src.template}`;
  if (src.guest) return `${r.kind}/${src.guest}${src.snapshot ? `@${src.snapshot}` : ''}`;
  return src.ostemplate ?? NONE;
}

const HEADERS = ['NAME', 'VMID', 'NODE', 'STATUS', 'READY', 'AGE'];
const WIDE_HEADERS = ['ADDRESS', 'DNS', 'CORES', 'MEMORY', 'SOURCE', 'REVISION', 'MESSAGE'];

export interface TableOptions {
  wide?: boolean;
  noHeaders?: boolean;
  /** Print names as kind.group/name (kubectl does when several kinds are shown). */
  qualified?: boolean;
  now: Date;
}

export function tableHeaders(wide: boolean | undefined): string[] {
  return wide ? [...HEADERS, ...WIDE_HEADERS] : HEADERS;
}

export function tableRow(r: ResourceView, o: TableOptions): string[] {
  const name = o.qualified ? qualifiedName(r.kind, r.metadata.name) : r.metadata.name;
  const row = [name, vmidOf(r), nodeOf(r), phaseOf(r), readyOf(r), ageSince(r.metadata.creationTimestamp, o.now)];
  if (!o.wide) return row;
  const spec = specOf(r);
  const ready = condition(r.status, 'Ready');
  const message = (ready?.status !== 'True' && r.status.lastError) || ready?.message || r.status.lastError || '';
  return [
    ...row,
    r.status.addresses?.length ? r.status.addresses.join(',') : NONE,
    r.status.dnsNames?.length ? r.status.dnsNames.join(',') : NONE,
    spec.cores === undefined ? NONE : String(spec.cores),
    spec.memory === undefined ? NONE : `${String(spec.memory)}Mi`,
    sourceOf(r),
    (r.status.sourceRevision ? r.status.sourceRevision.slice(0, 12) : r.status.lastAppliedRevision) || NONE,
    message.replace(/\s+/g, ' ') || NONE,
  ];
}

/** One kubectl table (header + rows), aligned. */
export function formatTable(items: ResourceView[], o: TableOptions): string[] {
  const rows = items.map((r) => tableRow(r, o));
  if (!o.noHeaders) rows.unshift(tableHeaders(o.wide));
  return alignColumns(rows.map((r) => r.join('\t')), GET_TABLE);
}

/** Column widths of an aligned table, so that watch rows printed later line up with it. */
export function columnWidths(rows: string[][]): number[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? GET_TABLE.minWidth, c.length + GET_TABLE.padding)));
  return widths;
}

export function padRow(row: string[], widths: number[]): string {
  return row.map((c, i) => (i < row.length - 1 ? c.padEnd(widths[i] ?? c.length + GET_TABLE.padding) : c)).join('').trimEnd();
}

export function sortResources(items: ResourceView[]): ResourceView[] {
  return [...items].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
}

/** What `-o json|yaml` prints: the object itself for one named resource, a kubectl List otherwise. */
export function listObject(items: ResourceView[]): { apiVersion: 'v1'; kind: 'List'; items: ResourceView[]; metadata: { resourceVersion: '' } } {
  return { apiVersion: 'v1', kind: 'List', items: items.map(withConditions), metadata: { resourceVersion: '' } };
}

export function withConditions(r: ResourceView): ResourceView {
  return { ...r, status: { ...r.status, conditions: r.status?.conditions ?? [] } };
}

export function formatJson(obj: unknown): string {
  return `${JSON.stringify(obj, null, 4)}\n`;
}

export function formatYaml(obj: unknown): string {
  return toYaml(obj, { lineWidth: 0 });
}

// ---------------------------------------------------------------------------------------------
// describe

const ACRONYMS: Record<string, string> = { api: 'API', id: 'ID', ip: 'IP', dns: 'DNS', tls: 'TLS', url: 'URL', cpu: 'CPU', upid: 'UPID', ca: 'CA', uid: 'UID', ttl: 'TTL', http: 'HTTP', https: 'HTTPS', vmid: 'VMID' };

/** camelCase field name -> "Title Case" label, like kubectl's describe of custom resources. */
export function smartLabel(key: string): string {
  const words = key.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+|[^A-Za-z0-9]+/g) ?? [key];
  return words
    .filter((w) => /[A-Za-z0-9]/.test(w))
    .map((w) => ACRONYMS[w.toLowerCase()] ?? w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
}

function scalar(v: unknown): string {
  if (v === null || v === undefined) return NONE;
  if (typeof v === 'string') return v;
  return String(v);
}

/** Nested fields as kubectl's generic describer prints them: `Key:\tvalue`, maps and lists indented. */
function describeValue(lines: string[], indent: string, key: string, value: unknown): void {
  const label = smartLabel(key);
  if (Array.isArray(value)) {
    if (value.length === 0) return void lines.push(`${indent}${label}:\t${NONE}`);
    if (value.every((v) => v === null || typeof v !== 'object')) {
      lines.push(`${indent}${label}:`);
      for (const v of value) lines.push(`${indent}  ${scalar(v)}`);
      return;
    }
    lines.push(`${indent}${label}:`);
    for (const item of value) {
      const sub: string[] = [];
      describeFields(sub, `${indent}    `, item as Record<string, unknown>);
      if (sub.length) sub[0] = `${indent}  - ${sub[0]!.slice(indent.length + 4)}`;
      lines.push(...sub);
    }
    return;
  }
  if (value && typeof value === 'object') {
    lines.push(`${indent}${label}:`);
    describeFields(lines, `${indent}  `, value as Record<string, unknown>);
    return;
  }
  lines.push(`${indent}${label}:\t${scalar(value)}`);
}

function describeFields(lines: string[], indent: string, obj: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) describeValue(lines, indent, k, v);
}

function labelLines(lines: string[], title: string, m: Record<string, string> | undefined): void {
  const entries = Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return void lines.push(`${title}:\t${NONE}`);
  entries.forEach(([k, v], i) => lines.push(`${i === 0 ? `${title}:` : ''}\t${k}=${v}`));
}

/** The `Age` cell of an event: `5m` or `2m (x3 over 10m)` as kubectl prints repeats. */
export function eventAge(e: PhoenixEvent, now: Date): string {
  if (e.count > 1) return `${ageSince(e.lastTimestamp, now)} (x${e.count} over ${ageSince(e.firstTimestamp, now)})`;
  return ageSince(e.firstTimestamp || e.lastTimestamp, now);
}

export function describe(r: ResourceView, events: PhoenixEvent[], now: Date): string {
  const lines: string[] = [];
  lines.push(`Name:\t${r.metadata.name}`);
  labelLines(lines, 'Labels', r.metadata.labels);
  labelLines(lines, 'Annotations', r.metadata.annotations);
  lines.push(`API Version:\t${r.apiVersion}`);
  lines.push(`Kind:\t${r.kind}`);
  lines.push('Metadata:');
  lines.push(`  Creation Timestamp:\t${r.metadata.creationTimestamp}`);
  lines.push(`  Generation:\t${r.metadata.generation}`);
  if (r.metadata.source) lines.push(`  Source:\t${r.metadata.source}`);
  lines.push('Spec:');
  describeFields(lines, '  ', specOf(r));
  const { conditions, ...status } = r.status ?? { conditions: [] };
  lines.push('Status:');
  describeFields(lines, '  ', status as Record<string, unknown>);
  if (!conditions?.length) lines.push(`Conditions:\t${NONE}`);
  else {
    lines.push('Conditions:');
    lines.push('  Type\tStatus\tReason\tAge\tMessage');
    lines.push('  ----\t------\t------\t---\t-------');
    for (const c of conditions) lines.push(`  ${c.type}\t${c.status}\t${c.reason || NONE}\t${ageSince(c.lastTransitionTime, now)}\t${c.message.replace(/\s+/g, ' ')}`);
  }
  const evs = [...events].sort((a, b) => Date.parse(a.lastTimestamp) - Date.parse(b.lastTimestamp));
  if (evs.length === 0) lines.push(`Events:\t${NONE}`);
  else {
    lines.push('Events:');
    lines.push('  Type\tReason\tAge\tFrom\tMessage');
    lines.push('  ----\t------\t----\t----\t-------');
    for (const e of evs) lines.push(`  ${e.type}\t${e.reason}\t${eventAge(e, now)}\t${e.source}\t${e.message.replace(/\s+/g, ' ')}`);
  }
  return `${alignColumns(lines, DESCRIBE).join('\n')}\n`;
}

export function kindOrder(k: Kind): number {
  return KINDS.indexOf(k);
}
