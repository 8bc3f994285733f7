// Named formats: the server-side checks that a schema can only name (`format => 'pve-storage-id'`).
// Each validator throws FormatError with the message the Proxmox VE server dies with; property-string
// formats that the API schema only names (`pve-qm-ipconfig`, `pve-vm-cpu-conf`, ...) are defined here
// with their sub-keys. Written from the documented behaviour of pve-common, pve-storage, pve-container,
// qemu-server, pve-firewall and pve-access-control.
import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { bool, dflt, fmt, int, need, oneOf, pat, str } from './build.js';
import type { FormatRegistry, FormatValidator, PropFormat } from './schema.js';
import { FormatError, splitList } from './schema.js';

const fail = (msg: string): never => {
  throw new FormatError(`${msg}\n`);
};

// ---- addresses --------------------------------------------------------------------------------
/** Dotted quad without leading zeros, as PVE's IPV4RE. */
export const isIp4 = (s: string): boolean => isIPv4(s) && !/(^|\.)0\d/.test(s);
/** RFC 4291 text form (an embedded dotted quad allowed), no zone index. */
export const isIp6 = (s: string): boolean => !s.includes('%') && isIPv6(s) && !/(^|:)0\d*\.|\.0\d/.test(s);
const cidr = (s: string, ok: (ip: string) => boolean, max: number): boolean => {
  const m = /^([^/]+)\/(\d+)$/.exec(s);
  return !!m && ok(m[1]!) && Number(m[2]) > 7 && Number(m[2]) <= max;
};
export const isCidr4 = (s: string): boolean => cidr(s, isIp4, 32);
export const isCidr6 = (s: string): boolean => cidr(s, isIp6, 128);
const DNS_LABEL = '[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?';
export const isDnsName = (s: string): boolean => new RegExp(`^(${DNS_LABEL}\\.)*${DNS_LABEL}$`).test(s);
const isIface = (s: string): boolean => /^[a-z][a-z0-9_]{1,20}([:.]\d+)?$/i.test(s);
const isStorageId = (s: string): boolean => /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(s);

function verifyIp(s: string): void {
  if (!isIp4(s) && !isIp6(s)) fail('value does not look like a valid IP address');
}

// ---- sizes, ids, lists -----------------------------------------------------------------------------
/** PVE::JSONSchema::parse_size: bytes, or undefined if it is not `N[.N][KMGT]`. */
export function parseSize(v: string): number | undefined {
  const m = /^(\d+(\.\d+)?)([KMGT])?$/.exec(v);
  if (!m) return undefined;
  const mult = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[3] as 'K'] ?? 1;
  return Math.trunc(Number(m[1]) * mult);
}

function startupOrder(v: string): boolean {
  if (!v) return false;
  return v.split(',').every((p) => /^\s*$/.test(p) || /^(order=)?\d+$/.test(p) || /^(up|down)=\d+$/.test(p));
}

function cpuset(v: string): boolean {
  return v.split(',').every((part) => {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    return !!m && Number(m[2] ?? m[1]) >= Number(m[1]);
  });
}

function idPair(entry: string, check: (id: string) => void): void {
  const pair = /^([^:]+):([^:]+)$/.exec(entry);
  const ids = entry === '1' ? [] : pair ? [pair[1]!, pair[2]!] : [entry];
  for (const id of ids) {
    try {
      check(id);
    } catch (e) {
      // parse_idmap wraps the inner message and the pair verifier appends one more newline.
      throw new FormatError(`entry '${entry}' contains invalid ID - ${(e as FormatError).message}\n\n`);
    }
  }
}

