#!/usr/bin/env node
// pvesim command line: start the emulator, print ONE JSON line on stdout
//   {"url":..., "token":..., "fingerprint":..., "password"?: ...}
// (password only when not given with --password: generated, or kept beside --state), then human logs
// on stderr.
// The token secret never appears in the logs. SIGINT/SIGTERM close it cleanly (state saved).
import { Command, InvalidArgumentError } from 'commander';
import { parseStorageArg, startSim, type StorageSpec } from './index.js';

const collect = (v: string, prev: StorageSpec[]): StorageSpec[] => {
  try {
    return [...prev, parseStorageArg(v)];
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};

const program = new Command()
  .name('pvesim')
  .description('An emulator of the Proxmox VE 9.1 API (HTTPS, token and ticket auth, tasks, locks, faults)')
  .option('--listen <host:port>', 'address to listen on (port 0 = ephemeral)', '127.0.0.1:8006')
  .option('--nodes <list>', 'comma-separated cluster node names', 'pve')
  .option('--token <token>', "API token USER@REALM!TOKENID=SECRET (SECRET a lowercase UUID); default: generated")
  .option('--password <password>', 'ticket-login password of the token user; default: generated and printed in the JSON line')
  .option('--time-scale <factor>', 'multiply every task duration and lock wait by this', '1')
  .option('--faults <spec>', 'fault injection spec (see pvesim/faults.ts), e.g. "POST /nodes/*/qemu/*/clone 0.3:lock;seed=7"')
  .option('--state <file>', 'persist guests, storages and tasks to this file (0600); the TLS cert and the token/password are kept beside it, so a restart keeps URL credentials and fingerprint')
  .option('--storage <NAME:TYPE:SIZEGIB[:shared][:content,...]>', 'add a storage (dir|lvmthin|zfspool|nfs); repeatable', collect, [] as StorageSpec[])
  .option('--seed <n>', 'seed for MAC addresses and fault randomness')
  .option('--http', 'serve plain HTTP instead of HTTPS')
  .showHelpAfterError();

program.parse();
const o = program.opts<{ listen: string; nodes: string; token?: string; password?: string; timeScale: string; faults?: string; state?: string; storage: StorageSpec[]; seed?: string; http?: boolean }>();

const timeScale = Number(o.timeScale);
if (!Number.isFinite(timeScale) || timeScale < 0) program.error(`--time-scale ${o.timeScale}: expected a non-negative number`);

const log = (line: string) => process.stderr.write(`${new Date().toISOString()} pvesim: ${line}\n`);

try {
  const sim = await startSim({
    listen: o.listen,
    nodes: o.nodes.split(',').map((s) => s.trim()).filter(Boolean),
    ...(o.token ? { token: o.token } : {}),
    ...(o.password ? { password: o.password } : {}),
    timeScale,
    ...(o.faults ? { faults: o.faults } : {}),
    ...(o.state ? { statePath: o.state, durableReplies: true } : {}),
    storages: o.storage,
    ...(o.seed ? { seed: Number(o.seed) } : {}),
    http: !!o.http,
    log,
  });
  const line: Record<string, string> = { url: sim.url, token: sim.token, fingerprint: sim.fingerprint };
  if (!o.password) line.password = sim.password;
  process.stdout.write(JSON.stringify(line) + '\n');
  log(`token id ${sim.tokenId}${sim.fingerprint ? `, certificate fingerprint ${sim.fingerprint}` : ', plain HTTP'}`);
  let stopping = false;
  const stop = (sig: string) => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: shutting down`);
    sim.close().then(
      () => process.exit(0),
      (e: unknown) => {
        log(`shutdown failed: ${(e as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (e) {
  log(`cannot start: ${(e as Error).message}`);
  process.exit(1);
}
