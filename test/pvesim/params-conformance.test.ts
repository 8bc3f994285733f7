// Conformance of pvesim's own parameter definitions with the official Proxmox VE API schema.
// A small oracle below interprets apidata.json (types, bounds, lengths, enums, patterns, required,
// requires, property-string sub-formats with default keys and aliases); for every emulated endpoint
// and every parameter it generates values and asserts that validateRequest() accepts or rejects each
// request exactly as the oracle does, with the same error keys and texts. Named formats, which the
// schema can only name, are fed from tables of values whose validity is a known fact of the server.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EMULATED_ENDPOINTS, endpointParams, validateRequest } from '../../pvesim/params/index.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// PHOENIX_SHARED, when set, is the only place looked at; else <repo>/../shared, else /work/shared
const candidates = process.env.PHOENIX_SHARED
  ? [join(process.env.PHOENIX_SHARED, 'pve-api/apidata.json')]
  : [join(repo, '../shared/pve-api/apidata.json'), '/work/shared/pve-api/apidata.json'];
const apidataPath = candidates.find((p) => existsSync(p));

// ---- the oracle's view of the schema ---------------------------------------------------------------------
interface S {
  type?: string;
  optional?: number | boolean;
  minimum?: number | string;
  maximum?: number | string;
  minLength?: number;
  maxLength?: number;
  enum?: string[];
  pattern?: string;
  format?: string | Record<string, S>;
  requires?: string;
  default_key?: number;
  alias?: string;
  keyAlias?: string;
  items?: S;
  typetext?: string;
}
type Expect = Record<string, RegExp>;

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const exact = (s: string): RegExp => new RegExp(`^${esc(s)}$`);
const prefix = (s: string): RegExp => new RegExp(`^${esc(s)}[\\s\\S]*$`);

