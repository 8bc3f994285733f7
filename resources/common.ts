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

/**
 * The annotation that keeps a value format's short description ("a bridge name: ...") once a field's
 * own description replaces it: the loader shows it next to a pattern or format mismatch.
 */
export const FORMAT_HINT = 'x-format-hint';

/**
 * A field's schema with its documentation (editors show it on hover; docs/reference/manifests.md
 * prints it): what the field is, written for a Proxmox admin, then the value format when the schema
 * has one. `default` is an annotation only: the kind's defaults function applies defaults, and a test
 * checks that the two agree.
 */
export function doc<const T extends object>(schema: T, text: string, annotations: { default?: unknown } = {}): T & { description: string } {
  const s = schema as Record<string, unknown>;
  // a string format's description says how to write the value; any other description (an object's) is replaced
  const hint = s.pattern !== undefined || s.format !== undefined ? (s[FORMAT_HINT] ?? s.description) : undefined;
  return {
    ...schema,
    description: typeof hint === 'string' ? `${text} Format: ${hint}.` : text,
    ...(typeof hint === 'string' ? { [FORMAT_HINT]: hint } : {}),
    ...annotations,
  };
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
  description: 'Identifies the resource. `metadata.generation` is written by the controller and is not accepted in manifests.',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: doc(
      S.dnsLabel,
      'Name of the resource, unique per kind; other manifests refer to it by this name (`dependsOn`, `source.template`, `host`). ' +
        "A guest's Proxmox name is this name: `hostname` of a container (unless `spec.hostname` is set), `name` of a VM.",
    ),
    labels: opt(
      doc(labelsSchema, 'Key/value pairs to select resources by (`phoenixctl get -l`, the status API `labelSelector`), as in Kubernetes. Not sent to Proxmox.'),
    ),
    annotations: opt(
      doc(
        annotationsSchema,
        'Free-form notes for people and tools; not sent to Proxmox. `phoenix.hypervisor/prune: "true"` lets phoenix delete the guest when the manifest is removed ' +
          '(as `--prune` does for all), and `phoenixctl import` records here what it could not map.',
      ),
    ),
  } satisfies Record<keyof ManifestMeta, unknown>,
};

export const refSchema: JSONSchemaType<ObjectRef> = {
  type: 'object',
  required: ['kind', 'name'],
  additionalProperties: false,
  properties: {
    kind: doc({ type: 'string', enum: KINDS } as const, 'Kind of the resource referred to.'),
    name: doc(S.dnsLabel, '`metadata.name` of the resource referred to.'),
  } satisfies Record<keyof ObjectRef, unknown>,
};

export const dependsOnSchema: JSONSchemaType<ObjectRef[]> = {
  type: 'array',
  items: refSchema,
  uniqueItems: true,
  description:
    'Resources that must exist and be Ready before this one is created or changed, on top of the implicit ones (`source.template`, `source.guest`, a CA\'s `host`). ' +
    'A reference to a missing resource or a cycle is an error.',
};

export const startupSchema: JSONSchemaType<Startup> = {
  type: 'object',
  description: 'Start and shutdown order when the node boots or shuts down (the `startup` option, `order=N,up=N,down=N`); applies to guests with `onboot`. At least one field.',
  required: [],
  additionalProperties: false,
  properties: {
    order: opt(doc({ type: 'integer', minimum: 0, maximum: 999999 }, 'Position in the start order (`order=`): lower numbers start first and shut down last.')),
    up: opt(doc({ type: 'integer', minimum: 0, maximum: 86400 }, 'Seconds Proxmox waits after starting this guest before it starts the next one (`up=`).')),
    down: opt(doc({ type: 'integer', minimum: 0, maximum: 86400 }, 'Seconds Proxmox waits for this guest to shut down cleanly before it moves on (`down=`).')),
  } satisfies Record<keyof Startup, unknown>,
};

export const volumeSchema: JSONSchemaType<Volume> = {
  type: 'object',
  required: ['storage', 'size'],
  additionalProperties: false,
  properties: {
    storage: doc(S.storage, 'Proxmox storage the volume is allocated on (a storage id from Datacenter > Storage that holds container or disk images, e.g. `local-lvm`).'),
    size: doc(S.diskSize, 'Size of the volume (whole GiB are allocated). A larger size is applied with `resize`; phoenix never shrinks a volume.'),
  } satisfies Record<keyof Volume, unknown>,
};

