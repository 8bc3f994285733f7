// Shared sub-schemas of the resource model. Every string that ends up inside a Proxmox property
// string (net0, rootfs, mp0, startup, features, ...) gets a strict pattern that excludes the
// characters Proxmox uses as separators (',', '=', ';'), whitespace, '%' and newlines, so a value
// that could change the meaning of what phoenix sends is rejected here, never sent.
// Each pattern carries a `description`: the loader shows it next to a pattern mismatch.
// Typing: every schema is JSONSchemaType<T> (each field of T present, with a schema of its type);
// `properties: {...} satisfies Record<keyof T, unknown>` (or OnlyKeysOf where spreads are used)
// adds the other direction, so a schema cannot accept a field the type does not have.
import type { JSONSchemaType } from 'ajv';
import type {
  CloudInit,
  CloudInitIpConfig,
  Firewall,
  FirewallRule,
  GuestSource,
  LxcFeatures,
  LxcNetwork,
  MountPoint,
  ObjectMeta,
  ObjectRef,
  Service,
  Startup,
  VmDisk,
  VmNetwork,
  Volume,
} from './types.js';
import { API_VERSION, KINDS } from './types.js';

/** A problem found in a manifest document: where (path segments inside the document) and what. */
export interface Issue {
  path: Array<string | number>;
  message: string;
  /** The problem is the key itself (an unknown field), not its value. */
  atKey?: boolean;
}

/** Marks a sub-schema as optional for JSONSchemaType; `nullable` is stripped before compiling. */
export function opt<const S extends object>(s: S): S & { nullable: true } {
  return { ...s, nullable: true };
}

function str<P extends string>(pattern: P, description: string, extra: { maxLength?: number; minLength?: number } = {}) {
  return { type: 'string' as const, pattern, description, ...extra };
}

// ---------------------------------------------------------------------------------------------
// Patterns (anchored). Exported so tests and other modules can reuse them.

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const IPV4 = `${OCTET}(\\.${OCTET}){3}`;
const PREFIX4 = '([0-9]|[12][0-9]|3[0-2])';
// IPv6 is checked loosely by pattern (hex, ':' and an optional dotted tail) and exactly by format.
const IPV6 = '[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*';
const PREFIX6 = '([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8])';
const DNS_LABEL = '[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?';
const STORAGE = '[a-zA-Z][a-zA-Z0-9\\-_.]*[a-zA-Z0-9]';
/** No '..' path segment anywhere. */
const NO_DOTDOT = '(?!(.*/)?\\.\\.(/|$))';

