// The one place that turns what the Proxmox client throws into a typed, classified error.
//
// `proxmox-api` throws plain `Error`s whose message carries everything we know:
//   "<METHOD> <url> return Error <status> <reason>: <json body>"            (400, 401, 500)
//   "<METHOD> <url> connection failed with <status> <reason> return: <json>" (any other status)
//   "FaILED to call <METHOD> <url> cause by:<cause>"                          (network, after 1 retry)
//   "<METHOD> <url> unexpected contentType ..."                               (not Proxmox answering)
// Proxmox itself answers almost every refusal with HTTP 500 and a reason phrase, so the class of a
// 500 is decided by its message (see /work/shared/pve-api/behaviour.md for the wording).

export type PveErrorKind =
  | 'NotFound'
  | 'AlreadyExists'
  /** The guest carries a config lock (`CT is locked (disk)`): another task works on it. */
  | 'Locked'
  /** A config or storage lock file could not be taken in time (`can't lock file ... got timeout`). */
  | 'LockTimeout'
  /** A PUT with a stale `digest`: re-read and try again. */
  | 'Modified'
  | 'Transient'
  /** The request can never succeed as sent: terminal, never retried. */
  | 'Invalid'
  | 'Unauthorized'
  | 'Forbidden'
  /** The server's certificate was refused (wrong pin or CA): terminal until the operator fixes it. */
  | 'TlsVerification';

const RETRYABLE: ReadonlySet<PveErrorKind> = new Set(['Locked', 'LockTimeout', 'Modified', 'Transient']);

export class PveError extends Error {
  override readonly name = 'PveError';
  readonly kind: PveErrorKind;
  /** HTTP status; 0 when no response arrived. */
  readonly status: number;
  /** Proxmox's own message (reason phrase or body message), first line. */
  readonly pveMessage: string;
  /** Per-parameter errors of a 400 "Parameter verification failed." */
  readonly paramErrors: Record<string, string>;
  readonly method: string;
  /** Request path (no host, no query). */
  readonly path: string;

  constructor(init: {
    kind: PveErrorKind;
    status: number;
    pveMessage: string;
    paramErrors?: Record<string, string>;
    method?: string;
    path?: string;
  }) {
    const params = Object.entries(init.paramErrors ?? {})
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ');
    const where = init.method ? `${init.method} ${init.path ?? ''}: ` : '';
    super(`${where}${init.kind}${init.status ? ` (${init.status})` : ''}: ${init.pveMessage}${params ? ` [${params}]` : ''}`);
    this.kind = init.kind;
    this.status = init.status;
    this.pveMessage = init.pveMessage;
    this.paramErrors = init.paramErrors ?? {};
    this.method = init.method ?? '';
    this.path = init.path ?? '';
  }

  /** True when trying again later can succeed (the runtime requeues with backoff). */
  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }
}

export function isPveError(e: unknown, ...kinds: PveErrorKind[]): e is PveError {
  return e instanceof PveError && (kinds.length === 0 || kinds.includes(e.kind));
}

// Proxmox 500s that are refusals of the request itself: retrying cannot help.
const TERMINAL_500: RegExp[] = [
  /unable to shrink disk/i,
  /shrinking disks is not supported/i,
  /only possible from a snapshot/i,
  /linked clone feature/i,
  /not allowed for linked clones/i,
  /protection mode enabled/i,
  /you can't (convert|start|clone)/i,
  /can't convert/i,
  /no options specified/i,
  /hostname lookup '.*' failed/i,
  /storage '.*' does not (exist|support)/i,
  /does not support (container|vm) directories|content type/i,
  /unable to parse/i,
  /invalid format/i,
  /volume .* does not exist/i,
  /still in use by linked clone/i,
  /bridge '.*' does not exist/i,
  /snapshot '.*' does not exist/i,
];