export const lxcNetworkSchema: JSONSchemaType<LxcNetwork> = {
  type: 'object',
  description: 'One container network interface; the list position N is the `netN` option (`name=...,bridge=...,ip=...`).',
  required: ['name', 'bridge'],
  additionalProperties: false,
  properties: {
    name: doc(S.ifname, 'Interface name inside the container (`name=`), e.g. `eth0`.'),
    bridge: doc(S.bridge, 'Bridge on the Proxmox node the interface is plugged into (`bridge=`), e.g. `vmbr0`.'),
    ip: opt(doc(S.lxcIp, 'IPv4 address with prefix length, or `dhcp`, or `manual` to leave it to the container (`ip=`).')),
    gw: opt(doc(S.ipv4, 'IPv4 default gateway (`gw=`).')),
    ip6: opt(doc(S.lxcIp6, 'IPv6 address with prefix length, `dhcp`, `auto` (SLAAC) or `manual` (`ip6=`).')),
    gw6: opt(doc(S.ipv6, 'IPv6 default gateway (`gw6=`).')),
    hwaddr: opt(doc(S.mac, 'MAC address (`hwaddr=`). Left out, Proxmox generates one and phoenix keeps it.')),
    tag: opt(doc(S.vlan, 'VLAN tag of the interface (`tag=`).')),
    firewall: opt(doc(S.bool, "Filter this interface with the guest's Proxmox firewall (`firewall=1`); `spec.firewall` rules apply only to such interfaces.")),
    mtu: opt(doc(S.mtu, 'MTU of the interface (`mtu=`).')),
    rate: opt(doc(S.rate, 'Bandwidth limit in MB/s (`rate=`).')),
  } satisfies Record<keyof LxcNetwork, unknown>,
};

export const VM_NET_MODELS = ['virtio', 'e1000', 'e1000e', 'rtl8139', 'vmxnet3'] as const;

export const vmNetworkSchema: JSONSchemaType<VmNetwork> = {
  type: 'object',
  description: 'One VM network device; the list position N is the `netN` option (`virtio=MAC,bridge=...`).',
  required: ['bridge'],
  additionalProperties: false,
  properties: {
    model: opt(doc({ type: 'string', enum: [...VM_NET_MODELS] }, 'Emulated NIC model (the model key of `netN`); `virtio` when left out.')),
    bridge: doc(S.bridge, 'Bridge on the Proxmox node the device is plugged into (`bridge=`), e.g. `vmbr0`.'),
    hwaddr: opt(doc(S.mac, 'MAC address (the value of the model key, `macaddr`). Left out, Proxmox generates one and phoenix keeps it.')),
    tag: opt(doc(S.vlan, 'VLAN tag of the device (`tag=`).')),
    firewall: opt(doc(S.bool, "Filter this device with the guest's Proxmox firewall (`firewall=1`); `spec.firewall` rules apply only to such devices.")),
    mtu: opt(doc({ type: 'integer', minimum: 1, maximum: 65520 }, 'MTU of the device (`mtu=`, virtio only); `1` uses the MTU of the bridge.')),
    rate: opt(doc(S.rate, 'Bandwidth limit in MB/s (`rate=`).')),
  } satisfies Record<keyof VmNetwork, unknown>,
};

export const featuresSchema: JSONSchemaType<LxcFeatures> = {
  type: 'object',
  description: 'Extra container capabilities (the `features` option, e.g. `nesting=1,keyctl=1`).',
  required: [],
  additionalProperties: false,
  properties: {
    nesting: opt(doc(S.bool, 'Allow nested containers and the /proc and /sys access recent systemd and Docker need (`nesting=1`).')),
    keyctl: opt(doc(S.bool, 'Allow the keyctl() system call (`keyctl=1`), which Docker needs; unprivileged containers only.')),
    fuse: opt(doc(S.bool, 'Allow FUSE file systems inside the container (`fuse=1`).')),
    mknod: opt(doc(S.bool, 'Allow mknod() of permitted device nodes (`mknod=1`; experimental in Proxmox).')),
    mount: opt(doc({ type: 'array', items: S.fsType, uniqueItems: true }, 'File system types the container may mount itself (`mount=nfs;cifs`).')),
  } satisfies Record<keyof LxcFeatures, unknown>,
};