export const PATTERNS = {
  dnsLabel: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$',
  hostname: `^(?=.{1,253}$)${DNS_LABEL}(\\.${DNS_LABEL})*$`,
  /** A certificate name: a DNS name, optionally with one leading wildcard label. */
  certDnsName: `^(?=.{1,253}$)(\\*\\.)?${DNS_LABEL}(\\.${DNS_LABEL})*$`,
  nodeName: `^${DNS_LABEL}$`,
  storage: `^${STORAGE}$`,
  bridge: '^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$',
  ifname: '^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$',
  mac: '^[0-9A-Fa-f][02468aceACE](:[0-9A-Fa-f]{2}){5}$',
  ipv4: `^${IPV4}$`,
  ipv4CidrDhcpManual: `^(dhcp|manual|${IPV4}/${PREFIX4})$`,
  ipv4CidrDhcp: `^(dhcp|${IPV4}/${PREFIX4})$`,
  ipv6CidrDhcpAutoManual: `^(dhcp|auto|manual|${IPV6}/${PREFIX6})$`,
  ipv6CidrDhcpAuto: `^(dhcp|auto|${IPV6}/${PREFIX6})$`,
  ipv6: `^${IPV6}$`,
  ip: `^(${IPV4}|${IPV6})$`,
  diskSize: '^[1-9][0-9]*[MGT]$',
  tag: '^[a-z0-9_][a-z0-9_+.-]*$',
  /** Absolute path without ',', '=', ';', '%', whitespace, NUL or '..' segments. */
  absPath: `^${NO_DOTDOT}/[^,=;%\\s\\u0000]*$`,
  /**
   * A URL path prefix for a service's route: unreserved characters, ':', '@', '+' and '/'. No
   * backquote, quote, parenthesis, '|' or '&': it is written into a Traefik rule as PathPrefix(`...`).
   */
  urlPath: '^/[A-Za-z0-9._~:@+/-]*$',
  /** A file path for certificate output (relative to the operator's cert dir, or absolute). */
  filePath: `^${NO_DOTDOT}[A-Za-z0-9_./-]+$`,
  snapshot: '^[a-zA-Z][a-zA-Z0-9_-]{1,39}$',
  vztmpl: `^${STORAGE}:vztmpl/[A-Za-z0-9][A-Za-z0-9_.+-]*\\.tar\\.(gz|xz|zst|bz2)$`,
  importImage: `^${STORAGE}:import/[A-Za-z0-9][A-Za-z0-9_.+-]*\\.(img|qcow2|raw|vmdk)$`,
  vmSlot: '^(scsi([0-9]|[12][0-9]|30)|virtio([0-9]|1[0-5])|sata[0-5]|ide[0-3])$',
  proto: '^([a-z][a-z0-9-]*|[0-9]{1,3})$',
  /** Firewall address: IPs, CIDRs, ranges a-b (comma list allowed: a separate API parameter), +ipset, alias. */
  fwAddr: `^((\\+|dc/|guest/)?[a-zA-Z][a-zA-Z0-9_-]*|[0-9A-Fa-f:.]+(/[0-9]{1,3})?(-[0-9A-Fa-f:.]+)?(,[0-9A-Fa-f:.]+(/[0-9]{1,3})?(-[0-9A-Fa-f:.]+)?)*)$`,
  ports: '^[0-9]{1,5}(:[0-9]{1,5})?(,[0-9]{1,5}(:[0-9]{1,5})?)*$',
  fwIface: '^net[0-9]+$',
  /** Anything except NUL. */
  freeText: '^[^\\u0000]*$',
  /** One line: no NUL, CR or LF. */
  oneLine: '^[^\\u0000\\r\\n]*$',
  fsType: '^[a-z0-9]+$',
  cpuType: '^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$',
  unixUser: '^[a-z_][a-z0-9_-]{0,31}$',
  sshKey: '^(ssh|ecdsa|sk)-[^\\u0000\\r\\n]+$',
  goDuration: '^([0-9]+(\\.[0-9]+)?(h|m|s|ms))+$',
  fileMode: '^0?[0-7]{3}$',
  sha256Hex: '^[0-9a-fA-F]{64}$',
  httpsUrl: '^https://[^\\s\\u0000]+$',
  labelKey: '^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$',
  labelValue: '^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$',
} as const;