/** Classify a Proxmox answer by HTTP status and message. Pure; table-tested. */
export function classify(status: number, message: string): PveErrorKind {
  const m = message;
  if (status === 0) return /certificate|self[- ]signed|fingerprint|CERT_|UNABLE_TO_VERIFY|ERR_TLS/i.test(m) ? 'TlsVerification' : 'Transient';
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden';
  if (status === 400) {
    if (/no such task/i.test(m)) return 'NotFound';
    if (/already exists/i.test(m)) return 'AlreadyExists';
    return 'Invalid';
  }
  if (status === 404) return 'NotFound';
  if (status === 501) return 'Invalid';
  if (/can't lock file .* got timeout/i.test(m) || /got timeout/i.test(m)) return 'LockTimeout';
  if (/\bis locked \(/i.test(m)) return 'Locked';
  if (/detected modified configuration|checksum mismatch/i.test(m)) return 'Modified';
  if (/already exists/i.test(m)) return 'AlreadyExists';
  if (status >= 500 && TERMINAL_500.some((r) => r.test(m))) return 'Invalid';
  if (/does not exist|no such (vm|ct|guest|task)/i.test(m)) return 'NotFound';
  if (/got no worker upid/i.test(m)) return 'Transient';
  if (status >= 500 || status === 408 || status === 429) return 'Transient';
  return 'Invalid';
}

/** Remove anything secret from a text before it may reach a log, status, event or error. */
export function scrub(text: string, secrets: readonly string[] = []): string {
  let t = text
    .replace(/PVEAPIToken=[^\s"',;]+/g, 'PVEAPIToken=<redacted>')
    .replace(/PVEAuthCookie=[^\s"',;]+/g, 'PVEAuthCookie=<redacted>')
    .replace(/(CSRFPreventionToken["':= ]+)[^\s"',;]+/gi, '$1<redacted>')
    .replace(/(password["':= ]+)[^\s"',;&]+/gi, '$1<redacted>');
  for (const s of secrets) if (s && s.length >= 4) t = t.split(s).join('<redacted>');
  return t;
}

const REQUEST_ERR = /^(GET|POST|PUT|DELETE) (\S+) (?:return Error|connection failed with) (\d{3}) ?([\s\S]*?)(?::| return:) (\{[\s\S]*\})\s*$/;
const NETWORK_ERR = /^FaILED to call (GET|POST|PUT|DELETE) (\S+)(?: cause by:([\s\S]*))?$/;
const CONTENT_TYPE_ERR = /^(GET|POST|PUT|DELETE) (\S+) unexpected contentType "([^"]*)" status Line:(\d+)/;

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url.split('?')[0] ?? url;
  }
}

function firstLine(s: string): string {
  return (s.split('\n').find((l) => l.trim() !== '') ?? '').trim();
}

/**
 * Turn anything the client threw into a PveError (a PveError passes through unchanged).
 * `secrets` are scrubbed from every text kept.
 */
export function toPveError(e: unknown, secrets: readonly string[] = []): PveError {
  if (e instanceof PveError) return e;
  const raw = e instanceof Error ? e.message : String(e);
  const msg = scrub(raw, secrets);
  let m = REQUEST_ERR.exec(msg);
  if (m) {
    const [, method, url, statusStr, reason, json] = m as unknown as [string, string, string, string, string, string];
    const status = Number(statusStr);
    let body: { message?: unknown; errors?: unknown } = {};
    try {
      body = JSON.parse(json) as typeof body;
    } catch {
      /* keep the reason phrase */
    }
    const paramErrors: Record<string, string> = {};
    if (body.errors && typeof body.errors === 'object') {
      for (const [k, v] of Object.entries(body.errors as Record<string, unknown>)) paramErrors[k] = firstLine(String(v));
    }
    const bodyMsg = typeof body.message === 'string' ? firstLine(body.message) : '';
    const pveMessage = firstLine(bodyMsg || reason) || `HTTP ${status}`;
    const text = [pveMessage, ...Object.values(paramErrors)].join(' ');
    return new PveError({ kind: classify(status, text), status, pveMessage, paramErrors, method, path: pathOf(url) });
  }
  m = NETWORK_ERR.exec(msg);
  if (m) {
    const [, method, url, cause] = m as unknown as [string, string, string, string | undefined];
    const deep = causeChain(e, secrets);
    const pveMessage = firstLine(deep || cause || 'network error');
    return new PveError({ kind: classify(0, `${cause ?? ''} ${deep}`), status: 0, pveMessage, method, path: pathOf(url) });
  }
  m = CONTENT_TYPE_ERR.exec(msg);
  if (m) {
    const [, method, url, ct, st] = m as unknown as [string, string, string, string, string];
    return new PveError({
      kind: 'Transient',
      status: Number(st),
      pveMessage: `not a Proxmox API answer (content type "${ct}")`,
      method,
      path: pathOf(url),
    });
  }
  const deep = causeChain(e, secrets);
  return new PveError({ kind: classify(0, `${msg} ${deep}`), status: 0, pveMessage: firstLine(deep || msg) || 'unknown error' });
}

/** The innermost useful message of an error's cause chain (TLS refusals hide down there). */
function causeChain(e: unknown, secrets: readonly string[]): string {
  let cur: unknown = e instanceof Error ? e.cause : undefined;
  let best = '';
  for (let i = 0; i < 6 && cur; i++) {
    if (cur instanceof Error || (typeof cur === 'object' && cur !== null && 'message' in cur)) {
      const message = String((cur as { message: unknown }).message);
      const code = (cur as { code?: unknown }).code;
      if (message && message !== 'fetch failed') best = `${message}${typeof code === 'string' && !message.includes(code) ? ` (${code})` : ''}`;
      cur = (cur as { cause?: unknown }).cause;
    } else break;
  }
  return scrub(best, secrets);
}

/** Error thrown for a Proxmox task that ended in failure (its exitstatus and last log lines). */
export class TaskFailedError extends Error {
  override readonly name = 'TaskFailedError';
  readonly kind: PveErrorKind;
  constructor(
    readonly upid: string,
    readonly taskType: string,
    readonly exitstatus: string,
    readonly logTail: string[],
  ) {
    super(`task ${taskType} failed: ${exitstatus}${logTail.length ? `\n  ${logTail.join('\n  ')}` : ''}`);
    // A task failure is judged by its text like a 500: lock timeouts inside a clone are retryable.
    this.kind = classify(500, exitstatus);
  }
  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }
}

/** A task outlived its deadline; it may still finish, so the reconcile resumes waiting next time. */
export class TaskDeadlineError extends Error {
  override readonly name = 'TaskDeadlineError';
  readonly kind: PveErrorKind = 'Transient';
  readonly retryable = true;
  constructor(
    readonly upid: string,
    readonly taskType: string,
    deadlineMs: number,
  ) {
    super(`task ${taskType} still running after ${Math.round(deadlineMs / 1000)}s; will resume waiting`);
  }
}