// ---- drives --------------------------------------------------------------------------------------
const DRIVE_COUNTS: Record<string, number> = { ide: 4, sata: 6, scsi: 31, virtio: 16 };
/** A QEMU disk key: ide0-3, sata0-5, scsi0-30, virtio0-15, efidisk0, tpmstate0. */
export function isDriveName(s: string): boolean {
  if (s === 'efidisk0' || s === 'tpmstate0') return true;
  const m = /^(ide|sata|scsi|virtio)(\d+)$/.exec(s);
  return !!m && String(Number(m[2])) === m[2] && Number(m[2]) < DRIVE_COUNTS[m[1]!]!;
}
const QEMU_MAX: Record<string, number> = { net: 32, usb: 14, hostpci: 16 };
function verifyBootdev(dev: string): void {
  if (isDriveName(dev) && !/^(efidisk|tpmstate)/.test(dev)) return;
  const m = /^(net|usb|hostpci)(\d+)$/.exec(dev);
  if (m && String(Number(m[2])) === m[2] && Number(m[2]) < QEMU_MAX[m[1]!]!) return;
  fail(`invalid boot device '${dev}'`);
}

// ---- firewall --------------------------------------------------------------------------------------
const ICMP4 = `any echo-reply destination-unreachable network-unreachable host-unreachable protocol-unreachable
port-unreachable fragmentation-needed source-route-failed network-unknown host-unknown network-prohibited
host-prohibited TOS-network-unreachable TOS-host-unreachable communication-prohibited host-precedence-violation
precedence-cutoff source-quench redirect network-redirect host-redirect TOS-network-redirect TOS-host-redirect
echo-request router-advertisement router-solicitation time-exceeded ttl-zero-during-transit
ttl-zero-during-reassembly parameter-problem ip-header-bad required-option-missing timestamp-request
timestamp-reply address-mask-request address-mask-reply`.split(/\s+/);
const ICMP6 = `destination-unreachable no-route communication-prohibited beyond-scope address-unreachable
port-unreachable failed-policy reject-route packet-too-big time-exceeded ttl-zero-during-transit
ttl-zero-during-reassembly parameter-problem bad-header unknown-header-type unknown-option echo-request
echo-reply router-solicitation router-advertisement neighbour-solicitation neighbor-solicitation
neighbour-advertisement neighbor-advertisement redirect`.split(/\s+/);
export const ICMP_TYPES: ReadonlySet<string> = new Set([...ICMP4, ...ICMP6]);
/** /etc/protocols of a Debian host: name -> number. */
export const PROTOCOLS: Readonly<Record<string, number>> = Object.fromEntries(
  `ip 0 icmp 1 igmp 2 ggp 3 ipencap 4 st 5 tcp 6 egp 8 igp 9 pup 12 udp 17 hmp 20 xns-idp 22 rdp 27 iso-tp4 29
dccp 33 xtp 36 ddp 37 idpr-cmtp 38 ipv6 41 ipv6-route 43 ipv6-frag 44 idrp 45 rsvp 46 gre 47 esp 50 ah 51
skip 57 ipv6-icmp 58 ipv6-nonxt 59 ipv6-opts 60 rspf 73 vmtp 81 eigrp 88 ospf 89 ax.25 93 ipip 94 etherip 97
encap 98 pim 103 ipcomp 108 vrrp 112 l2tp 115 isis 124 sctp 132 fc 133 mobility-header 135 udplite 136
mpls-in-ip 137 manet 138 hip 139 shim6 140 wesp 141 rohc 142 ethernet 143`
    .split(/\s+/)
    .reduce<[string, number][]>((acc, t, i, a) => (i % 2 ? acc : [...acc, [t, Number(a[i + 1])]]), []),
);
const PROTOCOL_IDS = new Set(Object.values(PROTOCOLS).map(String));
/** Service names of /etc/services that firewall rules commonly use. */
export const SERVICES: ReadonlySet<string> = new Set(
  `ftp-data ftp ssh telnet smtp domain tftp gopher finger http kerberos pop3 sunrpc auth sftp nntp ntp netbios-ns
netbios-dgm netbios-ssn imap2 snmp snmp-trap bgp irc ldap https microsoft-ds submission imaps pop3s ldaps
openvpn mysql postgresql rsync nfs domain-s isakmp ipsec-nat-t syslog printer ms-sql-s radius radius-acct
svn git bootps bootpc xmpp-client xmpp-server sip sip-tls x11 kerberos-adm iscsi-target`.split(/\s+/),
);

