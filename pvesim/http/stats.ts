// Request accounting for /_sim/stats: counts by "METHOD /path/template", by status code, faults.

export interface SimStats {
  startedAt: string;
  totalRequests: number;
  /** "GET /nodes/{node}/lxc/{vmid}/config" -> count; unrouted paths count under "GET (unknown)". */
  requests: Record<string, number>;
  /** "200" -> count; "dropped" counts connections destroyed by a fault. */
  statuses: Record<string, number>;
  faults: Record<string, number>;
  faultsTotal: number;
  tasks: { running: number; stopped: number; ok: number; failed: number };
  guests: number;
}

export class StatsCollector {
  readonly startedAt = new Date().toISOString();
  total = 0;
  requests: Record<string, number> = {};
  statuses: Record<string, number> = {};

  record(key: string, status: number | 'dropped'): void {
    this.total++;
    this.requests[key] = (this.requests[key] ?? 0) + 1;
    const s = String(status);
    this.statuses[s] = (this.statuses[s] ?? 0) + 1;
  }

  reset(): void {
    this.total = 0;
    this.requests = {};
    this.statuses = {};
  }
}
