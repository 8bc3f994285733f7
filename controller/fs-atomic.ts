// Atomic file replacement: write a temporary file next to the target, fsync it, rename it over the
// target and fsync the directory, so a reader sees either the old or the new content, never a torn
// file, and a crash leaves no half-written target.
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface WriteOptions {
  mode: number;
  uid?: number;
  gid?: number;
  /** Mode of directories created on the way; absent: the directory must exist. */
  dirMode?: number;
}

/** One file of an atomic write set. */
export interface FileWrite {
  path: string;
  data: string | Uint8Array;
  opts: WriteOptions;
}

/**
 * Write files atomically: each goes to a temporary file in its target's directory, created 0600 (never
 * readable by others while incomplete, and O_NOFOLLOW), chowned and chmodded to the requested owner and
 * mode and synced; only when all are ready are they renamed over their targets, back to back, and the
 * directories synced. Readers see the old or the new file, whole; files that belong together (a key and
 * its certificate) change within one short window.
 */
export async function writeFilesAtomic(files: FileWrite[]): Promise<void> {
  const temps: string[] = [];
  try {
    for (const f of files) {
      const dir = dirname(f.path);
      if (f.opts.dirMode !== undefined) await mkdir(dir, { recursive: true, mode: f.opts.dirMode });
      const tmp = join(dir, `.${basename(f.path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
      const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
      temps.push(tmp);
      try {
        await fh.writeFile(f.data);
        if (f.opts.uid !== undefined || f.opts.gid !== undefined) await fh.chown(f.opts.uid ?? -1, f.opts.gid ?? -1);
        await fh.chmod(f.opts.mode);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    for (let i = 0; i < files.length; i++) await rename(temps[i]!, files[i]!.path);
    temps.length = 0;
  } finally {
    await Promise.all(temps.map((t) => rm(t, { force: true })));
  }
  for (const dir of new Set(files.map((f) => dirname(f.path)))) await syncDir(dir);
}

/** Write one file atomically (see writeFilesAtomic); its directory must exist. */
export async function writeFileAtomic(path: string, content: string | Uint8Array, mode = 0o644): Promise<void> {
  await writeFilesAtomic([{ path, data: content, opts: { mode } }]);
}

/**
 * Share runs of `run(key)` between callers: a call while no run of its key is going starts one; calls
 * while one is going share the next run, which starts when that one ends. Each caller's promise thus
 * settles after a run that started after the call (what an fsync covering a rename needs).
 */
export function coalesced(run: (key: string) => Promise<void>): (key: string) => Promise<void> {
  const state = new Map<string, { running: Promise<void>; next?: Promise<void> }>();
  const start = (key: string): Promise<void> => {
    const running = run(key).finally(() => {
      const s = state.get(key);
      if (s && s.running === running && !s.next) state.delete(key);
    });
    state.set(key, { running });
    return running;
  };
  return (key) => {
    const s = state.get(key);
    if (!s) return start(key);
    s.next ??= s.running.catch(() => {}).then(() => start(key));
    return s.next;
  };
}

/**
 * Make a rename durable. A directory sync covers every rename done before it starts, so renames that
 * land while one runs share the next one (many status files written together cost two syncs, not one
 * each). Some filesystems refuse fsync on a directory; that is harmless.
 */
const syncDir = coalesced(fsyncDir);

async function fsyncDir(dir: string): Promise<void> {
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* directory fsync unsupported */
  }
}

/** Reads a file, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes `content` atomically only when it differs from what the file holds; returns whether it wrote. */
export async function writeIfChanged(path: string, content: string, mode = 0o644): Promise<boolean> {
  if ((await readIfExists(path)) === content) return false;
  await writeFileAtomic(path, content, mode);
  return true;
}