/** Perl pattern as PVE applies it: m/^$pattern$/ (Perl's `$` also matches before a final newline). */
const perlCache = new Map<string, RegExp>();
function perlMatch(pattern: string, value: string): boolean {
  let re = perlCache.get(pattern);
  if (!re) {
    const js = pattern.replace(/\(\?\^:/g, '(?:').replace(/\{,(\d+)\}/g, '{0,$1}');
    re = new RegExp(`^${js}(?=\\n?$)`);
    perlCache.set(pattern, re);
  }
  return re.test(value);
}
const INT = /^[+-]?\d+$/;
const NUM = /^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$/;
const isOptional = (s: S): boolean => !!s.optional && s.optional !== '0' as unknown;

// ---- named formats: values whose validity on a real server is known ---------------------------------------
// [valid values], [invalid values]. `-list` variants are derived from these.
const NAMED: Record<string, [string[], string[]]> = {
  'pve-node': [['pve', 'node-1', 'A1'], ['pve x', '-pve', 'pve-', 'a_b', '']],
  'pve-vmid': [['100', '999999999', '12345'], ['99', '1000000000', '0100', '+100']],
  'pve-storage-id': [['local', 'local-lvm', 'nfs.backup_1'], ['1local', 'local lvm', 'a', 'local-', 'x:y']],
  'pve-configid': [['snap1', 'before-upgrade', 'a_b'], ['1snap', 'a', 'snap 1', 'snap.1', '']],
  'pve-volume-id': [['local:iso/debian.iso', 'local-lvm:vm-100-disk-0', 'local-lvm:cloudinit', 'local-lvm:32'], ['nocolon', '1local:x', 'local:', ':x']],
  'pve-volume-id-or-qm-path': [['local-lvm:vm-100-disk-0', 'local-lvm:32', 'local-lvm:cloudinit', 'none', 'cdrom', '/dev/sdb'], ['nocolon', 'local:']],
  'pve-volume-id-or-absolute-path': [['local:import/disk.qcow2', '/var/lib/vz/images/x.raw'], ['cdrom', 'relative/path']],
  'pve-lxc-mp-string': [['local-lvm:8', '/mnt/data', 'local:subvol-100-disk-0'], ['/mnt/../etc', '/mnt/.', '../x']],
  'pve-lxc-dev-string': [['/dev/ttyUSB0', '/dev/dri/renderD128'], ['/tmp/x', '/dev/../etc/passwd', '/dev/.']],
  'dns-name': [['web', 'web-01.example.com', 'a'], ['-web', 'web_01', 'web..x', 'web.', '']],
  'disk-size': [['8G', '512M', '1.5T', '1024'], ['8GB', '-1G', 'G', '8g']],
  'lxc-ip-with-ll-iface': [['10.0.0.1', '2001:db8::1', 'fe80::1%eth0'], ['10.0.0.256', 'dns.example', 'fe80::1%']],
  ipv4: [['10.0.0.1', '192.168.1.254'], ['10.0.0.256', '10.0.0', '010.0.0.1', '2001:db8::1']],
  ipv6: [['2001:db8::1', '::1', 'fe80::1'], ['2001:db8::g', '10.0.0.1', 'fe80::1%eth0']],
  'mac-addr': [['BC:24:11:00:00:01', 'bc:24:11:aa:bb:cc'], ['01:00:5E:00:00:01', 'BC:24:11:00:00', 'BC-24-11-00-00-01', 'zz:24:11:00:00:01']],
  'pve-ipv4-config': [['dhcp', 'manual', '10.0.0.5/24', '10.0.0.5/32'], ['10.0.0.5', '10.0.0.5/33', '10.0.0.5/7', 'auto', 'dhcp6']],
  'pve-ipv6-config': [['auto', 'dhcp', 'manual', '2001:db8::5/64'], ['2001:db8::5', '2001:db8::5/129', '10.0.0.5/24']],
  'pve-poolid': [['prod', 'team-a.b_c'], ['prod pool', 'a/b/c/d', 'x!']],
  'pve-startup-order': [['1', 'order=1,up=30', 'up=5,down=10', 'order=2,down=60'], ['first', 'order=x', 'up=-1', 'order=1,side=2']],
  'pve-tag': [['prod', 'team.a', 'tier_1', 'a+b'], ['-prod', 'a b', 'a/b']],
  'pve-ct-timezone': [['host', 'UTC', 'Europe/Berlin', 'America/New_York'], ['Mars/Olympus', 'Berlin']],
  'pve-fw-addr-spec': [['10.0.0.1', '10.0.0.0/24', '10.0.0.1-10.0.0.9', '+myipset', 'myalias', 'dc/alias1', '10.0.0.1,10.0.0.2', '2001:db8::/64'], ['10.0.0.300', '10.0.0.1,2001:db8::1', '10.0.0.1,,10.0.0.2', '10.0.0.1-10.0.0.9,10.0.0.20']],
  'pve-fw-dport-spec': [['22', '80,443', '1000:2000', 'ssh', 'https', 'echo-request'], ['70000', '2000:1000', 'nosuchservice', '22,,80', 'echo-request,22', '1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16']],
  'pve-fw-sport-spec': [['22', '1024:65535', 'http'], ['65536', 'echo-request', 'x y']],
  'pve-fw-icmp-type-spec': [['echo-request', 'any', 'neighbor-solicitation'], ['ping', 'echo']],
  'pve-fw-protocol-spec': [['tcp', 'udp', 'icmp', '6', 'ipv6-icmp'], ['tcpx', '999', 'TCP']],
  'pve-iface': [['net0', 'eth0', 'eth0.100'], ['0eth', 'e', 'eth-0']],
  'pve-cpuset': [['0', '0-3', '0,2,4-7', ' 1 - 2 '.replace(/ /g, '')], ['3-1', 'a', '0-', '0;1']],
  'pve-qm-bootdisk': [['scsi0', 'virtio15', 'ide3', 'sata5', 'efidisk0'], ['scsi31', 'ide4', 'net0']],
  'pve-hotplug-features': [['network,disk,usb', '0', '1', 'cpu;memory', 'cloudinit'], ['network,floppy', 'all']],
  urlencoded: [['ssh-rsa%20AAAA%3D%3D', 'abc', "a-b_c.d!~*'()"], ['ssh-rsa AAAA', 'a+b', 'a/b']],
  address: [['1.1.1.1', '2001:4860:4860::8888', 'dns.example.com'], ['1.1.1.1/32', 'dns_example', '-x']],
  'pve-bridge-id': [['vmbr0', 'vmbr0.100', 'br-lan_1'], ['vmbr 0', 'vmbr0:1', 'vmbr/0']],
  CIDR: [['10.0.0.0/24', '2001:db8::/64'], ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/7']],
  'storage-pair': [['local-lvm', 'local:local-lvm', '1'], ['local lvm', '1x:local', 'a:b:c']],
  'pve-storage-content': [['images', 'rootdir', 'vztmpl', 'iso', 'backup', 'snippets', 'import'], ['disk', 'Images']],
  'pve-task-status-type': [['ok', 'error', 'warning', 'unknown', 'OK'], ['failed', 'running']],
  'pve-realm': [['pam', 'pve', 'my-ldap'], ['p', '1pam', 'pam!']],
  'pve-priv': [['VM.Audit', 'Sys.Modify', 'Datastore.AllocateSpace'], ['VM.Nope', 'vm.audit']],
  // hash formats the schema only names: sub-keys are checked via their typetext as well
  'pve-qm-ipconfig': [['ip=dhcp', 'ip=10.0.0.5/24,gw=10.0.0.1', 'ip6=auto', 'ip6=2001:db8::5/64,gw6=2001:db8::1'], ['ip=10.0.0.5', 'gw=10.0.0.1', 'ip=10.0.0.5/24,gw=10.0.0.300', 'ip=dhcp,nosuch=1', 'ip6=10.0.0.5/24']],
  'pve-qm-boot': [['order=scsi0;net0', 'order=scsi0', 'order=virtio0;ide2;net31;hostpci0;usb13', 'cdn', 'legacy=c'], ['order=scsi0;floppy0', 'xyz', 'order=scsi99', 'order=efidisk0', 'order=net32']],
  'pve-vm-cpu-conf': [['host', 'x86-64-v2-AES', 'cputype=kvm64,flags=+aes', 'EPYC-Genoa', 'host,flags=+nested-virt;-pcid', 'host,hidden=1', 'host,phys-bits=host'], ['nosuchcpu', 'custom-mine', 'host,flags=+avx', 'host,flags=aes', 'host,hidden=maybe', 'host,nosuch=1', 'host,reported-model=kvm64', 'flags=+aes', 'host,phys-bits=65']],
  'pve-qm-watchdog': [['i6300esb', 'model=ib700,action=reset'], ['model=x', 'action=explode']],
  'pve-qm-rng': [['/dev/urandom', 'source=/dev/hwrng,max_bytes=1024,period=1000'], ['/dev/zero', 'max_bytes=1024']],
  'pve-qm-smbios1': [['uuid=12345678-1234-1234-1234-123456789abc', 'manufacturer=UHJveG1veA==,base64=1'], ['uuid=nope', 'colour=blue']],
  'pve-qm-cicustom': [['user=local:snippets/user.yaml', 'user=local:snippets/u.yaml,network=local:snippets/n.yaml'], ['user=nocolon', 'extra=local:snippets/x']],
  'pve-qm-hostpci': [['0000:01:00.0', '01:00', '01:00.0;01:00.1', 'mapping=gpu1,pcie=1', 'host=01:00.0,x-vga=1', '01:00,vendor-id=0x8086'], ['host=zz:zz', 'mapping=1bad', '01:00,vendor-id=8086', '01:00,mdev=a/b']],
  'pve-qemu-sev-fmt': [['std', 'type=snp,allow-smt=1', 'es'], ['type=xxx', 'allow-smt=1']],
  'pve-qemu-tdx-fmt': [['tdx,attestation=1', 'type=tdx,attestation=0,vsock-port=1'], ['tdx', 'type=sgx,attestation=1', 'tdx,attestation=1,vsock-cid=1']],
  'pve-qm-ide': [['local:iso/debian.iso,media=cdrom', 'none', 'cdrom', 'local-lvm:cloudinit'], ['local:iso/x.iso,media=floppy', 'nocolon']],
};

/** The oracle's verdict on a named format: true/false, or undefined if the value's validity is not known. */
function namedOk(format: string, value: string): boolean | undefined {
  const m = /^(.*?)(?:-(list|opt))?$/.exec(format)!;
  const t = NAMED[m[1]!];
  if (!t) throw new Error(`oracle: no table for format '${format}'`);
  const one = (v: string): boolean | undefined => (t[0].includes(v) ? true : t[1].includes(v) ? false : undefined);
  if (m[2] !== 'list') return one(value);
  const parts = value.includes('\0') ? value.split('\0') : value.replace(/[,;]/g, ' ').trim().split(/\s+/).filter(Boolean);
  const verdicts = parts.map(one);
  if (verdicts.includes(false)) return verdicts.indexOf(false) < (verdicts.includes(undefined) ? verdicts.indexOf(undefined) : Infinity) ? false : undefined;
  return verdicts.includes(undefined) ? undefined : true;
}
function namedSamples(format: string): string[] {
  const m = /^(.*?)(?:-(list|opt))?$/.exec(format)!;
  const [ok, bad] = NAMED[m[1]!] ?? [[], []];
  if (m[2] !== 'list') return [...ok, ...bad];
  const listable = ok.filter((v) => !/[,; ]/.test(v));
  return [...listable.slice(0, 1), listable.slice(0, 2).join(','), listable.slice(0, 2).join(';'), ...bad.filter((v) => !/[,; ]/.test(v)).map((b) => `${listable[0]},${b}`), ''];
}

class Unknown extends Error {}

// ---- the oracle: PVE's check order and texts ----------------------------------------------------------------
function add(errs: Expect, path: string, re: RegExp): void {
  errs[path || '_root'] = re;
}

function oracleProp(value: string | string[] | undefined, s: S, path: string, errs: Expect): void {
  if (value === undefined) {
    if (!isOptional(s) && !s.alias) add(errs, path, exact('property is missing and it is not optional'));
    return;
  }
  // the HTTP server joins a repeated parameter with NUL; an array parameter is that string split
  if (s.type === 'array') {
    const items = Array.isArray(value) ? value : value === '' ? [] : value.split('\0');
    items.forEach((v, i) => s.items && oracleProp(v, s.items, `${path}[${i}]`, errs));
    return;
  }
  if (Array.isArray(value)) value = value.join('\0');
  const typeOk = s.type === 'boolean' ? value === '1' || value === '0' : s.type === 'integer' ? INT.test(value) : s.type === 'number' ? NUM.test(value) : true;
  if (!typeOk) return add(errs, path, exact(`type check ('${s.type}') failed - got '${value}'`));
  if (typeof s.format === 'object') {
    const r = oraclePropertyString(s.format, value, path);
    if (r !== undefined) return add(errs, path, r);
  } else if (s.format) {
    const ok = namedOk(s.format, value);
    if (ok === undefined) throw new Unknown(`${s.format}: ${value}`);
    if (!ok) return add(errs, path, prefix('invalid format - '));
  }
  if (s.pattern !== undefined && !perlMatch(s.pattern, value)) return add(errs, path, exact('value does not match the regex pattern'));
  const len = [...value].length;
  if (s.maxLength !== undefined && len > s.maxLength) return add(errs, path, exact(`value may only be ${s.maxLength} characters long`));
  if (s.minLength !== undefined && len < s.minLength) return add(errs, path, exact(`value must be at least ${s.minLength} characters long`));
  if (NUM.test(value)) {
    if (s.maximum !== undefined && Number(value) > Number(s.maximum)) return add(errs, path, exact(`value must have a maximum value of ${s.maximum}`));
    if (s.minimum !== undefined && Number(value) < Number(s.minimum)) return add(errs, path, exact(`value must have a minimum value of ${s.minimum}`));
  }
  if (s.enum && !s.enum.includes(value)) add(errs, path, exact(`value '${value}' does not have a value in the enumeration '${s.enum.join(', ')}'`));
}

/** undefined if valid, else the expected message of the parameter. */
function oraclePropertyString(f: Record<string, S>, data: string, path: string): RegExp | undefined {
  const res: Record<string, string> = {};
  let dk: string | undefined;
  const die = (m: string): RegExp => exact(`invalid format - ${m}\n`);
  for (const part of data.split(',')) {
    if (part.trim() === '' && !/\S/.test(part)) continue;
    const eq = part.indexOf('=');
    if (eq > 0 && eq < part.length - 1) {
      let k = part.slice(0, eq);
      let v = part.slice(eq + 1);
      if (k in res) return die(`duplicate key in comma-separated list property: ${k}`);
      let sub = Object.hasOwn(f, k) ? f[k] : undefined;
      if (sub?.alias) {
        if (sub.keyAlias) {
          if (sub.keyAlias in res) return die(`key alias '${sub.keyAlias}' is already defined`);
          res[sub.keyAlias] = k;
        }
        k = sub.alias;
        sub = f[k];
      }
      if (!sub) return die(`invalid key in comma-separated list property: ${k}`);
      if (sub.type === 'boolean') v = /^(1|on|yes|true)$/i.test(v) ? '1' : /^(0|off|no|false)$/i.test(v) ? '0' : v;
      res[k] = v;
    } else if (eq < 0) {
      if (dk) return die(`duplicate key in comma-separated list property: ${dk}`);
      dk = Object.keys(f).find((k) => f[k]!.default_key);
      if (!dk) return die('value without key, but schema does not define a default key');
      if (res[dk]) return die(`duplicate key in comma-separated list property: ${dk}`);
      res[dk] = part;
    } else {
      return die('missing key in comma-separated list property');
    }
  }
  const inner: Expect = {};
  for (const k of Object.keys(f)) oracleProp(res[k], f[k]!, `${path}.${k}`, inner);
  const keys = Object.keys(inner).sort();
  if (keys.length === 0) return undefined;
  // the messages of the sub-keys, one line each, after "format error"
  const body = keys.map((k) => `${esc(k)}: ${inner[k]!.source.replace(/^\^/, '').replace(/\$$/, '')}\\n`).join('');
  return new RegExp(`^invalid format - format error\\n${body}$`);
}

/** Judges a request; only given and required parameters can produce errors (`required` lists the latter). */
function oracleRequest(props: Record<string, S>, required: string[], params: Record<string, string | string[]>): Expect {
  const errs: Expect = {};
  for (const k of new Set([...required, ...Object.keys(params)])) if (Object.hasOwn(props, k)) oracleProp(params[k], props[k]!, k, errs);
  for (const k of Object.keys(params)) {
    const s = Object.hasOwn(props, k) ? props[k] : undefined;
    if (!s) errs[k] = exact('property is not defined in schema and the schema does not allow additional properties');
    else if (s.requires && params[s.requires] === undefined) errs[s.requires] = exact(`missing property - '${k}' requires this property`);
  }
  return errs;
}

// ---- value generation --------------------------------------------------------------------------------------
const POOL = ['a', 'abc', 'vmbr0', '0755', '0855', '1;2', '1-3;5', '1;a', 'net0=1500', 'net0=1500,net1=9000', 'q35', 'pc-i440fx-9.2+pve1', 'virt', 'pc-q35-x',
  'now', '2024-01-31', '2024-01-31T10:00:00', 'yesterday', '/dev/ttyS0', 'socket', '/dev/parport0', '/dev/usb/lp1', '/dev/parport0xyz', 'x/dev/usb/lp1', '0x1234567890abcdef', '0x12',
  '1234:5678', '0x1234:0x5678', '1-2.3', 'spice', 'SPICE', 'discard;noatime', 'nosuid', 'noatime;bogus', 'ext4;nfs', 'nfs,cifs', 'A=1', 'A=1\0B=2', '=x', '\x01', '/sbin/init',
  '', '%%%', 'a b', '10G', '+5G', '1.5T', '5GB', 'ide0', 'scsi3', 'floppy0', 'ACCEPT', 'a-b_c', 'Samsung SSD', 'x'.repeat(17), '12345678-1234-1234-1234-123456789abc', '0', '1', '2',
  'a\n', 'abc\n'];

function validScalar(s: S): string {
  if (s.enum) return s.enum[0]!;
  if (typeof s.format === 'string') {
    const ok = namedSamples(s.format).find((v) => namedOk(s.format as string, v) === true && (!s.pattern || perlMatch(s.pattern, v)));
    if (ok === undefined) throw new Error(`oracle: no valid sample for ${s.format}`);
    return ok;
  }
  if (typeof s.format === 'object') return baseString(s.format);
  switch (s.type) {
    case 'boolean':
      return '1';
    case 'integer':
    case 'number':
      return String(s.minimum ?? s.maximum ?? 1);
    default:
      if (s.pattern) {
        const v = POOL.find((p) => perlMatch(s.pattern!, p) && p !== '');
        if (v === undefined) throw new Error(`oracle: no sample matches ${s.pattern}`);
        return v;
      }
      return 'x'.repeat(Math.max(1, s.minLength ?? 1));
  }
}
function baseString(f: Record<string, S>): string {
  return Object.entries(f)
    .filter(([, s]) => !s.alias && !isOptional(s))
    .map(([k, s]) => `${k}=${validScalar(s)}`)
    .join(',');
}

function scalarValues(s: S): string[] {
  const out = new Set<string>([validScalar(s)]);
  if (typeof s.format === 'string') namedSamples(s.format).forEach((v) => out.add(v));
  switch (s.type) {
    case 'boolean':
      ['0', 'yes', 'true', '2', ''].forEach((v) => out.add(v));
      break;
    case 'integer':
    case 'number': {
      ['abc', '1.5', '1e3', '+7', '-3', ''].forEach((v) => out.add(v));
      for (const b of [s.minimum, s.maximum]) if (b !== undefined) [Number(b) - 1, Number(b), Number(b) + 1].forEach((v) => out.add(String(v)));
      if (s.type === 'number' && s.minimum !== undefined) out.add(String(Number(s.minimum) - 0.5));
      break;
    }
    default:
      if (s.enum) [...s.enum, 'bogus', s.enum[0]!.toUpperCase() + 'X'].forEach((v) => out.add(v));
      if (s.pattern) POOL.forEach((v) => out.add(v));
      if (s.maxLength !== undefined && !s.format && !s.pattern) ['x'.repeat(s.maxLength), 'x'.repeat(s.maxLength + 1)].forEach((v) => out.add(v));
      if (s.minLength !== undefined && !s.format && !s.pattern) ['x'.repeat(s.minLength), 'x'.repeat(s.minLength - 1)].forEach((v) => out.add(v));
      if (s.maxLength !== undefined && s.format === 'dns-name') ['a'.repeat(s.maxLength), 'a'.repeat(s.maxLength + 1)].forEach((v) => out.add(v));
      if (!s.enum && !s.pattern && !s.format) ['hello world', 'ünïcödé', 'a,b=c'].forEach((v) => out.add(v));
  }
  return [...out];
}

/** Typetext-declared sub-keys of a hash format the schema only names: `[,key=<a|b>]`. */
function typetextKeys(tt: string): Array<{ key: string; values?: string[]; bool: boolean }> {
  return [...tt.matchAll(/([a-z][a-z0-9_-]*)=\]?<([^>]*)>/gi)].map((m) => {
    const alts = m[2]!.split('|');
    const bool = m[2] === '1|0';
    return { key: m[1]!, bool, values: !bool && alts.length > 1 && alts.every((a) => /^[\w./-]+$/.test(a) && !/^\d+-\d+$/.test(a)) ? alts : undefined };
  });
}

function propertyStringValues(f: Record<string, S>, used: Set<string>): string[] {
  const base = baseString(f);
  const join = (...parts: string[]): string => parts.filter((p) => p !== '').join(',');
  const out = new Set<string>([base, join(base, 'nosuchkey=1'), join(base, 'novalue='), join(base, '=x')]);
  const dk = Object.keys(f).find((k) => f[k]!.default_key);
  if (dk) {
    const rest = base.split(',').filter((p) => !p.startsWith(`${dk}=`)).join(',');
    out.add(join(validScalar(f[dk]!), rest));
    out.add(join(validScalar(f[dk]!), rest, validScalar(f[dk]!)));
  }
  for (const [k, s] of Object.entries(f)) {
    used.add(k);
    if (!isOptional(s) && !s.alias) out.add(base.split(',').filter((p) => !p.startsWith(`${k}=`)).join(','));
    const target = s.alias ? f[s.alias]! : s;
    const others = base.split(',').filter((p) => !p.startsWith(`${k}=`) && !p.startsWith(`${s.alias ?? k}=`)).join(',');
    for (const v of scalarValues(target)) out.add(join(others, `${k}=${v}`));
    if (target.type === 'boolean') ['on', 'off', 'no', 'maybe'].forEach((v) => out.add(join(others, `${k}=${v}`)));
    out.add(join(base, `${k}=${validScalar(target)}`)); // duplicate or alias clash
  }
  return [...out];
}

function paramValues(s: S, used: Set<string>): Array<string | string[]> {
  if (s.type === 'array') return [['ls'], ['ls', '-l'], [], ['a', 'b', 'c'], 'ls', 'ls\0-l'];
  const values: Array<string | string[]> = typeof s.format === 'object' ? propertyStringValues(s.format, used) : scalarValues(s);
  if (typeof s.format === 'string' && NAMED[s.format] && s.typetext && /=\]?</.test(s.typetext)) {
    const base = NAMED[s.format]![0][0]!;
    for (const { key, values: enumValues, bool } of typetextKeys(s.typetext)) {
      used.add(key);
      values.push(`${base},nosuchkey=1`);
      if (enumValues) values.push(`${base},${key}=${enumValues[enumValues.length - 1]}`, `${base},${key}=bogus`);
      if (bool) values.push(`${base},${key}=maybe`);
    }
  }
  values.push(['a', 'b']);
  return values;
}

