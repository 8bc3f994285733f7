// Git as the source of manifests: follow a repository at a ref, and hand each new commit over as one
// complete, immutable directory tree, so a revision is applied whole or not at all (never half a pull).
// Uses the system `git` through execFile (no shell); credentials come from git's own configuration.
import { execFile } from 'node:child_process';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface GitSourceOptions {
  /** Repository URL (https, ssh or file). */
  url: string;
  /** Branch, tag or commit; default "main". */
  ref?: string;
  /** Where the mirror and the checked-out revisions live (under the state dir). */
  workDir: string;
  /** Sub-directory of the repository that holds the manifests (default: the root). */
  path?: string;
  /** Revisions kept on disk besides the current one. */
  keep?: number;
  gitBinary?: string;
  timeoutMs?: number;
}

export interface Revision {
  /** Full commit id. */
  sha: string;
  /** Directory holding the manifests of that commit (read-only snapshot). */
  dir: string;
}

export class GitSource {
  private readonly mirror: string;
  private readonly revisions: string;
  private readonly ref: string;
  private readonly git: string;
  private readonly timeoutMs: number;

  constructor(private readonly opts: GitSourceOptions) {
    this.mirror = join(opts.workDir, 'mirror.git');
    this.revisions = join(opts.workDir, 'revisions');
    this.ref = opts.ref ?? 'main';
    this.git = opts.gitBinary ?? 'git';
    this.timeoutMs = opts.timeoutMs ?? 120_000;
  }

  private async exec(args: string[], cwd?: string): Promise<string> {
    try {
      const { stdout } = await run(this.git, args, {
        cwd,
        timeout: this.timeoutMs,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'echo', LC_ALL: 'C' },
      });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      const detail = (e.stderr ?? e.message).trim().split('\n').slice(-3).join(' ');
      const sub = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '--git-dir' && args[i - 1] !== '--work-tree');
      throw new Error(`git ${sub} failed: ${redactUrl(detail)}`);
    }
  }

  /** Fetch the ref and return the commit it points at (no checkout). */
  async fetch(): Promise<string> {
    await mkdir(this.opts.workDir, { recursive: true, mode: 0o700 });
    if (!(await exists(join(this.mirror, 'HEAD')))) {
      await rm(this.mirror, { recursive: true, force: true });
      await this.exec(['init', '--bare', '--quiet', this.mirror]);
    }
    // Fetch exactly the ref into a private ref name; works for branches, tags and (reachable) commits.
    await this.exec(['--git-dir', this.mirror, 'fetch', '--quiet', '--no-tags', '--force', '--', this.opts.url, `${this.ref}:refs/phoenix/source`]).catch(async (err) => {
      // A bare commit id cannot be a refspec source on every server: fetch everything and resolve it.
      if (!/^[0-9a-f]{7,40}$/.test(this.ref)) throw err;
      await this.exec(['--git-dir', this.mirror, 'fetch', '--quiet', '--force', '--', this.opts.url, '+refs/heads/*:refs/phoenix/heads/*']);
      await this.exec(['--git-dir', this.mirror, 'update-ref', 'refs/phoenix/source', this.ref]);
    });
    return (await this.exec(['--git-dir', this.mirror, 'rev-parse', '--verify', 'refs/phoenix/source^{commit}'])).trim();
  }

  /**
   * Materialise a commit as a complete directory tree. The tree is written to a temporary directory
   * and renamed into place, so a reader sees either nothing or the whole revision.
   */
  async checkout(sha: string): Promise<Revision> {
    if (!/^[0-9a-f]{40}$/.test(sha)) throw new Error(`not a commit id: ${sha}`);
    const final = join(this.revisions, sha);
    const sub = this.opts.path ? join(final, this.opts.path) : final;
    if (await exists(final)) return { sha, dir: sub };
    await mkdir(this.revisions, { recursive: true, mode: 0o700 });
    const tmp = join(this.revisions, `.tmp-${sha}-${process.pid}-${Date.now()}`);
    await mkdir(tmp, { mode: 0o700 });
    try {
      await this.exec(['--git-dir', this.mirror, '--work-tree', tmp, 'checkout', '--quiet', '--force', sha, '--', '.']);
      // The checkout above also moved the mirror's index; it is private to us and harmless.
      await rename(tmp, final);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    return { sha, dir: sub };
  }

  /** Fetch and check out the ref's current commit. */
  async sync(): Promise<Revision> {
    return this.checkout(await this.fetch());
  }

  /** Remove checked-out revisions other than `current` beyond the newest `keep`. */
  async prune(current: string): Promise<void> {
    const keep = this.opts.keep ?? 2;
    let names: string[];
    try {
      names = await readdir(this.revisions);
    } catch {
      return;
    }
    const entries = await Promise.all(
      names.filter((n) => n !== current).map(async (n) => ({ n, t: (await stat(join(this.revisions, n))).mtimeMs })),
    );
    entries.sort((a, b) => b.t - a.t);
    for (const { n } of entries.slice(keep)) await rm(join(this.revisions, n), { recursive: true, force: true });
  }
}

/** Remove credentials from URLs in messages (https://user:secret@host -> https://***@host). */
export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
