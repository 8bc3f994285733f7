// Files the CA writes: output paths confined to the operator's certificate directory, atomic writes
// with the declared mode and owner, and the private state directory for CA keys (0700 dirs, 0600 files).
import { constants, promises as fs } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';

/** A declared path that cannot be used; `field` is the manifest path, e.g. spec.certificates[0].output.keyFile. */
export class OutputPathError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'OutputPathError';
  }
}

const inside = (base: string, p: string) => {
  const rel = relative(base, p);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
};

/**
 * Lexically resolve a declared output path against the certificate directory: relative paths are
 * taken from it, absolute ones must already lie inside it; `..` may not leave it. Pure (no I/O).
 */
export function resolveOutputPath(certDir: string, declared: string, field: string): string {
  if (declared.trim() === '') throw new OutputPathError(field, 'path is empty');
  if (declared.includes('\0')) throw new OutputPathError(field, 'path contains a NUL byte');
  const base = resolve(certDir);
  const p = isAbsolute(declared) ? resolve(declared) : resolve(base, declared);
  if (!inside(base, p)) throw new OutputPathError(field, `path "${declared}" escapes the certificate directory ${base}`);
  return p;
}

/**
 * Check on disk that writing `path` stays inside `certDir`: every existing component is resolved
 * through symlinks and must remain inside; the file itself may not be a symlink (a rename would
 * replace the link, but a link there means someone is pointing the output elsewhere).
 */
export async function checkNoSymlinkEscape(certDir: string, path: string, field: string, declared: string): Promise<void> {
  let base: string;
  try {
    base = await fs.realpath(certDir);
  } catch (e) {
    // no certificate directory yet: nothing below it exists, so nothing can lead out of it
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    const st = await fs.lstat(path);
    if (st.isSymbolicLink()) throw new OutputPathError(field, `path "${declared}" is a symbolic link; refusing to write through it`);
    if (!st.isFile()) throw new OutputPathError(field, `path "${declared}" exists and is not a regular file`);
  } catch (e) {
    if (e instanceof OutputPathError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // the deepest existing ancestor, resolved through links, must stay inside the base
  let dir = dirname(path);
  for (;;) {
    try {
      const real = await fs.realpath(dir);
      if (real !== base && !inside(base, real)) {
        throw new OutputPathError(field, `path "${declared}" leaves the certificate directory through a symbolic link`);
      }
      return;
    } catch (e) {
      if (e instanceof OutputPathError) throw e;
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      const up = dirname(dir);
      if (up === dir) return;
      dir = up;
    }
  }
}

/** Parse an octal mode string ("0640", "600"); throws on anything else or on bits beyond 0777. */
export function parseMode(text: string): number {
  if (!/^0?[0-7]{3}$/.test(text)) throw new Error(`"${text}" is not an octal file mode such as "0640"`);
  return parseInt(text, 8);
}

export interface WriteOptions {
  mode: number;
  uid?: number;
  gid?: number;
  /** Mode of directories created on the way (default 0755: guests read certificates through bind mounts). */
  dirMode?: number;
}

/** One file of an atomic write set. */
export interface FileWrite {
  path: string;
  data: string | Uint8Array;
  opts: WriteOptions;
}

/**
 * Write files atomically: each goes to a temporary file in its target's directory, created with mode
 * 0600 (never readable by others while incomplete), chowned and chmodded to the declared owner and
 * mode and synced; only when all are ready are they renamed over their targets, back to back, and the
 * directories synced. Readers see the old or the new file, whole; a key and its certificate change
 * within one short window.
 */
export async function writeFilesAtomic(files: FileWrite[]): Promise<void> {
  const temps: string[] = [];
  try {
    for (const f of files) {
      const dir = dirname(f.path);
      await fs.mkdir(dir, { recursive: true, mode: f.opts.dirMode ?? 0o755 });
      const tmp = join(dir, `.${randomBytes(6).toString('hex')}.tmp`);
      const fh = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
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
    for (let i = 0; i < files.length; i++) await fs.rename(temps[i]!, files[i]!.path);
    temps.length = 0;
  } finally {
    await Promise.all(temps.map((t) => fs.rm(t, { force: true })));
  }
  for (const dir of new Set(files.map((f) => dirname(f.path)))) await syncDir(dir);
}

/** Write one file atomically (see writeFilesAtomic). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: WriteOptions): Promise<void> {
  await writeFilesAtomic([{ path, data, opts }]);
}

async function syncDir(dir: string): Promise<void> {
  const d = await fs.open(dir, constants.O_RDONLY);
  try {
    await d.sync();
  } catch {
    // some filesystems refuse fsync on directories; the rename is still atomic
  } finally {
    await d.close();
  }
}

/** Read a file, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Mode bits and owner of a file, or undefined when it does not exist. */
export async function fileAttrs(path: string): Promise<{ mode: number; uid: number; gid: number } | undefined> {
  try {
    const st = await fs.stat(path);
    return { mode: st.mode & 0o777, uid: st.uid, gid: st.gid };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Set mode/owner of an existing file in place (drift on a file whose content is right). */
export async function fixAttrs(path: string, opts: WriteOptions): Promise<void> {
  if (opts.uid !== undefined || opts.gid !== undefined) await fs.chown(path, opts.uid ?? -1, opts.gid ?? -1);
  await fs.chmod(path, opts.mode);
}

/**
 * Ensure a private state directory (and its parents created on the way) exists with mode 0700, and
 * tighten it if it exists with looser bits.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await fs.stat(dir);
  if ((st.mode & 0o077) !== 0) await fs.chmod(dir, 0o700);
}

/** Path of a CA's private state: <state-dir>/ca/<name>/. Names are DNS-1123 labels (validated upstream). */
export function caStateDir(stateDir: string, caName: string): string {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(caName)) throw new Error(`invalid CA name "${caName}"`);
  return join(stateDir, 'ca', caName);
}