export const S = {
  dnsLabel: str(PATTERNS.dnsLabel, "a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters", { maxLength: 63 }),
  hostname: str(PATTERNS.hostname, "a DNS host name: labels of letters, digits and '-' separated by '.'"),
  certDnsName: str(PATTERNS.certDnsName, "a DNS name, optionally starting with '*.'"),
  nodeName: str(PATTERNS.nodeName, "a Proxmox node name: letters, digits and '-'"),
  storage: str(PATTERNS.storage, "a Proxmox storage id: letters, digits, '-', '_', '.'"),
  bridge: str(PATTERNS.bridge, "a bridge name: letters, digits, '_', '.', '-', at most 15 characters"),
  ifname: str(PATTERNS.ifname, "an interface name: letters, digits, '_', '.', '-', at most 15 characters"),
  mac: str(PATTERNS.mac, 'a unicast MAC address such as 52:54:00:12:34:56'),
  ipv4: str(PATTERNS.ipv4, 'an IPv4 address'),
  ipv6: { type: 'string' as const, pattern: PATTERNS.ipv6, format: 'ipv6', description: 'an IPv6 address' },
  ip: { type: 'string' as const, pattern: PATTERNS.ip, format: 'ip', description: 'an IPv4 or IPv6 address' },
  lxcIp: str(PATTERNS.ipv4CidrDhcpManual, "an IPv4 CIDR such as 10.0.0.10/24, 'dhcp' or 'manual'"),
  lxcIp6: {
    ...str(PATTERNS.ipv6CidrDhcpAutoManual, "an IPv6 CIDR, 'dhcp', 'auto' or 'manual'"),
    format: 'ipv6-cidr-or-keyword',
  },
  ciIp: str(PATTERNS.ipv4CidrDhcp, "an IPv4 CIDR such as 10.0.0.10/24 or 'dhcp'"),
  ciIp6: { ...str(PATTERNS.ipv6CidrDhcpAuto, "an IPv6 CIDR, 'dhcp' or 'auto'"), format: 'ipv6-cidr-or-keyword' },
  diskSize: str(PATTERNS.diskSize, 'a size: a positive integer followed by M, G or T, such as 16G'),
  tag: str(PATTERNS.tag, "a tag: lowercase letters, digits, '_', '+', '.', '-'"),
  absPath: str(PATTERNS.absPath, "an absolute path without ',', '=', ';', '%', whitespace or '..' segments", { maxLength: 4096 }),
  urlPath: str(PATTERNS.urlPath, "a URL path such as /health: letters, digits, '.', '_', '~', ':', '@', '+', '-' and '/'", { maxLength: 1024 }),
  filePath: str(PATTERNS.filePath, "a file path of letters, digits, '_', '.', '/', '-' without '..' segments", { maxLength: 4096 }),
  snapshot: str(PATTERNS.snapshot, "a snapshot name: a letter, then letters, digits, '_', '-', 2 to 40 characters"),
  vztmpl: str(PATTERNS.vztmpl, 'a container template volume such as local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst'),
  importImage: str(PATTERNS.importImage, 'an import volume such as local:import/noble-server-cloudimg-amd64.img'),
  vmSlot: str(PATTERNS.vmSlot, 'a disk slot: scsi0-30, virtio0-15, sata0-5 or ide0-3'),
  proto: str(PATTERNS.proto, "a protocol name such as tcp, udp, icmp, or a number"),
  fwAddr: { ...str(PATTERNS.fwAddr, 'an address, CIDR, range a-b or comma list of those, an +ipset or an alias', { maxLength: 512 }), format: 'fw-addr' },
  ports: str(PATTERNS.ports, "a port, a range a:b, or a comma list of those"),
  fwIface: str(PATTERNS.fwIface, 'a guest interface key such as net0'),
  freeText: str(PATTERNS.freeText, 'any text except NUL', { maxLength: 8192 }),
  oneLine: str(PATTERNS.oneLine, 'a single line of text', { maxLength: 1024 }),
  fsType: str(PATTERNS.fsType, 'a file system type such as nfs or cifs'),
  cpuType: str(PATTERNS.cpuType, "a CPU type such as host or x86-64-v2-AES: letters, digits, '_', '.', '+', '-'"),
  unixUser: str(PATTERNS.unixUser, "a user name: lowercase letters, digits, '_', '-', at most 32 characters"),
  sshKey: str(PATTERNS.sshKey, 'one OpenSSH public key on a single line', { maxLength: 16384 }),
  goDuration: str(PATTERNS.goDuration, 'a duration such as 24h, 90m or 87600h (units h, m, s, ms)'),
  fileMode: str(PATTERNS.fileMode, 'an octal file mode such as 0640'),
  sha256Hex: str(PATTERNS.sha256Hex, 'a SHA-256 fingerprint: 64 hex digits'),
  httpsUrl: { ...str(PATTERNS.httpsUrl, 'an https:// URL'), format: 'uri' },
  vmid: { type: 'integer' as const, minimum: 100, maximum: 999999999 },
  port: { type: 'integer' as const, minimum: 1, maximum: 65535 },
  vlan: { type: 'integer' as const, minimum: 1, maximum: 4094 },
  mtu: { type: 'integer' as const, minimum: 64, maximum: 65535 },
  rate: { type: 'number' as const, minimum: 0 },
  bool: { type: 'boolean' as const },
} as const;

