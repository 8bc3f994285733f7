// Maps the legacy Phoenix Hypervisor configuration (phoenix_lxc_configs.json, phoenix_vm_configs.json)
// onto phoenix resources. Pure: documents in, resources plus a complete account of every legacy
// field out (imported, not imported and why, adjusted and why). Nothing is dropped silently: a
// field with no phoenix equivalent lands in the guest's `unmapped` list, which the writer puts in
// the manifest's `import.phoenix.hypervisor/unmapped` annotation. See docs/import.md.
import {
  API_VERSION,
  type FirewallRule,
  type GuestResource,
  type GuestSource,
  type LxcContainerSpec,
  type LxcFeatures,
  type LxcNetwork,
  type MountPoint,
  type ObjectRef,
  type Service,
  type Startup,
  type TemplateSpec,
  type VirtualMachineSpec,
  type Firewall,
} from '../../resources/types.js';
import {
  checkMac,
  isDnsName,
  isFirewallAddress,
  isIPv4,
  isIPv4Cidr,
  normalisePorts,
  toDns1123,
  DNS1123_LABEL,
  canonicalJson,
} from './values.js';

type Obj = Record<string, unknown>;
type GuestType = 'lxc' | 'qemu';

export interface ImportOptions {
  /** Storage holding LXC OS templates (content vztmpl): ostemplate paths become `<this>:vztmpl/<file>`. */
  templateStorage: string;
  /** Storage holding cloud images (content import): image files become `<this>:import/<file>`. */
  imageStorage: string;
  /**
   * Set `adopt: true` on every resource: the guests exist already (the legacy tool made them, so
   * they lack phoenix's ownership marker) and phoenix must take them over rather than report a
   * Conflict. Off for a fresh installation.
   */
  adopt: boolean;
}

export const DEFAULT_IMPORT_OPTIONS: ImportOptions = { templateStorage: 'local', imageStorage: 'local', adopt: true };

/** Something about a legacy value, at its legacy JSON path (e.g. `lxc_configs.101.mac_address`). */
export interface Note {
  path: string;
  message: string;
}

/** A legacy field that has no phoenix equivalent, kept verbatim in the manifest's annotation. */
export interface Unmapped {
  /** Path relative to the guest (`gpu_assignment`, `mount_points[0].owner_uid`). */
  field: string;
  value: unknown;
  reason: string;
}

export interface GuestImport {
  /** Legacy JSON path of the guest: `lxc_configs.101` or `vms[1]`. */
  path: string;
  /** The legacy file's base name. */
  file: string;
  type: GuestType;
  vmid?: number;
  legacyName?: string;
  /** The generated resource; absent when the guest could not be imported (see errors). */
  resource?: GuestResource;
  /** Legacy fields (top-level keys) that were mapped onto the resource. */
  imported: string[];
  unmapped: Unmapped[];
  /** Values changed, defaulted, normalised or left out on the way, and why. */
  notes: Note[];
  /** Why the guest was not imported. */
  errors: Note[];
}

export interface VolumeMapping {
  path: string;
  from: string;
  to: string;
}

export interface ImportResult {
  /** Ordered by vmid. */
  guests: GuestImport[];
  /** File-level fields with no phoenix equivalent (e.g. nvidia_driver_version, vm_defaults.template). */
  globalUnmapped: (Unmapped & { path: string })[];
  globalNotes: Note[];
  /** Host paths / file names turned into Proxmox volume ids. */
  volumeMappings: VolumeMapping[];
}

/** A legacy document that cannot be read as such: names the file and what is wrong. */
export class LegacyInputError extends Error {}

export interface LegacyDoc {
  /** Base name of the file, used in messages and annotations (never an absolute path). */
  file: string;
  doc: unknown;
}

// ---------------------------------------------------------------------------------------------
// Why each legacy field with no Proxmox API equivalent is not imported.

const HOST_SCRIPT = 'runs on the host shell in the legacy tool; phoenix runs no host commands from manifests';
const REASONS: Record<string, string> = {
  lxc_options: 'raw LXC config lines written into /etc/pve/lxc/<id>.conf on the host; the Proxmox API has no parameter for them',
  apparmor_profile: 'the AppArmor profile is a raw lxc.apparmor.profile line; no Proxmox API parameter',
  apparmor_manages_nesting: 'only steered the legacy scripts (whether they add nesting=1); phoenix takes LXC features from pct_options',
  id_maps: 'UID/GID maps are raw lxc.idmap lines; no Proxmox API parameter',
  gpu_assignment: 'GPU passthrough is raw lxc.cgroup2/lxc.mount.entry lines written on the host; no Proxmox API parameter',
  features: `feature install scripts: ${HOST_SCRIPT}`,
  application_script: `application script: ${HOST_SCRIPT}`,
  portainer_role: 'Portainer is set up by the legacy scripts; no Proxmox API equivalent',
  portainer_environment_name: 'Portainer is set up by the legacy scripts; no Proxmox API equivalent',
  portainer_agent_hostname: 'Portainer is set up by the legacy scripts; no Proxmox API equivalent',
  vllm_engine_config: 'application configuration read by the application script',
  health_check: `health check command: ${HOST_SCRIPT}; phoenix reports readiness from Proxmox state`,
  health_checks: `health check commands: ${HOST_SCRIPT}; phoenix reports readiness from Proxmox state`,
  tests: 'legacy test-suite definitions',
  trigger_sync_on_completion: "legacy workflow hook ('phoenix sync all'); phoenix reconciles continuously",
  enable_lifecycle_snapshots:
    'the legacy scripts snapshot around feature scripts; phoenix only ensures the snapshot a clone is taken from',
  ports: 'host:container port mappings; Proxmox has no port forwarding for guests',
  bootstrap_ca_url: 'read by feature scripts',
  docker_stacks: 'Docker stacks are deployed through Portainer by the legacy scripts; no Proxmox API equivalent',
  volumes: 'NFS mounts made inside the VM by the legacy scripts; no Proxmox API equivalent',
  dns_records: 'phoenix derives DNS records from guest addresses and spec.services (docs/dns.md)',
  qm_options: "raw 'qm set' options are not interpreted; declare their equivalents in the spec",
  pct_options: "raw 'pct set --features' options that are not LXC features phoenix knows",
  snapshots: 'lifecycle snapshots around feature scripts; no phoenix equivalent',
  count: 'phoenix declares one guest per vmid; a count is not expanded',
  nvidia_driver_version: 'host NVIDIA driver installation; not a guest setting',
  nvidia_repo_url: 'host NVIDIA driver installation; not a guest setting',
  nvidia_runfile_url: 'host NVIDIA driver installation; not a guest setting',
};
const UNKNOWN_REASON = 'not a field of the legacy schema or phoenix; kept here so nothing is lost';

// Required fields of the legacy LXC schema, and whether phoenix needs them.
const LXC_REQUIRED = [
  'name',
  'memory_mb',
  'cores',
  'storage_pool',
  'storage_size_gb',
  'network_config',
  'portainer_role',
  'unprivileged',
  'apparmor_profile',
  'apparmor_manages_nesting',
] as const;

// Built-in defaults (Proxmox's own where it has one) for values neither the guest, its clone
// source nor vm_defaults provide.
const BUILTIN = {
  memory_mb: 512,
  cores: 1,
  storage_pool: 'local-lvm',
  storage_size_gb: 8,
  disk_size_gb: 32,
  network_bridge: 'vmbr0',
  netName: 'eth0',
};

