// pvesim's own definitions of the parameters of every endpoint it emulates, checked with the semantics
// of Proxmox VE's JSONSchema: validateRequest() gives the `errors` object a real node answers with
// (HTTP 400 "Parameter verification failed."), or nothing when the request is valid.
import { bool, fmt, int, need, num, oneOf, pat, str } from './build.js';
import { FORMATS } from './formats.js';
import { LXC_CONFIG, LXC_CREATE, LXC_DEV, LXC_DISKS, LXC_FEATURES, LXC_MP, LXC_NET, LXC_ROOTFS, LXC_UNUSED } from './lxc.js';
import { QEMU_AGENT, QEMU_CONFIG, QEMU_CREATE, QEMU_DISKS, QEMU_DRIVE, QEMU_EFIDISK, QEMU_MEMORY, QEMU_NET, QEMU_TPMSTATE } from './qemu.js';
import type { Errors, FormatRegistry, PropFormat, Schema } from './schema.js';
import { Checker } from './schema.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
type Params = Record<string, Schema>;

// ---- shared parameters -------------------------------------------------------------------------------
const vmidSchema = (x: Partial<Schema> = {}): Schema => int(100, 999999999, { format: 'pve-vmid', ...x });
const NODE: Params = { node: need(fmt('pve-node')) };
const GUEST: Params = { ...NODE, vmid: need(vmidSchema()) };
const DIGEST = str({ maxLength: 40 });
const FW_DIGEST = str({ maxLength: 64 });
const SKIPLOCK = bool();
const SNAPNAME = fmt('pve-configid', { maxLength: 40 });
const CONFIGID_LIST = fmt('pve-configid-list');
const TIMEOUT = int(0);
const LOG_LEVELS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug', 'nolog'];

const FW_RULE: Params = {
  action: pat('[A-Za-z][A-Za-z0-9\\-\\_]+', { minLength: 2, maxLength: 20 }),
  comment: str(),
  dest: fmt('pve-fw-addr-spec', { maxLength: 512 }),
  digest: FW_DIGEST,
  dport: fmt('pve-fw-dport-spec'),
  enable: int(0),
  'icmp-type': fmt('pve-fw-icmp-type-spec'),
  iface: fmt('pve-iface', { minLength: 2, maxLength: 20 }),
  log: oneOf(LOG_LEVELS),
  macro: str({ maxLength: 128 }),
  pos: int(0),
  proto: fmt('pve-fw-protocol-spec'),
  source: fmt('pve-fw-addr-spec', { maxLength: 512 }),
  sport: fmt('pve-fw-sport-spec'),
  type: oneOf(['in', 'out', 'forward', 'group']),
};
const FW_OPTIONS: Params = {
  delete: CONFIGID_LIST,
  dhcp: bool({ default: 0 }),
  digest: FW_DIGEST,
  enable: bool({ default: 0 }),
  ipfilter: bool(),
  log_level_in: oneOf(LOG_LEVELS),
  log_level_out: oneOf(LOG_LEVELS),
  macfilter: bool({ default: 1 }),
  ndp: bool({ default: 1 }),
  policy_in: oneOf(['ACCEPT', 'REJECT', 'DROP']),
  policy_out: oneOf(['ACCEPT', 'REJECT', 'DROP']),
  radv: bool(),
};

const CLONE: Params = {
  description: str(),
  full: bool(),
  newid: need(vmidSchema()),
  pool: fmt('pve-poolid'),
  snapname: SNAPNAME,
  storage: fmt('pve-storage-id'),
  target: fmt('pve-node'),
};

/** The endpoints both guest kinds share, below /nodes/{node}/{kind}/{vmid}. */
function guestEndpoints(kind: 'lxc' | 'qemu'): Array<[Method, string, Params]> {
  const b = `/nodes/{node}/${kind}/{vmid}`;
  return [
    ['GET', `${b}/config`, { ...GUEST, current: bool({ default: 0 }), snapshot: SNAPNAME }],
    ['GET', `${b}/pending`, GUEST],
    ['GET', `${b}/status/current`, GUEST],
    ['GET', `${b}/snapshot`, GUEST],
    ['DELETE', `${b}/snapshot/{snapname}`, { ...GUEST, force: bool(), snapname: need(SNAPNAME) }],
    ['GET', `${b}/firewall/rules`, GUEST],
    ['POST', `${b}/firewall/rules`, { ...GUEST, ...FW_RULE, action: need(FW_RULE.action!), type: need(FW_RULE.type!) }],
    ['GET', `${b}/firewall/rules/{pos}`, { ...GUEST, pos: FW_RULE.pos! }],
    ['PUT', `${b}/firewall/rules/{pos}`, { ...GUEST, ...FW_RULE, delete: CONFIGID_LIST, moveto: int(0) }],
    ['DELETE', `${b}/firewall/rules/{pos}`, { ...GUEST, pos: FW_RULE.pos!, digest: FW_DIGEST }],
    ['GET', `${b}/firewall/options`, GUEST],
    ['PUT', `${b}/firewall/options`, { ...GUEST, ...FW_OPTIONS }],
  ];
}

