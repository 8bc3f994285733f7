#!/usr/bin/env node
// phoenix-controller: watches the manifests, converges Proxmox VE to them and keeps it converged.
// Without PHOENIX_PVE_URL it runs the built-in pvesim in-process (with the storages and nodes the
// manifests name), pins its certificate and converges against it, so `npm start` shows the whole
// loop on the example fleet. Settings come from flags or PHOENIX_* environment variables.
import { Command, Option } from 'commander';
import { join, resolve } from 'node:path';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AnyResource } from '../resources/types.js';
import { parseDuration } from '../resources/common.js';
import { createGuestExec, createQemuAgent } from './ca/exec.js';
import { GitSource, redactUrl } from './gitsource.js';
import { startHttpServer } from './http.js';
import { createLogger, errorMessage, parseLogLevel, registerSecret, type StructuredLogger } from './log.js';
import { checkSet, loadManifests } from './manifests.js';
import { formatManifestError, type ManifestError } from './types.js';
import { createMetrics } from './metrics.js';
import { createPveClient, pveConfigFromEnv } from './pve/client.js';
import { createCertificateAuthorityReconciler } from './reconcilers/certificateauthority.js';
import { createReconcilers } from './reconcilers/index.js';
import { Runtime } from './runtime.js';
import { checkDomain } from './dns/records.js';
import type { DnsSyncSettings } from './dns/sync-hook.js';
import { LockHeldError, StateStore } from './state.js';

export const DEFAULT_SIM_TIME_SCALE = 0.05;

export interface ControllerFlags {
  manifests: string;
  stateDir: string;
  listen: string;
  resync: string;
  concurrency: string;
  prune: boolean;
  logLevel: string;
  shutdownTimeout: string;
  certDir?: string;
  allowHostCommands: boolean;
  allowHostPath: string[];
  gitUrl?: string;
  gitRef: string;
  gitPath?: string;
  gitInterval: string;
  domain?: string;
  dnsmasqHostsFile?: string;
  dnsmasqPidFile?: string;
  traefikFile?: string;
}

/**
 * Reads an on/off flag's environment variable by its value. Commander alone turns a boolean flag on
 * whenever its variable is set, so PHOENIX_ALLOW_HOST_COMMANDS=false would allow host commands and
 * PHOENIX_PRUNE=0 would prune; anything but a clear yes or no is refused, naming the variable.
 */
function strictBooleanEnv(cmd: Command, flag: string): Command {
  const opt = cmd.options.find((o) => o.long === `--${flag}`);
  if (!opt?.envVar) throw new Error(`--${flag} has no environment variable`);
  const envVar = opt.envVar;
  cmd.on(`optionEnv:${flag}`, () => {
    const raw = (process.env[envVar] ?? '').trim().toLowerCase();
    const value = ['1', 'true', 'yes', 'on'].includes(raw) ? true : ['', '0', 'false', 'no', 'off'].includes(raw) ? false : undefined;
    if (value === undefined) cmd.error(`error: ${envVar}=${JSON.stringify(process.env[envVar])}: expected true or false (also 1/0, yes/no, on/off)`);
    cmd.setOptionValueWithSource(opt.attributeName(), value, 'env');
  });
  return cmd;
}

/** Environment variables phoenix-controller reads that have no flag (docs/reference/controller.md lists them). */
export const CONTROLLER_ENVIRONMENT = [
  { name: 'PHOENIX_PVE_URL', description: 'the Proxmox VE API to converge, https://HOST:8006; unset: phoenix runs the built-in pvesim in-process and converges against it' },
  { name: 'PHOENIX_PVE_TOKEN', description: 'the API token, USER@REALM!TOKENID=SECRET (needed with PHOENIX_PVE_URL; never printed); see docs/real-proxmox.md for the role it needs' },
  { name: 'PHOENIX_PVE_CA_FILE', description: "PEM file of the CA that signed the Proxmox VE certificate (default: the system's trusted CAs)" },
  { name: 'PHOENIX_PVE_FINGERPRINT', description: "SHA-256 fingerprint of the Proxmox VE certificate to pin instead (as `pvenode cert info` shows it)" },
  { name: 'PHOENIX_PVE_INSECURE', description: '1 turns certificate verification off (testing only; set at most one of the three TLS variables)' },
  { name: 'PHOENIX_API_TOKEN', description: 'bearer token the status API (/apis) requires; needed to listen on a non-loopback address (never printed)' },
  { name: 'PHOENIX_ALLOW_HOST_PATHS', description: "':'-separated host directories LXC bind mounts may come from, added to --allow-host-path" },
  { name: 'PHOENIX_SIM_TIME_SCALE', description: `built-in pvesim only: factor every simulated task duration and lock wait is multiplied by (default ${DEFAULT_SIM_TIME_SCALE}; 0: tasks finish at once)` },
];