// ---- driving -------------------------------------------------------------------------------------------
function loadApi(path: string): Map<string, Record<string, any>> {
  const map = new Map<string, Record<string, any>>();
  const walk = (n: any): void => {
    if (n.info) map.set(n.path, n.info);
    (n.children ?? []).forEach(walk);
  };
  (JSON.parse(readFileSync(path, 'utf8')) as unknown[]).forEach(walk);
  return map;
}

/**
 * Index ranges of `name[n]` families that the schema reveals: through the resize `disk` enums, and
 * descriptions saying "(n is 0 to N)".
 */
function familyRanges(api: Map<string, Record<string, any>>): Map<string, number> {
  const ranges = new Map<string, number>();
  for (const info of api.values()) {
    for (const m of Object.values(info) as any[]) {
      for (const [k, s] of Object.entries<S & { description?: string }>(m.parameters?.properties ?? {})) {
        const n = /^\(n is 0 to (\d+)\)$/.exec(/\(n is 0 to \d+\)/.exec(s.description ?? '')?.[0] ?? '');
        if (k.endsWith('[n]') && n) ranges.set(k.slice(0, -3), Math.max(ranges.get(k.slice(0, -3)) ?? 0, Number(n[1]) + 1));
      }
    }
  }
  const enums = [api.get('/nodes/{node}/lxc/{vmid}/resize')!.PUT.parameters.properties.disk.enum, api.get('/nodes/{node}/qemu/{vmid}/resize')!.PUT.parameters.properties.disk.enum];
  for (const e of enums.flat() as string[]) {
    const m = /^([a-z]+)(\d+)$/.exec(e);
    if (m) ranges.set(m[1]!, Math.max(ranges.get(m[1]!) ?? 0, Number(m[2]) + 1));
  }
  return ranges;
}