const LXC = '/nodes/{node}/lxc';
const QEMU = '/nodes/{node}/qemu';
const MACHINE = QEMU_CONFIG['machine']!;

const TABLE: Array<[Method, string, Params]> = [
  ['POST', '/access/ticket', {
    'new-format': bool({ default: 1 }),
    otp: str(),
    password: need(str()),
    path: str({ maxLength: 64, requires: 'privs' }),
    privs: fmt('pve-priv-list', { maxLength: 64, requires: 'path' }),
    realm: fmt('pve-realm', { maxLength: 32 }),
    'tfa-challenge': str(),
    username: need(str({ maxLength: 64 })),
  }],
  ['GET', '/version', {}],
  ['GET', '/nodes', {}],
  ['GET', '/nodes/{node}/status', NODE],
  ['GET', '/cluster/resources', { type: oneOf(['vm', 'storage', 'node', 'sdn']) }],
  ['GET', '/cluster/nextid', { vmid: vmidSchema({ optional: true }) }],
  ['GET', '/cluster/status', {}],

  // LXC
  ['GET', LXC, NODE],
  ['POST', LXC, { ...GUEST, ...LXC_CONFIG, ...LXC_CREATE }],
  ['DELETE', `${LXC}/{vmid}`, { ...GUEST, 'destroy-unreferenced-disks': bool(), force: bool({ default: 0 }), purge: bool({ default: 0 }) }],
  ['PUT', `${LXC}/{vmid}/config`, { ...GUEST, ...LXC_CONFIG, delete: CONFIGID_LIST, revert: CONFIGID_LIST, digest: DIGEST }],
  ['POST', `${LXC}/{vmid}/status/start`, { ...GUEST, debug: bool({ default: 0 }), skiplock: SKIPLOCK }],
  ['POST', `${LXC}/{vmid}/status/stop`, { ...GUEST, 'overrule-shutdown': bool({ default: 0 }), skiplock: SKIPLOCK }],
  ['POST', `${LXC}/{vmid}/status/shutdown`, { ...GUEST, forceStop: bool({ default: 0 }), timeout: int(0, undefined, { default: 60 }) }],
  ['POST', `${LXC}/{vmid}/status/reboot`, { ...GUEST, timeout: TIMEOUT }],
  ['POST', `${LXC}/{vmid}/clone`, { ...GUEST, ...CLONE, bwlimit: num(0), hostname: fmt('dns-name') }],
  ['POST', `${LXC}/{vmid}/template`, GUEST],
  ['PUT', `${LXC}/{vmid}/resize`, { ...GUEST, digest: DIGEST, disk: need(oneOf(LXC_DISKS)), size: need(pat('\\+?\\d+(\\.\\d+)?[KMGT]?')) }],
  ['POST', `${LXC}/{vmid}/snapshot`, { ...GUEST, description: str(), snapname: need(SNAPNAME) }],
  ...guestEndpoints('lxc'),

  // QEMU
  ['GET', QEMU, { ...NODE, full: bool() }],
  ['POST', QEMU, { ...GUEST, ...QEMU_CONFIG, ...QEMU_CREATE }],
  ['DELETE', `${QEMU}/{vmid}`, { ...GUEST, 'destroy-unreferenced-disks': bool({ default: 0 }), purge: bool(), skiplock: SKIPLOCK }],
  ['PUT', `${QEMU}/{vmid}/config`, {
    ...GUEST, ...QEMU_CONFIG, delete: CONFIGID_LIST, revert: CONFIGID_LIST, digest: DIGEST, skiplock: SKIPLOCK,
    force: bool({ requires: 'delete' }),
  }],
  ['POST', `${QEMU}/{vmid}/config`, {
    ...GUEST, ...QEMU_CONFIG, delete: CONFIGID_LIST, revert: CONFIGID_LIST, digest: DIGEST, skiplock: SKIPLOCK,
    force: bool({ requires: 'delete' }), background_delay: int(1, 30), 'import-working-storage': fmt('pve-storage-id'),
  }],
  ['POST', `${QEMU}/{vmid}/status/start`, {
    ...GUEST,
    'force-cpu': str(),
    machine: MACHINE,
    migratedfrom: fmt('pve-node'),
    migration_network: fmt('CIDR'),
    migration_type: oneOf(['secure', 'insecure']),
    'nets-host-mtu': pat('net\\d+=\\d+(,net\\d+=\\d+)*'),
    skiplock: SKIPLOCK,
    stateuri: str({ maxLength: 128 }),
    targetstorage: fmt('storage-pair-list'),
    timeout: TIMEOUT,
    'with-conntrack-state': bool({ default: 0 }),
  }],
  ['POST', `${QEMU}/{vmid}/status/stop`, {
    ...GUEST, keepActive: bool({ default: 0 }), migratedfrom: fmt('pve-node'), 'overrule-shutdown': bool({ default: 0 }),
    skiplock: SKIPLOCK, timeout: TIMEOUT,
  }],
  ['POST', `${QEMU}/{vmid}/status/shutdown`, { ...GUEST, forceStop: bool({ default: 0 }), keepActive: bool({ default: 0 }), skiplock: SKIPLOCK, timeout: TIMEOUT }],
  ['POST', `${QEMU}/{vmid}/status/reboot`, { ...GUEST, timeout: TIMEOUT }],
  ['POST', `${QEMU}/{vmid}/clone`, { ...GUEST, ...CLONE, bwlimit: int(0), format: oneOf(['raw', 'qcow2', 'vmdk']), name: fmt('dns-name') }],
  ['POST', `${QEMU}/{vmid}/template`, { ...GUEST, disk: oneOf(QEMU_DISKS) }],
  ['PUT', `${QEMU}/{vmid}/resize`, { ...GUEST, digest: DIGEST, disk: need(oneOf(QEMU_DISKS)), size: need(pat('\\+?\\d+(\\.\\d+)?[KMGT]?')), skiplock: SKIPLOCK }],
  ['POST', `${QEMU}/{vmid}/snapshot`, { ...GUEST, description: str(), snapname: need(SNAPNAME), vmstate: bool() }],
  ...guestEndpoints('qemu'),
  ['GET', `${QEMU}/{vmid}/cloudinit`, GUEST],
  ['PUT', `${QEMU}/{vmid}/cloudinit`, GUEST],
  ['POST', `${QEMU}/{vmid}/agent/exec`, { ...GUEST, command: need({ type: 'array', items: { type: 'string' } }), 'input-data': str({ maxLength: 65536 }) }],
  ['GET', `${QEMU}/{vmid}/agent/exec-status`, { ...GUEST, pid: need(int()) }],

  // storage and tasks
  ['GET', '/nodes/{node}/storage', {
    ...NODE, content: fmt('pve-storage-content-list'), enabled: bool({ default: 0 }), format: bool({ default: 0 }),
    storage: fmt('pve-storage-id'), target: fmt('pve-node'),
  }],
  ['GET', '/nodes/{node}/storage/{storage}/content', {
    ...NODE, content: fmt('pve-storage-content'), storage: need(fmt('pve-storage-id')), vmid: vmidSchema({ optional: true }),
  }],
  ['GET', '/nodes/{node}/tasks', {
    ...NODE,
    errors: bool({ default: 0 }),
    limit: int(0, undefined, { default: 50 }),
    since: int(),
    source: oneOf(['archive', 'active', 'all'], { default: 'archive' }),
    start: int(0, undefined, { default: 0 }),
    statusfilter: fmt('pve-task-status-type-list'),
    typefilter: str(),
    until: int(),
    userfilter: str(),
    vmid: vmidSchema({ optional: true }),
  }],
  ['GET', '/nodes/{node}/tasks/{upid}/status', { ...NODE, upid: need(str()) }],
  ['GET', '/nodes/{node}/tasks/{upid}/log', {
    ...NODE, download: bool(), limit: int(0, undefined, { default: 50 }), start: int(0, undefined, { default: 0 }), upid: need(str()),
  }],
];

