// The one normaliser of Proxmox values. Desired values (built from specs) and observed values (from
// GET config) pass through the same functions before they are compared, so that spellings Proxmox
// considers equal never show up as a diff: MAC case, 8G vs 8192M, property-string key order, bare
// default keys, URL-encoded ssh keys, tag order and separators, defaults Proxmox fills in, and the
// qemu memory property string.

export type GuestType = 'lxc' | 'qemu';

export type PropMap = Record<string, string>;

/** Parse a Proxmox property string `a=1,b=x` ; a bare item is the value of `defaultKey`. */
export function parsePropertyString(s: string, defaultKey?: string): PropMap {
  const out: PropMap = {};
  for (const raw of String(s).split(',')) {
    const item = raw.trim();
    if (!item) continue;
    const eq = item.indexOf('=');
    if (eq < 0) {
      out[defaultKey ?? item] = defaultKey ? item : '';
    } else {
      out[item.slice(0, eq).trim()] = item.slice(eq + 1).trim();
    }
  }
  return out;
}

/** Format a property map; `first` keys lead (a `defaultKey` value is written bare), the rest sorted. */
export function formatPropertyString(map: PropMap, opts: { first?: string[]; defaultKey?: string } = {}): string {
  const keys = Object.keys(map).filter((k) => map[k] !== undefined);
  const first = (opts.first ?? []).filter((k) => keys.includes(k));
  const rest = keys.filter((k) => !first.includes(k)).sort();
  return [...first, ...rest]
    .map((k) => (k === opts.defaultKey ? map[k] : `${k}=${map[k]}`))
    .join(',');
}

const UNIT: Record<string, number> = { B: 1 / (1024 * 1024), K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };

/**
 * A Proxmox size (`8G`, `8192M`, `1T`, `512K`, bytes) in MiB. `bareUnit` says what a number without
 * unit means: bytes in `size=` (default), GiB in the `storage:N` allocation syntax.
 */
export function sizeToMiB(s: string | number, bareUnit: keyof typeof UNIT = 'B'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT])?i?B?\s*$/i.exec(String(s));
  if (!m) throw new Error(`invalid size "${s}"`);
  const unit = (m[2]?.toUpperCase() ?? bareUnit) as keyof typeof UNIT;
  return Math.round(Number(m[1]) * UNIT[unit]! * 1024) / 1024;
}

/** MiB as Proxmox writes sizes: the largest unit that divides exactly. */
export function formatMiB(mib: number): string {
  if (mib % (1024 * 1024) === 0) return `${mib / (1024 * 1024)}T`;
  if (mib % 1024 === 0) return `${mib / 1024}G`;
  if (Number.isInteger(mib)) return `${mib}M`;
  return `${Math.round(mib * 1024)}K`;
}

/** A size in whole GiB, rounded up (the `storage:N` syntax of a new volume takes GiB). */
export function mibToGiBCeil(mib: number): number {
  return Math.max(1, Math.ceil(mib / 1024));
}

export function normMac(s: string): string {
  return s.trim().toUpperCase();
}

/** Tags as a canonical list: split on `;`, `,` and spaces, deduplicated, sorted. */
export function normTags(v: unknown): string[] {
  const list = Array.isArray(v) ? v.map(String) : v === undefined || v === null ? [] : String(v).split(/[;,\s]+/);
  return [...new Set(list.map((t) => t.trim()).filter(Boolean))].sort();
}

export function formatTags(tags: string[]): string {
  return normTags(tags).join(';');
}

export function normBool(v: unknown, dflt = false): boolean {
  if (v === undefined || v === null || v === '') return dflt;
  if (typeof v === 'boolean') return v;
  const s = String(v).trim().toLowerCase();
  return s === '1' || s === 'true' || s === 'yes' || s === 'on';
}

export const b01 = (v: boolean): 0 | 1 => (v ? 1 : 0);

/** Description: LF line ends, no trailing spaces, no trailing blank lines. */
export function normDescription(v: unknown): string {
  if (v === undefined || v === null) return '';
  return String(v)
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''))
    .join('\n')
    .replace(/\n+$/, '')
    .replace(/^\n+/, '');
}

/** SSH keys: Proxmox stores them URL-encoded; compare as the list of non-empty trimmed lines. */
export function decodeSshKeys(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  let s = String(v);
  try {
    s = decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    /* not encoded */
  }
  return s
    .split(/\r?\n/)
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter(Boolean);
}

/** Encode ssh keys the way Proxmox expects them in `sshkeys` (URL-encoded, spaces as %20). */
export function encodeSshKeys(keys: string[]): string {
  return encodeURIComponent(keys.map((k) => k.trim()).join('\n'));
}

