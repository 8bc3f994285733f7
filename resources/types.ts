// The phoenix resource model: TypeScript types for every kind.
// Each kind's JSON Schema (resources/<kind>.ts) is typed as JSONSchemaType<Spec> against these
// interfaces, so the schema and the types cannot drift apart. Every field maps 1:1 onto a Proxmox VE
// API parameter (named in the comments); values that could not be sent as a valid Proxmox property
// string are rejected by the schemas, never sent.

export const API_VERSION = 'phoenix.hypervisor/v1alpha1' as const;

export type Kind = 'Template' | 'LxcContainer' | 'VirtualMachine' | 'CertificateAuthority';
export const KINDS: readonly Kind[] = ['Template', 'LxcContainer', 'VirtualMachine', 'CertificateAuthority'];

export interface ObjectMeta {
  /** DNS-1123 label: lowercase alphanumerics and '-', at most 63 characters. */
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Set by the controller: increases by one each time the spec changes. Never written in manifests. */
  generation?: number;
}

export interface ObjectRef {
  kind: Kind;
  name: string;
}

/** Power state the controller keeps the guest in. */
export type PowerState = 'running' | 'stopped';

/** Proxmox `startup`: order=N,up=N,down=N */
export interface Startup {
  order?: number;
  up?: number;
  down?: number;
}

/** A disk size as Proxmox writes it: a positive integer with a unit, e.g. "16G", "512M", "1T". */
export type DiskSize = string;

/** A volume on a Proxmox storage: LXC `rootfs`/`mpN` volume, QEMU `scsiN` etc. */
export interface Volume {
  storage: string;
  size: DiskSize;
}

/** LXC `netN`: name=eth0,bridge=vmbr0,ip=...,gw=...,hwaddr=...,tag=...,firewall=1,mtu=...,rate=... */
export interface LxcNetwork {
  name: string;
  bridge: string;
  /** IPv4 CIDR (10.0.0.10/24), "dhcp" or "manual". */
  ip?: string;
  gw?: string;
  /** IPv6 CIDR, "dhcp", "auto" or "manual". */
  ip6?: string;
  gw6?: string;
  hwaddr?: string;
  tag?: number;
  firewall?: boolean;
  mtu?: number;
  rate?: number;
}

/** QEMU `netN`: model=virtio,bridge=vmbr0,macaddr=...,tag=...,firewall=1 */
export interface VmNetwork {
  model?: 'virtio' | 'e1000' | 'e1000e' | 'rtl8139' | 'vmxnet3';
  bridge: string;
  hwaddr?: string;
  tag?: number;
  firewall?: boolean;
  mtu?: number;
  rate?: number;
}

/** LXC `features`: nesting=1,keyctl=1,fuse=1,mount=nfs;cifs */
export interface LxcFeatures {
  nesting?: boolean;
  keyctl?: boolean;
  fuse?: boolean;
  mknod?: boolean;
  mount?: string[];
}

/** LXC `mpN`: a new volume on a storage, or a bind mount of a host path (mp=/path/in/ct). */
export interface MountPoint {
  /** Path inside the container. */
  path: string;
  /** A new volume: storage and size. Exactly one of volume / hostPath. */
  volume?: Volume;
  /** A bind mount of a host directory (must lie under a directory the operator allows). */
  hostPath?: string;
  readOnly?: boolean;
  backup?: boolean;
}

/** A guest firewall rule: POST /nodes/{node}/{lxc|qemu}/{vmid}/firewall/rules */
export interface FirewallRule {
  type: 'in' | 'out';
  action: 'ACCEPT' | 'DROP' | 'REJECT';
  proto?: string;
  source?: string;
  dest?: string;
  /** dport: a port, a range a:b, or a comma list. */
  dport?: string;
  sport?: string;
  iface?: string;
  comment?: string;
  enable?: boolean;
}

/** Guest firewall options (firewall/options) and rules. */
export interface Firewall {
  enabled?: boolean;
  policyIn?: 'ACCEPT' | 'DROP' | 'REJECT';
  policyOut?: 'ACCEPT' | 'DROP' | 'REJECT';
  rules?: FirewallRule[];
}

/** A service a guest exposes, for DNS records and Traefik routes. */
export interface Service {
  /** DNS-1123 label; becomes <name>.<internal domain>. */
  name: string;
  port: number;
  protocol?: 'http' | 'https' | 'tcp' | 'udp';
  path?: string;
  /** Terminate TLS at the mesh with a certificate from the fleet's CA. */
  tls?: boolean;
}

