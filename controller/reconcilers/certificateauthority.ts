// Reconciler for CertificateAuthority: keeps the CA (embedded or step-ca) usable and every certificate
// it declares issued, current and on disk as declared. Level-based: each pass reads the files and
// decides from what it finds (controller/ca/issue.ts), never from what triggered it.
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type {
  CertificateAuthority,
  CertificateSpec,
  CertificateStatus,
  EmbeddedCa,
  KeyAlgorithm,
  ObjectRef,
} from '../../resources/types.js';
import type { Metrics } from '../metrics.js';
import type { Clock, FinalizeContext, Plan, PlanStep, ReconcileContext, ReconcileOutcome, Reconciler } from '../types.js';
import { EmbeddedIssuer } from '../ca/embedded.js';
import {
  OutputPathError,
  caStateDir,
  checkNoSymlinkEscape,
  fileAttrs,
  fixAttrs,
  parseMode,
  resolveOutputPath,
} from '../ca/files.js';
import { readIfExists, writeFilesAtomic, type FileWrite, type WriteOptions } from '../fs-atomic.js';
import {
  decideRenewal,
  expectedDnsNames,
  expiryWarningDue,
  leafPolicy,
  nextCheckDelay,
  renewalTime,
  type DesiredLeaf,
  type ObservedLeaf,
  type RenewalDecision,
} from '../ca/issue.js';
import type { GuestExec, Issuer } from '../ca/issuer.js';
import { DEFAULT_KEY_ALGORITHM, chainsTo, commonNameOf, keyMatchesCert, normaliseIp, sansOf, sha256Fingerprint, splitCertificates } from '../ca/pki.js';
import { StepCaConfigError, StepCaIssuer } from '../ca/stepca.js';

export interface CertificateAuthorityDeps {
  /** phoenix's state dir; CA keys live in <stateDir>/ca/<name>/. */
  stateDir: string;
  /** Base directory every output path is confined to (--cert-dir, default <stateDir>/certs). */
  certDir: string;
  /** Runs after-renewal commands; without it actions are skipped with a Warning. */
  exec?: GuestExec;
  /** --allow-host-commands: permit `pct exec` for container actions. Off by default. */
  allowHostCommands: boolean;
  metrics?: Metrics;
  /** Overrides the context's clock (tests). */
  clock?: Clock;
}

/** The certificate directory when the operator does not set --cert-dir. */
export function defaultCertDir(stateDir: string): string {
  return join(stateDir, 'certs');
}

const DEFAULT_KEY_MODE = '0600';
/** Certificates and chains are public; they stay world-readable whatever the key's mode. */
const PUBLIC_MODE = 0o644;
/** Directories created under --cert-dir: traversable, since guests read through bind mounts. */
const OUTPUT_DIR_MODE = 0o755;
/** Retry delay after a failed issuance or action. */
const RETRY_MS = 30_000;
/** How long to wait for a step-ca host guest to become Ready before looking again. */
const HOST_WAIT_MS = 10_000;