/** qemu `memory` is `[current=]N`; older servers return a number. */
export function qemuMemoryMiB(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number') return v;
  const p = parsePropertyString(String(v), 'current');
  return p.current === undefined ? undefined : Number(p.current);
}

// ---------------------------------------------------------------------------------------------
// Property-string keys: how to canonicalise each, which sub-keys Proxmox fills in itself (kept from
// the observed value when the spec does not name them), and sub-key defaults (absent == default).

export interface PropSpec {
  defaultKey?: string;
  /** Sub-keys Proxmox generates (MAC, veth type): ignored when the desired value omits them. */
  filled?: string[];
  bools?: string[];
  upper?: string[];
  defaults?: PropMap;
  /** Sub-keys whose value is a `;`-separated set. */
  sets?: string[];
  first?: string[];
}

export const QEMU_NET_MODELS = ['virtio', 'e1000', 'e1000e', 'rtl8139', 'vmxnet3', 'i82551', 'i82557b', 'i82559er', 'ne2k_isa', 'ne2k_pci', 'pcnet'];

const LXC_NET: PropSpec = {
  filled: ['hwaddr', 'type'],
  bools: ['firewall', 'link_down'],
  upper: ['hwaddr'],
  defaults: { firewall: '0', link_down: '0', type: 'veth' },
  first: ['name', 'bridge', 'hwaddr', 'ip', 'gw', 'ip6', 'gw6', 'tag', 'firewall', 'mtu', 'rate', 'type'],
};
const QEMU_NET: PropSpec = {
  filled: ['macaddr'],
  bools: ['firewall', 'link_down'],
  upper: ['macaddr'],
  defaults: { firewall: '0', link_down: '0' },
  first: ['model', 'macaddr', 'bridge', 'tag', 'firewall', 'mtu', 'rate'],
};

export function propSpecFor(type: GuestType, key: string): PropSpec | undefined {
  if (/^net\d+$/.test(key)) return type === 'lxc' ? LXC_NET : QEMU_NET;
  if (key === 'features') return { bools: ['nesting', 'keyctl', 'fuse', 'mknod', 'force_rw_sys'], defaults: { nesting: '0', keyctl: '0', fuse: '0', mknod: '0', force_rw_sys: '0' }, sets: ['mount'] };
  if (key === 'startup') return { first: ['order', 'up', 'down'] };
  if (/^ipconfig\d+$/.test(key)) return { first: ['ip', 'gw', 'ip6', 'gw6'] };
  if (key === 'agent') return { defaultKey: 'enabled', bools: ['enabled', 'fstrim_cloned_disks'], defaults: { fstrim_cloned_disks: '0' }, first: ['enabled'] };
  return undefined;
}

/** Parse a property value into canonical sub-key values (qemu netN: `virtio=MAC` -> model + macaddr). */
export function canonProps(type: GuestType, key: string, value: string): PropMap {
  const spec = propSpecFor(type, key) ?? {};
  const raw = parsePropertyString(value, spec.defaultKey);
  const out: PropMap = {};
  for (const [k, v] of Object.entries(raw)) {
    if (type === 'qemu' && /^net\d+$/.test(key) && QEMU_NET_MODELS.includes(k)) {
      out.model = k;
      if (v) out.macaddr = v;
      continue;
    }
    out[k] = v;
  }
  for (const k of Object.keys(out)) {
    let v = out[k]!;
    if (spec.bools?.includes(k)) v = normBool(v) ? '1' : '0';
    if (spec.upper?.includes(k)) v = v.toUpperCase();
    if (spec.sets?.includes(k)) v = [...new Set(v.split(';').map((x) => x.trim()).filter(Boolean))].sort().join(';');
    if (/^\d+(\.\d+)?$/.test(v)) v = String(Number(v));
    out[k] = v;
  }
  return out;
}

/** Write canonical sub-keys back as Proxmox expects the value (qemu netN: `model=MAC` first). */
export function formatProps(type: GuestType, key: string, map: PropMap): string {
  const spec = propSpecFor(type, key) ?? {};
  if (type === 'qemu' && /^net\d+$/.test(key) && map.model) {
    const { model, macaddr, ...rest } = map;
    const head = macaddr ? `${model}=${macaddr}` : `${model}`;
    const tail = formatPropertyString(rest, { first: spec.first });
    return tail ? `${head},${tail}` : head;
  }
  return formatPropertyString(map, { first: spec.first, defaultKey: spec.defaultKey });
}

export interface PropDiff {
  equal: boolean;
  /** The value to send: desired sub-keys plus the filled-in ones kept from the observed value. */
  merged: string;
}