function portSpec(str: string, dport: boolean): void {
  const elements = str.split(',');
  while (elements.length > 0 && elements[elements.length - 1] === '') elements.pop();
  if (str !== elements.join(',')) fail('extraneous commas in list');
  let count = 0;
  let icmp = false;
  for (const item of elements) {
    const range = /^(\d+):(\d+)$/.exec(item);
    if (range) {
      count += 2;
      const [a, b] = [Number(range[1]), Number(range[2])];
      if (a > 65535) fail(`invalid port '${range[1]}'`);
      if (b > 65535) fail(`invalid port '${range[2]}'`);
      if (a > b) fail(`backwards range '${range[1]}:${range[2]}' not allowed, did you mean '${range[2]}:${range[1]}'?`);
    } else if (/^\d+$/.test(item)) {
      count += 1;
      if (Number(item) > 65535) fail(`invalid port '${item}'`);
    } else if (dport && ICMP_TYPES.has(item)) {
      icmp = true;
    } else if (!SERVICES.has(item)) {
      fail(`invalid port '${item}'`);
    }
  }
  if (icmp && count > 0) fail('ICMP ports not allowed in port range');
  if (count > 15) fail('too many entries in port list (> 15 numbers)');
}

function ipElement(elem: string): 4 | 6 | undefined {
  const range = /^([^-]+)-([^-]+)$/.exec(elem);
  if (range) {
    const [a, b] = [range[1]!, range[2]!];
    if (isIp4(a) && isIp4(b)) return 4;
    if (isIp6(a) && isIp6(b)) return 6;
    return undefined;
  }
  const m = /^([^/]+)(?:\/(\d+))?$/.exec(elem);
  if (!m) return undefined;
  if (isIp4(m[1]!) && (m[2] === undefined || Number(m[2]) <= 32)) return 4;
  if (isIp6(m[1]!) && (m[2] === undefined || Number(m[2]) <= 128)) return 6;
  return undefined;
}

function addrSpec(str: string): void {
  if (/^\+\S+$/.test(str)) {
    if (str.length > 65) fail('ipset name too long');
    return;
  }
  if (/^(?:(?:dc|guest)\/)?[A-Za-z][A-Za-z0-9\-_]+$/.test(str)) {
    if (str.length > 64) fail('alias name too long');
    return;
  }
  const elements = str.split(',');
  while (elements.length > 0 && elements[elements.length - 1] === '') elements.pop();
  if (str !== elements.join(',')) fail('extraneous commas in list');
  let version: number | undefined;
  for (const elem of elements) {
    const v = ipElement(elem);
    if (!v) fail(`invalid IP address: ${elem}`);
    if (version && v !== version) fail(`detected mixed ipv4/ipv6 addresses in address list '${str}'`);
    version = v;
  }
  if (elements.length > 1 && elements.some((e) => e.includes('-'))) fail("you can't use a range in a list");
}

// ---- tables that checks use ------------------------------------------------------------------------
const PRIVILEGES = new Set(
  `Datastore.Allocate Datastore.AllocateSpace Datastore.AllocateTemplate Datastore.Audit Group.Allocate
Mapping.Audit Mapping.Modify Mapping.Use Permissions.Modify Pool.Allocate Pool.Audit Realm.Allocate
Realm.AllocateUser SDN.Allocate SDN.Audit SDN.Use Sys.AccessNetwork Sys.Audit Sys.Console Sys.Incoming Sys.Modify
Sys.PowerMgmt Sys.Syslog User.Modify VM.Allocate VM.Audit VM.Backup VM.Clone VM.Config.CDROM VM.Config.CPU
VM.Config.Cloudinit VM.Config.Disk VM.Config.HWType VM.Config.Memory VM.Config.Network VM.Config.Options VM.Console
VM.GuestAgent.Audit VM.GuestAgent.FileRead VM.GuestAgent.FileSystemMgmt VM.GuestAgent.FileWrite
VM.GuestAgent.Unrestricted VM.Migrate VM.PowerMgmt VM.Replicate VM.Snapshot VM.Snapshot.Rollback`.split(/\s+/),
);
/**
 * Time zones PVE accepts: 'UTC' and the zones of the host's zone.tab (as the server reads it); where
 * the host has none, the runtime's IANA list (which uses a few older names, e.g. Asia/Calcutta).
 */