// ---------------------------------------------------------------------------------------------
// Sub-schemas

export const labelsSchema: JSONSchemaType<Record<string, string>> = {
  type: 'object',
  required: [],
  propertyNames: { pattern: PATTERNS.labelKey, description: "a label key: [prefix/]name of letters, digits, '-', '_', '.'", maxLength: 317 },
  additionalProperties: { type: 'string', pattern: PATTERNS.labelValue, maxLength: 63, description: "a label value: letters, digits, '-', '_', '.', at most 63 characters" },
};

export const annotationsSchema: JSONSchemaType<Record<string, string>> = {
  type: 'object',
  required: [],
  propertyNames: { pattern: PATTERNS.labelKey, description: "an annotation key: [prefix/]name of letters, digits, '-', '_', '.'", maxLength: 317 },
  additionalProperties: S.freeText,
};

/** Manifest metadata: `generation` is written by the controller and is not accepted here. */
export type ManifestMeta = Omit<ObjectMeta, 'generation'>;

export const metadataSchema: JSONSchemaType<ManifestMeta> = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: S.dnsLabel,
    labels: opt(labelsSchema),
    annotations: opt(annotationsSchema),
  } satisfies Record<keyof ManifestMeta, unknown>,
};

export const refSchema: JSONSchemaType<ObjectRef> = {
  type: 'object',
  required: ['kind', 'name'],
  additionalProperties: false,
  properties: {
    kind: { type: 'string', enum: KINDS } as const,
    name: S.dnsLabel,
  } satisfies Record<keyof ObjectRef, unknown>,
};

export const dependsOnSchema: JSONSchemaType<ObjectRef[]> = { type: 'array', items: refSchema, uniqueItems: true };

export const startupSchema: JSONSchemaType<Startup> = {
  type: 'object',
  required: [],
  additionalProperties: false,
  properties: {
    order: opt({ type: 'integer', minimum: 0, maximum: 999999 }),
    up: opt({ type: 'integer', minimum: 0, maximum: 86400 }),
    down: opt({ type: 'integer', minimum: 0, maximum: 86400 }),
  } satisfies Record<keyof Startup, unknown>,
};

export const volumeSchema: JSONSchemaType<Volume> = {
  type: 'object',
  required: ['storage', 'size'],
  additionalProperties: false,
  properties: { storage: S.storage, size: S.diskSize } satisfies Record<keyof Volume, unknown>,
};

export const lxcNetworkSchema: JSONSchemaType<LxcNetwork> = {
  type: 'object',
  required: ['name', 'bridge'],
  additionalProperties: false,
  properties: {
    name: S.ifname,
    bridge: S.bridge,
    ip: opt(S.lxcIp),
    gw: opt(S.ipv4),
    ip6: opt(S.lxcIp6),
    gw6: opt(S.ipv6),
    hwaddr: opt(S.mac),
    tag: opt(S.vlan),
    firewall: opt(S.bool),
    mtu: opt(S.mtu),
    rate: opt(S.rate),
  } satisfies Record<keyof LxcNetwork, unknown>,
};

export const VM_NET_MODELS = ['virtio', 'e1000', 'e1000e', 'rtl8139', 'vmxnet3'] as const;