// ---------------------------------------------------------------------------------------------

interface RawGuest {
  type: GuestType;
  path: string;
  file: string;
  vmid: number;
  raw: Obj;
  /** vmid of the clone source (same type), when declared. */
  cloneFrom?: number;
  name: string;
  kind: 'Template' | 'LxcContainer' | 'VirtualMachine';
  out: GuestImport;
}

const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const kindLabel = (t: GuestType) => (t === 'lxc' ? 'LXC' : 'VM');

/** Reads an integer, tolerating numeric strings (noted). */
function toInt(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  return undefined;
}

function toBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === '1' || v === 'true' || v === 'yes') return true;
  if (v === 0 || v === '0' || v === 'false' || v === 'no') return false;
  return undefined;
}

/** The object without its undefined properties (so specs carry only what was set). */
function compact<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function basename(p: string): string {
  const parts = p.split('/');
  return parts[parts.length - 1] ?? p;
}

/** Context for mapping one guest: records what was consumed, noted or left out. */
class GuestCtx {
  readonly handled = new Set<string>();
  constructor(
    readonly g: RawGuest,
    readonly all: Map<number, RawGuest>,
  ) {}
  get raw() {
    return this.g.raw;
  }
  has(key: string) {
    return this.raw[key] !== undefined;
  }
  mapped(key: string) {
    this.handled.add(key);
    if (this.raw[key] !== undefined && !this.g.out.imported.includes(key)) this.g.out.imported.push(key);
  }
  unmapped(field: string, value: unknown, reason?: string) {
    const top = field.split(/[.[]/)[0]!;
    this.handled.add(top);
    this.g.out.unmapped.push({ field, value, reason: reason ?? REASONS[top] ?? UNKNOWN_REASON });
  }
  note(field: string, message: string) {
    this.g.out.notes.push({ path: field ? `${this.g.path}.${field}` : this.g.path, message });
  }
  error(field: string, message: string) {
    this.g.out.errors.push({ path: field ? `${this.g.path}.${field}` : this.g.path, message });
  }
  /** The clone source, when it exists and is of the same type. */
  source(): RawGuest | undefined {
    return this.g.cloneFrom !== undefined ? this.all.get(this.g.cloneFrom) : undefined;
  }
  /** Value of `key` on this guest, else the nearest one up its clone chain (a clone keeps its source's config). */
  inherited(key: string): { value: unknown; from: RawGuest } | undefined {
    const seen = new Set<number>();
    let cur: RawGuest | undefined = this.g;
    while (cur && !seen.has(cur.vmid)) {
      seen.add(cur.vmid);
      if (cur.raw[key] !== undefined) return { value: cur.raw[key], from: cur };
      cur = cur.cloneFrom !== undefined ? this.all.get(cur.cloneFrom) : undefined;
    }
    return undefined;
  }
  /** Integer field with tolerance for numeric strings; undefined when absent or not usable (noted). */
  int(key: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const v = this.raw[key];
    if (v === undefined) return undefined;
    const n = toInt(v);
    if (n === undefined || n < min || n > max) {
      this.note(key, `${JSON.stringify(v)} is not an integer in ${min}..${max}; left out`);
      this.handled.add(key);
      this.g.out.unmapped.push({ field: key, value: v, reason: 'invalid value' });
      return undefined;
    }
    if (typeof v === 'string') this.note(key, `string ${JSON.stringify(v)} read as the number ${n}`);
    this.mapped(key);
    return n;
  }
  bool(key: string): boolean | undefined {
    const v = this.raw[key];
    if (v === undefined) return undefined;
    const b = toBool(v);
    if (b === undefined) {
      this.note(key, `${JSON.stringify(v)} is not a boolean; left out`);
      this.handled.add(key);
      this.g.out.unmapped.push({ field: key, value: v, reason: 'invalid value' });
      return undefined;
    }
    if (typeof v !== 'boolean') this.note(key, `${JSON.stringify(v)} read as ${b}`);
    this.mapped(key);
    return b;
  }
}

// ---------------------------------------------------------------------------------------------

function collectGuests(lxc: LegacyDoc | undefined, vm: LegacyDoc | undefined, result: ImportResult) {
  const guests: RawGuest[] = [];
  const newOut = (type: GuestType, path: string, file: string): GuestImport => ({
    path,
    file,
    type,
    imported: [],
    unmapped: [],
    notes: [],
    errors: [],
  });
  let vmDefaults: Obj = {};

  if (lxc) {
    const d = lxc.doc;
    if (!isObj(d) || !isObj(d.lxc_configs))
      throw new LegacyInputError(`${lxc.file}: not a legacy LXC configuration (no "lxc_configs" object)`);
    for (const [k, v] of Object.entries(d)) {
      if (k === 'lxc_configs' || k === '$schema') continue;
      result.globalUnmapped.push({ path: k, field: k, value: v, reason: REASONS[k] ?? UNKNOWN_REASON });
    }
    for (const [key, raw] of Object.entries(d.lxc_configs)) {
      const path = `lxc_configs.${key}`;
      const out = newOut('lxc', path, lxc.file);
      const vmid = /^\d+$/.test(key) ? Number(key) : NaN;
      if (!isObj(raw)) {
        out.errors.push({ path, message: 'not an object' });
        result.guests.push(out);
        continue;
      }
      out.legacyName = typeof raw.name === 'string' ? raw.name : undefined;
      if (!Number.isInteger(vmid) || vmid < 100 || vmid > 999999999) {
        out.errors.push({ path, message: `key ${JSON.stringify(key)} is not a CTID (an integer 100..999999999)` });
        result.guests.push(out);
        continue;
      }
      out.vmid = vmid;
      guests.push({ type: 'lxc', path, file: lxc.file, vmid, raw, name: '', kind: 'LxcContainer', out });
    }
  }

  if (vm) {
    const d = vm.doc;
    if (!isObj(d) || !Array.isArray(d.vms))
      throw new LegacyInputError(`${vm.file}: not a legacy VM configuration (no "vms" array)`);
    for (const [k, v] of Object.entries(d)) {
      if (k === 'vms' || k === 'vm_defaults' || k === '$schema') continue;
      result.globalUnmapped.push({ path: k, field: k, value: v, reason: REASONS[k] ?? UNKNOWN_REASON });
    }
    if (d.vm_defaults !== undefined) {
      if (isObj(d.vm_defaults)) vmDefaults = d.vm_defaults;
      else result.globalNotes.push({ path: 'vm_defaults', message: 'not an object; ignored' });
    } else {
      result.globalNotes.push({ path: 'vm_defaults', message: 'missing (required by the legacy schema); built-in defaults used' });
    }
    for (const [k, v] of Object.entries(vmDefaults)) {
      if (['cores', 'memory_mb', 'disk_size_gb', 'storage_pool', 'network_bridge'].includes(k)) continue;
      const reason =
        k === 'template'
          ? 'the legacy default base for VMs declared without a source; phoenix VMs come from a Template or another VM (clone_from_vmid)'
          : (REASONS[k] ?? UNKNOWN_REASON);
      result.globalUnmapped.push({ path: `vm_defaults.${k}`, field: `vm_defaults.${k}`, value: v, reason });
    }
    d.vms.forEach((raw, i) => {
      const path = `vms[${i}]`;
      const out = newOut('qemu', path, vm.file);
      if (!isObj(raw)) {
        out.errors.push({ path, message: 'not an object' });
        result.guests.push(out);
        return;
      }
      out.legacyName = typeof raw.name === 'string' ? raw.name : undefined;
      const vmid = toInt(raw.vmid);
      if (vmid === undefined || vmid < 100 || vmid > 999999999) {
        out.errors.push({
          path: `${path}.vmid`,
          message:
            raw.vmid === undefined
              ? 'missing (required by the legacy schema); a guest cannot be declared without its vmid'
              : `${JSON.stringify(raw.vmid)} is not a VMID (an integer 100..999999999)`,
        });
        result.guests.push(out);
        return;
      }
      out.vmid = vmid;
      guests.push({ type: 'qemu', path, file: vm.file, vmid, raw, name: '', kind: 'VirtualMachine', out });
    });
  }

  // vmids are unique across containers and VMs in Proxmox.
  const byId = new Map<number, RawGuest>();
  const unique: RawGuest[] = [];
  for (const g of guests) {
    const prev = byId.get(g.vmid);
    if (prev) {
      g.out.errors.push({ path: g.path, message: `vmid ${g.vmid} is already used by ${prev.path}; Proxmox vmids are unique across containers and VMs` });
      result.guests.push(g.out);
      continue;
    }
    byId.set(g.vmid, g);
    unique.push(g);
  }
  return { guests: unique, byId, vmDefaults };
}

/** Resolves clone sources; marks Templates (see docs/import.md, "Which guests become Templates"). */
function resolveRoles(guests: RawGuest[], byId: Map<number, RawGuest>) {
  for (const g of guests) {
    const key = g.type === 'lxc' ? 'clone_from_ctid' : 'clone_from_vmid';
    const v = g.raw[key];
    if (v === undefined) continue;
    const id = toInt(v);
    const src = id !== undefined ? byId.get(id) : undefined;
    if (id === undefined) g.out.errors.push({ path: `${g.path}.${key}`, message: `${JSON.stringify(v)} is not a vmid` });
    else if (!src) g.out.errors.push({ path: `${g.path}.${key}`, message: `no guest ${id} in the legacy configuration to clone from` });
    else if (src.type !== g.type)
      g.out.errors.push({ path: `${g.path}.${key}`, message: `${id} is a ${kindLabel(src.type)}; a ${kindLabel(g.type)} can only be cloned from a ${kindLabel(g.type)}` });
    else if (id === g.vmid) g.out.errors.push({ path: `${g.path}.${key}`, message: 'a guest cannot be cloned from itself' });
    else g.cloneFrom = id;
  }
  const cloned = new Set(guests.filter((g) => g.cloneFrom !== undefined).map((g) => g.cloneFrom!));
  for (const g of guests) {
    if (g.type === 'lxc') {
      // An LXC is a template by role: it is made from an OS template (not cloned) and others clone it.
      if (g.cloneFrom === undefined && typeof g.raw.template === 'string' && cloned.has(g.vmid)) g.kind = 'Template';
    } else {
      // A VM is a template when flagged is_template, or by the same role as above (cloud image, cloned).
      const flagged = toBool(g.raw.is_template) === true;
      const byRole = g.cloneFrom === undefined && typeof g.raw.template_image === 'string' && cloned.has(g.vmid);
      if (flagged || byRole) g.kind = 'Template';
    }
  }
}

/** DNS-1123 names, unique across the whole fleet (they become DNS names too). */
function assignNames(guests: RawGuest[]) {
  const used = new Set<string>();
  for (const g of [...guests].sort((a, b) => a.vmid - b.vmid)) {
    const legacy = g.raw.name;
    const fallback = `${g.type === 'lxc' ? 'ct' : 'vm'}-${g.vmid}`;
    let name: string;
    if (typeof legacy !== 'string' || legacy.trim() === '') {
      name = fallback;
      g.out.notes.push({ path: `${g.path}.name`, message: `missing (required by the legacy schema); named ${JSON.stringify(name)}` });
    } else {
      name = toDns1123(legacy) || fallback;
      if (name !== legacy)
        g.out.notes.push({ path: `${g.path}.name`, message: `${JSON.stringify(legacy)} is not a DNS-1123 label; named ${JSON.stringify(name)}` });
    }
    if (used.has(name)) {
      const renamed = `${name.slice(0, 62 - String(g.vmid).length)}-${g.vmid}`;
      g.out.notes.push({ path: `${g.path}.name`, message: `${JSON.stringify(name)} is already taken by another guest; named ${JSON.stringify(renamed)}` });
      name = renamed;
    }
    used.add(name);
    g.name = name;
  }
}

const refOf = (g: RawGuest): ObjectRef => ({ kind: g.kind, name: g.name });

// ---------------------------------------------------------------------------------------------
// Field mappers shared by both guest types.

function mapStartup(c: GuestCtx): { onboot?: boolean; startup?: Startup } {
  const onboot = c.bool('start_at_boot');
  const order = c.int('boot_order', 0);
  const delay = c.int('boot_delay', 0);
  const startup: Startup = {};
  if (order !== undefined) startup.order = order;
  // The legacy tool sets `startup order=<boot_order>,up=<boot_delay>,down=<boot_delay>`.
  if (delay !== undefined) {
    startup.up = delay;
    startup.down = delay;
  }
  return { onboot, startup: Object.keys(startup).length ? startup : undefined };
}

function mapMac(c: GuestCtx): string | undefined {
  const v = c.raw.mac_address;
  if (v === undefined) return undefined;
  if (typeof v !== 'string') {
    c.unmapped('mac_address', v, 'invalid value');
    c.note('mac_address', `${JSON.stringify(v)} is not a MAC address; left out, Proxmox generates one`);
    return undefined;
  }
  const r = checkMac(v);
  if ('problem' in r) {
    const why =
      r.problem === 'multicast'
        ? 'is a multicast address (Proxmox accepts only unicast MACs: the first octet must be even)'
        : r.problem === 'zero'
          ? 'is all zeros'
          : 'is not a MAC address (xx:xx:xx:xx:xx:xx)';
    c.unmapped('mac_address', v, 'rejected: not a valid unicast MAC');
    c.note('mac_address', `${JSON.stringify(v)} ${why}; left out, Proxmox generates one`);
    return undefined;
  }
  c.mapped('mac_address');
  return r.mac;
}

function mapNameservers(c: GuestCtx, field: string, v: unknown): string | undefined {
  const list = (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.split(/[\s,;]+/) : []).filter((x) => x !== '');
  const bad = list.filter((x) => !isIPv4(x) && !isFirewallAddress(x));
  if (list.length === 0 || bad.length) {
    c.note(field, `${JSON.stringify(v)} is not a list of IP addresses; left out`);
    c.unmapped(field, v, 'invalid value');
    return undefined;
  }
  const joined = list.join(' ');
  if (joined !== v) c.note(field, `${JSON.stringify(v)} written as ${JSON.stringify(joined)}`);
  return joined;
}

const RULE_KEYS = new Set(['type', 'action', 'proto', 'source', 'dest', 'port', 'dport', 'sport', 'comment', 'iface', 'enable']);
const PORT_PROTOS = new Set(['tcp', 'udp', 'udplite', 'sctp', 'dccp']);

function mapFirewall(c: GuestCtx): Firewall | undefined {
  const fw = c.raw.firewall;
  if (fw === undefined) return undefined;
  if (!isObj(fw)) {
    c.unmapped('firewall', fw, 'invalid value: not an object');
    c.note('firewall', 'not an object; left out');
    return undefined;
  }
  c.mapped('firewall');
  const out: Firewall = {};
  const enabled = toBool(fw.enabled);
  if (fw.enabled === undefined) {
    out.enabled = false;
    c.note('firewall.enabled', 'missing (required by the legacy schema); default false (Proxmox: firewall off)');
  } else if (enabled === undefined) {
    out.enabled = false;
    c.note('firewall.enabled', `${JSON.stringify(fw.enabled)} is not a boolean; default false`);
  } else out.enabled = enabled;
  for (const k of Object.keys(fw)) if (k !== 'enabled' && k !== 'rules') c.unmapped(`firewall.${k}`, fw[k], UNKNOWN_REASON);
  if (fw.rules === undefined) return out;
  if (!Array.isArray(fw.rules)) {
    c.unmapped('firewall.rules', fw.rules, 'invalid value: not an array');
    c.note('firewall.rules', 'not an array; left out');
    return out;
  }
  const rules: FirewallRule[] = [];
  const seen = new Map<string, number>();
  fw.rules.forEach((r, i) => {
    const at = `firewall.rules[${i}]`;
    const drop = (why: string) => {
      c.note(at, `${why}; rule left out (a partial rule could allow more than intended)`);
      c.unmapped(at, r, `rejected: ${why}`);
    };
    if (!isObj(r)) return drop('not an object');
    const type = typeof r.type === 'string' ? r.type.toLowerCase() : undefined;
    if (type !== 'in' && type !== 'out') return drop(`type ${JSON.stringify(r.type)} is not "in" or "out"`);
    const action = typeof r.action === 'string' ? r.action.toUpperCase() : undefined;
    if (action !== 'ACCEPT' && action !== 'DROP' && action !== 'REJECT')
      return drop(`action ${JSON.stringify(r.action)} is not ACCEPT, DROP or REJECT`);
    const rule: FirewallRule = { type, action, enable: true };
    if (r.proto !== undefined) {
      const p = String(r.proto).toLowerCase();
      if (!/^([a-z][a-z0-9-]*|\d{1,3})$/.test(p)) return drop(`proto ${JSON.stringify(r.proto)} is not a protocol name or number`);
      rule.proto = p;
    }
    const portRaw = r.port ?? r.dport;
    if (r.port !== undefined && r.dport !== undefined) return drop('both port and dport given');
    for (const [key, dst] of [
      ['port', 'dport'],
      ['sport', 'sport'],
    ] as const) {
      const pv = key === 'port' ? portRaw : r.sport;
      if (pv === undefined) continue;
      if (typeof pv !== 'string' && typeof pv !== 'number') return drop(`${key} ${JSON.stringify(pv)} is not a port list`);
      const ports = normalisePorts(pv);
      if (ports === undefined) return drop(`${key} ${JSON.stringify(pv)} is not a port, a port range or a comma list of them`);
      if (!rule.proto || !PORT_PROTOS.has(rule.proto)) return drop(`${key} needs proto tcp or udp (Proxmox accepts ports only with them)`);
      if (ports !== String(pv)) c.note(`${at}.${key}`, `${JSON.stringify(pv)} written as ${JSON.stringify(ports)}`);
      rule[dst] = ports;
    }
    for (const key of ['source', 'dest'] as const) {
      if (r[key] === undefined) continue;
      if (typeof r[key] !== 'string' || !isFirewallAddress(r[key] as string))
        return drop(`${key} ${JSON.stringify(r[key])} is not an IP address, CIDR, range or alias`);
      rule[key] = (r[key] as string).trim();
    }
    if (r.iface !== undefined) {
      if (typeof r.iface !== 'string' || !/^[a-z][a-z0-9]{0,14}$/.test(r.iface)) return drop(`iface ${JSON.stringify(r.iface)} is not an interface name`);
      rule.iface = r.iface;
    }
    if (r.enable !== undefined) {
      const e = toBool(r.enable);
      if (e === undefined) return drop(`enable ${JSON.stringify(r.enable)} is not a boolean`);
      rule.enable = e;
    }
    if (r.comment !== undefined) rule.comment = String(r.comment);
    for (const k of Object.keys(r)) if (!RULE_KEYS.has(k)) c.unmapped(`${at}.${k}`, r[k], UNKNOWN_REASON);
    // Duplicates: the same rule apart from its comment matches the same packets; keep the first.
    const { comment: _c, ...match } = rule;
    const key = canonicalJson(match);
    const first = seen.get(key);
    if (first !== undefined) {
      c.note(at, `duplicate of firewall.rules[${first}] (same match and action); deduplicated, first kept in place`);
      c.unmapped(at, r, `duplicate of firewall.rules[${first}]`);
      return;
    }
    seen.set(key, i);
    rules.push(rule);
  });
  if (rules.length) out.rules = rules;
  return out;
}

function mapServices(c: GuestCtx): Service[] | undefined {
  const v = c.raw.traefik_service;
  if (v === undefined) return undefined;
  const list = Array.isArray(v) ? v : [v];
  const services: Service[] = [];
  list.forEach((s, i) => {
    const at = Array.isArray(v) ? `traefik_service[${i}]` : 'traefik_service';
    if (!isObj(s) || typeof s.name !== 'string' || toInt(s.port) === undefined) {
      c.note(at, 'needs a name and a port; left out');
      c.unmapped(at, s, 'invalid value: needs name and port');
      return;
    }
    const port = toInt(s.port)!;
    if (port < 1 || port > 65535) {
      c.note(`${at}.port`, `${port} is not a port; service left out`);
      c.unmapped(at, s, 'invalid value: port out of range');
      return;
    }
    const name = toDns1123(s.name);
    if (!name) {
      c.note(`${at}.name`, `${JSON.stringify(s.name)} has no DNS-1123 form; service left out`);
      c.unmapped(at, s, 'invalid value: name');
      return;
    }
    if (name !== s.name) c.note(`${at}.name`, `${JSON.stringify(s.name)} is not a DNS-1123 label; named ${JSON.stringify(name)}`);
    const svc: Service = { name, port, protocol: 'http' };
    // The legacy file says nothing about the backend's protocol; 443 and 9443 serve HTTPS in it.
    if (port === 443 || port === 9443) {
      svc.protocol = 'https';
      c.note(`${at}.port`, `${port}: the backend is taken to speak HTTPS (the legacy file does not say)`);
    }
    for (const k of Object.keys(s)) if (k !== 'name' && k !== 'port') c.unmapped(`${at}.${k}`, s[k], UNKNOWN_REASON);
    services.push(svc);
  });
  c.mapped('traefik_service');
  return services.length ? services : undefined;
}

/** Resolves a numeric field from the guest, its clone chain, then a default; notes where it came from. */
function resolveNumber(
  c: GuestCtx,
  key: string,
  min: number,
  max: number,
  fallback: { value: number; label: string },
  required: boolean,
): number {
  const own = c.int(key, min, max);
  if (own !== undefined) return own;
  if (c.has(key)) {
    // present but invalid (already noted): fall through to inherited/default
  }
  const inh = c.g.cloneFrom !== undefined ? c.inherited(key) : undefined;
  const inhN = inh && inh.from !== c.g ? toInt(inh.value) : undefined;
  const missing = c.has(key) ? 'invalid' : required ? 'missing (required by the legacy schema)' : 'missing';
  if (inh && inhN !== undefined && inhN >= min && inhN <= max) {
    c.note(key, `${missing}; ${inhN} inherited from ${inh.from.path} (a clone keeps its source's config)`);
    return inhN;
  }
  c.note(key, `${missing}; default ${fallback.value} (${fallback.label})`);
  return fallback.value;
}

function resolveString(
  c: GuestCtx,
  key: string,
  fallback: { value: string; label: string },
  required: boolean,
  extra?: { value: unknown; label: string },
): string {
  const v = c.raw[key];
  if (typeof v === 'string' && v.trim() !== '') {
    c.mapped(key);
    return v.trim();
  }
  if (v !== undefined) c.unmapped(key, v, 'invalid value');
  const missing = v !== undefined ? `${JSON.stringify(v)} is not usable` : required ? 'missing (required by the legacy schema)' : 'missing';
  if (extra && typeof extra.value === 'string' && extra.value !== '') {
    c.note(key, `${missing}; ${JSON.stringify(extra.value)} from ${extra.label}`);
    return extra.value;
  }
  const inh = c.g.cloneFrom !== undefined ? c.inherited(key) : undefined;
  if (inh && typeof inh.value === 'string' && inh.value !== '') {
    c.note(key, `${missing}; ${JSON.stringify(inh.value)} inherited from ${inh.from.path}`);
    return inh.value;
  }
  c.note(key, `${missing}; default ${JSON.stringify(fallback.value)} (${fallback.label})`);
  return fallback.value;
}

/**
 * Size in GiB of the root disk the guest ends up with. A clone starts with its source's disk and
 * Proxmox only grows disks, so a smaller legacy size cannot be honoured: the source's size is kept.
 */
function effectiveDiskGb(g: RawGuest, all: Map<number, RawGuest>, sizeOf: (g: RawGuest) => number | undefined, memo: Map<number, number>, depth = 0): number | undefined {
  if (memo.has(g.vmid)) return memo.get(g.vmid);
  const own = sizeOf(g);
  const src = g.cloneFrom !== undefined && depth < 64 ? all.get(g.cloneFrom) : undefined;
  const srcSize = src ? effectiveDiskGb(src, all, sizeOf, memo, depth + 1) : undefined;
  const eff = own === undefined ? srcSize : srcSize !== undefined ? Math.max(own, srcSize) : own;
  if (eff !== undefined) memo.set(g.vmid, eff);
  return eff;
}

function checkRequiredLxc(c: GuestCtx) {
  for (const key of LXC_REQUIRED) {
    if (c.has(key)) continue;
    // Fields phoenix resolves itself note their own default; these only need saying.
    if (key === 'portainer_role' || key === 'apparmor_profile' || key === 'apparmor_manages_nesting')
      c.note(key, 'missing (required by the legacy schema); not needed: the field is not imported');
  }
}

// ---------------------------------------------------------------------------------------------

interface MapState {
  all: Map<number, RawGuest>;
  opts: ImportOptions;
  result: ImportResult;
  vmDefaults: Obj;
  diskMemo: Map<number, number>;
  clonedBy: Map<number, RawGuest[]>;
}

function volumeId(c: GuestCtx, st: MapState, key: string, content: 'vztmpl' | 'import', storage: string): string | undefined {
  const v = c.raw[key];
  if (typeof v !== 'string' || v.trim() === '') {
    c.error(key, `${v === undefined ? 'missing' : JSON.stringify(v) + ' is not a file name'}; needed to create the ${content === 'vztmpl' ? 'container' : 'template'}`);
    return undefined;
  }
  c.mapped(key);
  if (/^[a-zA-Z][a-zA-Z0-9._-]*:/.test(v)) return v; // already a volume id
  const file = basename(v.trim());
  const to = `${storage}:${content}/${file}`;
  st.result.volumeMappings.push({ path: `${c.g.path}.${key}`, from: v, to });
  return to;
}

function mapLxcNetwork(c: GuestCtx, firewallOn: boolean): { net?: LxcNetwork; nameserver?: string } {
  const nc = c.raw.network_config;
  const hwaddr = mapMac(c);
  if (nc === undefined) {
    c.note('network_config', 'missing (required by the legacy schema); the guest gets no network interface');
    if (hwaddr) c.note('mac_address', 'no network_config to put it on; left out');
    return {};
  }
  if (!isObj(nc)) {
    c.unmapped('network_config', nc, 'invalid value: not an object');
    c.note('network_config', 'not an object; the guest gets no network interface');
    return {};
  }
  c.mapped('network_config');
  const str = (k: string) => (typeof nc[k] === 'string' && (nc[k] as string).trim() !== '' ? (nc[k] as string).trim() : undefined);
  let name = str('name');
  if (!name || !/^[a-zA-Z0-9_.-]{1,15}$/.test(name)) {
    c.note('network_config.name', `${name ? JSON.stringify(name) + ' is not an interface name' : 'missing (required by the legacy schema)'}; default "${BUILTIN.netName}"`);
    name = BUILTIN.netName;
  }
  let bridge = str('bridge');
  if (!bridge || !/^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$/.test(bridge)) {
    c.note('network_config.bridge', `${bridge ? JSON.stringify(bridge) + ' is not a bridge name' : 'missing (required by the legacy schema)'}; default "${BUILTIN.network_bridge}"`);
    bridge = BUILTIN.network_bridge;
  }
  const net: LxcNetwork = { name, bridge };
  const ip = str('ip');
  if (ip === undefined) c.note('network_config.ip', 'missing (required by the legacy schema); no address configured (Proxmox: none)');
  else if (ip === 'dhcp' || ip === 'manual' || isIPv4Cidr(ip)) net.ip = ip;
  else {
    c.note('network_config.ip', `${JSON.stringify(ip)} is not an IPv4 CIDR, "dhcp" or "manual"; left out`);
    c.unmapped('network_config.ip', nc.ip, 'invalid value');
  }
  const gw = str('gw');
  if (gw !== undefined) {
    if (isIPv4(gw) && net.ip && net.ip !== 'dhcp') net.gw = gw;
    else {
      c.note('network_config.gw', `${JSON.stringify(gw)} is not usable as the gateway of ${JSON.stringify(net.ip ?? 'no address')}; left out`);
      c.unmapped('network_config.gw', nc.gw, 'invalid value');
    }
  }
  if (hwaddr) net.hwaddr = hwaddr;
  // Proxmox applies a guest's firewall rules only on interfaces with firewall=1.
  if (firewallOn) net.firewall = true;
  let nameserver: string | undefined;
  const ns = nc.nameservers ?? nc.nameserver;
  if (ns !== undefined) nameserver = mapNameservers(c, nc.nameservers !== undefined ? 'network_config.nameservers' : 'network_config.nameserver', ns);
  for (const k of Object.keys(nc))
    if (!['name', 'bridge', 'ip', 'gw', 'nameservers', 'nameserver'].includes(k)) c.unmapped(`network_config.${k}`, nc[k], UNKNOWN_REASON);
  return { net, nameserver };
}

const LXC_FEATURES = new Set(['nesting', 'keyctl', 'fuse', 'mknod']);

function mapPctOptions(c: GuestCtx): LxcFeatures | undefined {
  const v = c.raw.pct_options;
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) {
    c.unmapped('pct_options', v, 'invalid value: not an array');
    return undefined;
  }
  c.mapped('pct_options');
  const f: LxcFeatures = {};
  v.forEach((opt, i) => {
    const at = `pct_options[${i}]`;
    const m = typeof opt === 'string' ? /^\s*([a-z]+)\s*=\s*(.+?)\s*$/.exec(opt) : null;
    if (m && LXC_FEATURES.has(m[1]!) && toBool(m[2]) !== undefined) {
      f[m[1] as 'nesting' | 'keyctl' | 'fuse' | 'mknod'] = toBool(m[2])!;
    } else if (m && m[1] === 'mount') {
      f.mount = m[2]!.split(';').filter((x) => x !== '');
    } else {
      c.unmapped(at, opt);
      c.note(at, `${JSON.stringify(opt)} is not an LXC feature phoenix knows (nesting, keyctl, fuse, mknod, mount); not imported`);
    }
  });
  return Object.keys(f).length ? f : undefined;
}

