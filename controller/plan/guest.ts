// Desired vs observed for an existing guest -> the actions to converge it, as data the reconciler
// executes and as PlanSteps `phoenixctl diff` prints. Pure: no I/O.
import type { Firewall, FirewallRule, PowerState, RestartPolicy } from '../../resources/types.js';
import type { FieldChange, PlanStep } from '../types.js';
import type { FirewallRuleObserved, Params, PendingEntry } from '../pve/client.js';
import type { GuestType } from '../pve/normalize.js';
import { canonScalar, diffKey, formatMiB, formatPropertyString, mibToGiBCeil, normBool, parseVolume } from '../pve/normalize.js';
import type { DesiredConfig, DesiredDisk } from './desired.js';
import { newMountValue } from './desired.js';

export interface ObservedGuest {
  type: GuestType;
  node: string;
  vmid: number;
  running: boolean;
  template: boolean;
  lock?: string;
  config: Record<string, unknown>;
  pending?: PendingEntry[];
  firewallOptions?: Record<string, unknown>;
  firewallRules?: FirewallRuleObserved[];
}

export interface DesiredGuest {
  type: GuestType;
  config: DesiredConfig;
  disks: DesiredDisk[];
  firewall?: Firewall;
  power?: PowerState;
  restartPolicy?: RestartPolicy;
  /** Create-only keys that cannot change in place (LXC unprivileged). */
  immutable?: Record<string, string | number>;
}

export interface ConfigUpdate {
  params: Params;
  changes: FieldChange[];
  /** Keys that a running guest applies only after a restart. */
  restartKeys: string[];
}

export interface FirewallUpdate {
  options?: Params;
  /** Replacement rule list (all rules are rewritten in order when any differs). */
  rules?: Params[];
  changes: FieldChange[];
}

export interface GuestActions {
  blocked?: { reason: string; message: string };
  update?: ConfigUpdate;
  resizes: { disk: string; size: string; fromMiB: number; toMiB: number }[];
  firewall?: FirewallUpdate;
  power?: 'start' | 'stop';
  restart: boolean;
  steps: PlanStep[];
}

/** Keys a running container applies only after a restart. */
export const LXC_RESTART_KEYS = new Set(['features', 'unprivileged', 'ostype', 'arch', 'cmode', 'console', 'tty', 'rootfs']);
/** Keys a running VM applies only after a restart (default hotplug: network, disk, usb). */
// Cloud-init keys are written at once; the drive is regenerated (PUT .../cloudinit) and read at boot.
export const QEMU_RESTART_KEYS = new Set(['cores', 'sockets', 'cpu', 'memory', 'agent', 'ostype', 'machine', 'bios', 'scsihw', 'vga', 'serial0']);

export function needsRestart(type: GuestType, key: string): boolean {
  return (type === 'lxc' ? LXC_RESTART_KEYS : QEMU_RESTART_KEYS).has(key);
}

/** Values shown in a plan (ssh keys decoded, long strings kept whole). */
function display(type: GuestType, key: string, v: unknown): string | number | null {
  if (v === undefined || v === null) return null;
  if (key === 'sshkeys') return canonScalar(type, key, v) ?? null;
  return typeof v === 'number' ? v : String(v);
}

export function diffConfig(type: GuestType, desired: DesiredConfig, observed: Record<string, unknown>, running: boolean): ConfigUpdate | undefined {
  const params: Params = {};
  const changes: FieldChange[] = [];
  const restartKeys: string[] = [];
  for (const key of Object.keys(desired).sort()) {
    const r = diffKey(type, key, desired[key]!, observed[key]);
    if (r.equal) continue;
    params[key] = r.send;
    const restart = running && needsRestart(type, key);
    if (restart) restartKeys.push(key);
    const c: FieldChange = { field: key, from: display(type, key, observed[key]), to: display(type, key, r.send) };
    if (restart) c.restartRequired = true;
    changes.push(c);
  }
  if (!changes.length) return undefined;
  return { params, changes, restartKeys };
}