/** The phoenix-controller program (flags, defaults, environment); builds only, parses and runs nothing. */
export function buildProgram(): Command {
  const collect = (v: string, prev: string[]) => [...prev, v];
  const program = new Command('phoenix-controller')
    .description('Converge Proxmox VE to the manifests in a directory, continuously')
    .addOption(new Option('--manifests <dir>', 'directory of manifests to watch').env('PHOENIX_MANIFESTS').default('./manifests'))
    .addOption(new Option('--state-dir <dir>', 'where status, events, locks and CA keys live').env('PHOENIX_STATE_DIR').default('./.state'))
    .addOption(new Option('--listen <host:port>', 'HTTP endpoint: /metrics, /healthz, /readyz and the status API (a non-loopback address needs PHOENIX_API_TOKEN)').env('PHOENIX_LISTEN').default('127.0.0.1:9750'))
    .addOption(new Option('--resync <duration>', 'interval of full passes over every resource (Go duration, jittered; 0 disables)').env('PHOENIX_RESYNC').default('5m'))
    .addOption(new Option('--concurrency <n>', 'reconciles running at once').env('PHOENIX_CONCURRENCY').default('4'))
    .addOption(new Option('--prune', 'delete guests whose manifests are removed (default: orphan them; the annotation phoenix.hypervisor/prune: "true" prunes one resource)').env('PHOENIX_PRUNE').default(false))
    .addOption(new Option('--log-level <level>', 'debug, info, warn or error (JSON lines on stderr; tokens and keys are never logged)').env('PHOENIX_LOG_LEVEL').default('info'))
    .addOption(new Option('--shutdown-timeout <duration>', 'how long SIGTERM waits for in-flight work').env('PHOENIX_SHUTDOWN_TIMEOUT').default('10s'))
    .addOption(new Option('--cert-dir <dir>', 'directory certificate outputs must lie under (default <state-dir>/certs)').env('PHOENIX_CERT_DIR'))
    .addOption(new Option('--allow-host-commands', 'allow `pct exec` for after-renewal commands in containers').env('PHOENIX_ALLOW_HOST_COMMANDS').default(false))
    .addOption(new Option('--allow-host-path <dir>', 'host directory LXC bind mounts may come from (repeatable; PHOENIX_ALLOW_HOST_PATHS adds a :-separated list)').argParser(collect).default([]))
    .addOption(new Option('--git-url <url>', 'follow a git repository instead of a local directory').env('PHOENIX_GIT_URL'))
    .addOption(new Option('--git-ref <ref>', 'branch, tag or commit to follow').env('PHOENIX_GIT_REF').default('main'))
    .addOption(new Option('--git-path <dir>', 'directory of the repository holding the manifests').env('PHOENIX_GIT_PATH'))
    .addOption(new Option('--git-interval <duration>', 'how often to fetch').env('PHOENIX_GIT_INTERVAL').default('1m'))
    .addOption(new Option('--domain <domain>', 'internal DNS domain of the fleet: names and routes are generated under it').env('PHOENIX_DOMAIN'))
    .addOption(new Option('--dnsmasq-hosts-file <file>', 'hosts file of the fleet\'s names for dnsmasq --addn-hosts (needs --domain)').env('PHOENIX_DNSMASQ_HOSTS_FILE'))
    .addOption(new Option('--dnsmasq-pid-file <file>', 'dnsmasq pid file: SIGHUP after the hosts file changed').env('PHOENIX_DNSMASQ_PID_FILE'))
    .addOption(new Option('--traefik-file <file>', 'Traefik file-provider routes for spec.services (needs --domain)').env('PHOENIX_TRAEFIK_FILE'))
    .showHelpAfterError();
  strictBooleanEnv(program, 'prune');
  return strictBooleanEnv(program, 'allow-host-commands');
}

function durationFlag(name: string, value: string, allowZero = false): number {
  if (allowZero && /^0+(ms|s|m|h)?$/.test(value)) return 0;
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0) throw new Error(`--${name} ${JSON.stringify(value)}: expected a Go-style duration such as 30s, 5m or 1h30m`);
  return ms;
}

/** Storages and nodes the manifests name, so the built-in simulator can offer them. */
export function simTopology(resources: AnyResource[]): { nodes: string[]; storages: string[] } {
  const nodes = new Set<string>();
  const storages = new Set<string>();
  const volid = (v: string | undefined) => {
    const m = v ? /^([A-Za-z][A-Za-z0-9\-_.]*):/.exec(v) : null;
    if (m) storages.add(m[1]!);
  };
  for (const r of resources) {
    if (r.kind === 'CertificateAuthority') continue;
    const s = r.spec as unknown as Record<string, any>;
    if (typeof s.node === 'string') nodes.add(s.node);
    for (const v of [s.rootfs, s.disk, ...(s.disks ?? []), ...((s.mountPoints ?? []) as Array<{ volume?: unknown }>).map((mp) => mp.volume)]) {
      if (v && typeof v.storage === 'string') storages.add(v.storage);
    }
    if (s.source && typeof s.source.storage === 'string') storages.add(s.source.storage);
    volid(s.ostemplate);
    volid(s.image);
    volid(s.source?.ostemplate);
  }
  return { nodes: [...nodes].sort(), storages: [...storages].sort() };
}