export const vmNetworkSchema: JSONSchemaType<VmNetwork> = {
  type: 'object',
  required: ['bridge'],
  additionalProperties: false,
  properties: {
    model: opt({ type: 'string', enum: [...VM_NET_MODELS] }),
    bridge: S.bridge,
    hwaddr: opt(S.mac),
    tag: opt(S.vlan),
    firewall: opt(S.bool),
    mtu: opt({ type: 'integer', minimum: 1, maximum: 65520 }),
    rate: opt(S.rate),
  } satisfies Record<keyof VmNetwork, unknown>,
};

export const featuresSchema: JSONSchemaType<LxcFeatures> = {
  type: 'object',
  required: [],
  additionalProperties: false,
  properties: {
    nesting: opt(S.bool),
    keyctl: opt(S.bool),
    fuse: opt(S.bool),
    mknod: opt(S.bool),
    mount: opt({ type: 'array', items: S.fsType, uniqueItems: true }),
  } satisfies Record<keyof LxcFeatures, unknown>,
};

export const mountPointSchema: JSONSchemaType<MountPoint> = {
  type: 'object',
  required: ['path'],
  additionalProperties: false,
  properties: {
    path: S.absPath,
    volume: opt(volumeSchema),
    hostPath: opt(S.absPath),
    readOnly: opt(S.bool),
    backup: opt(S.bool),
  } satisfies Record<keyof MountPoint, unknown>,
};

const POLICY = ['ACCEPT', 'DROP', 'REJECT'] as const;

export const firewallRuleSchema: JSONSchemaType<FirewallRule> = {
  type: 'object',
  required: ['type', 'action'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: ['in', 'out'] } as const,
    action: { type: 'string', enum: POLICY } as const,
    proto: opt(S.proto),
    source: opt(S.fwAddr),
    dest: opt(S.fwAddr),
    dport: opt(S.ports),
    sport: opt(S.ports),
    iface: opt(S.fwIface),
    comment: opt(S.freeText),
    enable: opt(S.bool),
  } satisfies Record<keyof FirewallRule, unknown>,
};

export const firewallSchema: JSONSchemaType<Firewall> = {
  type: 'object',
  required: [],
  additionalProperties: false,
  properties: {
    enabled: opt(S.bool),
    policyIn: opt({ type: 'string', enum: [...POLICY] }),
    policyOut: opt({ type: 'string', enum: [...POLICY] }),
    rules: opt({ type: 'array', items: firewallRuleSchema }),
  } satisfies Record<keyof Firewall, unknown>,
};

export const serviceSchema: JSONSchemaType<Service> = {
  type: 'object',
  required: ['name', 'port'],
  additionalProperties: false,
  properties: {
    name: S.dnsLabel,
    port: S.port,
    protocol: opt({ type: 'string', enum: ['http', 'https', 'tcp', 'udp'] }),
    path: opt(S.urlPath),
    tls: opt(S.bool),
  } satisfies Record<keyof Service, unknown>,
};

export const sourceSchema: JSONSchemaType<GuestSource> = {
  type: 'object',
  required: [],
  additionalProperties: false,
  properties: {
    template: opt(S.dnsLabel),
    guest: opt(S.dnsLabel),
    snapshot: opt(S.snapshot),
    ostemplate: opt(S.vztmpl),
    full: opt(S.bool),
    storage: opt(S.storage),
  } satisfies Record<keyof GuestSource, unknown>,
};

export const vmDiskSchema: JSONSchemaType<VmDisk> = {
  type: 'object',
  required: ['slot', 'storage', 'size'],
  additionalProperties: false,
  properties: { slot: S.vmSlot, storage: S.storage, size: S.diskSize } satisfies Record<keyof VmDisk, unknown>,
};

export const ipConfigSchema: JSONSchemaType<CloudInitIpConfig> = {
  type: 'object',
  required: [],
  additionalProperties: false,
  properties: { ip: opt(S.ciIp), gw: opt(S.ipv4), ip6: opt(S.ciIp6), gw6: opt(S.ipv6) } satisfies Record<keyof CloudInitIpConfig, unknown>,
};

