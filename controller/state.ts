// The state directory: what the controller must remember across restarts. Layout:
//   <state-dir>/                      0700
//     controller.lock                 pid of the running controller (O_EXCL; stale locks taken over)
//     resources/<Kind>/<name>.json    last valid desired state, its generation, digest and source
//     status/<Kind>/<name>.json       status (conditions, vmid, node, taskInFlight, ...)
//     events/<Kind>/<name>.json       recent events, folded
// Every file is 0600 and written atomically (temp file, fsync, rename, fsync of the directory), and
// writes to one file are applied in order, so a kill -9 at any moment leaves either the old or the new
// content, never a torn file. Writes to a file that pile up while an earlier one is syncing are folded
// into one (the newest content), so a burst of status changes costs two syncs, not one per change.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { AnyResource, Kind, PhoenixEvent, ResourceStatus, SourceLocation } from '../resources/types.js';
import { KINDS } from '../resources/types.js';
import type { ResourceKey } from './types.js';
import { refOfKey } from './types.js';
import { writeFileAtomic } from './fs-atomic.js';

/** The desired state as last loaded valid, with what the generation is computed from. */
export interface DesiredRecord {
  resource: AnyResource;
  source: SourceLocation;
  generation: number;
  digest: string;
  creationTimestamp: string;
}

export interface LoadedState {
  desired: Map<ResourceKey, DesiredRecord>;
  status: Map<ResourceKey, ResourceStatus>;
  events: Map<ResourceKey, PhoenixEvent[]>;
  /** Files that could not be read back (named, skipped). */
  problems: string[];
}

const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SECTIONS = ['resources', 'status', 'events'] as const;
type Section = (typeof SECTIONS)[number];

export class LockHeldError extends Error {
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(`another phoenix controller (pid ${pid}) holds ${path}; refusing to start on the same state dir`);
  }
}

export class StateStore {
  private readonly chains = new Map<string, Promise<void>>();
  /** The write queued (not started) per path: a newer write replaces its content and shares its promise. */
  private readonly queuedWrites = new Map<string, { data: string; done: Promise<void> }>();
  /** Files written, and writes folded into a later one (for tests and benchmarks). */
  readonly stats = { written: 0, folded: 0 };
  private lockPath: string | undefined;
  private lockContent: string | undefined;

  constructor(readonly dir: string) {}