/** Compare a desired and an observed property value under the key's rules. */
export function compareProps(type: GuestType, key: string, desired: string, observed: string | undefined): PropDiff {
  const spec = propSpecFor(type, key) ?? {};
  const d = canonProps(type, key, desired);
  const o = observed === undefined ? {} : canonProps(type, key, observed);
  const merged: PropMap = { ...d };
  for (const k of spec.filled ?? []) if (d[k] === undefined && o[k] !== undefined) merged[k] = o[k]!;
  let equal = observed !== undefined;
  if (equal) {
    for (const k of new Set([...Object.keys(d), ...Object.keys(o)])) {
      if (d[k] === undefined && spec.filled?.includes(k)) continue;
      const dv = d[k] ?? spec.defaults?.[k];
      const ov = o[k] ?? spec.defaults?.[k];
      if (dv !== ov) {
        equal = false;
        break;
      }
    }
  }
  return { equal, merged: formatProps(type, key, merged) };
}

const BOOL_KEYS = new Set(['onboot', 'template', 'unprivileged', 'protection', 'ciupgrade', 'console', 'tablet', 'acpi', 'numa']);
const SPACE_LISTS = new Set(['nameserver', 'searchdomain']);

/**
 * Canonical text of a scalar config value, for comparison. Property-string keys go through
 * compareProps instead; `undefined` means absent.
 */
export function canonScalar(type: GuestType, key: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (key === 'tags') return normTags(v).join(';');
  if (key === 'description') return normDescription(v);
  if (key === 'sshkeys') return decodeSshKeys(v).join('\n');
  if (type === 'qemu' && key === 'memory') return String(qemuMemoryMiB(v));
  if (BOOL_KEYS.has(key)) return normBool(v) ? '1' : '0';
  if (SPACE_LISTS.has(key)) return String(v).trim().split(/[\s,;]+/).filter(Boolean).join(' ');
  const s = String(v).trim();
  if (/^-?\d+(\.\d+)?$/.test(s)) return String(Number(s));
  return s;
}

/** Defaults Proxmox applies when a key is absent from a config, so absent == default. */
export const CONFIG_DEFAULTS: Record<GuestType, Record<string, string>> = {
  lxc: { onboot: '0', protection: '0', memory: '512', swap: '512', cores: '', description: '', tags: '' },
  qemu: { onboot: '0', protection: '0', sockets: '1', cores: '1', memory: '512', description: '', tags: '', agent: '0', ciupgrade: '1' },
};

/** Compare one config key; returns the value to send when it differs (undefined: equal). */
export function diffKey(type: GuestType, key: string, desired: string | number | boolean, observed: unknown): { equal: boolean; send: string } {
  const d = typeof desired === 'boolean' ? (desired ? '1' : '0') : String(desired);
  if (propSpecFor(type, key)) {
    const r = compareProps(type, key, d, observed === undefined || observed === null ? undefined : String(observed));
    if (!r.equal && observed === undefined) {
      // absent vs a desired value made only of defaults (e.g. agent: enabled=0) is equal
      const spec = propSpecFor(type, key)!;
      const dp = canonProps(type, key, d);
      const dflt = CONFIG_DEFAULTS[type][key];
      if (dflt !== undefined && Object.entries(dp).every(([k, v]) => (k === spec.defaultKey ? v === dflt : spec.defaults?.[k] === v))) return { equal: true, send: r.merged };
    }
    return { equal: r.equal, send: r.merged };
  }
  const dc = canonScalar(type, key, d) ?? '';
  const oc = canonScalar(type, key, observed) ?? CONFIG_DEFAULTS[type][key];
  return { equal: dc === oc, send: d };
}

// ---------------------------------------------------------------------------------------------
// Volumes

export interface VolumeInfo {
  /** `local-lvm:vm-100-disk-0`, `local-lvm:8` (new), or a host path for bind mounts. */
  volume: string;
  storage?: string;
  sizeMiB?: number;
  props: PropMap;
}

/** LXC rootfs/mpN and qemu disk values: `local-lvm:vm-100-disk-0,size=8G,...`. */
export function parseVolume(value: string): VolumeInfo {
  const props = parsePropertyString(value, 'volume');
  const volume = props.volume ?? '';
  const colon = volume.indexOf(':');
  const storage = colon > 0 && !volume.startsWith('/') ? volume.slice(0, colon) : undefined;
  const info: VolumeInfo = { volume, props };
  if (storage) info.storage = storage;
  if (props.size) info.sizeMiB = sizeToMiB(props.size);
  return info;
}