export const cloudInitSchema: JSONSchemaType<CloudInit> = {
  type: 'object',
  required: [],
  additionalProperties: false,
  properties: {
    user: opt(S.unixUser),
    sshKeys: opt({ type: 'array', items: S.sshKey, uniqueItems: true }),
    ipConfig: opt({ type: 'array', items: ipConfigSchema, maxItems: 32 }),
    nameserver: opt(S.ip),
    searchdomain: opt(S.hostname),
    upgrade: opt(S.bool),
  } satisfies Record<keyof CloudInit, unknown>,
};

export const LXC_OSTYPES = ['debian', 'devuan', 'ubuntu', 'centos', 'fedora', 'opensuse', 'archlinux', 'alpine', 'gentoo', 'nixos', 'unmanaged'];
export const VM_OSTYPES = ['other', 'wxp', 'w2k', 'w2k3', 'w2k8', 'wvista', 'win7', 'win8', 'win10', 'win11', 'l24', 'l26', 'solaris'];

/** The properties every guest kind shares (GuestCommon), as schema fragments. */
export const guestCommonProperties = {
  vmid: S.vmid,
  node: opt(S.nodeName),
  cores: opt({ type: 'integer' as const, minimum: 1, maximum: 8192 }),
  memory: opt({ type: 'integer' as const, minimum: 16, maximum: 268435456 }),
  onboot: opt(S.bool),
  startup: opt(startupSchema),
  tags: opt({ type: 'array' as const, items: S.tag, uniqueItems: true as const }),
  description: opt(S.freeText),
  firewall: opt(firewallSchema),
  dependsOn: opt(dependsOnSchema),
};

/** The properties LxcContainer and VirtualMachine share beyond GuestCommon (guests that run). */
export const runningGuestProperties = {
  powerState: opt({ type: 'string', enum: ['running', 'stopped'] }),
  restartPolicy: opt({ type: 'string', enum: ['Never', 'IfRequired'] }),
  services: opt({ type: 'array', items: serviceSchema }),
  adopt: opt(S.bool),
  allowReplace: opt(S.bool),
};

