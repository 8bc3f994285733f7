// Guest config files: which keys exist, how values are typed on the wire, how the file text (and so
// the digest) looks, and how network/disk property strings are normalised.
import { createHash } from 'node:crypto';
import { formatPropString, parsePropString } from './util.js';

export type GuestType = 'lxc' | 'qemu';
export type Config = Record<string, string>;

const LXC_KEYS = new Set([
  'arch', 'cmode', 'console', 'cores', 'cpulimit', 'cpuunits', 'debug', 'description', 'entrypoint', 'env', 'features',
  'hookscript', 'hostname', 'lock', 'memory', 'nameserver', 'onboot', 'ostype', 'protection', 'rootfs', 'searchdomain',
  'startup', 'swap', 'tags', 'template', 'timezone', 'tty', 'unprivileged',
]);
const LXC_KEY_RE = /^(mp|net|dev|unused)\d+$/;

const QEMU_KEYS = new Set([
  'acpi', 'affinity', 'agent', 'amd-sev', 'arch', 'args', 'audio0', 'autostart', 'balloon', 'bios', 'boot', 'bootdisk',
  'cdrom', 'cicustom', 'cipassword', 'citype', 'ciupgrade', 'ciuser', 'cores', 'cpu', 'cpulimit', 'cpuunits', 'description',
  'efidisk0', 'freeze', 'hookscript', 'hotplug', 'hugepages', 'ivshmem', 'keephugepages', 'keyboard', 'kvm', 'localtime',
  'lock', 'machine', 'memory', 'meta', 'migrate_downtime', 'migrate_speed', 'name', 'nameserver', 'numa', 'onboot', 'ostype',
  'protection', 'reboot', 'rng0', 'scsihw', 'searchdomain', 'shares', 'smbios1', 'smp', 'sockets', 'spice_enhancements',
  'sshkeys', 'startdate', 'startup', 'tablet', 'tags', 'tdf', 'template', 'tpmstate0', 'vcpus', 'vga', 'vmgenid',
  'vmstatestorage', 'watchdog',
]);
const QEMU_KEY_RE = /^(net|ipconfig|unused|scsi|virtio|sata|ide|hostpci|usb|serial|parallel|numa|virtiofs)\d+$/;

export function isConfigKey(type: GuestType, key: string): boolean {
  if (type === 'lxc') return LXC_KEYS.has(key) || LXC_KEY_RE.test(key);
  return QEMU_KEYS.has(key) || QEMU_KEY_RE.test(key);
}

const LXC_NUMERIC = new Set(['cores', 'cpuunits', 'memory', 'swap', 'onboot', 'protection', 'template', 'unprivileged', 'tty', 'console', 'debug', 'cpulimit']);
const QEMU_NUMERIC = new Set([
  'cores', 'sockets', 'vcpus', 'balloon', 'onboot', 'protection', 'template', 'numa', 'kvm', 'acpi', 'tablet', 'localtime',
  'reboot', 'autostart', 'freeze', 'cpulimit', 'cpuunits', 'shares', 'ciupgrade', 'keephugepages', 'migrate_downtime', 'migrate_speed',
]);

/** A config value as the API returns it: numbers for integer/boolean/number keys, else the string. */
export function wireValue(type: GuestType, key: string, value: string): string | number {
  const numeric = type === 'lxc' ? LXC_NUMERIC : QEMU_NUMERIC;
  if (numeric.has(key)) {
    const n = Number(value);
    if (value !== '' && Number.isFinite(n)) return n;
  }
  return value;
}

export function wireConfig(type: GuestType, conf: Config): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const k of Object.keys(conf).sort()) out[k] = wireValue(type, k, conf[k]!);
  return out;
}

export const CLOUDINIT_KEYS_RE = /^(ciuser|cipassword|citype|ciupgrade|cicustom|sshkeys|nameserver|searchdomain|ipconfig\d+)$/;