/** A manifest problem found while preparing; `field` names where it is. */
class SpecError extends Error {
  constructor(
    readonly reason: string,
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

interface PreparedCert {
  spec: CertificateSpec;
  field: string;
  desired: DesiredLeaf;
  keyAlgorithm: KeyAlgorithm;
  certPath: string;
  keyPath: string;
  chainPath?: string;
  keyOpts: WriteOptions;
  publicOpts: WriteOptions;
}

interface Prepared {
  certs: PreparedCert[];
  rootCertPath?: string;
}

/**
 * Check the spec and resolve every path; throws SpecError naming the field. Pure apart from the
 * symlink check, which reads (never writes) the certificate directory.
 */
async function prepare(ca: CertificateAuthority, certDir: string): Promise<Prepared> {
  const spec = ca.spec;
  const backend = spec.backend ?? 'embedded';
  if (backend === 'step-ca' && !spec.stepCa) throw new SpecError('InvalidSpec', 'spec.stepCa', 'required when backend is step-ca');
  const seen = new Set<string>();
  const certs: PreparedCert[] = [];
  const confine = async (declared: string, field: string) => {
    try {
      const p = resolveOutputPath(certDir, declared, field);
      await checkNoSymlinkEscape(certDir, p, field, declared);
      return p;
    } catch (e) {
      if (e instanceof OutputPathError) throw new SpecError('OutputPathRefused', e.field, e.message.slice(e.field.length + 2));
      throw e;
    }
  };
  const outputs = new Map<string, string>();
  const claim = (path: string, field: string) => {
    const other = outputs.get(path);
    if (other) throw new SpecError('InvalidSpec', field, `same file as ${other}`);
    outputs.set(path, field);
  };
  let rootCertPath: string | undefined;
  if (backend === 'embedded' && spec.embedded?.rootCertPath) {
    rootCertPath = await confine(spec.embedded.rootCertPath, 'spec.embedded.rootCertPath');
    claim(rootCertPath, 'spec.embedded.rootCertPath');
  }
  for (const [i, c] of (spec.certificates ?? []).entries()) {
    const field = `spec.certificates[${i}]`;
    if (seen.has(c.name)) throw new SpecError('InvalidSpec', `${field}.name`, `duplicate certificate name "${c.name}"`);
    seen.add(c.name);
    let policy;
    try {
      policy = leafPolicy(c);
    } catch (e) {
      throw new SpecError('InvalidSpec', `${field}.${c.renewBefore !== undefined && /renewBefore/.test(String(e)) ? 'renewBefore' : 'duration'}`, (e as Error).message);
    }
    let mode: number;
    try {
      mode = parseMode(c.output.mode ?? DEFAULT_KEY_MODE);
    } catch (e) {
      throw new SpecError('InvalidSpec', `${field}.output.mode`, (e as Error).message);
    }
    for (const ip of c.ipAddresses ?? []) {
      if (!isIP(ip)) throw new SpecError('InvalidSpec', `${field}.ipAddresses`, `"${ip}" is not an IP address`);
    }
    const guest = c.afterRenewal?.guest;
    if (guest && guest.kind !== 'LxcContainer' && guest.kind !== 'VirtualMachine') {
      throw new SpecError('InvalidSpec', `${field}.afterRenewal.guest.kind`, 'must be LxcContainer or VirtualMachine');
    }
    if (c.afterRenewal && c.afterRenewal.command.length === 0) throw new SpecError('InvalidSpec', `${field}.afterRenewal.command`, 'must not be empty');
    const certPath = await confine(c.output.certFile, `${field}.output.certFile`);
    claim(certPath, `${field}.output.certFile`);
    const keyPath = await confine(c.output.keyFile, `${field}.output.keyFile`);
    claim(keyPath, `${field}.output.keyFile`);
    let chainPath: string | undefined;
    if (c.output.chainFile) {
      chainPath = await confine(c.output.chainFile, `${field}.output.chainFile`);
      claim(chainPath, `${field}.output.chainFile`);
    }
    const owner = { uid: c.output.owner, gid: c.output.group, dirMode: OUTPUT_DIR_MODE };
    certs.push({
      spec: c,
      field,
      desired: {
        commonName: c.commonName,
        dnsNames: c.dnsNames ?? [],
        ipAddresses: (c.ipAddresses ?? []).map(normaliseIp),
        policy,
      },
      keyAlgorithm: c.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM,
      certPath,
      keyPath,
      chainPath,
      keyOpts: { mode, ...owner },
      publicOpts: { mode: PUBLIC_MODE, ...owner },
    });
  }
  return { certs, rootCertPath };
}

/** What one certificate looks like on disk. */
interface LeafOnDisk {
  observed: ObservedLeaf;
  leaf?: X509Certificate;
}

async function observeLeaf(p: PreparedCert, issuer: Issuer | undefined): Promise<LeafOnDisk> {
  const [certText, keyText, chainText] = await Promise.all([
    readIfExists(p.certPath),
    readIfExists(p.keyPath),
    p.chainPath ? readIfExists(p.chainPath) : Promise.resolve(''),
  ]);
  if (certText === undefined) return { observed: { state: 'missing', detail: `${p.spec.output.certFile} does not exist` } };
  if (keyText === undefined) return { observed: { state: 'missing', detail: `${p.spec.output.keyFile} does not exist` } };
  let leaf: X509Certificate;
  let extra: X509Certificate[];
  try {
    const [first, ...rest] = splitCertificates(certText);
    if (!first) throw new Error('no certificate');
    leaf = new X509Certificate(first);
    extra = [...rest, ...splitCertificates(chainText ?? '')].map((x) => new X509Certificate(x));
  } catch {
    return { observed: { state: 'unreadable', detail: `${p.spec.output.certFile} holds no readable certificate` } };
  }
  const issuedByCa = issuer ? chainsTo(leaf, [...issuer.intermediates(), ...extra], issuer.roots()) : false;
  const sans = sansOf(leaf);
  return {
    leaf,
    observed: {
      state: 'present',
      commonName: commonNameOf(leaf),
      dnsNames: sans.dnsNames,
      ipAddresses: sans.ipAddresses,
      notBefore: new Date(leaf.validFrom),
      notAfter: new Date(leaf.validTo),
      keyMatches: keyMatchesCert(leaf, keyText),
      issuedByCa,
    },
  };
}

function certStatus(name: string, leaf: X509Certificate, renewal: Date): CertificateStatus {
  return {
    name,
    serial: leaf.serialNumber.toLowerCase(),
    notBefore: new Date(leaf.validFrom).toISOString(),
    notAfter: new Date(leaf.validTo).toISOString(),
    renewalTime: renewal.toISOString(),
    sha256Fingerprint: sha256Fingerprint(leaf),
  };
}

const fmtMode = (m: number) => `0${m.toString(8)}`;

/** Files of a certificate whose mode or owner differ from what is declared. */
async function attrDrift(p: PreparedCert): Promise<{ path: string; field: string; opts: WriteOptions; from: string; to: string }[]> {
  const out = [];
  const files: [string | undefined, string, WriteOptions][] = [
    [p.keyPath, 'keyFile', p.keyOpts],
    [p.certPath, 'certFile', p.publicOpts],
    [p.chainPath, 'chainFile', p.publicOpts],
  ];
  for (const [path, name, opts] of files) {
    if (!path) continue;
    const a = await fileAttrs(path);
    if (!a) continue;
    const modeOff = a.mode !== opts.mode;
    const ownerOff = (opts.uid !== undefined && a.uid !== opts.uid) || (opts.gid !== undefined && a.gid !== opts.gid);
    if (modeOff || ownerOff) {
      out.push({
        path,
        field: `${p.field}.output.${name}`,
        opts,
        from: `${fmtMode(a.mode)} ${a.uid}:${a.gid}`,
        to: `${fmtMode(opts.mode)} ${opts.uid ?? a.uid}:${opts.gid ?? a.gid}`,
      });
    }
  }
  return out;
}

function defaultEmbedded(name: string): EmbeddedCa {
  return { root: { commonName: `${name} Root CA` }, intermediate: { commonName: `${name} Intermediate CA` } };
}

function isReady(status: { conditions?: { type: string; status: string }[] } | undefined): boolean {
  return status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

const refText = (r: ObjectRef) => `${r.kind}/${r.name}`;

export function createCertificateAuthorityReconciler(deps: CertificateAuthorityDeps): Reconciler<CertificateAuthority> {
  /** After-renewal actions still owed (failed, to retry), by "ca/certificate" -> serial they are for. */
  const pendingActions = new Map<string, string>();
  /** Certificate names exported per CA, to drop series of certificates removed from the spec. */
  const exported = new Map<string, Set<string>>();

  const clockOf = (ctx: { clock: Clock }) => deps.clock ?? ctx.clock;

  function setExpiryMetrics(ca: string, entries: CertificateStatus[]): void {
    const m = deps.metrics;
    if (!m) return;
    const names = new Set(entries.map((e) => e.name));
    for (const old of exported.get(ca) ?? []) if (!names.has(old)) m.certificateExpiry.remove({ ca, certificate: old });
    for (const e of entries) m.certificateExpiry.set({ ca, certificate: e.name }, Date.parse(e.notAfter) / 1000);
    exported.set(ca, names);
  }

  /** The backend, ready to issue; or an outcome saying why not. `create` false: never create (plan). */
  async function openIssuer(
    ctx: ReconcileContext<CertificateAuthority>,
    create: boolean,
  ): Promise<{ issuer?: Issuer; created?: boolean; rotated?: boolean; outcome?: ReconcileOutcome }> {
    const ca = ctx.resource;
    const now = clockOf(ctx).now();
    if ((ca.spec.backend ?? 'embedded') === 'embedded') {
      const dir = caStateDir(deps.stateDir, ca.metadata.name);
      if (!create && !(await EmbeddedIssuer.exists(dir))) return {};
      try {
        return await EmbeddedIssuer.loadOrCreate(dir, ca.spec.embedded ?? defaultEmbedded(ca.metadata.name), now);
      } catch (e) {
        return { outcome: { state: 'Stalled', reason: 'CaStateInvalid', message: (e as Error).message } };
      }
    }
    const host = ca.spec.host;
    if (host) {
      const h = ctx.lookup(host);
      if (!h || !isReady(h.status)) {
        return {
          outcome: { state: 'Progressing', reason: 'WaitingForHost', message: `waiting for ${refText(host)} to be Ready`, requeueAfterMs: HOST_WAIT_MS },
        };
      }
    }
    try {
      return { issuer: await StepCaIssuer.connect(ca.spec.stepCa!, { clock: clockOf(ctx), signal: ctx.signal }) };
    } catch (e) {
      if (e instanceof StepCaConfigError) return { outcome: { state: 'Stalled', reason: e.reason, message: e.message } };
      return { outcome: { state: 'Progressing', reason: 'CaUnavailable', message: `step-ca at ${ca.spec.stepCa!.url}: ${(e as Error).message}`, requeueAfterMs: RETRY_MS } };
    }
  }

  async function runAction(ctx: ReconcileContext<CertificateAuthority>, p: PreparedCert, serial: string): Promise<void> {
    const action = p.spec.afterRenewal;
    if (!action) return;
    const key = `${ctx.resource.metadata.name}/${p.spec.name}`;
    const target = ctx.lookup(action.guest);
    const what = `\`${action.command.join(' ')}\` in ${refText(action.guest)} after renewing ${p.spec.name}`;
    pendingActions.delete(key);
    if (!target) {
      ctx.recorder.event('Warning', 'AfterRenewalSkipped', `skipped ${what}: ${refText(action.guest)} is not declared`);
      return;
    }
    if (!isReady(target.status)) {
      ctx.recorder.event('Normal', 'AfterRenewalSkipped', `skipped ${what}: the guest is not Ready yet; it reads the new files when it starts`);
      return;
    }
    const spec = target.resource.spec as { vmid?: number; node?: string };
    const vmid = target.status.vmid ?? spec.vmid;
    const node = target.status.node ?? spec.node;
    const type = action.guest.kind === 'VirtualMachine' ? 'qemu' : 'lxc';
    if (type === 'lxc' && !deps.allowHostCommands) {
      ctx.recorder.event(
        'Warning',
        'AfterRenewalSkipped',
        `${p.field}.afterRenewal: skipped ${what}: containers are reached with \`pct exec\` on the host, which needs the controller flag --allow-host-commands (off: manifests must not run code on the host)`,
      );
      return;
    }
    if (!deps.exec) {
      ctx.recorder.event('Warning', 'AfterRenewalSkipped', `skipped ${what}: no guest command executor is configured`);
      return;
    }
    if (vmid === undefined || node === undefined) {
      ctx.recorder.event('Warning', 'AfterRenewalSkipped', `skipped ${what}: the guest's node and vmid are not known yet`);
      pendingActions.set(key, serial);
      return;
    }
    try {
      const r = await deps.exec.exec({ type, node, vmid }, action.command, ctx.signal);
      if (r.exitCode === 0) {
        ctx.recorder.event('Normal', 'AfterRenewal', `ran ${what}`);
      } else {
        pendingActions.set(key, serial);
        const err = (r.stderr ?? '').trim().slice(0, 200);
        ctx.recorder.event('Warning', 'AfterRenewalFailed', `${what} exited with ${r.exitCode}${err ? `: ${err}` : ''}; will retry`);
      }
    } catch (e) {
      pendingActions.set(key, serial);
      ctx.recorder.event('Warning', 'AfterRenewalFailed', `${what} failed: ${(e as Error).message}; will retry`);
    }
  }

  async function plan(ctx: ReconcileContext<CertificateAuthority>): Promise<Plan> {
    const ca = ctx.resource;
    const ref = { kind: ca.kind, name: ca.metadata.name };
    let prepared: Prepared;
    try {
      prepared = await prepare(ca, deps.certDir);
    } catch (e) {
      if (e instanceof SpecError) return { ref, steps: [], blocked: { reason: e.reason, message: e.message } };
      throw e;
    }
    const steps: PlanStep[] = [];
    const { issuer, outcome } = await openIssuer(ctx, false);
    if (outcome && outcome.state === 'Stalled') return { ref, steps, blocked: { reason: outcome.reason, message: outcome.message } };
    if (!issuer && (ca.spec.backend ?? 'embedded') === 'embedded') {
      const e = ca.spec.embedded ?? defaultEmbedded(ca.metadata.name);
      steps.push({
        action: 'issue',
        description: `create root CA "${e.root.commonName}" and intermediate "${e.intermediate.commonName}" (${e.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM})`,
      });
    } else if (!issuer && outcome && outcome.state === 'Progressing') {
      return { ref, steps, blocked: { reason: outcome.reason, message: outcome.message } };
    }
    if (prepared.rootCertPath && issuer instanceof EmbeddedIssuer) {
      if ((await readIfExists(prepared.rootCertPath)) !== issuer.rootPem) {
        steps.push({ action: 'write', description: `write the root certificate to ${ca.spec.embedded!.rootCertPath}`, changes: [{ field: 'spec.embedded.rootCertPath', to: ca.spec.embedded!.rootCertPath! }] });
      }
    } else if (prepared.rootCertPath && !issuer) {
      steps.push({ action: 'write', description: `write the root certificate to ${ca.spec.embedded!.rootCertPath}` });
    }
    const now = clockOf(ctx).now();
    for (const p of prepared.certs) {
      const { observed } = await observeLeaf(p, issuer);
      const d = issuer ? decideRenewal(p.desired, observed, now) : ({ renew: true, reason: 'Missing', message: 'the CA does not exist yet' } as RenewalDecision);
      if (d.renew) {
        steps.push({
          action: 'issue',
          description: `issue certificate ${p.spec.name} (${p.spec.commonName}): ${d.reason}: ${d.message}`,
          changes: [{ field: `${p.field}`, from: observed.state === 'present' ? observed.notAfter.toISOString() : null, to: d.reason }],
        });
        steps.push({ action: 'write', description: `write ${[p.spec.output.keyFile, p.spec.output.certFile, p.spec.output.chainFile].filter(Boolean).join(', ')}` });
      } else {
        for (const drift of await attrDrift(p)) {
          steps.push({ action: 'write', description: `set mode/owner of ${drift.field}`, changes: [{ field: drift.field, from: drift.from, to: drift.to }] });
        }
      }
    }
    return { ref, steps };
  }

  async function reconcile(ctx: ReconcileContext<CertificateAuthority>): Promise<ReconcileOutcome> {
    const ca = ctx.resource;
    const caName = ca.metadata.name;
    let prepared: Prepared;
    try {
      prepared = await prepare(ca, deps.certDir);
    } catch (e) {
      if (e instanceof SpecError) return { state: 'Stalled', reason: e.reason, message: e.message };
      throw e;
    }
    const opened = await openIssuer(ctx, true);
    if (opened.outcome) return opened.outcome;
    const issuer = opened.issuer!;
    if (opened.created) {
      const [root, intermediate] = issuer.caCertificates();
      ctx.recorder.event('Normal', 'CaCreated', `created root CA ${root!.subject} (sha256 ${root!.sha256Fingerprint}) and intermediate ${intermediate!.subject}`);
    }
    if (opened.rotated) {
      const intermediate = issuer.caCertificates()[1]!;
      ctx.recorder.event('Normal', 'IntermediateRotated', `signed a new intermediate ${intermediate.subject} (sha256 ${intermediate.sha256Fingerprint}), valid until ${intermediate.notAfter}`);
    }
    ctx.status.caCertificates = issuer.caCertificates();

    if (prepared.rootCertPath && issuer instanceof EmbeddedIssuer) {
      const current = await readIfExists(prepared.rootCertPath);
      if (current !== issuer.rootPem) {
        await writeFilesAtomic([{ path: prepared.rootCertPath, data: issuer.rootPem, opts: { mode: PUBLIC_MODE, dirMode: OUTPUT_DIR_MODE } }]);
        ctx.recorder.event('Normal', 'RootWritten', `wrote the root certificate to ${ca.spec.embedded!.rootCertPath}`);
      }
    }

    const now = clockOf(ctx).now();
    const entries: CertificateStatus[] = [];
    const renewals: Date[] = [];
    const failures: string[] = [];
    const actions: { p: PreparedCert; serial: string }[] = [];
    for (const p of prepared.certs) {
      const onDisk = await observeLeaf(p, issuer);
      const decision = decideRenewal(p.desired, onDisk.observed, now);
      const actionKey = `${caName}/${p.spec.name}`;
      if (!decision.renew) {
        for (const drift of await attrDrift(p)) {
          await fixAttrs(drift.path, drift.opts);
          ctx.recorder.event('Normal', 'ModeCorrected', `${drift.field}: ${drift.from} -> ${drift.to}`);
        }
        if (p.chainPath) await ensureChain(p, onDisk.leaf!, issuer);
        entries.push(certStatus(p.spec.name, onDisk.leaf!, decision.renewalTime));
        renewals.push(decision.renewalTime);
        const owed = pendingActions.get(actionKey);
        if (owed !== undefined && owed === onDisk.leaf!.serialNumber.toLowerCase()) actions.push({ p, serial: owed });
        continue;
      }
      try {
        const issued = await issuer.issue({
          commonName: p.desired.commonName,
          dnsNames: expectedDnsNames(p.desired),
          ipAddresses: p.desired.ipAddresses,
          durationMs: p.desired.policy.durationMs,
          keyAlgorithm: p.keyAlgorithm,
          now,
          signal: ctx.signal,
        });
        const files: FileWrite[] = [
          { path: p.keyPath, data: issued.keyPem, opts: p.keyOpts },
          { path: p.certPath, data: issued.certPem + issued.intermediatePems.join(''), opts: p.publicOpts },
        ];
        if (p.chainPath) files.push({ path: p.chainPath, data: issued.intermediatePems.join('') + issued.rootPem, opts: p.publicOpts });
        await writeFilesAtomic(files);
        const leaf = new X509Certificate(issued.certPem);
        const due = renewalTime(new Date(leaf.validTo), p.desired.policy);
        entries.push(certStatus(p.spec.name, leaf, due));
        renewals.push(due);
        ctx.recorder.event(
          'Normal',
          'Issued',
          `issued ${p.spec.name} (${decision.reason}: ${decision.message}); serial ${leaf.serialNumber.toLowerCase()}, valid until ${new Date(leaf.validTo).toISOString()}`,
        );
        ctx.log.info('certificate issued', { ca: caName, certificate: p.spec.name, reason: decision.reason, serial: leaf.serialNumber.toLowerCase() });
        if (p.spec.afterRenewal) actions.push({ p, serial: leaf.serialNumber.toLowerCase() });
      } catch (e) {
        const msg = `${p.spec.name}: ${(e as Error).message}`;
        failures.push(msg);
        ctx.recorder.event('Warning', 'IssueFailed', `could not issue ${msg}`);
        // keep reporting the certificate still on disk, and warn when it is running out
        if (onDisk.observed.state === 'present' && onDisk.observed.issuedByCa && onDisk.leaf) {
          const due = renewalTime(onDisk.observed.notAfter, p.desired.policy);
          entries.push(certStatus(p.spec.name, onDisk.leaf, due));
          if (now < onDisk.observed.notAfter && expiryWarningDue(onDisk.observed.notAfter, p.desired.policy, now)) {
            ctx.recorder.event(
              'Warning',
              'CertificateExpiring',
              `${p.spec.name} expires at ${onDisk.observed.notAfter.toISOString()} and renewal keeps failing: ${(e as Error).message}`,
            );
          }
        }
        if (e instanceof StepCaConfigError && e.reason !== 'SignRefused') {
          ctx.status.certificates = entries;
          setExpiryMetrics(caName, entries);
          return { state: 'Stalled', reason: e.reason, message: e.message };
        }
      }
    }
    ctx.status.certificates = entries;
    setExpiryMetrics(caName, entries);

    for (const { p, serial } of actions) await runAction(ctx, p, serial);

    if (failures.length) {
      await ctx.persist();
      throw new Error(`certificate issuance failed: ${failures.join('; ')}`);
    }
    const owed = prepared.certs.some((p) => pendingActions.has(`${caName}/${p.spec.name}`));
    const delay = Math.min(nextCheckDelay(renewals, now), owed ? RETRY_MS : Infinity);
    const n = entries.length;
    return { state: 'Ready', message: `${n} certificate${n === 1 ? '' : 's'} current`, requeueAfterMs: delay };
  }

  /** Rewrite the chain file when it is missing or no longer the CA's chain for the leaf. */
  async function ensureChain(p: PreparedCert, leaf: X509Certificate, issuer: Issuer): Promise<void> {
    const current = await readIfExists(p.chainPath!);
    const inter = issuer.intermediates().find((i) => leaf.checkIssued(i) && leaf.verify(i.publicKey));
    const root = issuer.roots()[0]!;
    if (!inter) return; // step-ca before its first issuance this run: leave the chain as written with the leaf
    const want = inter.toString() + root.toString();
    if (current !== want) await writeFilesAtomic([{ path: p.chainPath!, data: want, opts: p.publicOpts }]);
  }

  async function finalize(ctx: FinalizeContext): Promise<ReconcileOutcome> {
    const ca = ctx.lastResource as CertificateAuthority;
    const name = ctx.ref.name;
    // Keys and issued files stay: guests may still use them, and a CA's root cannot be recreated.
    if (deps.metrics) for (const c of exported.get(name) ?? []) deps.metrics.certificateExpiry.remove({ ca: name, certificate: c });
    exported.delete(name);
    for (const k of [...pendingActions.keys()]) if (k.startsWith(`${name}/`)) pendingActions.delete(k);
    const where = (ca.spec.backend ?? 'embedded') === 'embedded' ? `; its keys stay in ${join(deps.stateDir, 'ca', name)}` : '';
    ctx.recorder.event('Normal', 'Orphaned', `manifest removed: issued certificates are left in place${where}`);
    return { state: 'Ready', message: `orphaned${where}` };
  }

  return { kind: 'CertificateAuthority', plan, reconcile, finalize };
}