/** Builds the whole-manifest schema of a kind around its spec schema. */
export function manifestSchema<K extends string, Spec>(kind: K, spec: JSONSchemaType<Spec>) {
  return {
    type: 'object' as const,
    required: ['apiVersion', 'kind', 'metadata', 'spec'] as const,
    additionalProperties: false as const,
    properties: {
      apiVersion: { type: 'string' as const, const: API_VERSION },
      kind: { type: 'string' as const, const: kind },
      metadata: metadataSchema,
      spec,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Checks shared by the kinds' semantic rules.

/** Exactly one way to obtain a guest: template | guest+snapshot | ostemplate (LXC only). */
export function checkSource(src: GuestSource, allowOstemplate: boolean): Issue[] {
  const issues: Issue[] = [];
  const path = ['spec', 'source'];
  const ways = [src.template !== undefined, src.guest !== undefined, src.ostemplate !== undefined].filter(Boolean).length;
  const options = allowOstemplate ? "'template', 'guest' (with 'snapshot') or 'ostemplate'" : "'template' or 'guest' (with 'snapshot')";
  if (ways !== 1) issues.push({ path, message: `must set exactly one of ${options}` });
  if (!allowOstemplate && src.ostemplate !== undefined)
    issues.push({ path: [...path, 'ostemplate'], message: 'a VirtualMachine cannot be created from a container template' });
  if (src.guest !== undefined && src.snapshot === undefined)
    issues.push({ path, message: "'guest' needs 'snapshot': the snapshot of that guest to clone from" });
  if (src.snapshot !== undefined && src.guest === undefined)
    issues.push({ path: [...path, 'snapshot'], message: "'snapshot' is only used with 'guest'" });
  if (src.guest !== undefined && src.full === false)
    issues.push({ path: [...path, 'full'], message: 'a clone of a guest that is not a template is always a full clone in Proxmox' });
  if (src.ostemplate !== undefined && (src.full !== undefined || src.storage !== undefined))
    issues.push({ path, message: "'full' and 'storage' apply to clones, not to a container created from an ostemplate" });
  if (src.storage !== undefined && src.full === false)
    issues.push({ path: [...path, 'storage'], message: "a target 'storage' needs a full clone ('full: true')" });
  return issues;
}

export function checkMountPoints(mps: MountPoint[] | undefined): Issue[] {
  const issues: Issue[] = [];
  const seen = new Map<string, number>();
  (mps ?? []).forEach((mp, i) => {
    const path = ['spec', 'mountPoints', i];
    if ((mp.volume === undefined) === (mp.hostPath === undefined))
      issues.push({ path, message: "must set exactly one of 'volume' or 'hostPath'" });
    if (mp.backup !== undefined && mp.hostPath !== undefined)
      issues.push({ path: [...path, 'backup'], message: "'backup' applies to volume mount points only" });
    const first = seen.get(mp.path);
    if (first !== undefined) issues.push({ path: [...path, 'path'], message: `path '${mp.path}' is already mounted by mountPoints[${first}]` });
    else seen.set(mp.path, i);
  });
  return issues;
}

export function checkUnique<T>(items: T[] | undefined, key: (t: T) => string, path: Array<string | number>, field: string, what: string): Issue[] {
  const issues: Issue[] = [];
  const seen = new Map<string, number>();
  (items ?? []).forEach((it, i) => {
    const k = key(it);
    const first = seen.get(k);
    if (first !== undefined) issues.push({ path: [...path, i, field], message: `duplicate ${what} '${k}' (also at index ${first})` });
    else seen.set(k, i);
  });
  return issues;
}

/** phoenix's own ownership line (controller/plan/desired.ts writes it); a manifest may not spell one. */
const MARKER_LINE = /^\s*managed-by:\s*phoenix\b/im;

export function checkDescription(description: string | undefined): Issue[] {
  if (description === undefined) return [];
  let decoded = description;
  try {
    decoded = decodeURIComponent(description);
  } catch {
    /* not percent-encoded */
  }
  if (!MARKER_LINE.test(description) && !MARKER_LINE.test(decoded)) return [];
  return [{ path: ['spec', 'description'], message: "must not contain a 'managed-by: phoenix' line: phoenix writes that line itself to mark the guests it owns" }];
}

export function checkStartup(startup: Startup | undefined): Issue[] {
  return startup && Object.keys(startup).length === 0 ? [{ path: ['spec', 'startup'], message: 'must set at least one of order, up, down' }] : [];
}

// ---------------------------------------------------------------------------------------------
// Go-style durations (as step-ca and cert-manager write them).

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** Milliseconds of a Go-style duration such as "24h" or "1h30m", or undefined if malformed. */
export function parseDuration(s: string): number | undefined {
  if (!new RegExp(PATTERNS.goDuration).test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|h|m|s)/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return total;
}

/** Formats milliseconds as a Go-style duration ("8h", "1h20m", "40s"). */
export function formatDuration(ms: number): string {
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ['h', 'm', 's', 'ms']) {
    const n = Math.floor(rest / UNIT_MS[unit]!);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * UNIT_MS[unit]!;
  }
  return out || '0s';
}

/**
 * Compile-time guard for schemas built with spreads: `const _k: OnlyKeysOf<Spec, typeof props> = true`
 * fails to compile when props names a field Spec does not have (JSONSchemaType<Spec> already checks
 * that every field of Spec is present with a schema of the right type).
 */
export type OnlyKeysOf<T, P> = [Exclude<keyof P, keyof T>] extends [never] ? true : { extraKeys: Exclude<keyof P, keyof T> };