  /** Create the directory tree (0700) and clean temp files a crash left behind. */
  async open(): Promise<{ tightened: boolean }> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const st = await stat(this.dir);
    const tightened = (st.mode & 0o077) !== 0;
    if (tightened) await chmod(this.dir, 0o700);
    for (const section of SECTIONS) {
      for (const kind of KINDS) {
        const d = join(this.dir, section, kind);
        await mkdir(d, { recursive: true, mode: 0o700 });
        for (const f of await readdir(d)) if (f.endsWith('.tmp')) await unlink(join(d, f)).catch(() => {});
      }
      await chmod(join(this.dir, section), 0o700);
      for (const kind of KINDS) await chmod(join(this.dir, section, kind), 0o700);
    }
    return { tightened };
  }

  // --- lock -----------------------------------------------------------------------------------

  /**
   * Take the state dir's lock. A lock whose process is gone (or whose pid now belongs to another
   * process, told apart by its start time) is taken over; the returned message says so.
   */
  acquireLock(): { tookOverFrom?: number } {
    const path = join(this.dir, 'controller.lock');
    const content = JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid), host: hostname(), since: new Date().toISOString() });
    let tookOverFrom: number | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, content);
        closeSync(fd);
        this.lockPath = path;
        this.lockContent = content;
        return tookOverFrom === undefined ? {} : { tookOverFrom };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let holder: { pid?: number; startTime?: number | null } = {};
      try {
        holder = JSON.parse(readFileSync(path, 'utf8'));
      } catch {
        // empty or torn lock file (crash between create and write): stale
      }
      if (typeof holder.pid === 'number' && lockHolderAlive(holder.pid, holder.startTime ?? null)) {
        throw new LockHeldError(path, holder.pid);
      }
      tookOverFrom = holder.pid ?? -1;
      try {
        unlinkSync(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    throw new Error(`could not take the lock ${path}`);
  }

  /** Release the lock if it is still ours. */
  releaseLock(): void {
    if (!this.lockPath) return;
    try {
      if (readFileSync(this.lockPath, 'utf8') === this.lockContent) unlinkSync(this.lockPath);
    } catch {
      // already gone
    }
    this.lockPath = undefined;
  }

  // --- records --------------------------------------------------------------------------------

  pathOf(section: Section, key: ResourceKey | string): string {
    const { kind, name } = refOfKey(key);
    if (!KINDS.includes(kind as Kind) || !NAME.test(name)) throw new Error(`invalid resource key ${JSON.stringify(key)}`);
    return join(this.dir, section, kind, `${name}.json`);
  }

  writeDesired(key: ResourceKey, rec: DesiredRecord): Promise<void> {
    return this.writeJson(this.pathOf('resources', key), rec);
  }

  writeStatus(key: ResourceKey, status: ResourceStatus): Promise<void> {
    return this.writeJson(this.pathOf('status', key), status);
  }

  writeEvents(key: ResourceKey, events: PhoenixEvent[]): Promise<void> {
    return this.writeJson(this.pathOf('events', key), events);
  }

  /** Forget a resource entirely (after finalize). */
  async remove(key: ResourceKey): Promise<void> {
    await Promise.all(SECTIONS.map((s) => this.enqueue(this.pathOf(s, key), () => unlink(this.pathOf(s, key)).catch(ignoreEnoent))));
  }

  async loadAll(): Promise<LoadedState> {
    const out: LoadedState = { desired: new Map(), status: new Map(), events: new Map(), problems: [] };
    for (const kind of KINDS) {
      for (const section of SECTIONS) {
        const d = join(this.dir, section, kind);
        let files: string[] = [];
        try {
          files = await readdir(d);
        } catch (err) {
          ignoreEnoent(err);
        }
        for (const f of files.filter((x) => x.endsWith('.json')).sort()) {
          const key = `${kind}/${f.slice(0, -5)}` as ResourceKey;
          try {
            const value: unknown = JSON.parse(await readFile(join(d, f), 'utf8'));
            if (section === 'resources') out.desired.set(key, value as DesiredRecord);
            else if (section === 'status') out.status.set(key, value as ResourceStatus);
            else out.events.set(key, value as PhoenixEvent[]);
          } catch (err) {
            out.problems.push(`${join(d, f)}: ${(err as Error).message}`);
          }
        }
      }
    }
    return out;
  }

  /** Wait for every write queued so far. */
  async flush(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  /** Write JSON atomically: temp file (0600, exclusive), fsync, rename over the target, fsync the dir. */
  writeJson(path: string, value: unknown): Promise<void> {
    const data = `${JSON.stringify(value, null, 2)}\n`;
    const queued = this.queuedWrites.get(path);
    if (queued) {
      queued.data = data;
      this.stats.folded++;
      return queued.done;
    }
    const entry = { data, done: Promise.resolve() };
    this.queuedWrites.set(path, entry);
    entry.done = this.enqueue(path, () => {
      this.queuedWrites.delete(path); // from here on, a newer write queues behind this one
      this.stats.written++;
      return writeFileAtomic(path, entry.data, 0o600);
    });
    return entry.done;
  }

  private enqueue(path: string, op: () => Promise<void>): Promise<void> {
    const prev = this.chains.get(path) ?? Promise.resolve();
    const next = prev.then(op, op);
    const settled = next.catch(() => {});
    this.chains.set(path, settled);
    void settled.then(() => {
      if (this.chains.get(path) === settled) this.chains.delete(path);
    });
    return next;
  }
}

function ignoreEnoent(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}

/** A process's start time in clock ticks since boot (Linux /proc), or null where unknown. */
export function processStartTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(fields[19]);
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

/** Whether the process that wrote a lock still runs (same pid and, where known, same start time). */
export function lockHolderAlive(pid: number, startTime: number | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: it exists but belongs to someone else
  }
  if (startTime === null) return true;
  const now = processStartTime(pid);
  return now === null || now === startTime;
}
