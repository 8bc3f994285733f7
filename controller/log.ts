// A structured logger: one JSON object per line on stderr. Every message and field passes through
// `scrub`, which removes API tokens, passwords and private keys, so nothing secret reaches a log
// line, an event, a status file or an error shown to the user.
import type { Logger } from './types.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const SECRET_KEY = /(token|secret|password|passwd|passphrase|authorization|cookie|privatekey|private_key|apikey|api_key)/i;
const SECRET_PATTERNS: RegExp[] = [
  // Proxmox API token header / value: PVEAPIToken=user@realm!id=uuid, or user@realm!id=uuid alone
  /PVEAPIToken=[^\s"',;]+/g,
  /\b[\w.-]+@[\w.-]+![\w.-]+[=:][0-9a-fA-F-]{8,}/g,
  // Proxmox ticket cookie
  /PVEAuthCookie=[^\s"',;]+/g,
  // PEM private keys
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  // Authorization headers
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g,
];

const registered = new Set<string>();

/** Register a secret value (e.g. the configured API token) so it is removed wherever it appears. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) registered.add(value);
}

/** Remove secrets from a text. */
export function scrub(text: string): string {
  let out = text;
  for (const s of registered) if (out.includes(s)) out = out.split(s).join('[redacted]');
  for (const re of SECRET_PATTERNS) out = out.replace(re, '[redacted]');
  return out;
}

/** Remove secrets from a value for logging: secret-named keys are blanked, strings scrubbed. */
export function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value);
  if (value instanceof Error) return scrub(value.message);
  if (depth > 5 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && v !== undefined ? '[redacted]' : scrubValue(v, depth + 1);
  return out;
}

/** The message of an unknown thrown value, scrubbed. */
export function errorMessage(err: unknown): string {
  return scrub(err instanceof Error ? err.message : String(err));
}

export interface StructuredLogger extends Logger {
  with(fields: Record<string, unknown>): StructuredLogger;
}

export interface LoggerOptions {
  level?: LogLevel;
  write?: (line: string) => void;
  fields?: Record<string, unknown>;
  now?: () => Date;
}

export function parseLogLevel(s: string | undefined): LogLevel {
  return s && s in LEVELS ? (s as LogLevel) : 'info';
}

export function createLogger(opts: LoggerOptions = {}): StructuredLogger {
  const min = LEVELS[opts.level ?? 'info'];
  const write = opts.write ?? ((line: string) => process.stderr.write(line));
  const now = opts.now ?? (() => new Date());
  const base = opts.fields ?? {};
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < min) return;
    const rec = { ts: now().toISOString(), level, msg: scrub(msg), ...(scrubValue({ ...base, ...fields }) as object) };
    write(`${JSON.stringify(rec)}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    with: (fields) => createLogger({ ...opts, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests, dry runs). */
export const silentLogger: StructuredLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  with: () => silentLogger,
};
