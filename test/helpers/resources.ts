// Minimal valid manifests of each kind and small helpers for accept/reject tables.
import * as assert from 'uvu/assert';
import { formatPath, validateResource } from '../../resources/index.js';

export const API = 'phoenix.hypervisor/v1alpha1';

export function lxc(): any {
  return {
    apiVersion: API,
    kind: 'LxcContainer',
    metadata: { name: 'web' },
    spec: {
      vmid: 200,
      hostname: 'web.internal.example',
      source: { template: 'base' },
      rootfs: { storage: 'local-lvm', size: '8G' },
      networks: [{ name: 'eth0', bridge: 'vmbr0', ip: '10.0.0.5/24', gw: '10.0.0.1', ip6: 'fd00::5/64', gw6: 'fd00::1', hwaddr: '52:54:00:12:34:56', tag: 10, mtu: 1500 }],
      mountPoints: [
        { path: '/data', volume: { storage: 'local-lvm', size: '4G' } },
        { path: '/etc/ssl/phoenix', hostPath: '/srv/phoenix/certs', readOnly: true },
      ],
      nameserver: '10.0.0.13',
      searchdomain: 'internal.example',
      features: { nesting: true, mount: ['nfs', 'cifs'] },
      tags: ['web', 'prod_1'],
      node: 'pve1',
      startup: { order: 1, up: 5 },
      firewall: { enabled: true, rules: [{ type: 'in', action: 'ACCEPT', proto: 'tcp', source: '10.0.0.0/24', dport: '80,443', iface: 'net0', comment: 'web, from the LAN = ok; 100%\nsecond line' }] },
      services: [{ name: 'web', port: 443, protocol: 'https', path: '/health', tls: true }],
      description: 'free text: commas, = and ; and %\nand newlines are fine',
    },
  };
}

export function vm(): any {
  return {
    apiVersion: API,
    kind: 'VirtualMachine',
    metadata: { name: 'app' },
    spec: {
      vmid: 1001,
      source: { template: 'cloud' },
      cores: 2,
      memory: 4096,
      cpu: 'x86-64-v2-AES',
      disks: [{ slot: 'scsi0', storage: 'local-lvm', size: '32G' }],
      networks: [{ model: 'virtio', bridge: 'vmbr0', hwaddr: '52:54:00:12:34:57', tag: 20 }],
      cloudInit: {
        user: 'phoenix_user',
        sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ user@host'],
        ipConfig: [{ ip: '10.0.0.111/24', gw: '10.0.0.1', ip6: 'fd00::111/64', gw6: 'fd00::1' }],
        nameserver: '10.0.0.13',
        searchdomain: 'internal.example',
      },
      tags: ['app'],
      node: 'pve1',
    },
  };
}

export function lxcTemplate(): any {
  return {
    apiVersion: API,
    kind: 'Template',
    metadata: { name: 'base' },
    spec: {
      vmid: 900,
      type: 'lxc',
      ostemplate: 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst',
      rootfs: { storage: 'local-lvm', size: '8G' },
      lxcNetworks: [{ name: 'eth0', bridge: 'vmbr0', ip: 'dhcp', hwaddr: '52:54:00:AA:BB:CC' }],
      nameserver: '8.8.8.8',
      searchdomain: 'example.org',
      features: { nesting: true },
    },
  };
}

export function qemuTemplate(): any {
  return {
    apiVersion: API,
    kind: 'Template',
    metadata: { name: 'cloud' },
    spec: {
      vmid: 9000,
      type: 'qemu',
      image: 'local:import/noble-server-cloudimg-amd64.img',
      disk: { slot: 'scsi0', storage: 'local-lvm', size: '8G' },
      vmNetworks: [{ model: 'virtio', bridge: 'vmbr0' }],
      cloudInit: { user: 'phoenix_user', ipConfig: [{ ip: 'dhcp' }] },
    },
  };
}

export function ca(): any {
  return {
    apiVersion: API,
    kind: 'CertificateAuthority',
    metadata: { name: 'internal-ca' },
    spec: {
      backend: 'embedded',
      host: { kind: 'LxcContainer', name: 'step-ca' },
      embedded: { root: { commonName: 'Example Root CA', validity: '87600h' }, intermediate: { commonName: 'Example Intermediate CA' }, rootCertPath: 'certs/root.crt' },
      certificates: [
        {
          name: 'web',
          commonName: 'web.internal.example',
          dnsNames: ['web.internal.example', '*.apps.internal.example'],
          ipAddresses: ['10.0.0.5', 'fd00::5'],
          duration: '720h',
          renewBefore: '240h',
          output: { certFile: 'certs/web/tls.crt', keyFile: 'certs/web/tls.key', chainFile: 'certs/web/chain.crt', mode: '0640', owner: 0, group: 33 },
          afterRenewal: { guest: { kind: 'LxcContainer', name: 'web' }, command: ['nginx', '-s', 'reload'] },
        },
      ],
    },
  };
}

export type Path = Array<string | number>;

/** A deep copy of doc with the value at path replaced (or removed, for undefined). */
export function withValue(doc: any, path: Path, value: unknown): any {
  const copy = structuredClone(doc);
  let o = copy;
  for (const seg of path.slice(0, -1)) o = o[seg];
  const last = path[path.length - 1]!;
  if (value === undefined) delete o[last];
  else o[last] = value;
  return copy;
}

export function getValue(doc: any, path: Path): unknown {
  return path.reduce((o, seg) => o?.[seg], doc);
}

export function assertValid(doc: unknown, label = ''): void {
  const r = validateResource(doc);
  assert.equal(r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`), [], `expected valid ${label}`);
  assert.ok(r.resource, label);
}

/** Asserts the document is rejected with an issue at `path` whose message matches `re` (if given). */
export function assertRejected(doc: unknown, path: Path, re?: RegExp, label = ''): void {
  const r = validateResource(doc);
  assert.is(r.resource, undefined, `expected rejection ${label}`);
  const at = formatPath(path);
  const hit = r.issues.find((i) => formatPath(i.path) === at && (!re || re.test(i.message)));
  assert.ok(hit, `no issue at ${at}${re ? ` matching ${re}` : ''} ${label}; got ${JSON.stringify(r.issues.map((i) => `${formatPath(i.path)}: ${i.message}`))}`);
}

/** Characters that would change the meaning of a Proxmox property string. */
export const INJECTION = [',', '=', ';', '\n', '%', ' ', '\t', '\u0000'];

/**
 * For each field (path into doc), inserts every injection character into its valid value and
 * asserts the document is rejected at that field. `except` lists characters the field legitimately
 * holds (e.g. ',' in a firewall address list).
 */
export function assertInjectionRejected(doc: any, fields: Array<Path | { path: Path; except: string[] }>): number {
  let n = 0;
  for (const f of fields) {
    const path = Array.isArray(f) ? f : f.path;
    const except = Array.isArray(f) ? [] : f.except;
    const valid = getValue(doc, path);
    assert.type(valid, 'string', `field ${formatPath(path)} must hold a string in the base manifest`);
    assertValid(doc, 'base');
    for (const ch of INJECTION) {
      if (except.includes(ch)) continue;
      for (const bad of [`${valid}${ch}x`, `${ch}${valid}`, `${valid}${ch}`]) {
        assertRejected(withValue(doc, path, bad), path, undefined, `(${JSON.stringify(bad)})`);
        n++;
      }
    }
  }
  return n;
}