let timezones: Set<string> | undefined;
function knownTimezone(tz: string): boolean {
  if (!timezones) {
    let zones: string[];
    try {
      zones = readFileSync('/usr/share/zoneinfo/zone.tab', 'utf8')
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map((l) => l.split('\t')[2] ?? '');
    } catch {
      zones = Intl.supportedValuesOf('timeZone');
    }
    timezones = new Set(['UTC', ...zones.filter(Boolean)]);
  }
  return timezones.has(tz);
}
/** Storage content types (a `dir` storage supports them all). */
export const CONTENT_TYPES = ['images', 'rootdir', 'vztmpl', 'iso', 'backup', 'snippets', 'import'] as const;
/** QEMU's built-in CPU models (qemu-server CPUConfig), the x86-64-vN ones last. */
export const CPU_MODELS = `486 pentium pentium2 pentium3 coreduo core2duo Conroe Penryn Nehalem Nehalem-IBRS Westmere
Westmere-IBRS SandyBridge SandyBridge-IBRS IvyBridge IvyBridge-IBRS Haswell Haswell-IBRS Haswell-noTSX Haswell-noTSX-IBRS
Broadwell Broadwell-IBRS Broadwell-noTSX Broadwell-noTSX-IBRS Skylake-Client Skylake-Client-IBRS Skylake-Client-noTSX-IBRS
Skylake-Client-v4 Skylake-Server Skylake-Server-IBRS Skylake-Server-noTSX-IBRS Skylake-Server-v4 Skylake-Server-v5
Cascadelake-Server Cascadelake-Server-v2 Cascadelake-Server-noTSX Cascadelake-Server-v4 Cascadelake-Server-v5 Cooperlake
Cooperlake-v2 KnightsMill Icelake-Client Icelake-Client-noTSX Icelake-Server Icelake-Server-noTSX Icelake-Server-v3
Icelake-Server-v4 Icelake-Server-v5 Icelake-Server-v6 Icelake-Server-v7 SapphireRapids SapphireRapids-v2 SapphireRapids-v3
SapphireRapids-v4 GraniteRapids GraniteRapids-v2 GraniteRapids-v3 SierraForest SierraForest-v2 SierraForest-v3
ClearwaterForest athlon phenom Opteron_G1 Opteron_G2 Opteron_G3 Opteron_G4 Opteron_G5 EPYC EPYC-IBPB EPYC-v3 EPYC-v4 EPYC-v5
EPYC-Rome EPYC-Rome-v2 EPYC-Rome-v3 EPYC-Rome-v4 EPYC-Rome-v5 EPYC-Milan EPYC-Milan-v2 EPYC-Milan-v3 EPYC-Genoa
EPYC-Genoa-v2 EPYC-Turin host kvm32 kvm64 qemu32 qemu64 max x86-64-v2 x86-64-v2-AES x86-64-v3 x86-64-v4`.split(/\s+/);
/** Flags a VM's own cpu option may set (custom CPU models may set any). */
const VM_CPU_FLAGS = ['nested-virt', 'md-clear', 'pcid', 'spec-ctrl', 'ssbd', 'ibpb', 'virt-ssbd', 'amd-ssbd', 'amd-no-ssb', 'pdpe1gb', 'hv-tlbflush', 'hv-evmcs', 'aes'];
const CPU_FLAG_ANY = '([+-])([a-zA-Z0-9\\-_\\.]+)';
const CPU_FLAG_VM = new RegExp(`^([+-])(${VM_CPU_FLAGS.join('|')})(;([+-])(${VM_CPU_FLAGS.join('|')}))*$`);