const failures: string[] = [];
function compare(label: string, got: { errors?: Record<string, string> }, want: Expect): void {
  const g = got.errors ?? {};
  const gk = Object.keys(g).sort();
  const wk = Object.keys(want).sort();
  if (gk.join() !== wk.join()) {
    failures.push(`${label}: error keys ${JSON.stringify(gk)} != expected ${JSON.stringify(wk)} ${JSON.stringify(g)}`);
    return;
  }
  for (const k of wk) if (!want[k]!.test(g[k]!)) failures.push(`${label}: ${k}: ${JSON.stringify(g[k])} !~ ${want[k]}`);
}

test('pvesim parameter definitions conform to the official API schema', () => {
  if (!apidataPath) {
    if (process.env.CI === 'true') assert.unreachable(`apidata.json not found (looked in ${candidates.join(', ')})`);
    console.log('skipped: apidata.json not found (set PHOENIX_SHARED or put shared/ next to the repository)');
    return;
  }
  const api = loadApi(apidataPath);
  const ranges = familyRanges(api);
  let nParams = 0;
  let nValues = 0;
  let nAccepted = 0;
  let nUnknown = 0;
  const unexercised: string[] = [];

  for (const { method, path } of EMULATED_ENDPOINTS) {
    const info = api.get(path)?.[method];
    assert.ok(info, `${method} ${path} is not in the official schema`);
    const official: Record<string, S> = info.parameters?.properties ?? {};
    // expand `name[n]` families into concrete keys: the first, and the last and one past it when known
    const concrete: Record<string, S> = {};
    const probes: Array<[string, string]> = []; // [schema key, concrete key]
    const extraUnknown: string[] = [];
    for (const [k, s] of Object.entries(official)) {
      const fam = /^(.*)\[n\]$/.exec(k);
      if (!fam) {
        concrete[k] = s;
        probes.push([k, k]);
        continue;
      }
      const n = ranges.get(fam[1]!);
      concrete[`${fam[1]}0`] = s;
      probes.push([k, `${fam[1]}0`]);
      if (n) {
        concrete[`${fam[1]}${n - 1}`] = s;
        probes.push([k, `${fam[1]}${n - 1}`]);
        extraUnknown.push(`${fam[1]}${n}`);
      }
      extraUnknown.push(`${fam[1]}9999`);
    }
    // the oracle judges against every key pvesim defines that the schema has (families included)
    const ours = endpointParams(method, path)!;
    const judged: Record<string, S> = { ...concrete };
    for (const k of Object.keys(ours)) {
      const fam = /^(.*?)(\d+)$/.exec(k);
      if (!(k in judged) && fam && official[`${fam[1]}[n]`]) judged[k] = official[`${fam[1]}[n]`]!;
    }
    for (const k of Object.keys(ours)) {
      if (!(k in judged)) failures.push(`${method} ${path}: pvesim defines '${k}', the official schema does not`);
    }

    const required = Object.keys(judged).filter((k) => !isOptional(judged[k]!));
    const base: Record<string, string | string[]> = {};
    for (const [k, s] of Object.entries(concrete)) if (!isOptional(s)) base[k] = s.type === 'array' ? ['true'] : validScalar(s);
    const run = (label: string, params: Record<string, string | string[]>): void => {
      let want: Expect;
      try {
        want = oracleRequest(judged, required, params);
      } catch (e) {
        if (e instanceof Unknown) {
          nUnknown++;
          return;
        }
        throw e;
      }
      nValues++;
      if (Object.keys(want).length === 0) nAccepted++;
      compare(`${method} ${path} ${label}`, validateRequest(method, path, params), want);
    };
    run('base', base);
    run('unknown parameter', { ...base, 'no-such-param': '1' });
    for (const k of extraUnknown) run(`unknown ${k}`, { ...base, [k]: 'x' });

    const seen = new Set<string>();
    for (const [schemaKey, key] of probes) {
      const s = concrete[key]!;
      if (!seen.has(schemaKey)) nParams++;
      seen.add(schemaKey);
      const subUsed = new Set<string>();
      const before = { values: nValues, accepted: nAccepted };
      if (!isOptional(s)) run(`missing ${key}`, Object.fromEntries(Object.entries(base).filter(([k]) => k !== key)));
      // a parameter that requires another is tried with its partner, and once without it
      const partner = s.requires && concrete[s.requires] ? { [s.requires]: validScalar(concrete[s.requires]!) } : {};
      if (s.requires) run(`${key} without ${s.requires}`, { ...base, [key]: validScalar(s) });
      for (const v of paramValues(s, subUsed)) run(`${key}=${JSON.stringify(v)}`, { ...base, ...partner, [key]: v });
      const tried = nValues - before.values;
      const ok = nAccepted - before.accepted;
      // a free-form optional string cannot be rejected: it only has to be accepted
      const freeForm = isOptional(s) && s.type === 'string' && !s.enum && !s.pattern && !s.format && s.maxLength === undefined && s.minLength === undefined;
      if (tried === 0 || ok === 0 || (ok === tried && !freeForm)) unexercised.push(`${method} ${path} ${key}: ${ok}/${tried} accepted`);
      if (typeof s.format === 'object') {
        for (const sk of Object.keys(s.format)) if (!subUsed.has(sk)) unexercised.push(`${method} ${path} ${key}.${sk}`);
      }
    }
  }

  console.log(`figure: params conformance: ${EMULATED_ENDPOINTS.length} endpoints, ${nParams} parameters, ${nValues} values (${nAccepted} valid, ${nValues - nAccepted} invalid; ${nUnknown} skipped as of unknown validity)`);
  assert.equal(failures.slice(0, 40), [], `${failures.length} mismatches`);
  assert.equal(unexercised, [], 'every parameter must see both accepted and rejected values');
});

test('the emulated endpoints are the ones the brief lists', () => {
  const paths = EMULATED_ENDPOINTS.map((e) => `${e.method} ${e.path}`);
  assert.equal(new Set(paths).size, paths.length, 'no endpoint twice');
  for (const must of ['POST /access/ticket', 'GET /cluster/nextid', 'PUT /nodes/{node}/lxc/{vmid}/resize', 'POST /nodes/{node}/qemu/{vmid}/config', 'GET /nodes/{node}/tasks/{upid}/log', 'POST /nodes/{node}/qemu/{vmid}/agent/exec']) {
    assert.ok(paths.includes(must), must);
  }
  assert.is(paths.length, 65);
});

test.run();