const BUILTIN_STORAGES = new Set(['local', 'local-lvm']);

/** The DNS settings for the runtime, or undefined when no --domain is set; bad combinations are errors. */
export function dnsSettings(flags: Pick<ControllerFlags, 'domain' | 'dnsmasqHostsFile' | 'dnsmasqPidFile' | 'traefikFile'>): DnsSyncSettings | undefined {
  if (!flags.domain) {
    const stray = flags.dnsmasqHostsFile ? '--dnsmasq-hosts-file' : flags.traefikFile ? '--traefik-file' : flags.dnsmasqPidFile ? '--dnsmasq-pid-file' : undefined;
    if (stray) throw new Error(`${stray} needs --domain (or PHOENIX_DOMAIN): names are generated under the fleet's domain`);
    return undefined;
  }
  const domain = checkDomain(flags.domain);
  if (flags.dnsmasqPidFile && !flags.dnsmasqHostsFile) throw new Error('--dnsmasq-pid-file needs --dnsmasq-hosts-file');
  return {
    domain,
    ...(flags.dnsmasqHostsFile ? { dnsmasqFile: resolve(flags.dnsmasqHostsFile) } : {}),
    ...(flags.dnsmasqPidFile ? { pidFile: resolve(flags.dnsmasqPidFile) } : {}),
    ...(flags.traefikFile ? { traefikFile: resolve(flags.traefikFile) } : {}),
  };
}

