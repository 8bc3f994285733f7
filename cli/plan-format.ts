// How `phoenixctl diff` prints plans: one block per resource that would change, one line per step
// (`+ clone ...`, `- stop ...`, `~ update ...`) and one line per field (`~ memory: 2048 -> 4096`).
import type { FieldChange, Plan, PlanAction, PlanStep } from '../controller/types.js';

const ADDING: PlanAction[] = ['create', 'clone', 'start', 'template', 'snapshot', 'issue', 'write'];
const REMOVING: PlanAction[] = ['delete', 'stop'];

export function stepSymbol(step: PlanStep): '+' | '-' | '~' {
  if (REMOVING.includes(step.action)) return '-';
  if (ADDING.includes(step.action)) return '+';
  return '~';
}

function show(v: FieldChange['from']): string {
  if (v === null || v === undefined) return '<none>';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function formatChange(c: FieldChange): string {
  const note = c.restartRequired ? ' (restart required)' : '';
  if (c.from === undefined || c.from === null) return `+ ${c.field}: ${show(c.to)}${note}`;
  if (c.to === undefined || c.to === null) return `- ${c.field}: ${show(c.from)}${note}`;
  return `~ ${c.field}: ${show(c.from)} -> ${show(c.to)}${note}`;
}

export function planHasDifferences(p: Plan): boolean {
  return p.steps.length > 0 || p.blocked !== undefined;
}

/** The printed lines of one plan, or none when the resource is up to date. */
export function formatPlan(p: Plan): string[] {
  if (!planHasDifferences(p)) return [];
  const lines = [`${p.ref.kind}/${p.ref.name}`];
  if (p.blocked) lines.push(`  ! blocked (${p.blocked.reason}): ${p.blocked.message}`);
  for (const step of p.steps) {
    lines.push(`  ${stepSymbol(step)} ${step.description}${step.destructive ? ' (destructive)' : ''}`);
    for (const c of step.changes ?? []) lines.push(`      ${formatChange(c)}`);
  }
  return lines;
}

export function formatPlans(plans: Plan[]): string {
  const blocks = plans.filter(planHasDifferences).map((p) => formatPlan(p).join('\n'));
  return blocks.length ? `${blocks.join('\n\n')}\n` : '';
}