/** Runs `fn` on each item of the array field `key` (a non-array is recorded as unmapped). */
function eachItem(c: GuestCtx, key: string, fn: (item: unknown, at: string) => void) {
  const v = c.raw[key];
  if (v === undefined) return;
  if (!Array.isArray(v)) return c.unmapped(key, v, 'invalid value: not an array');
  c.mapped(key);
  v.forEach((item, i) => fn(item, `${key}[${i}]`));
}

/** Leaves an invalid item out, saying why, and keeps it in the annotation. */
function rejectItem(c: GuestCtx, at: string, item: unknown, why: string) {
  c.note(at, `${why}; left out`);
  c.unmapped(at, item, 'invalid value');
}

function mapMounts(c: GuestCtx): MountPoint[] | undefined {
  const out: MountPoint[] = [];
  const extra = (at: string, o: Obj, known: string[]) => {
    for (const k of Object.keys(o)) if (!known.includes(k)) c.unmapped(`${at}.${k}`, o[k], UNKNOWN_REASON);
  };
  // Same order as the legacy tool: ZFS volumes first, then host path mounts.
  eachItem(c, 'zfs_volumes', (z, at) => {
    const size = isObj(z) ? toInt(z.size_gb) : undefined;
    if (!isObj(z) || typeof z.pool !== 'string' || typeof z.mount_point !== 'string' || size === undefined || size < 1)
      return rejectItem(c, at, z, 'needs pool, size_gb and mount_point');
    out.push({ path: z.mount_point, volume: { storage: z.pool, size: `${size}G` } });
    if (z.name !== undefined) c.unmapped(`${at}.name`, z.name, 'Proxmox names volumes itself (vm-<vmid>-disk-<n>)');
    extra(at, z, ['name', 'pool', 'size_gb', 'mount_point']);
  });
  eachItem(c, 'mount_points', (m, at) => {
    if (!isObj(m) || typeof m.host_path !== 'string' || typeof m.container_path !== 'string' || !m.host_path.startsWith('/') || !m.container_path.startsWith('/'))
      return rejectItem(c, at, m, 'needs absolute host_path and container_path');
    out.push({ path: m.container_path, hostPath: m.host_path });
    for (const k of ['owner_uid', 'owner_gid'])
      if (m[k] !== undefined) c.unmapped(`${at}.${k}`, m[k], 'the legacy tool chowns the host directory; no Proxmox API parameter');
    extra(at, m, ['host_path', 'container_path', 'owner_uid', 'owner_gid']);
  });
  const seen = new Set<string>();
  const unique = out.filter((m) => {
    if (seen.has(m.path)) {
      c.note('mount_points', `two mounts at ${m.path}; the later one left out`);
      return false;
    }
    seen.add(m.path);
    return true;
  });
  return unique.length ? unique : undefined;
}

