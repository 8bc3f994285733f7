// phoenixctl's client of the controller's status API. Failures become CliErrors whose text reads
// like kubectl's (`Error from server (NotFound): ...`, `The connection to the server ... was refused`).
import type { Command } from 'commander';
import type { Plan, ResourceView, WatchEvent } from '../controller/types.js';
import type { AnyResource, Kind, PhoenixEvent } from '../resources/types.js';
import { API_GROUP, API_GROUP_VERSION, pluralOf } from '../resources/kindnames.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:9750';
const PREFIX = `/apis/${API_GROUP}/${API_GROUP_VERSION}`;

/** An error phoenixctl reports on stderr (message as is) before exiting with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    /** A connection problem that may pass (the controller restarting), as opposed to an answer. */
    readonly retryable = false,
  ) {
    super(message);
  }
}

interface StatusLike {
  kind?: string;
  reason?: string;
  message?: string;
  code?: number;
}

function hostPort(server: string): string {
  try {
    const u = new URL(server);
    return u.port ? `${u.hostname}:${u.port}` : u.host || server;
  } catch {
    return server;
  }
}

/** Turns a fetch failure into kubectl's wording, naming the address tried. */
export function connectionError(server: string, err: unknown): CliError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const addr = hostPort(server);
  if (cause?.code === 'ECONNREFUSED') return new CliError(`The connection to the server ${addr} was refused - is phoenix-controller running?`, 1, true);
  const why = cause?.message ?? (err instanceof Error ? err.message : String(err));
  return new CliError(`Unable to connect to the server ${addr}: ${why}`, 1, true);
}

export function serverError(code: number, body: string): CliError {
  let s: StatusLike | undefined;
  try {
    s = JSON.parse(body) as StatusLike;
  } catch {
    s = undefined;
  }
  if (code === 401) return new CliError('error: You must be logged in to the server (Unauthorized)');
  if (s && s.kind === 'Status' && s.reason) return new CliError(`Error from server (${s.reason}): ${s.message ?? ''}`);
  return new CliError(`Error from server: an error on the server (HTTP ${code}) has prevented the request from succeeding: ${body.trim().slice(0, 200)}`);
}

export class ApiClient {
  constructor(
    readonly server: string,
    private readonly token?: string,
  ) {}

  static fromCommand(cmd: Command): ApiClient {
    const opts = cmd.optsWithGlobals<{ server?: string }>();
    const token = process.env.PHOENIX_API_TOKEN;
    return new ApiClient((opts.server ?? process.env.PHOENIX_SERVER ?? DEFAULT_SERVER).replace(/\/+$/, ''), token || undefined);
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { accept: 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  private async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.server}${path}`, { ...init, headers: this.headers(init.headers as Record<string, string>) });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw connectionError(this.server, err);
    }
    if (!res.ok) throw serverError(res.status, await res.text());
    return res;
  }

  private async json<T>(path: string, init?: RequestInit): Promise<T> {
    const res = await this.fetch(path, init);
    return (await res.json()) as T;
  }

  list(kind: Kind, labelSelector?: string): Promise<ResourceView[]> {
    const q = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
    return this.json<{ items: ResourceView[] }>(`${PREFIX}/${pluralOf(kind)}${q}`).then((l) => l.items);
  }

  get(kind: Kind, name: string): Promise<ResourceView> {
    return this.json<ResourceView>(`${PREFIX}/${pluralOf(kind)}/${encodeURIComponent(name)}`);
  }

  events(kind: Kind, name: string): Promise<PhoenixEvent[]> {
    return this.json<{ items: PhoenixEvent[] }>(`${PREFIX}/${pluralOf(kind)}/${encodeURIComponent(name)}/events`).then((l) => l.items);
  }

  reconcile(kind: Kind, name: string): Promise<ResourceView> {
    return this.json<ResourceView>(`${PREFIX}/${pluralOf(kind)}/${encodeURIComponent(name)}/reconcile`, { method: 'POST' });
  }

  diff(resources: AnyResource[]): Promise<Plan[]> {
    return this.json<Plan[]>(`${PREFIX}/diff`, {
      method: 'POST',
      body: JSON.stringify({ items: resources }),
      headers: { 'content-type': 'application/json' },
    });
  }

  /** Streams watch events of one kind (optionally one name); ends when the signal aborts or the server closes. */
  async *watch(kind: Kind, opts: { name?: string; labelSelector?: string; signal?: AbortSignal } = {}): AsyncGenerator<WatchEvent> {
    const q = new URLSearchParams({ watch: '1' });
    if (opts.labelSelector) q.set('labelSelector', opts.labelSelector);
    const path = `${PREFIX}/${pluralOf(kind)}${opts.name ? `/${encodeURIComponent(opts.name)}` : ''}?${q}`;
    let res: Response;
    try {
      res = await this.fetch(path, { signal: opts.signal, headers: { accept: 'application/x-ndjson' } });
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      throw err;
    }
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) yield JSON.parse(line) as WatchEvent;
        }
      }
    } catch (err) {
      if ((err as Error).name === 'AbortError' || opts.signal?.aborted) return;
      throw connectionError(this.server, err);
    }
  }
}