export function isDiskKey(type: GuestType, key: string): boolean {
  if (type === 'lxc') return key === 'rootfs' || /^mp\d+$/.test(key);
  return /^(scsi|virtio|sata|ide)\d+$/.test(key) || key === 'efidisk0' || key === 'tpmstate0';
}

export function isNetKey(key: string): boolean {
  return /^net\d+$/.test(key);
}

/** The config file text: `key: value` lines sorted, then the pending section and snapshots. */
export function configText(
  conf: Config,
  pending: Config,
  pendingDelete: string[],
  snapshots: Record<string, { conf: Config }>,
): string {
  const lines: string[] = [];
  const section = (c: Config) => {
    for (const k of Object.keys(c).sort()) {
      if (k === 'description') for (const l of c[k]!.split('\n')) lines.push(`#${l}`);
      else lines.push(`${k}: ${c[k]}`);
    }
  };
  section(conf);
  if (Object.keys(pending).length > 0 || pendingDelete.length > 0) {
    lines.push('', '[PENDING]');
    if (pendingDelete.length > 0) lines.push(`delete: ${pendingDelete.join(',')}`);
    section(pending);
  }
  for (const name of Object.keys(snapshots).sort()) {
    lines.push('', `[${name}]`);
    section(snapshots[name]!.conf);
  }
  return lines.join('\n') + '\n';
}

export function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

/** LXC netN as Proxmox writes it: name first, then the other keys sorted; hwaddr and type=veth filled in. */
export function normaliseLxcNet(value: string, mac: () => string, forceNewMac = false): string {
  const p = parsePropString(value);
  const kv = new Map(p.kv);
  if (p.head !== undefined) kv.set('name', p.head);
  if (!kv.get('hwaddr') || forceNewMac) kv.set('hwaddr', mac());
  if (!kv.has('type')) kv.set('type', 'veth');
  const name = kv.get('name');
  kv.delete('name');
  const sorted = new Map<string, string>();
  if (name !== undefined) sorted.set('name', name);
  for (const k of [...kv.keys()].sort()) sorted.set(k, kv.get(k)!);
  return formatPropString({ kv: sorted });
}

const QEMU_NIC_MODELS = ['virtio', 'e1000', 'e1000e', 'rtl8139', 'vmxnet3', 'ne2k_pci', 'pcnet', 'i82551', 'i82557b', 'i82559er', 'ne2k_isa', 'e1000-82540em', 'e1000-82544gc', 'e1000-82545em'];

/** QEMU netN as Proxmox writes it: `model=MAC` first, then the other keys sorted. */
export function normaliseQemuNet(value: string, mac: () => string, forceNewMac = false): string {
  const p = parsePropString(value);
  const kv = new Map(p.kv);
  let model = kv.get('model');
  let addr = kv.get('macaddr');
  kv.delete('model');
  kv.delete('macaddr');
  if (p.head !== undefined && QEMU_NIC_MODELS.includes(p.head)) model = p.head;
  for (const m of QEMU_NIC_MODELS) {
    if (kv.has(m)) {
      model = m;
      if (kv.get(m)) addr = kv.get(m);
      kv.delete(m);
    }
  }
  model ??= 'virtio';
  if (!addr || forceNewMac) addr = mac();
  const out = new Map<string, string>([[model, addr.toUpperCase()]]);
  for (const k of [...kv.keys()].sort()) out.set(k, kv.get(k)!);
  return formatPropString({ kv: out });
}

/** The bridge a netN value names, if any. */
export function netBridge(value: string): string | undefined {
  return parsePropString(value).kv.get('bridge');
}

/** The volume id at the head of a disk value (`local-lvm:vm-100-disk-0,size=8G` -> `local-lvm:vm-100-disk-0`). */
export function diskVolume(value: string): string | undefined {
  const head = parsePropString(value).head;
  return head && head.includes(':') ? head : undefined;
}
