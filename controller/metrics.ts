// Every metric phoenix exports, defined in one place. Names and label sets of the controller_runtime_*
// and workqueue_* families follow controller-runtime, so existing controller dashboards work unchanged.
// Label values are bounded: kinds, resource names from manifests, path templates (never ids), codes.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // promtool rejects gauges named *_total; the same figures stay exported, by type, as
  // nodejs_active_handles / nodejs_active_requests / nodejs_active_resources.
  for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(n);
  const r = [registry];

  const m = {
    registry,
    // --- controller-runtime -------------------------------------------------------------------
    reconcileTotal: new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'] as const,
      registers: r,
    }),
    reconcileErrors: new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'] as const,
      registers: r,
    }),
    reconcileTime: new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60],
      registers: r,
    }),
    maxConcurrentReconciles: new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'] as const,
      registers: r,
    }),
    activeWorkers: new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'] as const,
      registers: r,
    }),
    // --- workqueue (label `name` is the controller name) -------------------------------------
    workqueueDepth: new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: ['name', 'controller'] as const,
      registers: r,
    }),
    workqueueAdds: new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name', 'controller'] as const,
      registers: r,
    }),
    workqueueQueueDuration: new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name', 'controller'] as const,
      buckets: [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 100, 1000],
      registers: r,
    }),
    workqueueWorkDuration: new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: ['name', 'controller'] as const,
      buckets: [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 100, 1000],
      registers: r,
    }),
    workqueueRetries: new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name', 'controller'] as const,
      registers: r,
    }),
    workqueueUnfinishedWork: new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: 'How many seconds of work has been done that is in progress and hasn\'t been observed by work_duration. Large values indicate stuck threads.',
      labelNames: ['name', 'controller'] as const,
      registers: r,
    }),
    workqueueLongestRunning: new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running.',
      labelNames: ['name', 'controller'] as const,
      registers: r,
    }),
    // --- phoenix ---------------------------------------------------------------------------
    resourceCondition: new Gauge({
      name: 'phoenix_resource_condition',
      help: 'One-hot condition of each resource: 1 for the condition status the resource has, 0 for the others',
      labelNames: ['kind', 'name', 'type', 'status'] as const,
      registers: r,
    }),
    resourceInfo: new Gauge({
      name: 'phoenix_resource_info',
      help: 'Information about each resource (always 1)',
      labelNames: ['kind', 'name', 'vmid', 'node'] as const,
      registers: r,
    }),
    resourceConditionReason: new Gauge({
      name: 'phoenix_resource_condition_reason',
      help: 'The reason of each condition of each resource (always 1; reasons are CamelCase constants from the code)',
      labelNames: ['kind', 'name', 'type', 'reason'] as const,
      registers: r,
    }),
    pveApiRequests: new Counter({
      name: 'phoenix_pve_api_requests_total',
      help: 'Proxmox VE API requests by method, path template and HTTP status code (0: no response)',
      labelNames: ['method', 'path', 'code'] as const,
      registers: r,
    }),
    pveApiDuration: new Histogram({
      name: 'phoenix_pve_api_request_duration_seconds',
      help: 'Proxmox VE API request latency by method and path template',
      labelNames: ['method', 'path'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: r,
    }),
    pveTaskDuration: new Histogram({
      name: 'phoenix_pve_task_duration_seconds',
      help: 'Duration of Proxmox VE tasks phoenix waited on, by task type',
      labelNames: ['type'] as const,
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900, 1200, 1800],
      registers: r,
    }),
    driftCorrections: new Counter({
      name: 'phoenix_drift_corrections_total',
      help: 'Drift corrections applied, by kind',
      labelNames: ['kind'] as const,
      registers: r,
    }),
    manifestErrors: new Gauge({
      name: 'phoenix_manifest_errors',
      help: 'Number of manifest errors currently reported',
      registers: r,
    }),
    certificateExpiry: new Gauge({
      name: 'phoenix_certificate_expiry_timestamp_seconds',
      help: 'Expiry (notAfter) of each issued certificate, as a Unix timestamp',
      labelNames: ['ca', 'certificate'] as const,
      registers: r,
    }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Controller names used as the `controller` label, one per kind (controller-runtime style, lowercase). */
export const CONTROLLER_NAMES = ['template', 'lxccontainer', 'virtualmachine', 'certificateauthority'] as const;

/**
 * Give every labelled series of the controller-runtime families its zero value, so that rates and
 * increases work from the first scrape (controller-runtime does the same at controller start).
 */
export function initControllerSeries(m: Metrics, concurrency: number): void {
  for (const c of CONTROLLER_NAMES) {
    for (const result of ['success', 'error', 'requeue', 'requeue_after']) m.reconcileTotal.inc({ controller: c, result }, 0);
    m.reconcileErrors.inc({ controller: c }, 0);
    m.maxConcurrentReconciles.set({ controller: c }, concurrency);
    m.activeWorkers.set({ controller: c }, 0);
    const q = { name: c, controller: c };
    m.workqueueDepth.set(q, 0);
    m.workqueueAdds.inc(q, 0);
    m.workqueueRetries.inc(q, 0);
    m.workqueueUnfinishedWork.set(q, 0);
    m.workqueueLongestRunning.set(q, 0);
  }
  for (const kind of ['Template', 'LxcContainer', 'VirtualMachine', 'CertificateAuthority']) m.driftCorrections.inc({ kind }, 0);
  m.manifestErrors.set(0);
}
