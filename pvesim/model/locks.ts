// File-lock emulation: Proxmox serialises work on a guest's config file (flock on
// /run/lock/lxc/pve-config-ID.lock or /var/lock/qemu-server/lock-ID.conf) and on a storage. A waiter
// gives up after a timeout with "can't lock file '<path>' - got timeout". Shared holders may overlap;
// an exclusive holder excludes everyone. Waiters are served in arrival order.

export type LockMode = 'exclusive' | 'shared';

interface Waiter {
  mode: LockMode;
  grant: () => void;
}

interface LockState {
  exclusive: boolean;
  shared: number;
  queue: Waiter[];
}

export class LockTimeout extends Error {
  constructor(readonly path: string) {
    super(`can't lock file '${path}' - got timeout`);
  }
}

export class LockManager {
  private locks = new Map<string, LockState>();

  /** Whether anyone holds the lock (for tests and introspection). */
  isHeld(key: string): boolean {
    const s = this.locks.get(key);
    return !!s && (s.exclusive || s.shared > 0);
  }

  /**
   * Wait up to timeoutMs for the lock; resolves with a release function, rejects with LockTimeout
   * (message names `path`, the file Proxmox would have locked).
   */
  acquire(key: string, path: string, timeoutMs: number, mode: LockMode = 'exclusive'): Promise<() => void> {
    let s = this.locks.get(key);
    if (!s) {
      s = { exclusive: false, shared: 0, queue: [] };
      this.locks.set(key, s);
    }
    const state = s;
    const free = mode === 'exclusive' ? !state.exclusive && state.shared === 0 : !state.exclusive;
    if (free && state.queue.length === 0) {
      this.take(state, mode);
      return Promise.resolve(this.releaser(key, state, mode));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        mode,
        grant: () => {
          clearTimeout(timer);
          resolve(this.releaser(key, state, mode));
        },
      };
      const timer = setTimeout(() => {
        const i = state.queue.indexOf(waiter);
        if (i >= 0) state.queue.splice(i, 1);
        this.pump(key, state);
        reject(new LockTimeout(path));
      }, Math.max(0, timeoutMs));
      state.queue.push(waiter);
    });
  }

  /** Run fn holding the lock. */
  async with<T>(key: string, path: string, timeoutMs: number, fn: () => Promise<T> | T, mode: LockMode = 'exclusive'): Promise<T> {
    const release = await this.acquire(key, path, timeoutMs, mode);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  private take(s: LockState, mode: LockMode): void {
    if (mode === 'exclusive') s.exclusive = true;
    else s.shared++;
  }

  private releaser(key: string, s: LockState, mode: LockMode): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      if (mode === 'exclusive') s.exclusive = false;
      else s.shared--;
      this.pump(key, s);
    };
  }

  private pump(key: string, s: LockState): void {
    while (s.queue.length > 0) {
      const w = s.queue[0]!;
      const free = w.mode === 'exclusive' ? !s.exclusive && s.shared === 0 : !s.exclusive;
      if (!free) break;
      s.queue.shift();
      this.take(s, w.mode);
      w.grant();
    }
    if (!s.exclusive && s.shared === 0 && s.queue.length === 0) this.locks.delete(key);
  }
}
