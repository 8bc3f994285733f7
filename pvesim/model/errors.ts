// Errors the emulator answers with. A PveError carries the HTTP status and the exact Proxmox text;
// the HTTP layer turns it into the wire format (reason phrase + body), tasks into their exitstatus.

export class PveError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Per-parameter errors (400 "Parameter verification failed."). */
    readonly errors?: Record<string, string>,
  ) {
    super(message);
    this.name = 'PveError';
  }
}

/** HTTP 500 with a Proxmox error text: what a check made before a task is forked fails with. */
export function fail(message: string): never {
  throw new PveError(500, message);
}

/** HTTP 400 "Parameter verification failed." with per-parameter errors. */
export function paramFail(errors: Record<string, string>): never {
  throw new PveError(400, 'Parameter verification failed.', errors);
}

/** An error that ends a task with exactly this exitstatus; wrappers must not prefix it. */
export class ExactTaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExactTaskError';
  }
}

export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
