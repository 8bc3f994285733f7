// Proxmox tasks (workers): a UPID, a log, status running|stopped and an exitstatus once stopped.
// Task bodies are async functions; their main delay goes through TaskContext.work(), which is where an
// injected fault makes the task fail with a given exitstatus or never finish.
import { ExactTaskError, errorText } from './errors.js';
import { formatUpid, type Upid } from './upid.js';
import { unixNow } from './util.js';

export type TaskFault = { kind: 'fail'; status: string } | { kind: 'hang' };

export interface TaskRecord extends Upid {
  upid: string;
  status: 'running' | 'stopped';
  exitstatus?: string;
  endtime?: number;
  /** Milliseconds since epoch, for benchmarks and tests (start/end with sub-second precision). */
  startedAtMs: number;
  endedAtMs?: number;
  log: string[];
  warnings: number;
}

export interface TaskContext {
  readonly upid: string;
  log(line: string): void;
  warn(line: string): void;
  /** Spend `seconds` (scaled by the simulator's time scale); an injected fault strikes here. */
  work(seconds: number): Promise<void>;
}

export interface TaskClock {
  /** Sleep for `seconds` of simulated time (scaled); rejects when the simulator shuts down. */
  sleep(seconds: number): Promise<void>;
}

export class TaskManager {
  private tasks = new Map<string, TaskRecord>();
  private pid = 0x1000 + Math.floor(Math.random() * 0x10000);
  private pstart = 0x100000 + Math.floor(Math.random() * 0x100000);
  /** Called after every state change of a task (persistence hook). */
  onChange: () => void = () => {};

  constructor(
    private clock: TaskClock,
    private maxTasks = 5000,
  ) {}

  get(upid: string): TaskRecord | undefined {
    return this.tasks.get(upid);
  }

  all(): TaskRecord[] {
    return [...this.tasks.values()];
  }

  /** Restore persisted tasks (newest last). */
  load(list: TaskRecord[], pidCounter?: number): void {
    for (const t of list) this.tasks.set(t.upid, t);
    if (pidCounter) this.pid = pidCounter;
  }

  get pidCounter(): number {
    return this.pid;
  }

  /**
   * Fork a worker. The body runs asynchronously; its rejection becomes the exitstatus (an
   * ExactTaskError verbatim, anything else by its message). `onEnd` runs after the status is final.
   */
  start(
    node: string,
    type: string,
    id: string,
    user: string,
    body: (t: TaskContext) => Promise<void>,
    fault?: TaskFault,
  ): TaskRecord {
    this.pid = (this.pid + 1 + Math.floor(Math.random() * 7)) % 0x400000 || 0x1000;
    this.pstart += 1 + Math.floor(Math.random() * 50);
    const u: Upid = { node, pid: this.pid, pstart: this.pstart, starttime: unixNow(), type, id, user };
    const rec: TaskRecord = { ...u, upid: formatUpid(u), status: 'running', startedAtMs: Date.now(), log: [], warnings: 0 };
    this.tasks.set(rec.upid, rec);
    this.prune();
    let faultUsed = false;
    const ctx: TaskContext = {
      upid: rec.upid,
      log: (line) => void rec.log.push(line),
      warn: (line) => {
        rec.warnings++;
        rec.log.push(`WARN: ${line}`);
      },
      work: async (seconds) => {
        if (fault && !faultUsed) {
          faultUsed = true;
          if (fault.kind === 'hang') return new Promise<never>(() => {});
          await this.clock.sleep(seconds / 2);
          throw new ExactTaskError(fault.status);
        }
        await this.clock.sleep(seconds);
      },
    };
    this.onChange();
    void (async () => {
      try {
        await body(ctx);
        this.finish(rec, rec.warnings > 0 ? `WARNINGS: ${rec.warnings}` : 'OK');
      } catch (e) {
        if ((e as { name?: string }).name === 'SimulatorClosed') return;
        this.finish(rec, errorText(e).replace(/\n+$/, ''));
      }
    })();
    return rec;
  }

  /** Mark a task finished with an exitstatus (also used to resolve tasks interrupted by a restart). */
  finish(rec: TaskRecord, exitstatus: string): void {
    if (rec.status === 'stopped') return;
    rec.status = 'stopped';
    rec.exitstatus = exitstatus;
    rec.endedAtMs = Date.now();
    rec.endtime = Math.floor(rec.endedAtMs / 1000);
    if (exitstatus === 'OK') rec.log.push('TASK OK');
    else if (exitstatus.startsWith('WARNINGS: ')) rec.log.push(`TASK ${exitstatus}`);
    else {
      rec.log.push(...exitstatus.split('\n').slice(0, -1));
      rec.log.push(`TASK ERROR: ${exitstatus.split('\n').pop()}`);
    }
    this.onChange();
  }

  private prune(): void {
    if (this.tasks.size <= this.maxTasks) return;
    for (const [upid, t] of this.tasks) {
      if (this.tasks.size <= this.maxTasks) break;
      if (t.status === 'stopped') this.tasks.delete(upid);
    }
  }
}
