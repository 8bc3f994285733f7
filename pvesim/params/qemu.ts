// Parameters of the QEMU endpoints (qemu-server): the VM config keys, the drive property strings
// (`ide[n]`, `sata[n]`, `scsi[n]`, `virtio[n]`, `efidisk0`, `tpmstate0`), `net[n]`, `memory`, `agent`, ...
import { alias, bool, dflt, each, fmt, indexed, int, need, num, oneOf, pat, ps, str } from './build.js';
import type { PropFormat, Schema } from './schema.js';

export const QEMU_COUNTS = {
  ide: 4, sata: 6, scsi: 31, virtio: 16, net: 32, ipconfig: 32, unused: 256,
  hostpci: 16, usb: 14, serial: 4, parallel: 3, numa: 8, virtiofs: 10,
} as const;

const DRIVE_FORMATS = ['raw', 'qcow', 'qed', 'qcow2', 'vmdk', 'cloop'];
const volume = {
  volume: alias('file'),
  file: need(dflt(fmt('pve-volume-id-or-qm-path'))),
  'import-from': fmt('pve-volume-id-or-absolute-path'),
  size: fmt('disk-size'),
};

const throttle: PropFormat = {
  ...each(['bps', 'bps_rd', 'bps_wr', 'iops', 'iops_max', 'iops_rd', 'iops_rd_max', 'iops_wr', 'iops_wr_max'], int()),
  ...each(['bps_max_length', 'bps_rd_max_length', 'bps_wr_max_length', 'iops_max_length', 'iops_rd_max_length', 'iops_wr_max_length'], int(1)),
  ...each(['mbps', 'mbps_max', 'mbps_rd', 'mbps_rd_max', 'mbps_wr', 'mbps_wr_max'], num()),
  bps_rd_length: alias('bps_rd_max_length'),
  bps_wr_length: alias('bps_wr_max_length'),
  iops_rd_length: alias('iops_rd_max_length'),
  iops_wr_length: alias('iops_wr_max_length'),
};

const SATA: PropFormat = {
  ...volume,
  ...throttle,
  format: oneOf(DRIVE_FORMATS),
  aio: oneOf(['native', 'threads', 'io_uring']),
  backup: bool(),
  cache: oneOf(['none', 'writethrough', 'writeback', 'unsafe', 'directsync']),
  detect_zeroes: bool(),
  discard: oneOf(['ignore', 'on']),
  media: oneOf(['cdrom', 'disk'], { default: 'disk' }),
  replicate: bool({ default: 1 }),
  rerror: oneOf(['ignore', 'report', 'stop']),
  serial: fmt('urlencoded', { maxLength: 60 }),
  shared: bool({ default: 0 }),
  snapshot: bool(),
  ssd: bool(),
  werror: oneOf(['enospc', 'ignore', 'report', 'stop']),
  wwn: pat('(?:^(0x)[0-9a-fA-F]{16})'),
};
export const QEMU_DRIVE: Readonly<Record<'ide' | 'sata' | 'scsi' | 'virtio', PropFormat>> = {
  ide: { ...SATA, model: fmt('urlencoded', { maxLength: 120 }) },
  sata: SATA,
  scsi: {
    ...SATA,
    iothread: bool(),
    product: pat('[A-Za-z0-9\\-_\\s]{0,16}'),
    vendor: pat('[A-Za-z0-9\\-_\\s]{0,8}'),
    queues: int(2),
    ro: bool(),
    scsiblock: bool({ default: 0 }),
  },
  virtio: (({ ssd: _s, wwn: _w, ...rest }) => ({ ...rest, iothread: bool(), ro: bool() }))(SATA),
};
export const QEMU_EFIDISK: PropFormat = {
  ...volume,
  format: oneOf(DRIVE_FORMATS),
  efitype: oneOf(['2m', '4m'], { default: '2m' }),
  'ms-cert': oneOf(['2011', '2023', '2023w', '2023k'], { default: '2011' }),
  'pre-enrolled-keys': bool({ default: 0 }),
};
export const QEMU_TPMSTATE: PropFormat = {
  ...volume,
  format: oneOf(['raw', 'qcow2', 'vmdk']),
  version: oneOf(['v1.2', 'v2.0'], { default: 'v1.2' }),
};

export const NIC_MODELS = [
  'e1000', 'e1000-82540em', 'e1000-82544gc', 'e1000-82545em', 'e1000e', 'i82551', 'i82557b', 'i82559er',
  'ne2k_isa', 'ne2k_pci', 'pcnet', 'rtl8139', 'virtio', 'vmxnet3',
];
export const QEMU_NET: PropFormat = {
  model: need(dflt(oneOf(NIC_MODELS))),
  ...Object.fromEntries(NIC_MODELS.map((m) => [m, alias('macaddr', 'model')])),
  macaddr: fmt('mac-addr'),
  bridge: fmt('pve-bridge-id'),
  firewall: bool(),
  link_down: bool(),
  mtu: int(1, 65520),
  queues: int(0, 64),
  rate: num(0),
  tag: int(1, 4094),
  trunks: pat('\\d+(?:-\\d+)?(?:;\\d+(?:-\\d+)?)*'),
};

