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
  /** Shortest wait between two polls, ms (default 50). */
  minMs: number;
  /** Longest wait between two polls, ms (default 2000). */
  maxMs: number;
  /** With no idea how long a task takes, wait this fraction of the time it has run so far (default 0.05). */
  relative: number;
  /** Around a task's expected end, poll every this fraction of its expected duration (default 0.03). */
  nearEnd: number;
  /** Deadline by task type (vzcreate, qmclone, ...), ms; `default` for the rest. */
  deadlines: Record<string, number>;
}

const MIN = 60_000;
export const DEFAULT_POLLING: TaskPolling = {
  minMs: 50,
  maxMs: 2000,
  relative: 0.05,
  nearEnd: 0.03,
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

/**
 * How long tasks of a kind took, learned as they finish (an exponential moving average per task type
 * and object, e.g. `vzclone:900`, and per type). A serial chain (the clones of one container template
 * take turns on its lock) loses the time between a task ending and phoenix noticing on every link;
 * knowing roughly when a task will end lets the waiter poll sparsely before and densely around it.
 */
export class TaskDurations {
  private readonly avg = new Map<string, number>();
  constructor(private readonly weight = 0.3) {}

  /** Expected duration (ms) of a task like this one, if one has been seen. */
  expected(u: Pick<Upid, 'type' | 'id'>): number | undefined {
    return this.avg.get(`${u.type}:${u.id}`) ?? this.avg.get(u.type);
  }

  observe(u: Pick<Upid, 'type' | 'id'>, ms: number): void {
    for (const k of [`${u.type}:${u.id}`, u.type]) {
      const old = this.avg.get(k);
      this.avg.set(k, old === undefined ? ms : old + this.weight * (ms - old));
    }
  }
}

/**
 * The wait before the next status poll of a task that has run `elapsedMs`. Noticing that a task ended
 * costs the time until the next poll, and a chain of tasks (the clones of one template take turns on
 * its lock) pays it on every link, so the wait is kept a small fraction of the task's length:
 * - expected duration known: sleep towards 85% of it, then poll every `nearEnd` of it until 130%;
 * - otherwise (or once the estimate proved wrong): wait `relative` of the time run so far;
 * always within [minMs, maxMs].
 */
export function nextPoll(elapsedMs: number, expectedMs: number | undefined, p: TaskPolling): number {
  const clamp = (ms: number) => Math.min(p.maxMs, Math.max(p.minMs, Math.round(ms)));
  if (expectedMs !== undefined && elapsedMs <= expectedMs * 1.3) {
    const fine = clamp(expectedMs * p.nearEnd);
    const early = expectedMs * 0.85 - elapsedMs;
    return early > fine ? clamp(early) : fine;
  }
  return clamp(elapsedMs * p.relative);
}

/** The durations every waiter in this process learns from and uses unless given its own. */
export const taskDurations = new TaskDurations();

export interface WaitOptions {
  polling?: Partial<TaskPolling>;
  /** Learned task durations (default: the process-wide `taskDurations`). */
  durations?: TaskDurations;
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
  const durations = opts.durations ?? taskDurations;
  const expected = durations.expected(u);
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
      // Proxmox's own start/end times (whole seconds) are too coarse; the waiter's view of it is not
      if (opts.startedAtMs !== undefined && durationMs < deadline) durations.observe(u, durationMs);
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
    const delay = nextPoll(Date.now() - startedAt, expected, polling);
    await sleep(Math.min(delay, Math.max(1, deadline - (Date.now() - waitStart))), opts.signal);
  }
}
