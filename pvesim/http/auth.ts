// Authentication as pveproxy does it: API tokens (Authorization: PVEAPIToken=USER@REALM!ID=SECRET)
// and tickets (cookie PVEAuthCookie, plus the CSRFPreventionToken header on writes). Secrets are
// compared in constant time and never echoed: failures name no secret.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export interface AuthConfig {
  /** USER@REALM!TOKENID */
  tokenId: string;
  tokenSecret: string;
  /** Password of `user` for ticket login. */
  password: string;
  /** The user tickets are issued for (the token's user). */
  user: string;
}

export type AuthResult = { ok: true; user: string; upidUser: string; ticket: boolean } | { ok: false; reason: string };

const TICKET_LIFETIME_S = 7200;

export function parseToken(token: string): { tokenId: string; tokenSecret: string; user: string } {
  const m = /^([^\s@!=]+@[^\s@!=]+)!([A-Za-z][A-Za-z0-9._-]*)=(\S+)$/.exec(token);
  if (!m) throw new Error('token must look like USER@REALM!TOKENID=SECRET');
  return { user: m[1]!, tokenId: `${m[1]}!${m[2]}`, tokenSecret: m[3]! };
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class Authenticator {
  private key = randomBytes(32);

  constructor(readonly cfg: AuthConfig) {}

  private sign(data: string): string {
    return createHmac('sha256', this.key).update(data).digest('base64');
  }

  private hexTime(): string {
    return Math.floor(Date.now() / 1000).toString(16).toUpperCase().padStart(8, '0');
  }

  /** POST /access/ticket: a ticket and CSRF token for the right user and password, else undefined. */
  login(username: string | undefined, password: string | undefined, realm?: string): { ticket: string; CSRFPreventionToken: string; username: string; cap: Record<string, unknown> } | undefined {
    let user = username ?? '';
    if (realm && !user.includes('@')) user = `${user}@${realm}`;
    if (!user.includes('@')) user = `${user}@pam`;
    if (user !== this.cfg.user || !safeEqual(password ?? '', this.cfg.password)) return undefined;
    const t = this.hexTime();
    const plain = `PVE:${user}:${t}`;
    const ticket = `${plain}::${this.sign(plain)}`;
    const CSRFPreventionToken = `${t}:${this.sign(`${t}:${user}`).replace(/=+$/, '')}`;
    const all = { 'VM.Allocate': 1, 'VM.Config.Disk': 1, 'VM.PowerMgmt': 1, 'VM.Audit': 1, 'Datastore.AllocateSpace': 1, 'Sys.Audit': 1 };
    return { ticket, CSRFPreventionToken, username: user, cap: { vms: all, storage: all, nodes: all, access: {}, dc: {}, sdn: {}, mapping: {} } };
  }

  private verifyTicket(ticket: string): string | undefined {
    const m = /^PVE:([^:]+):([0-9A-F]{8})::(.+)$/.exec(ticket);
    if (!m) return undefined;
    const plain = `PVE:${m[1]}:${m[2]}`;
    if (!safeEqual(this.sign(plain), m[3]!)) return undefined;
    const age = Date.now() / 1000 - parseInt(m[2]!, 16);
    if (age > TICKET_LIFETIME_S || age < -300) return undefined;
    return m[1];
  }

  private verifyCsrf(token: string | undefined, user: string): boolean {
    if (!token) return false;
    const m = /^([0-9A-F]{8}):(.+)$/.exec(token);
    if (!m) return false;
    if (!safeEqual(this.sign(`${m[1]}:${user}`).replace(/=+$/, ''), m[2]!)) return false;
    const age = Date.now() / 1000 - parseInt(m[1]!, 16);
    return age <= TICKET_LIFETIME_S && age >= -300;
  }

  authenticate(req: IncomingMessage): AuthResult {
    const authz = req.headers.authorization;
    if (authz && authz.startsWith('PVEAPIToken')) {
      const m = /^PVEAPIToken[= ]([^=\s]+)=(\S+)$/.exec(authz.trim());
      if (!m) return { ok: false, reason: 'invalid API token format' };
      const [, tokenId, secret] = m;
      const tm = /^([^@!]+@[^@!]+)!(.+)$/.exec(tokenId!);
      if (!tm) return { ok: false, reason: 'invalid API token format' };
      if (tokenId !== this.cfg.tokenId) return { ok: false, reason: `no such token '${tm[2]}' for user '${tm[1]}'` };
      if (!safeEqual(secret!, this.cfg.tokenSecret)) return { ok: false, reason: 'invalid token value!' };
      return { ok: true, user: tm[1]!, upidUser: tokenId!, ticket: false };
    }
    const cookie = req.headers.cookie;
    const ticket = cookie
      ?.split(';')
      .map((c) => c.trim())
      .find((c) => c.startsWith('PVEAuthCookie='))
      ?.slice('PVEAuthCookie='.length);
    if (!ticket) return { ok: false, reason: 'No ticket' };
    const user = this.verifyTicket(decodeURIComponent(ticket));
    if (!user) return { ok: false, reason: 'permission denied - invalid PVE ticket' };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const csrf = req.headers.csrfpreventiontoken;
      if (!this.verifyCsrf(Array.isArray(csrf) ? csrf[0] : csrf, user)) return { ok: false, reason: 'Permission denied - invalid csrf token' };
    }
    return { ok: true, user, upidUser: user, ticket: true };
  }
}