export function diffDisks(type: GuestType, disks: DesiredDisk[], observed: Record<string, unknown>): {
  params: Params;
  changes: FieldChange[];
  resizes: GuestActions['resizes'];
  shrinks: string[];
} {
  const params: Params = {};
  const changes: FieldChange[] = [];
  const resizes: GuestActions['resizes'] = [];
  const shrinks: string[] = [];
  for (const d of disks) {
    const raw = observed[d.key];
    if (raw === undefined || raw === null || raw === '') {
      if (d.key === 'rootfs') continue;
      const value = type === 'lxc' ? newMountValue(d) : `${d.storage}:${mibToGiBCeil(d.sizeMiB ?? 1024)}`;
      params[d.key] = value;
      changes.push({ field: d.key, from: null, to: value });
      continue;
    }
    const v = parseVolume(String(raw));
    if (d.hostPath === undefined && d.sizeMiB !== undefined && v.sizeMiB !== undefined) {
      if (v.sizeMiB < d.sizeMiB) resizes.push({ disk: d.key, size: formatMiB(d.sizeMiB), fromMiB: v.sizeMiB, toMiB: d.sizeMiB });
      else if (v.sizeMiB > d.sizeMiB) shrinks.push(`${d.key}: ${formatMiB(v.sizeMiB)} -> ${formatMiB(d.sizeMiB)}`);
    }
    if (type === 'lxc' && d.key !== 'rootfs') {
      // Mount options (path, ro, backup) change in place; the volume stays.
      const want: Record<string, string> = { mp: d.mp ?? '', ro: d.ro ? '1' : '0', backup: d.backup ? '1' : '0' };
      const have: Record<string, string> = { mp: v.props.mp ?? '', ro: normBool(v.props.ro) ? '1' : '0', backup: normBool(v.props.backup) ? '1' : '0' };
      const hostMoved = d.hostPath !== undefined && d.hostPath !== v.volume;
      if (hostMoved) {
        shrinks.push(`${d.key}: bind mount source ${v.volume} -> ${d.hostPath} cannot change in place`);
        continue;
      }
      if (want.mp !== have.mp || want.ro !== have.ro || (d.backup !== undefined && want.backup !== have.backup)) {
        const props: Record<string, string> = { ...v.props, mp: want.mp, ro: want.ro };
        if (d.backup !== undefined) props.backup = want.backup;
        delete props.volume;
        const value = `${v.volume},${formatPropertyString(props, { first: ['mp'] })}`;
        params[d.key] = value;
        changes.push({ field: d.key, from: String(raw), to: value });
      }
    }
  }
  return { params, changes, resizes, shrinks };
}

// --- firewall -----------------------------------------------------------------------------------

const RULE_FIELDS = ['type', 'action', 'proto', 'source', 'dest', 'dport', 'sport', 'iface', 'comment'] as const;

export function ruleParams(r: FirewallRule): Params {
  const p: Params = { type: r.type, action: r.action, enable: r.enable === false ? 0 : 1 };
  for (const f of RULE_FIELDS) if (f !== 'type' && f !== 'action' && r[f] !== undefined) p[f] = r[f];
  return p;
}

function canonRule(r: Record<string, unknown>): string {
  const parts = RULE_FIELDS.map((f) => `${f}=${r[f] === undefined || r[f] === null ? '' : String(r[f]).trim()}`);
  parts.push(`enable=${normBool(r.enable) ? 1 : 0}`);
  return parts.join('|');
}