export async function run(flags: ControllerFlags): Promise<void> {
  const log: StructuredLogger = createLogger({ level: parseLogLevel(flags.logLevel) });
  const dns = dnsSettings(flags);
  const resyncMs = durationFlag('resync', flags.resync, true);
  const shutdownMs = durationFlag('shutdown-timeout', flags.shutdownTimeout);
  const concurrency = Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new Error(`--concurrency ${flags.concurrency}: expected an integer from 1 to 256`);
  const stateDir = resolve(flags.stateDir);

  const state = new StateStore(stateDir);
  const opened = await state.open();
  if (opened.tightened) log.warn('state dir was readable by others; set to 0700', { dir: stateDir });
  const lock = state.acquireLock();
  if (lock.tookOverFrom !== undefined) log.warn('took over a stale lock left by a controller that is gone', { pid: lock.tookOverFrom });

  const closers: Array<() => Promise<void>> = [];
  const metrics = createMetrics();
  let git: GitSource | undefined;
  let manifestsDir = flags.manifests;
  let displayRoot: string | undefined;
  let gitSha: string | undefined;
  if (flags.gitUrl) {
    git = new GitSource({ url: flags.gitUrl, ref: flags.gitRef, path: flags.gitPath, workDir: join(stateDir, 'git') });
    const rev = await git.sync();
    manifestsDir = rev.dir;
    gitSha = rev.sha;
    displayRoot = flags.gitPath ?? '.';
    log.info('following git', { url: redactUrl(flags.gitUrl), ref: flags.gitRef, revision: rev.sha });
  }

  const allowHostPaths = [...flags.allowHostPath, ...(process.env.PHOENIX_ALLOW_HOST_PATHS ?? '').split(':').filter(Boolean)].map((p) => resolve(p));

  // --- Proxmox: the configured one, or the built-in simulator --------------------------------
  let env: Record<string, string | undefined> = process.env;
  if (!process.env.PHOENIX_PVE_URL) {
    const { startSim } = await import('../pvesim/index.js');
    const loaded = await loadManifests(manifestsDir).catch(() => ({ resources: [], errors: [] }));
    const topo = simTopology(loaded.resources.map((l) => l.resource));
    const timeScale = Number(process.env.PHOENIX_SIM_TIME_SCALE ?? DEFAULT_SIM_TIME_SCALE);
    if (!Number.isFinite(timeScale) || timeScale < 0) throw new Error(`PHOENIX_SIM_TIME_SCALE=${process.env.PHOENIX_SIM_TIME_SCALE}: expected a non-negative number`);
    const sim = await startSim({
      listen: '127.0.0.1:0',
      nodes: topo.nodes.length ? topo.nodes : ['pve'],
      timeScale,
      statePath: join(stateDir, 'pvesim.json'),
      storages: topo.storages
        .filter((s) => !BUILTIN_STORAGES.has(s))
        .map((name) => ({ name, type: 'zfspool' as const, content: ['images', 'rootdir'], sizeGiB: 2048 })),
      log: (line) => log.debug(`pvesim: ${line}`),
    });
    closers.push(() => sim.close());
    // bind mounts name directories inside the simulator, never on this host
    allowHostPaths.push('/');
    env = { PHOENIX_PVE_URL: sim.url, PHOENIX_PVE_TOKEN: sim.token, PHOENIX_PVE_FINGERPRINT: sim.fingerprint };
    process.stderr.write(
      `phoenix: PHOENIX_PVE_URL is not set, so phoenix runs against its built-in Proxmox VE simulator (pvesim)\n` +
        `phoenix:   ${sim.url}  nodes ${(topo.nodes.length ? topo.nodes : ['pve']).join(', ')}  time scale ${timeScale}  certificate pinned ${sim.fingerprint.slice(0, 23)}...\n` +
        `phoenix:   its state lives in ${join(stateDir, 'pvesim.json')}; bind-mount paths are the simulator's, so all are allowed\n` +
        `phoenix:   set PHOENIX_PVE_URL and PHOENIX_PVE_TOKEN to manage a real Proxmox VE\n`,
    );
  }
  registerSecret(env.PHOENIX_PVE_TOKEN);
  registerSecret(env.PHOENIX_PVE_TOKEN?.split('=').slice(1).join('='));
  registerSecret(process.env.PHOENIX_API_TOKEN);
  const pveConfig = pveConfigFromEnv(env);
  const pve = createPveClient(pveConfig, metrics, { log });

  const ca = createCertificateAuthorityReconciler({
    stateDir,
    certDir: resolve(flags.certDir ?? join(stateDir, 'certs')),
    exec: createGuestExec({ agent: createQemuAgent(pve), allowHostCommands: flags.allowHostCommands }),
    allowHostCommands: flags.allowHostCommands,
    metrics,
  });
  const reconcilers = createReconcilers({
    pve,
    metrics,
    options: { prune: flags.prune, allowedHostPaths: allowHostPaths },
    extra: [ca as never],
  });

  const runtime = new Runtime({
    manifestsDir,
    revision: gitSha,
    displayRoot,
    state,
    reconcilers,
    metrics,
    log,
    concurrency,
    resyncMs,
    prune: flags.prune,
    watch: !git,
    dns,
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) {
      log.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    log.info('shutting down', { signal, deadlineMs: shutdownMs });
    const abandoned = await runtime.stop(shutdownMs);
    if (abandoned.length) log.warn('in-flight work abandoned; it resumes on the next start', { resources: abandoned });
    for (const c of closers.reverse()) await c().catch(() => {});
    state.releaseLock();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  const http = await startHttpServer({ listen: flags.listen, view: runtime, metrics, token: process.env.PHOENIX_API_TOKEN, log });
  closers.push(() => http.close());
  log.info('controller starting', { manifests: displayRoot ?? flags.manifests, stateDir, listen: http.url, resync: flags.resync, concurrency, prune: flags.prune });
  await runtime.start();

  if (git) {
    const every = durationFlag('git-interval', flags.gitInterval);
    let rejectedSha: string | undefined;
    const poll = async () => {
      if (stopping) return;
      try {
        const rev = await git.sync();
        if (rev.sha !== gitSha && rev.sha !== rejectedSha) {
          // a revision is applied whole or not at all: validate every file and the set first
          const problems = await revisionErrors(rev.dir);
          if (problems.length) {
            rejectedSha = rev.sha;
            for (const e of problems.slice(0, 20)) log.warn('invalid manifest in new revision', { revision: rev.sha, error: formatManifestError(e) });
            runtime.rejectRevision(rev.sha, problems);
          } else {
            log.info('new git revision', { revision: rev.sha, previous: gitSha });
            gitSha = rev.sha;
            await runtime.switchRoot(rev.dir, rev.sha);
            await git.prune(rev.sha);
          }
        }
      } catch (err) {
        log.warn('git fetch failed; keeping the current revision', { err: errorMessage(err) });
      }
      setTimeout(() => void poll(), every).unref();
    };
    setTimeout(() => void poll(), every).unref();
  }
}

const isMain = (() => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
})();

if (isMain) {
  const program = buildProgram();
  program.parse(process.argv);
  run(program.opts<ControllerFlags>()).catch((err: unknown) => {
    if (err instanceof LockHeldError) process.stderr.write(`phoenix-controller: ${err.message}\n`);
    else process.stderr.write(`phoenix-controller: ${errorMessage(err)}\n`);
    process.exit(1);
  });
}

/** Every problem in a directory of manifests: per-file errors and cross-file ones. */
async function revisionErrors(dir: string): Promise<ManifestError[]> {
  const loaded = await loadManifests(dir);
  return [...loaded.errors, ...checkSet(loaded.resources)];
}