export const mountPointSchema: JSONSchemaType<MountPoint> = {
  type: 'object',
  description:
    'One container mount point; the list position N is the `mpN` option. Exactly one of `volume` (a new volume) or `hostPath` (a bind mount).',
  required: ['path'],
  additionalProperties: false,
  properties: {
    path: doc(S.absPath, 'Where it is mounted inside the container (`mp=`).'),
    volume: opt(doc(volumeSchema, 'A new volume for this mount point (`mpN: STORAGE:SIZE,mp=PATH`).')),
    hostPath: opt(
      doc(
        S.absPath,
        'A directory on the node to bind-mount (`mpN: /host/dir,mp=PATH`). It must lie under a directory the operator allows with `--allow-host-path`, and Proxmox lets only root@pam create bind mounts, not an API token (docs/real-proxmox.md).',
      ),
    ),
    readOnly: opt(doc(S.bool, 'Mount read-only (`ro=1`).')),
    backup: opt(doc(S.bool, 'Include the volume in vzdump backups (`backup=1`); volume mount points only.')),
  } satisfies Record<keyof MountPoint, unknown>,
};

const POLICY = ['ACCEPT', 'DROP', 'REJECT'] as const;

export const firewallRuleSchema: JSONSchemaType<FirewallRule> = {
  type: 'object',
  description: 'One guest firewall rule (as `POST .../firewall/rules` takes it); rules are matched in list order.',
  required: ['type', 'action'],
  additionalProperties: false,
  properties: {
    type: doc({ type: 'string', enum: ['in', 'out'] } as const, 'Direction of the traffic the rule matches (`type`).'),
    action: doc({ type: 'string', enum: POLICY } as const, 'What happens to matching packets (`action`).'),
    proto: opt(doc(S.proto, 'IP protocol (`proto`): a name from /etc/protocols or its number.')),
    source: opt(doc(S.fwAddr, 'Source address to match (`source`); any when left out.')),
    dest: opt(doc(S.fwAddr, 'Destination address to match (`dest`); any when left out.')),
    dport: opt(doc(S.ports, 'Destination port(s) to match (`dport`); needs `proto` tcp or udp.')),
    sport: opt(doc(S.ports, 'Source port(s) to match (`sport`); needs `proto` tcp or udp.')),
    iface: opt(doc(S.fwIface, 'Guest interface the rule is limited to (`iface`); all when left out.')),
    comment: opt(doc(S.freeText, 'Comment shown with the rule in Proxmox (`comment`).')),
    enable: opt(doc(S.bool, 'Whether the rule is active (`enable`); `true` when left out.')),
  } satisfies Record<keyof FirewallRule, unknown>,
};

export const firewallSchema: JSONSchemaType<Firewall> = {
  type: 'object',
  description: "The guest's Proxmox firewall: its options (`.../firewall/options`) and, when `rules` is given, its whole rule list. Left out, phoenix leaves the firewall alone.",
  required: [],
  additionalProperties: false,
  properties: {
    enabled: opt(doc(S.bool, 'Turn the guest firewall on (`enable` option); on unless this is `false`. Interfaces still need `firewall: true`.')),
    policyIn: opt(doc({ type: 'string', enum: [...POLICY] }, 'Policy for incoming traffic no rule matched (`policy_in`); Proxmox uses DROP when left out.')),
    policyOut: opt(doc({ type: 'string', enum: [...POLICY] }, 'Policy for outgoing traffic no rule matched (`policy_out`); Proxmox uses ACCEPT when left out.')),
    rules: opt(
      doc(
        { type: 'array', items: firewallRuleSchema },
        "The guest's rules, in order. When the live list differs, phoenix rewrites it to exactly this; left out, existing rules are not touched.",
      ),
    ),
  } satisfies Record<keyof Firewall, unknown>,
};

export const serviceSchema: JSONSchemaType<Service> = {
  type: 'object',
  description: 'A service the guest offers. With the controller\'s `--domain`, it gets the DNS name `<name>.<domain>` and, with `--traefik-file`, a Traefik route (docs/dns.md). Not sent to Proxmox.',
  required: ['name', 'port'],
  additionalProperties: false,
  properties: {
    name: doc(S.dnsLabel, 'Service name; the DNS name is `<name>.<domain>`.'),
    port: doc(S.port, 'Port the service listens on inside the guest.'),
    protocol: opt(doc({ type: 'string', enum: ['http', 'https', 'tcp', 'udp'] }, 'How Traefik routes to it: an HTTP router for http/https, a TCP or UDP router otherwise; `http` when left out.')),
    path: opt(doc(S.urlPath, 'Path prefix the HTTP route matches (`PathPrefix`); the whole host when left out.')),
    tls: opt(doc(S.bool, "Terminate TLS at Traefik with a certificate from the fleet's CA.")),
  } satisfies Record<keyof Service, unknown>,
};