const ENDPOINTS = new Map<string, Params>(TABLE.map(([m, p, params]) => [`${m} ${p}`, params]));

/** Every endpoint pvesim emulates (paths below /api2/json, `{name}` for path parameters). */
export const EMULATED_ENDPOINTS: Array<{ method: Method; path: string }> = TABLE.map(([method, path]) => ({ method, path }));

/** The parameter schemas of one endpoint, or undefined if pvesim does not emulate it. */
export function endpointParams(method: string, pathTemplate: string): Readonly<Params> | undefined {
  return ENDPOINTS.get(`${method.toUpperCase()} ${pathTemplate}`);
}

// `cdrom` is an IDE drive: its named format is the IDE drive's property string.
const REGISTRY: FormatRegistry = {
  code: FORMATS.code,
  hash: (name) => (name === 'pve-qm-ide' ? QEMU_DRIVE.ide : FORMATS.hash(name)),
  validator: FORMATS.validator,
};
const checker = new Checker(REGISTRY);

/**
 * Checks the parameters of one request (query/body parameters and the path parameters, all as the
 * strings they arrive as; a parameter given several times may be passed as string[], which is joined
 * with NUL as the PVE HTTP server does, or split into the items of an array parameter; a form field
 * sent empty (`key=`) reaches PVE's checks as undefined: pass it so). Returns `{ errors }` keyed by parameter, exactly as a Proxmox VE node would
 * put them in its 400 answer, or `{}` if the request is valid.
 */