/** What a clone's source is: a Template, or the source guest at its template_snapshot_name snapshot. */
function mapSource(c: GuestCtx): GuestSource | undefined {
  const src = c.source();
  if (!src) return undefined;
  c.mapped(c.g.type === 'lxc' ? 'clone_from_ctid' : 'clone_from_vmid');
  if (src.kind === 'Template') return { template: src.name };
  let snap = src.raw.template_snapshot_name;
  if (typeof snap !== 'string' || !/^[a-zA-Z][a-zA-Z0-9_-]{0,39}$/.test(snap)) {
    const why = snap === undefined ? 'has no template_snapshot_name' : `template_snapshot_name ${JSON.stringify(snap)} is not a Proxmox snapshot name`;
    snap = 'final-form';
    c.note(c.g.type === 'lxc' ? 'clone_from_ctid' : 'clone_from_vmid', `${src.path} ${why}; cloned at snapshot "final-form" (the legacy default)`);
  }
  return { guest: src.name, snapshot: snap as string };
}

/** template_snapshot_name is used by clones of a plain guest; otherwise say why it is not. */
function mapSnapshotName(c: GuestCtx, st: MapState) {
  if (!c.has('template_snapshot_name')) return;
  const clones = st.clonedBy.get(c.g.vmid) ?? [];
  if (c.g.kind === 'Template') c.unmapped('template_snapshot_name', c.raw.template_snapshot_name, 'clones of a Template need no snapshot (Proxmox clones the template itself)');
  else if (clones.length === 0) c.unmapped('template_snapshot_name', c.raw.template_snapshot_name, 'no guest clones from this one, so no snapshot is needed');
  else c.mapped('template_snapshot_name');
}