/**
 * Where a guest comes from. Exactly one of:
 * - template: the name of a Template resource of the same guest type (clone; linked or full);
 * - guest + snapshot: another guest of the same type, cloned at a named snapshot (phoenix ensures it);
 * - ostemplate (LXC only): a vztmpl volume id, e.g. local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst.
 */
export interface GuestSource {
  template?: string;
  guest?: string;
  snapshot?: string;
  ostemplate?: string;
  /** Full clone (default: true for VirtualMachine; LXC: linked when the source is a template and the storage allows). */
  full?: boolean;
  /** Target storage of a full clone. */
  storage?: string;
}

/** What phoenix may do to apply changes that Proxmox only applies after a restart. */
export type RestartPolicy = 'Never' | 'IfRequired';

/** Fields shared by LxcContainer, VirtualMachine and Template specs. */
export interface GuestCommon {
  vmid: number;
  /** Node to place the guest on; omitted: the allowed node with the most free memory, chosen once. */
  node?: string;
  cores?: number;
  /** MiB */
  memory?: number;
  onboot?: boolean;
  startup?: Startup;
  tags?: string[];
  description?: string;
  firewall?: Firewall;
  dependsOn?: ObjectRef[];
}

export interface LxcContainerSpec extends GuestCommon {
  hostname?: string;
  source: GuestSource;
  /** MiB */
  swap?: number;
  rootfs: Volume;
  mountPoints?: MountPoint[];
  networks?: LxcNetwork[];
  nameserver?: string;
  searchdomain?: string;
  features?: LxcFeatures;
  unprivileged?: boolean;
  ostype?: string;
  powerState?: PowerState;
  restartPolicy?: RestartPolicy;
  services?: Service[];
  /** Take over a guest found at this vmid without phoenix's marker. */
  adopt?: boolean;
  /** Allow replacing (destroy + recreate) the guest when a change cannot be applied in place. */
  allowReplace?: boolean;
}

export interface CloudInitIpConfig {
  /** IPv4 CIDR or "dhcp". */
  ip?: string;
  gw?: string;
  ip6?: string;
  gw6?: string;
}

export interface CloudInit {
  user?: string;
  sshKeys?: string[];
  ipConfig?: CloudInitIpConfig[];
  nameserver?: string;
  searchdomain?: string;
  upgrade?: boolean;
}

export interface VmDisk {
  /** e.g. scsi0, virtio0, sata0 */
  slot: string;
  storage: string;
  size: DiskSize;
}

export interface VirtualMachineSpec extends GuestCommon {
  source: GuestSource;
  sockets?: number;
  cpu?: string;
  balloon?: number;
  /** Disks; for a clone, the cloned disk in the same slot is resized (grow only). */
  disks?: VmDisk[];
  networks?: VmNetwork[];
  cloudInit?: CloudInit;
  agent?: boolean;
  ostype?: string;
  powerState?: PowerState;
  restartPolicy?: RestartPolicy;
  services?: Service[];
  adopt?: boolean;
  allowReplace?: boolean;
}

/** A Proxmox template: an LXC from an ostemplate, or a VM from a cloud image; never started. */
export interface TemplateSpec extends GuestCommon {
  type: 'lxc' | 'qemu';
  /** lxc: the vztmpl volume id. */
  ostemplate?: string;
  /** qemu: the image to import, a volume id such as local:import/noble-server-cloudimg-amd64.img. */
  image?: string;
  /** lxc: the root disk (required for lxc). */
  rootfs?: Volume;
  /** qemu: the slot, storage and size of the imported disk (required for qemu). */
  disk?: VmDisk;
  swap?: number;
  unprivileged?: boolean;
  features?: LxcFeatures;
  lxcNetworks?: LxcNetwork[];
  vmNetworks?: VmNetwork[];
  nameserver?: string;
  searchdomain?: string;
  cloudInit?: CloudInit;
  ostype?: string;
  agent?: boolean;
  adopt?: boolean;
}

export type KeyAlgorithm = 'ECDSA-P256' | 'ECDSA-P384' | 'RSA-2048' | 'RSA-4096';

export interface CaSubject {
  commonName: string;
  organization?: string;
  /** Go-style duration: 87600h, 30d is not Go; use h/m/s (e.g. "87600h"). */
  validity?: string;
}