// ---- property-string formats the schema only names --------------------------------------------------
const base64 = pat('[A-Za-z0-9+/]+={0,2}');
const PCI_ID = '(?:[a-f0-9]{4,}:)?[a-f0-9]{2}:[a-f0-9]{2}(?:\\.[a-f0-9])?';
const HASH_FORMATS: Record<string, PropFormat> = {
  'pve-qm-ipconfig': {
    ip: fmt('pve-ipv4-config', { default: 'dhcp' }),
    gw: fmt('ipv4', { requires: 'ip' }),
    ip6: fmt('pve-ipv6-config', { default: 'dhcp' }),
    gw6: fmt('ipv6', { requires: 'ip6' }),
  },
  'pve-qm-boot': { legacy: dflt(pat('[acdn]{1,4}', { default: 'cdn' })), order: fmt('pve-qm-bootdev-list') },
  'pve-qm-watchdog': {
    model: dflt(oneOf(['i6300esb', 'ib700'], { default: 'i6300esb' })),
    action: oneOf(['reset', 'shutdown', 'poweroff', 'pause', 'debug', 'none']),
  },
  'pve-qm-rng': {
    source: need(dflt(oneOf(['/dev/urandom', '/dev/random', '/dev/hwrng']))),
    max_bytes: int(undefined, undefined, { default: 1024 }),
    period: int(undefined, undefined, { default: 1000 }),
  },
  'pve-qm-smbios1': {
    uuid: pat('[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}'),
    ...Object.fromEntries(['version', 'serial', 'manufacturer', 'product', 'sku', 'family'].map((k) => [k, base64])),
    base64: bool(),
  },
  'pve-qm-cicustom': Object.fromEntries(['meta', 'network', 'user', 'vendor'].map((k) => [k, fmt('pve-volume-id')])),
  'pve-vm-cpu-conf': {
    cputype: dflt(str({ default: 'kvm64' })),
    'reported-model': oneOf([...CPU_MODELS].filter((m) => !m.startsWith('x86-64-')).sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)), { default: 'kvm64' }),
    hidden: bool({ default: 0 }),
    'hv-vendor-id': pat('[a-zA-Z0-9]{1,12}'),
    flags: pat(`${CPU_FLAG_ANY}(;${CPU_FLAG_ANY})*`),
    'guest-phys-bits': int(32, 64),
    'phys-bits': fmt('pve-phys-bits'),
  },
  'pve-qm-hostpci': {
    host: dflt(pat(`${PCI_ID}(;${PCI_ID})*`)),
    mapping: fmt('pve-configid'),
    rombar: bool({ default: 1 }),
    romfile: pat('[^,;]+'),
    pcie: bool({ default: 0 }),
    'x-vga': bool({ default: 0 }),
    'legacy-igd': bool({ default: 0 }),
    mdev: pat('[^/\\.:]+'),
    driver: oneOf(['vfio', 'keep']),
    ...Object.fromEntries(['vendor-id', 'device-id', 'sub-vendor-id', 'sub-device-id'].map((k) => [k, pat('^0x[0-9a-fA-F]{4}$')])),
  },
  'pve-qemu-sev-fmt': {
    type: need(dflt(oneOf(['std', 'es', 'snp'], { maxLength: 3 }))),
    'no-debug': bool({ default: 0 }),
    'no-key-sharing': bool({ default: 0 }),
    'allow-smt': bool({ default: 1 }),
    'kernel-hashes': bool({ default: 0 }),
  },
  'pve-qemu-tdx-fmt': {
    type: need(dflt(oneOf(['tdx']))),
    attestation: need(bool({ default: 1 })),
    'vsock-cid': int(2, undefined, { default: 2 }),
    'vsock-port': int(0, undefined, { default: 4050 }),
  },
};