function mapLxc(c: GuestCtx, st: MapState): GuestResource | undefined {
  const g = c.g;
  c.mapped('name');
  checkRequiredLxc(c);
  const fwTop = isObj(c.raw.firewall) && toBool(c.raw.firewall.enabled) === true;
  const firewall = mapFirewall(c);
  const { onboot, startup } = mapStartup(c);
  const memory = resolveNumber(c, 'memory_mb', 16, 4194304, { value: BUILTIN.memory_mb, label: 'Proxmox default' }, true);
  const cores = resolveNumber(c, 'cores', 1, 8192, { value: BUILTIN.cores, label: 'built-in default' }, true);
  const swap = c.int('swap_mb', 0);
  const storage = resolveString(c, 'storage_pool', { value: BUILTIN.storage_pool, label: 'built-in default' }, true);
  const sizeGb = (x: RawGuest) => {
    const n = toInt(x.raw.storage_size_gb);
    return n !== undefined && n >= 1 ? n : undefined;
  };
  let size = c.int('storage_size_gb', 1, 131072);
  const eff = effectiveDiskGb(g, st.all, sizeGb, st.diskMemo);
  if (size === undefined) {
    const v = eff ?? BUILTIN.storage_size_gb;
    c.note('storage_size_gb', `${c.has('storage_size_gb') ? 'invalid' : 'missing (required by the legacy schema)'}; ${eff !== undefined ? `${v} inherited from the clone source` : `default ${v}`}`);
    size = v;
  } else if (eff !== undefined && eff > size) {
    c.note('storage_size_gb', `${size} is smaller than the ${eff} GiB disk of the clone source and Proxmox cannot shrink a disk; ${eff} kept`);
    size = eff;
  }
  const unpriv = (() => {
    const own = c.bool('unprivileged');
    if (own !== undefined) return own;
    const inh = g.cloneFrom !== undefined ? c.inherited('unprivileged') : undefined;
    const b = inh ? toBool(inh.value) : undefined;
    if (inh && b !== undefined) {
      c.note('unprivileged', `missing (required by the legacy schema); ${b} inherited from ${inh.from.path} (a clone keeps its source's unprivileged flag)`);
      return b;
    }
    c.note('unprivileged', 'missing (required by the legacy schema); default false (the legacy tool creates a privileged container then)');
    return false;
  })();
  const { net, nameserver } = mapLxcNetwork(c, fwTop);
  const features = mapPctOptions(c);
  const mounts = mapMounts(c);
  const services = mapServices(c);
  mapSnapshotName(c, st);
  const common = compact({
    vmid: g.vmid,
    adopt: st.opts.adopt || undefined,
    cores,
    memory,
    onboot,
    startup,
    firewall,
    rootfs: { storage, size: `${size}G` },
    unprivileged: unpriv,
    swap,
    features,
    nameserver,
  });

  if (g.kind === 'Template') {
    const ostemplate = volumeId(c, st, 'template', 'vztmpl', st.opts.templateStorage);
    if (!ostemplate) return undefined;
    if (mounts) {
      c.unmapped('mount_points', c.raw.mount_points ?? null, 'a Template has no mount points in phoenix');
      if (c.raw.zfs_volumes !== undefined) c.unmapped('zfs_volumes', c.raw.zfs_volumes, 'a Template has no mount points in phoenix');
    }
    if (services) c.unmapped('traefik_service', c.raw.traefik_service, 'a Template is never started, so it serves nothing');
    const spec: TemplateSpec = {
      type: 'lxc',
      ...common,
      ostemplate,
      ...(net ? { lxcNetworks: [net] } : {}),
    };
    return { apiVersion: API_VERSION, kind: 'Template', metadata: { name: g.name }, spec };
  }

  let source = mapSource(c);
  if (!source) {
    if (typeof c.raw.template === 'string') {
      const ostemplate = volumeId(c, st, 'template', 'vztmpl', st.opts.templateStorage);
      if (ostemplate) source = { ostemplate };
    } else if (!c.g.out.errors.length) {
      c.error('', 'neither clone_from_ctid nor template: nothing to create the container from');
    }
  } else if (c.has('template')) {
    c.unmapped('template', c.raw.template, 'clone_from_ctid takes precedence, as in the legacy tool');
  }
  if (!source) return undefined;
  const spec: LxcContainerSpec = {
    ...common,
    source,
    ...(net ? { networks: [net] } : {}),
    ...(mounts ? { mountPoints: mounts } : {}),
    ...(services ? { services } : {}),
  };
  // The legacy tool passes the name as the container's hostname; keep it where Proxmox accepts it.
  const legacy = c.raw.name;
  if (typeof legacy === 'string' && legacy !== g.name) {
    if (isDnsName(legacy)) spec.hostname = legacy;
    else c.note('name', `${JSON.stringify(legacy)} is not a valid host name either; hostname ${JSON.stringify(g.name)}`);
  }
  return { apiVersion: API_VERSION, kind: 'LxcContainer', metadata: { name: g.name }, spec };
}