export interface CertificateOutput {
  /** Paths must lie under a directory the operator allows (--cert-dir). */
  certFile: string;
  keyFile: string;
  chainFile?: string;
  /** Octal string, e.g. "0640". */
  mode?: string;
  owner?: number;
  group?: number;
}

export interface AfterRenewal {
  /** The guest to run the command in (VM: guest agent; LXC: host `pct exec`, only with --allow-host-commands). */
  guest: ObjectRef;
  command: string[];
}

export interface CertificateSpec {
  /** DNS-1123 label; the certificate's name in status and metrics. */
  name: string;
  commonName: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  /** Go-style duration, default "24h". */
  duration?: string;
  /** Default: one third of duration. */
  renewBefore?: string;
  keyAlgorithm?: KeyAlgorithm;
  output: CertificateOutput;
  afterRenewal?: AfterRenewal;
}

export interface EmbeddedCa {
  keyAlgorithm?: KeyAlgorithm;
  root: CaSubject;
  intermediate: CaSubject;
  /** Where the root certificate is also written, for guests to trust through a bind mount. */
  rootCertPath?: string;
}

export interface StepCa {
  url: string;
  /** SHA-256 fingerprint of the root certificate, hex. */
  rootFingerprint: string;
  provisioner: string;
  /** JWK provisioner private key (JWE-encrypted or plain JWK) file, and its password file. */
  provisionerKeyFile?: string;
  passwordFile?: string;
}

export interface CertificateAuthoritySpec {
  backend?: 'embedded' | 'step-ca';
  /** The guest that hosts the CA service; an implicit dependency. */
  host?: ObjectRef;
  embedded?: EmbeddedCa;
  stepCa?: StepCa;
  certificates?: CertificateSpec[];
  dependsOn?: ObjectRef[];
}

export interface ResourceBase<K extends Kind, S> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
}

export type Template = ResourceBase<'Template', TemplateSpec>;
export type LxcContainer = ResourceBase<'LxcContainer', LxcContainerSpec>;
export type VirtualMachine = ResourceBase<'VirtualMachine', VirtualMachineSpec>;
export type CertificateAuthority = ResourceBase<'CertificateAuthority', CertificateAuthoritySpec>;
export type AnyResource = Template | LxcContainer | VirtualMachine | CertificateAuthority;
export type GuestResource = Template | LxcContainer | VirtualMachine;

/** Where a resource came from, for error reporting. */
export interface SourceLocation {
  file: string;
  /** 1-based line and column of the document's start. */
  line: number;
  col: number;
}

/** A resource as loaded: the object plus where it was declared. */
export interface LoadedResource<R extends AnyResource = AnyResource> {
  resource: R;
  source: SourceLocation;
}

// ---------------------------------------------------------------------------------------------
// Status (written by the controller; read by the HTTP API and phoenixctl)

export type ConditionStatus = 'True' | 'False' | 'Unknown';
export type ConditionType = 'Ready' | 'Reconciling' | 'Stalled' | 'Conflict' | 'RestartRequired' | string;

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface TaskRef {
  upid: string;
  node: string;
  type: string;
  startedAt: string;
  /** What the task does for the resource (create, clone, start, ...), so a restart can resume it. */
  step: string;
}

export interface CertificateStatus {
  name: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  renewalTime: string;
  sha256Fingerprint: string;
}

export interface CaCertificateStatus {
  subject: string;
  sha256Fingerprint: string;
  notBefore: string;
  notAfter: string;
}

export interface ResourceStatus {
  observedGeneration?: number;
  conditions: Condition[];
  vmid?: number;
  node?: string;
  /** Live power state as last observed: running | stopped | unknown */
  powerState?: string;
  /** Template flag as observed. */
  template?: boolean;
  taskInFlight?: TaskRef;
  lastError?: string;
  /** Digest of the spec last applied (the reconcilers' change detection). */
  lastAppliedRevision?: string;
  /** Source revision (git commit) at which the resource was last applied, when following git. */
  sourceRevision?: string;
  lastReconcileTime?: string;
  /** Addresses for display (LXC static IP / VM cloud-init IP), and DNS names served. */
  addresses?: string[];
  dnsNames?: string[];
  /** CertificateAuthority */
  caCertificates?: CaCertificateStatus[];
  certificates?: CertificateStatus[];
}

export type EventType = 'Normal' | 'Warning';

export interface PhoenixEvent {
  type: EventType;
  reason: string;
  message: string;
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  /** Component that emitted it, e.g. "lxccontainer-controller". */
  source: string;
}