/** Validators attached to hash formats (run after the sub-keys passed). */
const HASH_VALIDATORS: Record<string, (parsed: Record<string, string>) => void> = {
  'pve-vm-cpu-conf': (p) => {
    const t = p['cputype'];
    if (!t) fail('CPU is missing cputype');
    // pvesim knows no custom CPU models (/etc/pve/virtual-guest/cpu-models.conf is empty)
    if (t!.startsWith('custom-')) fail(`Custom cputype '${t!.slice('custom-'.length)}' not found`);
    if (!CPU_MODELS.includes(t!)) fail(`Built-in cputype '${t}' is not defined (missing 'custom-' prefix?)`);
    if (p['flags'] && !CPU_FLAG_VM.test(p['flags'])) fail(`VM-specific CPU flags must be a subset of: ${VM_CPU_FLAGS.join(', ')}`);
    if (p['reported-model'] !== undefined) fail("Property 'reported-model' not allowed in VM-specific CPU config.");
  },
};

const CODE_FORMATS: Record<string, FormatValidator> = {
  string: () => undefined,
  urlencoded: (v) => {
    if (!/^[-%a-zA-Z0-9_.!~*'()]*$/.test(v)) fail(`invalid urlencoded string: ${v}`);
  },
  'pve-configid': (v) => {
    if (!/^[a-z][a-z0-9_-]+$/i.test(v)) fail(`invalid configuration ID '${v}'`);
  },
  'pve-storage-id': (v) => {
    if (!isStorageId(v)) fail(`storage ID '${v}' contains illegal characters`);
  },
  'pve-bridge-id': (v) => {
    if (!/^[-_.\w]+$/.test(v)) fail(`invalid bridge ID '${v}'`);
  },
  'pve-vmid': (v) => {
    if (!/^[1-9][0-9]{2,8}$/.test(v)) fail('value does not look like a valid VM ID');
  },
  'pve-node': (v) => {
    if (!/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(v)) fail('value does not look like a valid node name');
  },
  'mac-addr': (v) => {
    if (!/^[a-f0-9][02468ace](?::[a-f0-9]{2}){5}$/i.test(v)) fail('value does not look like a valid unicast MAC address');
  },
  ipv4: (v) => {
    if (!isIp4(v)) fail('value does not look like a valid IPv4 address');
  },
  ipv6: (v) => {
    if (!isIp6(v)) fail('value does not look like a valid IPv6 address');
  },
  ip: verifyIp,
  CIDR: (v) => {
    if (!isCidr4(v) && !isCidr6(v)) fail('value does not look like a valid CIDR network');
  },
  'pve-ipv4-config': (v) => {
    if (!/^(?:dhcp|manual)$/.test(v) && !isCidr4(v)) fail('value does not look like a valid ipv4 network configuration');
  },
  'pve-ipv6-config': (v) => {
    if (!/^(?:auto|dhcp|manual)$/.test(v) && !isCidr6(v)) fail('value does not look like a valid ipv6 network configuration');
  },
  'dns-name': (v) => {
    if (!isDnsName(v)) fail('value does not look like a valid DNS name');
  },
  address: (v) => {
    if (!isIp4(v) && !isIp6(v) && !isDnsName(v)) fail(`value does not look like a valid address: ${v}`);
  },
  'disk-size': (v) => {
    if (parseSize(v) === undefined) fail(`value does not look like a valid disk size: ${v}`);
  },
  'pve-startup-order': (v) => {
    if (!startupOrder(v)) fail('unable to parse startup options');
  },
  'pve-tag': (v) => {
    if (!/^[a-z0-9_][a-z0-9_\-+.]*$/i.test(v)) fail('invalid characters in tag');
  },
  'pve-iface': (v) => {
    if (!isIface(v)) fail(`invalid network interface name '${v}'`);
  },
  'pve-task-status-type': (v) => {
    if (!/^(ok|error|warning|unknown)$/i.test(v)) fail(`invalid status '${v}'`);
  },
  'storage-pair': (v) => idPair(v, CODE_FORMATS['pve-storage-id']!),
  // pve-storage
  'pve-volume-id': (v) => {
    if (!/^[a-z][a-z0-9\-_.]*[a-z0-9]:[\s\S]+$/i.test(v)) fail(`unable to parse volume ID '${v}'`);
  },
  'pve-storage-content': (v) => {
    if (!(CONTENT_TYPES as readonly string[]).includes(v)) fail(`invalid content type '${v}'`);
  },
  // pve-access-control
  'pve-poolid': (v) => {
    if (!/^[A-Za-z0-9.\-_]+$/.test(v)) fail(`pool name '${v}' contains invalid characters`);
  },
  'pve-realm': (v) => {
    if (!/^[A-Za-z][A-Za-z.\-_\d]+$/.test(v)) fail('value does not look like a valid realm');
  },
  'pve-priv': (v) => {
    if (!PRIVILEGES.has(v)) fail(`invalid privilege '${v}'`);
  },
  // pve-container
  'pve-lxc-mp-string': (v) => {
    if (/\/\.\.?\//.test(v) || /\/\.\.?$/.test(v) || /^\.\.\//.test(v)) fail(`${v} contains illegal character sequences`);
  },
  'pve-lxc-dev-string': (v) => {
    if (/\/\.\.?(?:\/|$)/.test(v) || !v.startsWith('/dev/')) fail(`${v} is not a valid device path`);
  },
  'lxc-ip-with-ll-iface': (v) => {
    const ll = /^(fe80:[^%]+)%(.*)$/.exec(v);
    if (ll && (isIp4(ll[1]!) || isIp6(ll[1]!)) && isIface(ll[2]!)) return;
    verifyIp(v);
  },
  'pve-ct-timezone': (v) => {
    if (v !== 'host' && !knownTimezone(v)) fail(`invalid time zone '${v}'`);
  },
  // qemu-server
  'pve-cpuset': (v) => {
    if (!cpuset(v)) fail('unable to parse cpuset option');
  },
  'pve-qm-bootdisk': (v) => {
    if (!isDriveName(v)) fail(`invalid boot disk '${v}'`);
  },
  'pve-qm-bootdev': verifyBootdev,
  'pve-volume-id-or-absolute-path': (v) => {
    if (!v.startsWith('/')) CODE_FORMATS['pve-volume-id']!(v);
  },
  'pve-volume-id-or-qm-path': (v) => {
    if (v !== 'none' && v !== 'cdrom') CODE_FORMATS['pve-volume-id-or-absolute-path']!(v);
  },
  'pve-hotplug-features': (v) => {
    if (v === '0') return;
    for (const f of splitList(v === '1' ? 'network,disk,usb' : v)) {
      if (!/^(network|disk|cpu|memory|usb|cloudinit)$/.test(f)) fail(`invalid hotplug feature '${f}'`);
    }
  },
  'pve-phys-bits': (v) => {
    if (!/^(host|\d{1,2})$/.test(v) || (v !== 'host' && (Number(v) < 8 || Number(v) > 64))) {
      fail("value must be an integer between 8 and 64 or 'host'");
    }
  },
  // pve-firewall
  'pve-fw-addr-spec': addrSpec,
  'pve-fw-sport-spec': (v) => portSpec(v, false),
  'pve-fw-dport-spec': (v) => portSpec(v, true),
  'pve-fw-protocol-spec': (v) => {
    if (v && !(v in PROTOCOLS) && !PROTOCOL_IDS.has(v)) fail(`unknown protocol '${v}'`);
  },
  'pve-fw-icmp-type-spec': (v) => {
    if (v !== '' && !ICMP_TYPES.has(v)) fail(`invalid icmp-type value '${v}'`);
  },
};
export const FORMATS: FormatRegistry = {
  code: (name) => (Object.hasOwn(CODE_FORMATS, name) ? CODE_FORMATS[name] : undefined),
  hash: (name) => (Object.hasOwn(HASH_FORMATS, name) ? HASH_FORMATS[name] : undefined),
  validator: (name) => (Object.hasOwn(HASH_VALIDATORS, name) ? HASH_VALIDATORS[name] : undefined),
};