export const sourceSchema: JSONSchemaType<GuestSource> = {
  type: 'object',
  description:
    "Where the guest comes from, exactly one of: `template` (clone a Template resource), `guest` with `snapshot` (clone another guest at a snapshot), or `ostemplate` (create a container from a template archive). " +
    'Used only when the guest is created; the source is an implicit dependency.',
  required: [],
  additionalProperties: false,
  properties: {
    template: opt(doc(S.dnsLabel, 'Name of a Template resource of the same guest type to clone (`pct clone` / `qm clone` of its vmid).')),
    guest: opt(doc(S.dnsLabel, 'Name of another resource of the same kind (an LxcContainer for a container, a VirtualMachine for a VM) to clone at `snapshot`; always a full clone.')),
    snapshot: opt(doc(S.snapshot, 'Snapshot of `guest` to clone from (`snapname`); phoenix takes it first if it is missing.')),
    ostemplate: opt(doc(S.vztmpl, 'Containers only: the template archive to create from (`pct create --ostemplate`).')),
    full: opt(
      doc(
        S.bool,
        'Full clone (`full=1`) instead of a linked clone. Default: a container cloned from a Template is linked when its storage allows it, a VM is full, and a clone of an ordinary guest is always full.',
      ),
    ),
    storage: opt(doc(S.storage, 'Target storage of a full clone (`storage`); the source\'s storage when left out.')),
  } satisfies Record<keyof GuestSource, unknown>,
};

export const vmDiskSchema: JSONSchemaType<VmDisk> = {
  type: 'object',
  description: 'A VM disk: the `scsiN`/`virtioN`/`sataN`/`ideN` option (`STORAGE:SIZE`). A disk the clone already has is grown to `size`, never shrunk; a new slot gets a new disk.',
  required: ['slot', 'storage', 'size'],
  additionalProperties: false,
  properties: {
    slot: doc(S.vmSlot, 'Bus and index of the disk, the config key (`scsi0`, `virtio1`, ...).'),
    storage: doc(S.storage, 'Proxmox storage that holds the disk image, e.g. `local-lvm`.'),
    size: doc(S.diskSize, 'Size of the disk; phoenix grows it with `resize` and never shrinks it.'),
  } satisfies Record<keyof VmDisk, unknown>,
};

export const ipConfigSchema: JSONSchemaType<CloudInitIpConfig> = {
  type: 'object',
  description: 'Addresses of one network device for cloud-init; the list position N is `ipconfigN` and belongs to `netN`.',
  required: [],
  additionalProperties: false,
  properties: {
    ip: opt(doc(S.ciIp, 'IPv4 address with prefix length, or `dhcp` (`ip=`).')),
    gw: opt(doc(S.ipv4, 'IPv4 default gateway (`gw=`).')),
    ip6: opt(doc(S.ciIp6, 'IPv6 address with prefix length, `dhcp` or `auto` (`ip6=`).')),
    gw6: opt(doc(S.ipv6, 'IPv6 default gateway (`gw6=`).')),
  } satisfies Record<keyof CloudInitIpConfig, unknown>,
};

export const cloudInitSchema: JSONSchemaType<CloudInit> = {
  type: 'object',
  description: "Proxmox's cloud-init settings (the Cloud-Init tab): phoenix sets them and regenerates the drive (`PUT .../cloudinit`); a running VM reads them at its next boot.",
  required: [],
  additionalProperties: false,
  properties: {
    user: opt(doc(S.unixUser, 'User cloud-init creates, with the SSH keys (`ciuser`).')),
    sshKeys: opt(doc({ type: 'array', items: S.sshKey, uniqueItems: true }, 'OpenSSH public keys authorised for `user` (`sshkeys`), one key per item.')),
    ipConfig: opt(doc({ type: 'array', items: ipConfigSchema, maxItems: 32 }, 'Addresses per network device, in the order of the devices (`ipconfig0`, `ipconfig1`, ...).')),
    nameserver: opt(doc(S.ip, 'DNS server written into the guest (`nameserver`); the node\'s when left out.')),
    searchdomain: opt(doc(S.hostname, 'DNS search domain written into the guest (`searchdomain`); the node\'s when left out.')),
    upgrade: opt(doc(S.bool, 'Upgrade packages on first boot (`ciupgrade`).')),
  } satisfies Record<keyof CloudInit, unknown>,
};