function mapVm(c: GuestCtx, st: MapState): GuestResource | undefined {
  const g = c.g;
  const d = st.vmDefaults;
  c.mapped('name');
  c.mapped('vmid');
  const fwTop = isObj(c.raw.firewall) && toBool(c.raw.firewall.enabled) === true;
  const firewall = mapFirewall(c);
  const { onboot, startup } = mapStartup(c);
  const fromDefault = (key: string, min: number, max: number, builtin: number): number => {
    const own = c.int(key, min, max);
    if (own !== undefined) return own;
    const was = c.has(key) ? 'invalid' : 'missing';
    const dv = toInt(d[key]);
    if (dv !== undefined && dv >= min && dv <= max) {
      c.note(key, `${was}; vm_defaults.${key} = ${dv} applied`);
      return dv;
    }
    c.note(key, `${was} and vm_defaults.${key} unusable; default ${builtin}`);
    return builtin;
  };
  const cores = fromDefault('cores', 1, 8192, BUILTIN.cores);
  const memory = fromDefault('memory_mb', 16, 4194304, BUILTIN.memory_mb);
  const storage = resolveString(c, 'storage_pool', { value: BUILTIN.storage_pool, label: 'built-in default' }, false, { value: d.storage_pool, label: 'vm_defaults.storage_pool' });
  const bridge = resolveString(c, 'network_bridge', { value: BUILTIN.network_bridge, label: 'built-in default' }, false, { value: d.network_bridge, label: 'vm_defaults.network_bridge' });
  let size = fromDefault('disk_size_gb', 1, 131072, BUILTIN.disk_size_gb);
  const sizeOf = (x: RawGuest) => {
    const n = toInt(x.raw.disk_size_gb) ?? toInt(d.disk_size_gb);
    return n !== undefined && n >= 1 ? n : undefined;
  };
  const eff = effectiveDiskGb(g, st.all, sizeOf, st.diskMemo);
  if (eff !== undefined && eff > size) {
    c.note('disk_size_gb', `${size} is smaller than the ${eff} GiB disk of the clone source and Proxmox cannot shrink a disk; ${eff} kept`);
    size = eff;
  }
  const disk = { slot: 'scsi0', storage, size: `${size}G` };
  const hwaddr = mapMac(c);
  const net = { model: 'virtio' as const, bridge, ...(hwaddr ? { hwaddr } : {}), ...(fwTop ? { firewall: true } : {}) };

  // cloud-init: user and the first interface's address.
  const cloudInit: NonNullable<VirtualMachineSpec['cloudInit']> = {};
  const uc = c.raw.user_config;
  if (uc !== undefined) {
    if (isObj(uc) && typeof uc.username === 'string' && /^[a-z_][a-z0-9_-]{0,31}$/.test(uc.username)) {
      cloudInit.user = uc.username;
      c.mapped('user_config');
      for (const k of Object.keys(uc)) if (k !== 'username') c.unmapped(`user_config.${k}`, uc[k], UNKNOWN_REASON);
    } else {
      c.note('user_config', 'needs a username that is a valid Linux user name; left out');
      c.unmapped('user_config', uc, 'invalid value');
    }
  }
  const nc = c.raw.network_config;
  if (nc !== undefined) {
    if (!isObj(nc)) {
      c.unmapped('network_config', nc, 'invalid value: not an object');
    } else {
      c.mapped('network_config');
      const ip = typeof nc.ip === 'string' ? nc.ip.trim() : undefined;
      const ipc: { ip?: string; gw?: string } = {};
      if (ip === undefined) c.note('network_config.ip', 'missing (required by the legacy schema); no address configured');
      else if (ip === 'dhcp' || isIPv4Cidr(ip)) ipc.ip = ip;
      else {
        c.note('network_config.ip', `${JSON.stringify(nc.ip)} is not an IPv4 CIDR or "dhcp"; left out`);
        c.unmapped('network_config.ip', nc.ip, 'invalid value');
      }
      if (nc.gw !== undefined) {
        if (typeof nc.gw === 'string' && isIPv4(nc.gw) && ipc.ip && ipc.ip !== 'dhcp') ipc.gw = nc.gw;
        else {
          c.note('network_config.gw', `${JSON.stringify(nc.gw)} is not usable as the gateway of ${JSON.stringify(ipc.ip ?? 'no address')}; left out`);
          c.unmapped('network_config.gw', nc.gw, 'invalid value');
        }
      }
      if (ipc.ip) cloudInit.ipConfig = [ipc];
      const ns = nc.nameserver ?? nc.nameservers;
      if (ns !== undefined) {
        const v = mapNameservers(c, nc.nameserver !== undefined ? 'network_config.nameserver' : 'network_config.nameservers', ns);
        if (v) cloudInit.nameserver = v;
      }
      for (const k of Object.keys(nc))
        if (!['ip', 'gw', 'nameserver', 'nameservers'].includes(k)) c.unmapped(`network_config.${k}`, nc[k], UNKNOWN_REASON);
    }
  }
  const services = mapServices(c);
  mapSnapshotName(c, st);
  if (c.has('is_template')) c.mapped('is_template');
  // docker_stacks: the data holds strings, the legacy schema objects; both are kept, as objects.
  if (Array.isArray(c.raw.docker_stacks)) {
    const stacks = c.raw.docker_stacks.map((s, i) => {
      if (typeof s === 'string') {
        c.note(`docker_stacks[${i}]`, `string ${JSON.stringify(s)} where the legacy schema wants {name, environment}; read as {"name": ${JSON.stringify(s)}}`);
        return { name: s };
      }
      return s;
    });
    c.unmapped('docker_stacks', stacks);
  }
  const common = compact({ vmid: g.vmid, adopt: st.opts.adopt || undefined, cores, memory, onboot, startup, firewall });
  const ci = Object.keys(cloudInit).length ? { cloudInit } : {};

  if (g.kind === 'Template') {
    if (g.cloneFrom !== undefined) {
      c.error('clone_from_vmid', 'is_template together with clone_from_vmid: phoenix creates a Template only from a cloud image');
      return undefined;
    }
    const image = volumeId(c, st, 'template_image', 'import', st.opts.imageStorage);
    if (!image) return undefined;
    if (services) c.unmapped('traefik_service', c.raw.traefik_service, 'a Template is never started, so it serves nothing');
    const spec: TemplateSpec = { type: 'qemu', ...common, image, disk, vmNetworks: [net], ...ci };
    return { apiVersion: API_VERSION, kind: 'Template', metadata: { name: g.name }, spec };
  }
  const source = mapSource(c);
  if (!source) {
    if (!g.out.errors.length)
      c.error('', c.has('template_image')
        ? 'created from a cloud image but neither is_template nor cloned by another VM: phoenix creates VMs by cloning a Template; set is_template or clone_from_vmid'
        : 'neither clone_from_vmid nor is_template/template_image: nothing to create the VM from');
    return undefined;
  }
  if (c.has('template_image')) c.unmapped('template_image', c.raw.template_image, 'clone_from_vmid takes precedence');
  const spec: VirtualMachineSpec = {
    ...common,
    source,
    disks: [disk],
    networks: [net],
    ...ci,
    ...(services ? { services } : {}),
  };
  return { apiVersion: API_VERSION, kind: 'VirtualMachine', metadata: { name: g.name }, spec };
}

