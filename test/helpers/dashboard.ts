// Reading dashboards/phoenix.json for tests: every PromQL query with its panel, and the template
// variables substituted the way Grafana would for one job and instance.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

export interface DashTarget {
  expr: string;
  refId: string;
  instant?: boolean;
}
export interface DashPanel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: DashTarget[];
  panels?: DashPanel[];
}
export interface Dashboard {
  panels: DashPanel[];
  templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
  [k: string]: unknown;
}

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(join(ROOT, 'dashboards', 'phoenix.json'), 'utf8')) as Dashboard;
}

export function allPanels(d: Dashboard): DashPanel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

export function dashboardQueries(d: Dashboard): { panel: string; refId: string; expr: string; instant: boolean }[] {
  return allPanels(d).flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr, instant: t.instant === true })));
}

/** Replaces Grafana's variables: $job/$instance as regexes, $__rate_interval and $__range as a window. */
export function substitute(expr: string, vars: { job: string; instance: string; window: string }): string {
  return expr
    .replaceAll('$__rate_interval', vars.window)
    .replaceAll('$__range', vars.window)
    .replaceAll('$instance', vars.instance)
    .replaceAll('$job', vars.job);
}

/** Metric names a PromQL expression selects (identifiers followed by a `{` selector). */
export function metricNames(expr: string): string[] {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((m) => m[1]!);
}

/** The label matchers of every selector in an expression. */
export function selectors(expr: string): string[] {
  return [...expr.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*\{([^}]*)\}/g)].map((m) => m[1]!);
}

export function variableQuery(v: { query?: string | { query: string } }): string {
  return typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
}