export const LXC_OSTYPES = ['debian', 'devuan', 'ubuntu', 'centos', 'fedora', 'opensuse', 'archlinux', 'alpine', 'gentoo', 'nixos', 'unmanaged'];
export const VM_OSTYPES = ['other', 'wxp', 'w2k', 'w2k3', 'w2k8', 'wvista', 'win7', 'win8', 'win10', 'win11', 'l24', 'l26', 'solaris'];

const SIZE_MIB = 268435456;

/** The properties every guest kind shares (GuestCommon), as schema fragments. */
export const guestCommonProperties = {
  vmid: doc(S.vmid, 'Proxmox VMID of the guest (`vmid`), unique in the cluster. A guest found at this vmid without phoenix\'s marker is left alone (see `adopt`).'),
  node: opt(
    doc(
      S.nodeName,
      'Node to place the guest on (`/nodes/{node}`). Left out, a new guest goes to the online node with the most free memory (a clone to its source\'s node); the choice is kept in `status.node`.',
    ),
  ),
  cores: opt(doc({ type: 'integer' as const, minimum: 1, maximum: 8192 }, 'CPU cores (`cores`; `pct set --cores` / `qm set --cores`).', { default: 1 })),
  memory: opt(
    doc(
      { type: 'integer' as const, minimum: 16, maximum: SIZE_MIB },
      'Memory in MiB (`memory`; `pct set --memory` / `qm set --memory`). Default 512 for containers and LXC templates, 2048 for VMs and VM templates.',
    ),
  ),
  onboot: opt(doc(S.bool, 'Start the guest when the node boots (`onboot`).')),
  startup: opt(startupSchema),
  tags: opt(
    doc(
      { type: 'array' as const, items: S.tag, uniqueItems: true as const },
      'Proxmox tags (`tags`). phoenix adds its own tag `phoenix` to every guest it manages.',
    ),
  ),
  description: opt(doc(S.freeText, 'Notes shown in the guest\'s Summary (`description`). phoenix appends a last line `managed-by: phoenix <Kind>/<name>`, its ownership marker.')),
  firewall: opt(firewallSchema),
  dependsOn: opt(dependsOnSchema),
};

/** The properties LxcContainer and VirtualMachine share beyond GuestCommon (guests that run). */
export const runningGuestProperties = {
  powerState: opt(doc({ type: 'string', enum: ['running', 'stopped'] }, 'Power state phoenix keeps the guest in: start, or shut down cleanly (forced after 120 s).', { default: 'running' })),
  restartPolicy: opt(
    doc(
      { type: 'string', enum: ['Never', 'IfRequired'] },
      'Whether phoenix may reboot the guest to apply changes Proxmox applies only at the next start (pending changes). `Never`: report them with the RestartRequired condition.',
      { default: 'Never' },
    ),
  ),
  services: opt(doc({ type: 'array', items: serviceSchema }, 'Services the guest offers: DNS names and Traefik routes (docs/dns.md).')),
  adopt: opt(doc(S.bool, "Take over a guest found at this vmid that does not carry phoenix's marker (phoenix then writes the marker); without it such a guest is never touched.")),
  allowReplace: opt(
    doc(S.bool, 'Allow phoenix to destroy and recreate the guest when a change cannot be made in place (a container\'s `unprivileged`); without it the resource stops with ReplaceRequired.'),
  ),
};

/** Builds the whole-manifest schema of a kind around its spec schema. */
export function manifestSchema<K extends string, Spec>(kind: K, spec: JSONSchemaType<Spec>, description: string) {
  return {
    type: 'object' as const,
    description,
    required: ['apiVersion', 'kind', 'metadata', 'spec'] as const,
    additionalProperties: false as const,
    properties: {
      apiVersion: { type: 'string' as const, const: API_VERSION, description: 'Version of the phoenix resource model the manifest is written for.' },
      kind: { type: 'string' as const, const: kind, description: 'The kind of resource; decides which fields `spec` takes.' },
      metadata: metadataSchema,
      spec: { ...spec, description: `The desired state of the ${kind}: phoenix converges Proxmox to it.` },
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