/** dependencies[] -> dependsOn, across kinds; references to unknown or failed guests are reported. */
function mapDependencies(c: GuestCtx, ok: (g: RawGuest) => boolean): ObjectRef[] | undefined {
  const v = c.raw.dependencies;
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) {
    c.unmapped('dependencies', v, 'invalid value: not an array');
    c.note('dependencies', 'not an array; left out');
    return undefined;
  }
  c.mapped('dependencies');
  const refs: ObjectRef[] = [];
  const seen = new Set<number>();
  v.forEach((d, i) => {
    const at = `dependencies[${i}]`;
    const id = toInt(d);
    const dep = id !== undefined ? c.all.get(id) : undefined;
    if (id === undefined || !dep) {
      c.note(at, `${JSON.stringify(d)}: no such guest in the legacy configuration; left out`);
      c.unmapped(at, d, 'refers to no guest');
    } else if (id === c.g.vmid) {
      c.note(at, 'a guest cannot depend on itself; left out');
      c.unmapped(at, d, 'self-reference');
    } else if (seen.has(id)) {
      c.note(at, `${id} listed twice; deduplicated`);
    } else if (!ok(dep)) {
      c.note(at, `${dep.path} could not be imported; dependency left out`);
      c.unmapped(at, d, 'refers to a guest that was not imported');
    } else {
      if (typeof d !== 'string') c.note(at, `${JSON.stringify(d)} read as the vmid ${id}`);
      seen.add(id);
      refs.push(refOf(dep));
    }
  });
  return refs.length ? refs : undefined;
}

