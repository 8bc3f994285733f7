// Shared helpers for pvesim tests: a proxmox-api client that trusts the simulator's own certificate
// (a dedicated undici Agent with the cert as its only CA, never NODE_TLS_REJECT_UNAUTHORIZED),
// raw HTTPS requests, and condition waits with deadlines.
import proxmoxApi, { type Proxmox } from 'proxmox-api';
import { Agent, fetch as undiciFetch, type RequestInit } from 'undici';
import type { SimHandle } from '../../pvesim/index.js';

export function agentFor(h: SimHandle): Agent {
  return new Agent({ connect: { ca: h.certPem } });
}

export function client(h: SimHandle, mode: 'token' | 'ticket' = 'token'): Proxmox.Api {
  const dispatcher = agentFor(h);
  const fetch = ((url: string | URL, init?: RequestInit) => undiciFetch(url, { ...init, dispatcher })) as never;
  if (mode === 'token') return proxmoxApi({ host: h.host, port: h.port, tokenID: h.tokenId, tokenSecret: h.tokenSecret, fetch });
  return proxmoxApi({ host: h.host, port: h.port, username: 'root@pam', password: h.password, fetch });
}

export interface RawResponse {
  status: number;
  statusText: string;
  contentType: string | null;
  text: string;
  json: () => any;
}

/** A raw request to the simulator (token auth unless headers override it). */
export async function raw(h: SimHandle, method: string, path: string, opts: { body?: Record<string, string>; headers?: Record<string, string>; auth?: boolean } = {}): Promise<RawResponse> {
  const headers: Record<string, string> = { ...(opts.auth === false ? {} : { Authorization: `PVEAPIToken=${h.token}` }), ...opts.headers };
  const init: RequestInit = { method, headers, dispatcher: agentFor(h) };
  if (opts.body) {
    init.body = new URLSearchParams(opts.body).toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  const r = await undiciFetch(`${h.url}${path}`, init);
  const text = await r.text();
  return { status: r.status, statusText: r.statusText, contentType: r.headers.get('content-type'), text, json: () => JSON.parse(text) };
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, everyMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Wait for a task to stop; returns its exitstatus. */
export async function waitTask(px: Proxmox.Api, upid: string, timeoutMs = 10_000): Promise<string> {
  const node = upid.split(':')[1]!;
  return until(`task ${upid}`, async () => {
    const s = (await px.nodes.$(node).tasks.$(upid).status.$get()) as { status: string; exitstatus?: string };
    return s.status === 'stopped' ? s.exitstatus ?? '' : undefined;
  }, timeoutMs);
}

/** Expect a proxmox-api call to fail with this HTTP status and reason phrase. Returns the error text. */
export async function rejects(p: Promise<unknown>, status: number, reason: string): Promise<string> {
  try {
    await p;
  } catch (e) {
    const msg = (e as Error).message;
    const want = `Error ${status} ${reason}: `;
    if (!msg.includes(want)) throw new Error(`expected "${want}" in: ${msg}`);
    return msg;
  }
  throw new Error(`expected failure ${status} ${reason}, but the call succeeded`);
}

export const TMPL = 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst';
export const IMG = 'local:import/noble-server-cloudimg-amd64.img';
