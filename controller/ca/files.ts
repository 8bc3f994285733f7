// Files the CA writes: output paths confined to the operator's certificate directory, atomic writes
// with the declared mode and owner, and the private state directory for CA keys (0700 dirs, 0600 files).
import { promises as fs } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { WriteOptions } from '../fs-atomic.js';

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
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
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

/** The path (or a component of it) does not exist as a directory: look further up. */
const missing = (e: unknown) => ['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '');

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
    if (!missing(e)) throw e;
  }
  // the deepest existing ancestor, resolved through links, must stay inside the base, and be a directory
  let dir = dirname(path);
  for (;;) {
    try {
      const real = await fs.realpath(dir);
      if (real !== base && !inside(base, real)) {
        throw new OutputPathError(field, `path "${declared}" leaves the certificate directory through a symbolic link`);
      }
      if (!(await fs.stat(real)).isDirectory()) throw new OutputPathError(field, `path "${declared}" goes through a file as if it were a directory`);
      return;
    } catch (e) {
      if (e instanceof OutputPathError) throw e;
      if (!missing(e)) throw e;
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

