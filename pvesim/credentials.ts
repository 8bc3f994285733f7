// The API token and ticket password of the emulator's one user. With a state file they are kept
// beside it (<state>.auth.json, 0600), as Proxmox keeps token secrets in /etc/pve/priv: a restarted
// pvesim answers to the same token, so a controller configured against it keeps working. The state
// file itself never holds them. Values given explicitly win and replace the stored ones.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from './model/persist.js';

export interface Credentials {
  /** USER@REALM!TOKENID=SECRET */
  token: string;
  password: string;
}

export const credentialsFile = (statePath: string): string => `${statePath}.auth.json`;

function readStored(file: string): Partial<Credentials> {
  if (!existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    // the message of a JSON.parse error quotes the text it choked on: keep it out (it may be a secret)
    throw new Error(`credentials file ${file} is not valid JSON${(e as Error).name === 'SyntaxError' ? '' : `: ${(e as Error).message}`}`);
  }
  const o = (parsed ?? {}) as Record<string, unknown>;
  const out: Partial<Credentials> = {};
  if (typeof o.token === 'string' && o.token) out.token = o.token;
  if (typeof o.password === 'string' && o.password) out.password = o.password;
  return out;
}

/** The credentials to serve: given ones, else stored ones (with a state file), else fresh ones (stored). */
export function loadOrCreateCredentials(statePath: string | undefined, given: Partial<Credentials>): Credentials {
  const stored = statePath ? readStored(credentialsFile(statePath)) : {};
  const creds: Credentials = {
    token: given.token ?? stored.token ?? `root@pam!pvesim=${randomUUID()}`,
    password: given.password ?? stored.password ?? randomBytes(12).toString('base64url'),
  };
  if (statePath && (creds.token !== stored.token || creds.password !== stored.password)) {
    writeFileAtomic(credentialsFile(statePath), JSON.stringify(creds));
  }
  return creds;
}
