// Watches the manifests directory with chokidar and hands the runtime batches of changed paths.
// Events (add, change, unlink, and unlinkDir for a removed folder) are collected and delivered after a
// quiet period (debounce, default 100 ms), so an editor's atomic save (write temp, rename) or a
// `git pull` that rewrites many files becomes one reload; a stream of writes that never pauses is
// still delivered every `maxWaitMs`. Only *.yaml / *.yml files count; dotfiles and dot-directories
// (editor swap files, .git) are ignored.
import { watch, type FSWatcher } from 'chokidar';
import { basename, resolve } from 'node:path';

export const MANIFEST_FILE = /\.ya?ml$/i;

export interface ManifestBatch {
  /** Absolute paths of files added, changed or removed. */
  files: Set<string>;
  /** Absolute paths of directories removed (every known file below them is gone). */
  removedDirs: Set<string>;
}

export interface DebouncerOptions {
  debounceMs?: number;
  maxWaitMs?: number;
}

/** Collects paths and flushes them after `debounceMs` of quiet (at the latest `maxWaitMs` after the first). */
export class Debouncer {
  private batch: ManifestBatch = { files: new Set(), removedDirs: new Set() };
  private timer: NodeJS.Timeout | undefined;
  private firstAt = 0;
  private readonly debounceMs: number;
  private readonly maxWaitMs: number;

  constructor(
    private readonly flushTo: (batch: ManifestBatch) => void,
    opts: DebouncerOptions = {},
  ) {
    this.debounceMs = opts.debounceMs ?? 100;
    this.maxWaitMs = opts.maxWaitMs ?? Math.max(1000, this.debounceMs * 10);
  }

  file(path: string): void {
    this.batch.files.add(path);
    this.arm();
  }

  removedDir(path: string): void {
    this.batch.removedDirs.add(path);
    this.arm();
  }

  /** Deliver what is pending now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const b = this.batch;
    this.batch = { files: new Set(), removedDirs: new Set() };
    if (b.files.size || b.removedDirs.size) this.flushTo(b);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    const now = Date.now();
    if (!this.timer) this.firstAt = now;
    else clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.debounceMs, this.firstAt + this.maxWaitMs - now));
    this.timer = setTimeout(() => this.flush(), wait);
  }
}

export interface ManifestWatcher {
  /** Resolves once the initial scan is done and events are being delivered. */
  ready: Promise<void>;
  close(): Promise<void>;
}

export interface WatchOptions extends DebouncerOptions {
  onBatch: (batch: ManifestBatch) => void;
  onError?: (err: unknown) => void;
  /** Use polling (for file systems without inotify); default false. */
  usePolling?: boolean;
}

function ignoredPath(root: string) {
  return (p: string, stats?: { isFile(): boolean }) => {
    if (resolve(p) === root) return false;
    if (basename(p).startsWith('.')) return true;
    return Boolean(stats?.isFile()) && !MANIFEST_FILE.test(p);
  };
}

export function watchManifests(dir: string, opts: WatchOptions): ManifestWatcher {
  const root = resolve(dir);
  const debouncer = new Debouncer(opts.onBatch, opts);
  const w: FSWatcher = watch(root, {
    ignoreInitial: true,
    ignored: ignoredPath(root),
    atomic: false, // the debounce coalesces editors' delete+rename; chokidar's own filter would delay unlinks past it
    usePolling: opts.usePolling ?? false,
    interval: 100,
  });
  const onFile = (p: string) => {
    if (MANIFEST_FILE.test(p)) debouncer.file(resolve(p));
  };
  w.on('add', onFile);
  w.on('change', onFile);
  w.on('unlink', onFile);
  w.on('unlinkDir', (p: string) => debouncer.removedDir(resolve(p)));
  w.on('error', (err: unknown) => opts.onError?.(err));
  const ready = new Promise<void>((res) => w.once('ready', () => res()));
  return {
    ready,
    close: async () => {
      debouncer.cancel();
      await w.close();
    },
  };
}
