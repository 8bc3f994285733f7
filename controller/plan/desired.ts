// Desired Proxmox state built from a spec: the config keys phoenix manages, the disks, the firewall,
// and the ownership marker. Pure; the same values feed `phoenixctl diff` and the reconcilers.
import type {
  Firewall,
  GuestResource,
  Kind,
  LxcContainer,
  LxcFeatures,
  LxcNetwork,
  MountPoint,
  Startup,
  Template,
  VirtualMachine,
  VmNetwork,
} from '../../resources/types.js';
import type { GuestType } from '../pve/normalize.js';
import { b01, encodeSshKeys, formatPropertyString, formatProps, formatTags, mibToGiBCeil, normDescription, sizeToMiB } from '../pve/normalize.js';

/** The tag every guest phoenix creates carries. */
export const MARKER_TAG = 'phoenix';
const MARKER_RE = /^managed-by: phoenix ([A-Za-z]+)\/([a-z0-9-]+)\s*$/gm;

export function markerLine(kind: Kind, name: string): string {
  return `managed-by: phoenix ${kind}/${name}`;
}

/**
 * The `Kind/name` named by a description's marker line, if any. phoenix appends its marker after the
 * manifest's own text, so the last marker line is the one that counts: a description that spells a
 * marker of its own cannot make the guest look owned by another resource.
 */
export function ownerOf(description: unknown): string | undefined {
  if (typeof description !== 'string') return undefined;
  let d = description;
  try {
    if (/%[0-9A-F]{2}/i.test(d)) d = decodeURIComponent(d);
  } catch {
    /* keep as is */
  }
  const m = [...d.matchAll(MARKER_RE)].at(-1);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

export function desiredDescription(kind: Kind, name: string, description?: string): string {
  const user = normDescription(description ?? '');
  return user ? `${user}\n\n${markerLine(kind, name)}` : markerLine(kind, name);
}

export function desiredTags(tags?: string[]): string {
  return formatTags([...(tags ?? []), MARKER_TAG]);
}

export type DesiredConfig = Record<string, string | number>;

export interface DesiredDisk {
  /** rootfs, mp0, scsi0, ... */
  key: string;
  /** Storage of a volume (undefined for a bind mount). */
  storage?: string;
  sizeMiB?: number;
  /** LXC mount points: path inside the container and options. */
  mp?: string;
  hostPath?: string;
  ro?: boolean;
  backup?: boolean;
}

export function guestTypeOf(r: GuestResource): GuestType {
  if (r.kind === 'Template') return r.spec.type;
  return r.kind === 'LxcContainer' ? 'lxc' : 'qemu';
}

const startupString = (s: Startup): string =>
  formatPropertyString(
    Object.fromEntries(Object.entries({ order: s.order, up: s.up, down: s.down }).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])),
    { first: ['order', 'up', 'down'] },
  );

function clean(m: Record<string, string | number | boolean | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) if (v !== undefined) out[k] = typeof v === 'boolean' ? String(b01(v)) : String(v);
  return out;
}

export function lxcNetString(n: LxcNetwork): string {
  return formatProps('lxc', 'net0', clean({ name: n.name, bridge: n.bridge, hwaddr: n.hwaddr?.toUpperCase(), ip: n.ip, gw: n.gw, ip6: n.ip6, gw6: n.gw6, tag: n.tag, firewall: n.firewall, mtu: n.mtu, rate: n.rate }));
}

export function vmNetString(n: VmNetwork): string {
  return formatProps('qemu', 'net0', clean({ model: n.model ?? 'virtio', macaddr: n.hwaddr?.toUpperCase(), bridge: n.bridge, tag: n.tag, firewall: n.firewall, mtu: n.mtu, rate: n.rate }));
}

export function featuresString(f: LxcFeatures): string {
  return formatPropertyString(clean({ nesting: f.nesting, keyctl: f.keyctl, fuse: f.fuse, mknod: f.mknod, mount: f.mount?.length ? [...f.mount].sort().join(';') : undefined }));
}

function put(cfg: DesiredConfig, key: string, v: string | number | boolean | undefined): void {
  if (v === undefined) return;
  cfg[key] = typeof v === 'boolean' ? b01(v) : v;
}

function common(cfg: DesiredConfig, r: GuestResource): void {
  const s = r.spec;
  put(cfg, 'cores', s.cores);
  put(cfg, 'memory', s.memory);
  put(cfg, 'onboot', s.onboot);
  if (s.startup) cfg.startup = startupString(s.startup);
  cfg.tags = desiredTags(s.tags);
  cfg.description = desiredDescription(r.kind, r.metadata.name, s.description);
}

interface LxcLike {
  hostname?: string;
  swap?: number;
  networks?: LxcNetwork[];
  nameserver?: string;
  searchdomain?: string;
  features?: LxcFeatures;
}

function lxcKeys(cfg: DesiredConfig, name: string, s: LxcLike): void {
  cfg.hostname = s.hostname ?? name;
  put(cfg, 'swap', s.swap);
  (s.networks ?? []).forEach((n, i) => (cfg[`net${i}`] = lxcNetString(n)));
  put(cfg, 'nameserver', s.nameserver);
  put(cfg, 'searchdomain', s.searchdomain);
  if (s.features) cfg.features = featuresString(s.features);
}

function cloudInitKeys(cfg: DesiredConfig, ci: VirtualMachine['spec']['cloudInit']): void {
  if (!ci) return;
  put(cfg, 'ciuser', ci.user);
  if (ci.sshKeys) cfg.sshkeys = encodeSshKeys(ci.sshKeys);
  (ci.ipConfig ?? []).forEach((c, i) => (cfg[`ipconfig${i}`] = formatPropertyString(clean({ ip: c.ip, gw: c.gw, ip6: c.ip6, gw6: c.gw6 }), { first: ['ip', 'gw', 'ip6', 'gw6'] })));
  put(cfg, 'nameserver', ci.nameserver);
  put(cfg, 'searchdomain', ci.searchdomain);
  put(cfg, 'ciupgrade', ci.upgrade);
}