/** Maps both legacy documents. Throws LegacyInputError when a document is not one at all. */
export function importLegacy(lxc: LegacyDoc | undefined, vm: LegacyDoc | undefined, opts: ImportOptions = DEFAULT_IMPORT_OPTIONS): ImportResult {
  const result: ImportResult = { guests: [], globalUnmapped: [], globalNotes: [], volumeMappings: [] };
  const { guests, byId, vmDefaults } = collectGuests(lxc, vm, result);
  resolveRoles(guests, byId);
  assignNames(guests);
  const clonedBy = new Map<number, RawGuest[]>();
  for (const g of guests) if (g.cloneFrom !== undefined) clonedBy.set(g.cloneFrom, [...(clonedBy.get(g.cloneFrom) ?? []), g]);
  // Clone cycles cannot be created in any order.
  for (const g of guests) {
    const seen = new Set<number>([g.vmid]);
    for (let cur = g.cloneFrom; cur !== undefined; cur = byId.get(cur)?.cloneFrom) {
      if (seen.has(cur)) {
        g.out.errors.push({ path: g.path, message: `clone chain loops back to ${cur}; it cannot be created in any order` });
        break;
      }
      seen.add(cur);
    }
  }
  const st: MapState = { all: byId, opts, result, vmDefaults, diskMemo: new Map(), clonedBy };
  const ctxs = new Map<number, GuestCtx>();
  for (const g of guests) {
    const c = new GuestCtx(g, byId);
    ctxs.set(g.vmid, c);
    if (g.out.errors.length) continue;
    const res = g.type === 'lxc' ? mapLxc(c, st) : mapVm(c, st);
    if (res && !g.out.errors.length) g.out.resource = res;
  }
  // A clone of a guest that could not be imported cannot be imported either.
  for (let changed = true; changed; ) {
    changed = false;
    for (const g of guests) {
      const src = g.cloneFrom !== undefined ? byId.get(g.cloneFrom) : undefined;
      if (g.out.resource && src && !src.out.resource) {
        g.out.errors.push({ path: `${g.path}.${g.type === 'lxc' ? 'clone_from_ctid' : 'clone_from_vmid'}`, message: `its clone source ${src.path} could not be imported` });
        delete g.out.resource;
        changed = true;
      }
    }
  }
  for (const g of guests) {
    const c = ctxs.get(g.vmid)!;
    const res = g.out.resource;
    if (res) {
      const deps = mapDependencies(c, (x) => !!x.out.resource);
      if (deps) res.spec.dependsOn = deps;
    }
    // Every remaining legacy field is recorded, so nothing is dropped silently.
    for (const [k, v] of Object.entries(g.raw)) {
      if (c.handled.has(k) || g.out.imported.includes(k) || k === 'vmid') continue;
      c.unmapped(k, v);
    }
    g.out.imported.sort();
    g.out.unmapped.sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
  }
  result.guests.push(...guests.map((g) => g.out));
  result.guests.sort((a, b) => (a.vmid ?? Infinity) - (b.vmid ?? Infinity) || (a.path < b.path ? -1 : 1));
  return result;
}

/** The DNS-1123 check the writer asserts before writing a name into a file name. */
export function isValidName(s: string): boolean {
  return DNS1123_LABEL.test(s);
}