export function diffFirewall(fw: Firewall | undefined, options: Record<string, unknown> | undefined, rules: FirewallRuleObserved[] | undefined): FirewallUpdate | undefined {
  if (!fw) return undefined;
  const changes: FieldChange[] = [];
  const opts: Params = {};
  const o = options ?? {};
  const want: Record<string, string> = { enable: fw.enabled === false ? '0' : '1' };
  if (fw.policyIn) want.policy_in = fw.policyIn;
  if (fw.policyOut) want.policy_out = fw.policyOut;
  const dflt: Record<string, string> = { enable: '0', policy_in: 'DROP', policy_out: 'ACCEPT' };
  for (const [k, v] of Object.entries(want)) {
    const have = o[k] === undefined || o[k] === null ? dflt[k] : k === 'enable' ? (normBool(o[k]) ? '1' : '0') : String(o[k]);
    if (have !== v) {
      opts[k] = k === 'enable' ? Number(v) : v;
      changes.push({ field: `firewall.${k}`, from: have ?? null, to: v });
    }
  }
  const desiredRules = (fw.rules ?? []).map((r) => canonRule(ruleParams(r) as Record<string, unknown>));
  const observedRules = [...(rules ?? [])].sort((a, b) => a.pos - b.pos).map((r) => canonRule(r));
  let newRules: Params[] | undefined;
  if (fw.rules !== undefined && desiredRules.join('\n') !== observedRules.join('\n')) {
    newRules = fw.rules.map(ruleParams);
    changes.push({ field: 'firewall.rules', from: `${observedRules.length} rules`, to: `${desiredRules.length} rules` });
  }
  if (!changes.length) return undefined;
  const u: FirewallUpdate = { changes };
  if (Object.keys(opts).length) u.options = opts;
  if (newRules) u.rules = newRules;
  return u;
}

// --- the whole guest ----------------------------------------------------------------------------

export function planExisting(desired: DesiredGuest, observed: ObservedGuest): GuestActions {
  const steps: PlanStep[] = [];
  const actions: GuestActions = { resizes: [], restart: false, steps };
  const where = `${observed.type === 'lxc' ? 'CT' : 'VM'} ${observed.vmid} on ${observed.node}`;

  for (const [k, v] of Object.entries(desired.immutable ?? {})) {
    const have = canonScalar(observed.type, k, observed.config[k]);
    if (have !== undefined && have !== canonScalar(observed.type, k, v)) {
      actions.blocked = { reason: 'ReplaceRequired', message: `${where}: ${k} is ${have}, the spec wants ${v}; it cannot change in place (set allowReplace: true to recreate the guest)` };
      return actions;
    }
  }

  const disks = diffDisks(observed.type, desired.disks, observed.config);
  if (disks.shrinks.length) {
    actions.blocked = { reason: 'ShrinkRefused', message: `${where}: disks never shrink (${disks.shrinks.join('; ')}); restore the size in the manifest` };
    return actions;
  }
  const update = diffConfig(observed.type, desired.config, observed.config, observed.running);
  if (update || Object.keys(disks.params).length) {
    const u: ConfigUpdate = update ?? { params: {}, changes: [], restartKeys: [] };
    Object.assign(u.params, disks.params);
    u.changes.push(...disks.changes);
    if (typeof observed.config.digest === 'string') u.params.digest = observed.config.digest;
    actions.update = u;
    steps.push({ action: 'update', description: `update ${where} config in place (${u.changes.map((c) => c.field).join(', ')})`, changes: u.changes });
  }
  for (const r of disks.resizes) {
    actions.resizes.push(r);
    steps.push({ action: 'resize', description: `grow ${r.disk} of ${where} from ${formatMiB(r.fromMiB)} to ${r.size}`, changes: [{ field: r.disk, from: formatMiB(r.fromMiB), to: r.size }] });
  }
  const fw = diffFirewall(desired.firewall, observed.firewallOptions, observed.firewallRules);
  if (fw) {
    actions.firewall = fw;
    steps.push({ action: 'firewall', description: `converge firewall of ${where}`, changes: fw.changes });
  }
  const pendingRestart = (observed.pending ?? []).some((p) => p.pending !== undefined || p.delete);
  const restartKeys = actions.update?.restartKeys ?? [];
  if (observed.running && desired.power !== 'stopped' && (restartKeys.length || pendingRestart)) {
    if (desired.restartPolicy === 'IfRequired') {
      actions.restart = true;
      steps.push({ action: 'restart', description: `restart ${where} to apply ${restartKeys.join(', ') || 'pending changes'}` });
    }
  }
  if (desired.power === 'running' && !observed.running) {
    actions.power = 'start';
    steps.push({ action: 'start', description: `start ${where}` });
  } else if (desired.power === 'stopped' && observed.running) {
    actions.power = 'stop';
    steps.push({ action: 'stop', description: `stop ${where}` });
  }
  return actions;
}
