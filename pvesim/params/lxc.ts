// Parameters of the LXC endpoints (pve-container): the guest config keys and the property strings
// `rootfs`, `mp[n]`, `net[n]`, `features`, `dev[n]`, `unused[n]`.
import { bool, dflt, fmt, indexed, int, need, num, oneOf, pat, ps, str } from './build.js';
import type { PropFormat, Schema } from './schema.js';

export const MOUNT_OPTIONS = '(?:(discard|lazytime|noatime|nodev|noexec|nosuid))(;(?:(discard|lazytime|noatime|nodev|noexec|nosuid)))*';
export const LXC_COUNTS = { net: 32, mp: 256, unused: 256, dev: 256 } as const;

export const LXC_ROOTFS: PropFormat = {
  volume: need(dflt(fmt('pve-lxc-mp-string'))),
  size: fmt('disk-size'),
  acl: bool(),
  quota: bool(),
  replicate: bool({ default: 1 }),
  ro: bool(),
  shared: bool({ default: 0 }),
  mountoptions: pat(MOUNT_OPTIONS),
};

export const LXC_MP: PropFormat = {
  ...LXC_ROOTFS,
  mp: need(fmt('pve-lxc-mp-string')),
  backup: bool(),
  keepattrs: bool({ default: 0 }),
};

const IFNAME = '[-_.\\w\\d]+';
export const LXC_NET: PropFormat = {
  name: need(pat(IFNAME)),
  bridge: pat(IFNAME),
  hwaddr: fmt('mac-addr'),
  ip: fmt('pve-ipv4-config'),
  gw: fmt('ipv4'),
  ip6: fmt('pve-ipv6-config'),
  gw6: fmt('ipv6'),
  firewall: bool(),
  'host-managed': bool(),
  link_down: bool(),
  mtu: int(64, 65535),
  rate: num(),
  tag: int(1, 4094),
  trunks: pat('\\d+(?:;\\d+)*'),
  type: oneOf(['veth']),
};

export const LXC_FEATURES: PropFormat = {
  ...Object.fromEntries(['force_rw_sys', 'fuse', 'keyctl', 'mknod', 'nesting'].map((k) => [k, bool({ default: 0 })])),
  mount: pat('[a-zA-Z0-9_; ]+'),
};

export const LXC_DEV: PropFormat = {
  path: dflt(fmt('pve-lxc-dev-string')),
  mode: pat('0[0-7]{3}'),
  uid: int(0),
  gid: int(0),
  'deny-write': bool({ default: 0 }),
};

export const LXC_UNUSED: PropFormat = { volume: need(dflt(fmt('pve-volume-id'))) };

/** Keys of a container's config that create and PUT config share. */
export const LXC_CONFIG: Record<string, Schema> = {
  arch: oneOf(['amd64', 'i386', 'arm64', 'armhf', 'riscv32', 'riscv64'], { default: 'amd64' }),
  cmode: oneOf(['shell', 'console', 'tty'], { default: 'tty' }),
  console: bool({ default: 1 }),
  cores: int(1, 8192),
  cpulimit: num(0, 8192, { default: 0 }),
  cpuunits: int(0, 500000),
  debug: bool({ default: 0 }),
  description: str({ maxLength: 8192 }),
  ...indexed('dev', LXC_COUNTS.dev, ps(LXC_DEV)),
  entrypoint: pat('(?:[^\\x00-\\x08\\x10-\\x1F\\x7F]+)', { default: '/sbin/init' }),
  env: pat('(?:(?:\\w+=[^\\x00-\\x08\\x10-\\x1F\\x7F]*)(?:\\0\\w+=[^\\x00-\\x08\\x10-\\x1F\\x7F]*)*)'),
  features: ps(LXC_FEATURES),
  hookscript: fmt('pve-volume-id'),
  hostname: fmt('dns-name', { maxLength: 255 }),
  lock: oneOf(['backup', 'create', 'destroyed', 'disk', 'fstrim', 'migrate', 'mounted', 'rollback', 'snapshot', 'snapshot-delete']),
  memory: int(16, undefined, { default: 512 }),
  ...indexed('mp', LXC_COUNTS.mp, ps(LXC_MP)),
  nameserver: fmt('lxc-ip-with-ll-iface-list'),
  ...indexed('net', LXC_COUNTS.net, ps(LXC_NET)),
  onboot: bool({ default: 0 }),
  ostype: oneOf(['debian', 'devuan', 'ubuntu', 'centos', 'fedora', 'opensuse', 'archlinux', 'alpine', 'gentoo', 'nixos', 'unmanaged']),
  protection: bool({ default: 0 }),
  rootfs: ps(LXC_ROOTFS),
  searchdomain: fmt('dns-name-list'),
  startup: fmt('pve-startup-order'),
  swap: int(0, undefined, { default: 512 }),
  tags: fmt('pve-tag-list'),
  template: bool({ default: 0 }),
  timezone: fmt('pve-ct-timezone'),
  tty: int(0, 6, { default: 2 }),
  unprivileged: bool({ default: 0 }),
  ...indexed('unused', LXC_COUNTS.unused, ps(LXC_UNUSED)),
};

/** Extra parameters of POST /nodes/{node}/lxc. */
export const LXC_CREATE: Record<string, Schema> = {
  bwlimit: num(0),
  force: bool(),
  'ha-managed': bool({ default: 0 }),
  'ignore-unpack-errors': bool(),
  ostemplate: need(str({ maxLength: 255 })),
  password: str({ minLength: 5 }),
  pool: fmt('pve-poolid'),
  restore: bool(),
  'ssh-public-keys': str(),
  start: bool({ default: 0 }),
  storage: fmt('pve-storage-id', { default: 'local' }),
  unique: bool({ requires: 'restore' }),
};

/** `disk` of PUT .../lxc/{vmid}/resize. */
export const LXC_DISKS = ['rootfs', ...Object.keys(indexed('mp', LXC_COUNTS.mp, {}))];