const RANGES = '\\d+(?:-\\d+)?(?:;\\d+(?:-\\d+)?)*';
const MACHINE_TYPE =
  '(pc|pc(-i440fx)?-\\d+(\\.\\d+)+(\\+pve\\d+)?(\\.pxe)?|q35|pc-q35-\\d+(\\.\\d+)+(\\+pve\\d+)?(\\.pxe)?|virt(?:-\\d+(\\.\\d+)+)?(\\+pve\\d+)?)';

export const QEMU_MEMORY: PropFormat = { current: need(dflt(int(16, undefined, { default: 512 }))) };
export const QEMU_AGENT: PropFormat = {
  enabled: need(dflt(bool({ default: 0 }))),
  'freeze-fs': bool({ default: 1 }),
  'freeze-fs-on-backup': alias('freeze-fs'),
  'guest-fsfreeze': alias('freeze-fs'),
  fstrim_cloned_disks: bool({ default: 0 }),
  type: oneOf(['virtio', 'isa'], { default: 'virtio' }),
};

/** Keys of a VM's config that create, PUT config and POST config share. */
export const QEMU_CONFIG: Record<string, Schema> = {
  acpi: bool({ default: 1 }),
  affinity: fmt('pve-cpuset'),
  agent: ps(QEMU_AGENT),
  'allow-ksm': bool({ default: 1 }),
  'amd-sev': fmt('pve-qemu-sev-fmt'),
  arch: oneOf(['x86_64', 'aarch64']),
  args: str(),
  audio0: ps({ device: need(oneOf(['ich9-intel-hda', 'intel-hda', 'AC97'])), driver: oneOf(['spice', 'none'], { default: 'spice' }) }),
  autostart: bool({ default: 0 }),
  balloon: int(0),
  bios: oneOf(['seabios', 'ovmf'], { default: 'seabios' }),
  boot: fmt('pve-qm-boot'),
  bootdisk: fmt('pve-qm-bootdisk', { pattern: '(ide|sata|scsi|virtio)\\d+' }),
  cdrom: fmt('pve-qm-ide'),
  cicustom: fmt('pve-qm-cicustom'),
  cipassword: str(),
  citype: oneOf(['configdrive2', 'nocloud', 'opennebula']),
  ciupgrade: bool({ default: 1 }),
  ciuser: str(),
  cores: int(1, undefined, { default: 1 }),
  cpu: fmt('pve-vm-cpu-conf'),
  cpulimit: num(0, 128, { default: 0 }),
  cpuunits: int(1, 262144),
  description: str({ maxLength: 8192 }),
  efidisk0: ps(QEMU_EFIDISK),
  freeze: bool(),
  hookscript: fmt('pve-volume-id'),
  ...indexed('hostpci', QEMU_COUNTS.hostpci, fmt('pve-qm-hostpci')),
  hotplug: fmt('pve-hotplug-features', { default: 'network,disk,usb' }),
  hugepages: oneOf(['any', '2', '1024']),
  ...indexed('ide', QEMU_COUNTS.ide, ps(QEMU_DRIVE.ide)),
  'intel-tdx': fmt('pve-qemu-tdx-fmt'),
  ...indexed('ipconfig', QEMU_COUNTS.ipconfig, fmt('pve-qm-ipconfig')),
  ivshmem: ps({ size: need(int(1)), name: pat('[a-zA-Z0-9\\-]+') }),
  keephugepages: bool({ default: 0 }),
  keyboard: oneOf(['de', 'de-ch', 'da', 'en-gb', 'en-us', 'es', 'fi', 'fr', 'fr-be', 'fr-ca', 'fr-ch', 'hu', 'is', 'it', 'ja', 'lt', 'mk', 'nl', 'no', 'pl', 'pt', 'pt-br', 'sv', 'sl', 'tr']),
  kvm: bool({ default: 1 }),
  localtime: bool(),
  lock: oneOf(['backup', 'clone', 'create', 'migrate', 'rollback', 'snapshot', 'snapshot-delete', 'suspending', 'suspended']),
  machine: ps({
    type: dflt(pat(MACHINE_TYPE, { maxLength: 40 })),
    'aw-bits': num(32, 64),
    'enable-s3': bool(),
    'enable-s4': bool(),
    viommu: oneOf(['intel', 'virtio']),
  }),
  memory: ps(QEMU_MEMORY),
  migrate_downtime: num(0, undefined, { default: 0.1 }),
  migrate_speed: int(0, undefined, { default: 0 }),
  name: fmt('dns-name'),
  nameserver: fmt('address-list'),
  ...indexed('net', QEMU_COUNTS.net, ps(QEMU_NET)),
  numa: bool({ default: 0 }),
  ...indexed('numa', QEMU_COUNTS.numa, ps({ cpus: need(pat(RANGES)), hostnodes: pat(RANGES), memory: num(), policy: oneOf(['preferred', 'bind', 'interleave']) })),
  onboot: bool({ default: 0 }),
  ostype: oneOf(['other', 'wxp', 'w2k', 'w2k3', 'w2k8', 'wvista', 'win7', 'win8', 'win10', 'win11', 'l24', 'l26', 'solaris'], { default: 'other' }),
  ...indexed('parallel', QEMU_COUNTS.parallel, pat('/dev/parport\\d+|/dev/usb/lp\\d+')),
  protection: bool({ default: 0 }),
  reboot: bool({ default: 1 }),
  rng0: fmt('pve-qm-rng'),
  ...indexed('sata', QEMU_COUNTS.sata, ps(QEMU_DRIVE.sata)),
  ...indexed('scsi', QEMU_COUNTS.scsi, ps(QEMU_DRIVE.scsi)),
  scsihw: oneOf(['lsi', 'lsi53c810', 'virtio-scsi-pci', 'virtio-scsi-single', 'megasas', 'pvscsi'], { default: 'lsi' }),
  searchdomain: str(),
  ...indexed('serial', QEMU_COUNTS.serial, pat('(/dev/.+|socket)')),
  shares: int(0, 50000, { default: 1000 }),
  smbios1: fmt('pve-qm-smbios1', { maxLength: 512 }),
  smp: int(1, undefined, { default: 1 }),
  sockets: int(1, undefined, { default: 1 }),
  spice_enhancements: ps({ foldersharing: bool({ default: 0 }), videostreaming: oneOf(['off', 'all', 'filter'], { default: 'off' }) }),
  sshkeys: fmt('urlencoded'),
  startdate: pat('(now|\\d{4}-\\d{1,2}-\\d{1,2}(T\\d{1,2}:\\d{1,2}:\\d{1,2})?)', { default: 'now' }),
  startup: fmt('pve-startup-order'),
  tablet: bool({ default: 1 }),
  tags: fmt('pve-tag-list'),
  tdf: bool({ default: 0 }),
  template: bool({ default: 0 }),
  tpmstate0: ps(QEMU_TPMSTATE),
  ...indexed('unused', QEMU_COUNTS.unused, ps({ volume: alias('file'), file: need(dflt(fmt('pve-volume-id'))) })),
  ...indexed('usb', QEMU_COUNTS.usb, ps({
    host: dflt(pat('(?:(?:(?:(0x)?([0-9A-Fa-f]{4}):(0x)?([0-9A-Fa-f]{4})))|(?:(?:(\\d+)\\-(\\d+(\\.\\d+)*)))|[Ss][Pp][Ii][Cc][Ee])')),
    mapping: fmt('pve-configid'),
    usb3: bool({ default: 0 }),
  })),
  vcpus: int(1, undefined, { default: 0 }),
  vga: ps({
    type: dflt(oneOf(['cirrus', 'qxl', 'qxl2', 'qxl3', 'qxl4', 'none', 'serial0', 'serial1', 'serial2', 'serial3', 'std', 'virtio', 'virtio-gl', 'vmware'], { default: 'std' })),
    clipboard: oneOf(['vnc']),
    memory: int(4, 512),
  }),
  ...indexed('virtio', QEMU_COUNTS.virtio, ps(QEMU_DRIVE.virtio)),
  ...indexed('virtiofs', QEMU_COUNTS.virtiofs, ps({
    dirid: need(dflt(fmt('pve-configid'))),
    cache: oneOf(['auto', 'always', 'metadata', 'never'], { default: 'auto' }),
    'direct-io': bool({ default: 0 }),
    'expose-acl': bool({ default: 0 }),
    'expose-xattr': bool({ default: 0 }),
  })),
  vmgenid: pat('(?:[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}|[01])'),
  vmstatestorage: fmt('pve-storage-id'),
  watchdog: fmt('pve-qm-watchdog'),
};

/** Extra parameters of POST /nodes/{node}/qemu. */
export const QEMU_CREATE: Record<string, Schema> = {
  archive: str({ maxLength: 255 }),
  bwlimit: int(0),
  force: bool({ requires: 'archive' }),
  'ha-managed': bool({ default: 0 }),
  'import-working-storage': fmt('pve-storage-id'),
  'live-restore': bool(),
  pool: fmt('pve-poolid'),
  start: bool({ default: 0 }),
  storage: fmt('pve-storage-id'),
  unique: bool({ requires: 'archive' }),
};

/** `disk` of resize and template: every disk key a VM can have. */
export const QEMU_DISKS = [
  ...(['ide', 'scsi', 'virtio', 'sata'] as const).flatMap((b) => Object.keys(indexed(b, QEMU_COUNTS[b], {}))),
  'efidisk0',
  'tpmstate0',
];
