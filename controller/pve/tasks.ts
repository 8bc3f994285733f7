// The one task waiter: polls a UPID's status with backoff until it stops or its deadline passes.
import type { Metrics } from '../metrics.js';
import type { PveClient } from './client.js';
import { TaskDeadlineError, TaskFailedError, isPveError } from './errors.js';

export interface Upid {
  node: string;
  pid: number;
  pstart: number;
  /** Unix seconds */
  starttime: number;
  type: string;
  id: string;
  user: string;
}

/** `UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:` (hex numbers). */
export function parseUpid(upid: string): Upid {
  const p = upid.split(':');
  if (p[0] !== 'UPID' || p.length < 8) throw new Error(`not a UPID: ${upid}`);
  return {
    node: p[1]!,
    pid: parseInt(p[2]!, 16),
    pstart: parseInt(p[3]!, 16),
    starttime: parseInt(p[4]!, 16),
    type: p[5]!,
    id: p[6]!,
    user: p.slice(7, -1).join(':') || p[7]!,
  };
}

export interface TaskPolling {
  /** First poll interval, ms (default 250). */
  initialMs: number;
  /** Poll interval ceiling, ms (default 2000). */
  maxMs: number;
  factor: number;
  /** Deadline by task type (vzcreate, qmclone, ...), ms; `default` for the rest. */
  deadlines: Record<string, number>;
}

const MIN = 60_000;
export const DEFAULT_POLLING: TaskPolling = {
  initialMs: 250,
  maxMs: 2000,
  factor: 1.6,
  deadlines: {
    vzcreate: 30 * MIN,
    qmcreate: 30 * MIN,
    vzclone: 30 * MIN,
    qmclone: 30 * MIN,
    qmtemplate: 10 * MIN,
    vzstart: 5 * MIN,
    qmstart: 5 * MIN,
    vzstop: 5 * MIN,
    qmstop: 5 * MIN,
    vzshutdown: 10 * MIN,
    qmshutdown: 10 * MIN,
    vzreboot: 10 * MIN,
    qmreboot: 10 * MIN,
    vzdestroy: 10 * MIN,
    qmdestroy: 10 * MIN,
    resize: 10 * MIN,
    qmresize: 10 * MIN,
    vzsnapshot: 10 * MIN,
    qmsnapshot: 10 * MIN,
    default: 10 * MIN,
  },
};

export interface TaskResult {
  upid: string;
  type: string;
  exitstatus: string;
  /** N of "WARNINGS: N" (0 for OK). */
  warnings: number;
  durationMs: number;
}

export interface WaitOptions {
  polling?: Partial<TaskPolling>;
  signal?: AbortSignal;
  metrics?: Metrics;
  /** When phoenix started the task (ms); defaults to the UPID's start time. */
  startedAtMs?: number;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Parse an exitstatus: OK, "WARNINGS: N", or an error text. */
export function judgeExitStatus(exitstatus: string | undefined): { ok: boolean; warnings: number } {
  const s = (exitstatus ?? '').trim();
  if (s === 'OK') return { ok: true, warnings: 0 };
  const w = /^WARNINGS:\s*(\d+)$/.exec(s);
  if (w) return { ok: true, warnings: Number(w[1]) };
  return { ok: false, warnings: 0 };
}

/**
 * Wait until the task stops. Resolves for OK and WARNINGS: N; throws TaskFailedError (with the last
 * lines of the task log) for a failure and TaskDeadlineError when the deadline passes first.
 */
export async function waitTask(pve: PveClient, upid: string, opts: WaitOptions = {}): Promise<TaskResult> {
  const polling = { ...DEFAULT_POLLING, ...opts.polling, deadlines: { ...DEFAULT_POLLING.deadlines, ...opts.polling?.deadlines } };
  const u = parseUpid(upid);
  const waitStart = Date.now();
  const startedAt = opts.startedAtMs ?? Math.min(waitStart, u.starttime * 1000);
  const deadline = polling.deadlines[u.type] ?? polling.deadlines.default ?? 10 * MIN;
  let interval = polling.initialMs;
  for (;;) {
    let st;
    try {
      st = await pve.taskStatus(u.node, upid);
    } catch (e) {
      // A task the node no longer knows (log rotated) cannot be judged: the caller re-observes.
      if (isPveError(e, 'NotFound')) throw new TaskFailedError(upid, u.type, 'task no longer known to the node', []);
      throw e;
    }
    // A controller shutting down stops waiting; the UPID stays in status for the next one.
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    if (st.status === 'stopped') {
      const verdict = judgeExitStatus(st.exitstatus);
      const durationMs = Date.now() - startedAt;
      opts.metrics?.pveTaskDuration.observe({ type: u.type }, durationMs / 1000);
      if (verdict.ok) return { upid, type: u.type, exitstatus: String(st.exitstatus), warnings: verdict.warnings, durationMs };
      let tail: string[] = [];
      try {
        const lines = await pve.taskLog(u.node, upid, 0, 1000);
        tail = lines.slice(-8).map((l) => l.t);
      } catch {
        /* the status already says why */
      }
      throw new TaskFailedError(upid, u.type, String(st.exitstatus ?? 'unknown error'), tail);
    }
    if (Date.now() - waitStart >= deadline) throw new TaskDeadlineError(upid, u.type, deadline);
    await sleep(Math.min(interval, Math.max(1, deadline - (Date.now() - waitStart))), opts.signal);
    interval = Math.min(polling.maxMs, Math.ceil(interval * polling.factor));
  }
}