export function validateRequest(method: string, pathTemplate: string, params: Record<string, string | string[] | undefined>): { errors?: Errors } {
  const schema = endpointParams(method, pathTemplate);
  if (!schema) throw new Error(`pvesim does not emulate ${method} ${pathTemplate}`);
  const errors: Errors = {};
  // the HTTP server drops ExtJS's cache-buster before the parameters are checked
  const { _dc: _cacheBuster, ...checked } = params;
  checker.checkObject('', schema, checked, errors);
  return Object.keys(errors).length > 0 ? { errors } : {};
}

/** Property-string formats by name, for parsePropertyString(): sub-keys, or a registered format's name. */
export const PROPERTY_FORMATS: Readonly<Record<string, PropFormat | string>> = {
  'lxc-net': LXC_NET,
  'lxc-rootfs': LXC_ROOTFS,
  'lxc-mp': LXC_MP,
  'lxc-features': LXC_FEATURES,
  'lxc-dev': LXC_DEV,
  'lxc-unused': LXC_UNUSED,
  'qemu-net': QEMU_NET,
  'qemu-ide': QEMU_DRIVE.ide,
  'qemu-sata': QEMU_DRIVE.sata,
  'qemu-scsi': QEMU_DRIVE.scsi,
  'qemu-virtio': QEMU_DRIVE.virtio,
  'qemu-efidisk': QEMU_EFIDISK,
  'qemu-tpmstate': QEMU_TPMSTATE,
  'qemu-memory': QEMU_MEMORY,
  'qemu-agent': QEMU_AGENT,
  ...Object.fromEntries(
    ['pve-qm-ipconfig', 'pve-qm-boot', 'pve-vm-cpu-conf', 'pve-qm-watchdog', 'pve-qm-rng', 'pve-qm-smbios1', 'pve-qm-cicustom', 'pve-qm-hostpci']
      .map((n) => [n.replace(/^pve-(qm-|vm-)?/, 'qemu-').replace(/-conf$/, ''), n]),
  ),
};

/**
 * Parses a property string (`name=eth0,bridge=vmbr0,ip=dhcp`) of a known format (`lxc-net`,
 * `lxc-rootfs`, `qemu-net`, `qemu-scsi`, `qemu-ipconfig`, `qemu-memory`, ... see PROPERTY_FORMATS)
 * into its keys, with aliases resolved (`virtio=MAC` gives model and macaddr) and booleans as 1/0.
 * Throws an Error whose message is the text PVE reports for an invalid value; sub-keys in it are named
 * `<key>.<subkey>` (key defaults to the format name; pass e.g. 'net0').
 */
export function parsePropertyString(format: string, value: string, key: string = format): Record<string, string> {
  const f = Object.hasOwn(PROPERTY_FORMATS, format) ? PROPERTY_FORMATS[format] : undefined;
  if (!f) throw new Error(`unknown property-string format '${format}'`);
  const errors: Errors = {};
  checker.checkProp(value, { type: 'string', format: f }, key, errors);
  if (errors[key]) throw new Error(errors[key]);
  return checker.parsePropertyString(typeof f === 'string' ? REGISTRY.hash(f)! : f, value, key);
}