/** The config keys phoenix keeps converged on an existing guest (not disks, not create-only keys). */
export function desiredConfig(r: GuestResource): DesiredConfig {
  const cfg: DesiredConfig = {};
  common(cfg, r);
  if (r.kind === 'LxcContainer') {
    lxcKeys(cfg, r.metadata.name, r.spec);
  } else if (r.kind === 'VirtualMachine') {
    const s = r.spec;
    cfg.name = r.metadata.name;
    put(cfg, 'sockets', s.sockets);
    put(cfg, 'cpu', s.cpu);
    put(cfg, 'balloon', s.balloon);
    (s.networks ?? []).forEach((n, i) => (cfg[`net${i}`] = vmNetString(n)));
    if (s.agent !== undefined) cfg.agent = s.agent ? 1 : 0;
    put(cfg, 'ostype', s.ostype);
    cloudInitKeys(cfg, s.cloudInit);
  } else if (r.spec.type === 'lxc') {
    lxcKeys(cfg, r.metadata.name, { ...r.spec, networks: r.spec.lxcNetworks });
  } else {
    const s = r.spec;
    cfg.name = r.metadata.name;
    (s.vmNetworks ?? []).forEach((n, i) => (cfg[`net${i}`] = vmNetString(n)));
    if (s.agent !== undefined) cfg.agent = s.agent ? 1 : 0;
    put(cfg, 'ostype', s.ostype);
    cloudInitKeys(cfg, s.cloudInit);
  }
  return cfg;
}

function mountDisk(m: MountPoint, i: number): DesiredDisk {
  const d: DesiredDisk = { key: `mp${i}`, mp: m.path };
  if (m.volume) {
    d.storage = m.volume.storage;
    d.sizeMiB = sizeToMiB(m.volume.size, 'G');
  }
  if (m.hostPath) d.hostPath = m.hostPath;
  if (m.readOnly !== undefined) d.ro = m.readOnly;
  if (m.backup !== undefined) d.backup = m.backup;
  return d;
}

/** Disks phoenix sizes: LXC rootfs + mount points; VM disks by slot; template disk. */
export function desiredDisks(r: GuestResource): DesiredDisk[] {
  if (r.kind === 'LxcContainer') {
    return [{ key: 'rootfs', storage: r.spec.rootfs.storage, sizeMiB: sizeToMiB(r.spec.rootfs.size, 'G') }, ...(r.spec.mountPoints ?? []).map(mountDisk)];
  }
  if (r.kind === 'VirtualMachine') return (r.spec.disks ?? []).map((d) => ({ key: d.slot, storage: d.storage, sizeMiB: sizeToMiB(d.size, 'G') }));
  if (r.spec.type === 'lxc') return r.spec.rootfs ? [{ key: 'rootfs', storage: r.spec.rootfs.storage, sizeMiB: sizeToMiB(r.spec.rootfs.size, 'G') }] : [];
  return r.spec.disk ? [{ key: r.spec.disk.slot, storage: r.spec.disk.storage, sizeMiB: sizeToMiB(r.spec.disk.size, 'G') }] : [];
}

/** The value of a new LXC volume / mount point for create or PUT (`storage:GiB,mp=/x`). */
export function newMountValue(d: DesiredDisk): string {
  const head = d.hostPath ?? `${d.storage}:${mibToGiBCeil(d.sizeMiB ?? 1024)}`;
  const props: Record<string, string> = {};
  if (d.mp) props.mp = d.mp;
  if (d.ro !== undefined) props.ro = String(b01(d.ro));
  if (d.backup !== undefined) props.backup = String(b01(d.backup));
  const tail = formatPropertyString(props, { first: ['mp'] });
  return tail ? `${head},${tail}` : head;
}

/** POST /nodes/{node}/lxc parameters for a container (or LXC template) from an ostemplate. */
export function lxcCreateParams(r: LxcContainer | Template, ostemplate: string): Record<string, string | number> {
  const p: Record<string, string | number> = { vmid: r.spec.vmid, ostemplate, ...desiredConfig(r) };
  for (const d of desiredDisks(r)) p[d.key] = d.key === 'rootfs' ? `${d.storage}:${mibToGiBCeil(d.sizeMiB ?? 8192)}` : newMountValue(d);
  if (r.spec.unprivileged !== undefined) p.unprivileged = b01(r.spec.unprivileged);
  if (r.spec.ostype) p.ostype = r.spec.ostype;
  p.start = 0;
  return p;
}

/** POST /nodes/{node}/qemu parameters for a VM template from a cloud image. */
export function qemuTemplateCreateParams(r: Template): Record<string, string | number> {
  const s = r.spec;
  const disk = s.disk ?? { slot: 'scsi0', storage: 'local-lvm', size: '8G' };
  const p: Record<string, string | number> = {
    vmid: s.vmid,
    ...desiredConfig(r),
    scsihw: 'virtio-scsi-pci',
    [disk.slot]: `${disk.storage}:0,import-from=${s.image ?? ''}`,
    ide2: `${disk.storage}:cloudinit`,
    boot: `order=${disk.slot}`,
    serial0: 'socket',
    vga: 'serial0',
  };
  if (!p.net0) p.net0 = vmNetString({ bridge: 'vmbr0' });
  return p;
}

export function desiredFirewall(r: GuestResource): Firewall | undefined {
  return r.kind === 'Template' ? undefined : r.spec.firewall;
}
