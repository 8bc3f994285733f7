// Unit tests of the legacy -> manifest mapping on small hand-written inputs: one per mapping rule
// and one per tolerance rule.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { importLegacy, LegacyInputError, type GuestImport, type ImportResult } from '../../cli/import/map.js';

type Obj = Record<string, unknown>;

// A minimal valid LXC and VM, for tests to extend.
const base = (over: Obj = {}): Obj => ({
  name: 'base',
  memory_mb: 1024,
  cores: 2,
  storage_pool: 'tank',
  storage_size_gb: 16,
  network_config: { name: 'eth0', bridge: 'vmbr0', ip: '10.0.0.5/24', gw: '10.0.0.1' },
  portainer_role: 'none',
  unprivileged: true,
  apparmor_profile: 'unconfined',
  apparmor_manages_nesting: false,
  template: '/srv/cache/debian-12-standard_12.7-1_amd64.tar.zst',
  ...over,
});

function run(lxc: Record<string, Obj> | undefined, vms?: Obj[], vmDefaults?: Obj): ImportResult {
  return importLegacy(
    lxc ? { file: 'lxc.json', doc: { lxc_configs: lxc } } : undefined,
    vms ? { file: 'vm.json', doc: { vm_defaults: vmDefaults ?? { cores: 2, memory_mb: 2048, disk_size_gb: 20, storage_pool: 'vmpool', network_bridge: 'vmbr1', template: 'x' }, vms } } : undefined,
  );
}
const guest = (r: ImportResult, vmid: number): GuestImport => {
  const g = r.guests.find((x) => x.vmid === vmid);
  if (!g) throw new Error(`no guest ${vmid}`);
  return g;
};
const spec = (r: ImportResult, vmid: number) => guest(r, vmid).resource!.spec as any;
const notes = (r: ImportResult, vmid: number) => guest(r, vmid).notes.map((n) => `${n.path}: ${n.message}`);
const hasNote = (r: ImportResult, vmid: number, path: string, re: RegExp) =>
  assert.ok(guest(r, vmid).notes.some((n) => n.path === path && re.test(n.message)), `no note ${path} ~ ${re}; notes: ${notes(r, vmid).join(' | ')}`);
const unmapped = (r: ImportResult, vmid: number) => Object.fromEntries(guest(r, vmid).unmapped.map((u) => [u.field, u.value]));

test('names become DNS-1123 labels, the change is noted, vmids are kept', () => {
  const r = run({ '120': base({ name: 'Copy-Cuda12.8' }) });
  const g = guest(r, 120);
  assert.is(g.resource!.metadata.name, 'copy-cuda12-8');
  assert.is(spec(r, 120).vmid, 120);
  // the guests exist already, made by the legacy tool without phoenix's marker: adopt them
  assert.is(spec(r, 120).adopt, true);
  // the legacy tool used the name as hostname; it stays where Proxmox accepts it
  assert.is(spec(r, 120).hostname, 'Copy-Cuda12.8');
  hasNote(r, 120, 'lxc_configs.120.name', /not a DNS-1123 label; named "copy-cuda12-8"/);
});

test('names that collide after normalisation get the vmid appended', () => {
  const r = run({ '120': base({ name: 'Web_1' }), '121': base({ name: 'web-1' }) });
  assert.is(guest(r, 120).resource!.metadata.name, 'web-1');
  assert.is(guest(r, 121).resource!.metadata.name, 'web-1-121');
  hasNote(r, 121, 'lxc_configs.121.name', /already taken/);
});

test('a missing name gets ct-<vmid>/vm-<vmid> and is reported', () => {
  const { name: _n, ...noName } = base();
  const r = run({ '130': noName });
  assert.is(guest(r, 130).resource!.metadata.name, 'ct-130');
  hasNote(r, 130, 'lxc_configs.130.name', /missing \(required by the legacy schema\)/);
});

test('an LXC made from an ostemplate and cloned by others is a Template; clones reference it', () => {
  const r = run({ '900': base({ name: 'Copy-Base', template_snapshot_name: 'final-form' }), '101': base({ name: 'app', clone_from_ctid: '900', template: undefined }) });
  const t = guest(r, 900).resource!;
  assert.is(t.kind, 'Template');
  assert.equal((t.spec as any).type, 'lxc');
  assert.is((t.spec as any).ostemplate, 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst');
  assert.equal(spec(r, 101).source, { template: 'copy-base' });
  // a template's snapshot name is not needed by its clones and is said so
  assert.is(unmapped(r, 900).template_snapshot_name, 'final-form');
  assert.equal(r.volumeMappings, [
    { path: 'lxc_configs.900.template', from: '/srv/cache/debian-12-standard_12.7-1_amd64.tar.zst', to: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' },
  ]);
});

test('an LXC from an ostemplate that nobody clones stays a container with source.ostemplate', () => {
  const r = run({ '140': base() });
  assert.is(guest(r, 140).resource!.kind, 'LxcContainer');
  assert.equal(spec(r, 140).source, { ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst' });
});

test('storage options change the volume ids', () => {
  const r = importLegacy(
    { file: 'l', doc: { lxc_configs: { '140': base() } } },
    { file: 'v', doc: { vm_defaults: {}, vms: [{ vmid: 9000, name: 't', is_template: true, template_image: '/var/img/noble.img' }] } },
    { templateStorage: 'isos', imageStorage: 'imgs', adopt: false },
  );
  assert.is(spec(r, 140).source.ostemplate, 'isos:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst');
  assert.is(spec(r, 9000).image, 'imgs:import/noble.img');
  assert.is(spec(r, 9000).adopt, undefined);
});

test('a clone of a plain guest is cloned at the source guest\'s template_snapshot_name', () => {
  const r = run({
    '900': base({ name: 'b' }),
    '901': base({ name: 'mid', clone_from_ctid: '900', template: undefined, template_snapshot_name: 'gold' }),
    '910': base({ name: 'leaf', clone_from_ctid: '901', template: undefined }),
    '911': base({ name: 'leaf2', clone_from_ctid: '910', template: undefined }),
  });
  assert.equal(spec(r, 910).source, { guest: 'mid', snapshot: 'gold' });
  assert.ok(guest(r, 901).imported.includes('template_snapshot_name'));
  // 910 has no template_snapshot_name: the legacy default is used and reported
  assert.equal(spec(r, 911).source, { guest: 'leaf', snapshot: 'final-form' });
  hasNote(r, 911, 'lxc_configs.911.clone_from_ctid', /lxc_configs\.910 has no template_snapshot_name; cloned at snapshot "final-form"/);
});

test('VMs: is_template makes a qemu Template from the cloud image; clones reference it; vm_defaults apply', () => {
  const r = run(undefined, [
    { vmid: 9000, name: 'Cloud', is_template: true, template_image: 'noble-server-cloudimg-amd64.img', network_config: { ip: 'dhcp' }, user_config: { username: 'ops' } },
    { vmid: 1001, name: 'App', clone_from_vmid: 9000, cores: 4, disk_size_gb: 40, network_config: { ip: '10.0.0.111/24', gw: '10.0.0.1', nameserver: '10.0.0.13' } },
  ]);
  const t = spec(r, 9000);
  assert.is(guest(r, 9000).resource!.kind, 'Template');
  assert.is(t.type, 'qemu');
  assert.is(t.image, 'local:import/noble-server-cloudimg-amd64.img');
  assert.equal(t.disk, { slot: 'scsi0', storage: 'vmpool', size: '20G' });
  assert.equal(t.vmNetworks, [{ model: 'virtio', bridge: 'vmbr1' }]);
  assert.equal(t.cloudInit, { user: 'ops', ipConfig: [{ ip: 'dhcp' }] });
  const v = spec(r, 1001);
  assert.equal(v.source, { template: 'cloud' });
  assert.is(v.cores, 4);
  assert.is(v.memory, 2048);
  assert.equal(v.disks, [{ slot: 'scsi0', storage: 'vmpool', size: '40G' }]);
  assert.equal(v.cloudInit, { ipConfig: [{ ip: '10.0.0.111/24', gw: '10.0.0.1' }], nameserver: '10.0.0.13' });
  hasNote(r, 1001, 'vms[1].memory_mb', /vm_defaults\.memory_mb = 2048 applied/);
  assert.ok(r.globalUnmapped.some((u) => u.path === 'vm_defaults.template'));
});

test('a clone cannot shrink its source\'s disk: the source size is kept and reported', () => {
  const r = run(undefined, [
    { vmid: 9000, name: 't', is_template: true, template_image: 'i.img', disk_size_gb: 50 },
    { vmid: 1001, name: 'a', clone_from_vmid: 9000, disk_size_gb: 32 },
  ]);
  assert.is(spec(r, 1001).disks[0].size, '50G');
  hasNote(r, 1001, 'vms[1].disk_size_gb', /32 is smaller than the 50 GiB disk/);
  const l = run({ '900': base({ storage_size_gb: 64 }), '901': base({ name: 'c', clone_from_ctid: 900, template: undefined, storage_size_gb: 16 }) });
  assert.is(spec(l, 901).rootfs.size, '64G');
});

test('dependencies become dependsOn across kinds; unknown, self and repeated ones are reported', () => {
  const r = run(
    { '102': base({ name: 'traefik', dependencies: ['103'] }), '103': base({ name: 'ca', dependencies: ['1002', '1002', '103', '777'] }) },
    [{ vmid: 9000, name: 't', is_template: true, template_image: 'i.img' }, { vmid: 1002, name: 'dr', clone_from_vmid: 9000, dependencies: ['102'] }],
  );
  assert.equal(spec(r, 102).dependsOn, [{ kind: 'LxcContainer', name: 'ca' }]);
  assert.equal(spec(r, 1002).dependsOn, [{ kind: 'LxcContainer', name: 'traefik' }]);
  assert.equal(spec(r, 103).dependsOn, [{ kind: 'VirtualMachine', name: 'dr' }]);
  hasNote(r, 103, 'lxc_configs.103.dependencies[1]', /listed twice/);
  hasNote(r, 103, 'lxc_configs.103.dependencies[2]', /cannot depend on itself/);
  hasNote(r, 103, 'lxc_configs.103.dependencies[3]', /no such guest/);
  assert.is(unmapped(r, 103)['dependencies[3]'], '777');
});

test('network: interface, address, gateway, MAC (upper-case), firewall flag and nameservers', () => {
  const r = run({
    '150': base({
      network_config: { name: 'eth0', bridge: 'vmbr0', ip: '10.0.0.50/24', gw: '10.0.0.1', nameservers: '10.0.0.13, 1.1.1.1' },
      mac_address: '52:54:00:aa:bb:cc',
      firewall: { enabled: true, rules: [] },
    }),
  });
  assert.equal(spec(r, 150).networks, [{ name: 'eth0', bridge: 'vmbr0', ip: '10.0.0.50/24', gw: '10.0.0.1', hwaddr: '52:54:00:AA:BB:CC', firewall: true }]);
  assert.is(spec(r, 150).nameserver, '10.0.0.13 1.1.1.1');
});

test('a MAC that is not unicast is left out (Proxmox generates one), reported at its legacy path', () => {
  const r = run({ '101': base({ mac_address: '01:00:5E:00:00:01' }), '102': base({ name: 'b', mac_address: 'nope' }) });
  assert.is(spec(r, 101).networks[0].hwaddr, undefined);
  hasNote(r, 101, 'lxc_configs.101.mac_address', /multicast/);
  assert.is(unmapped(r, 101).mac_address, '01:00:5E:00:00:01');
  hasNote(r, 102, 'lxc_configs.102.mac_address', /not a MAC address/);
});

test('invalid addresses are left out and reported', () => {
  const r = run({ '101': base({ network_config: { name: 'eth0', bridge: 'vmbr0', ip: '10.0.0.300/24', gw: '10.0.0.1' } }) });
  assert.is(spec(r, 101).networks[0].ip, undefined);
  assert.is(spec(r, 101).networks[0].gw, undefined);
  hasNote(r, 101, 'lxc_configs.101.network_config.ip', /not an IPv4 CIDR/);
});

test('startup: start_at_boot -> onboot, boot_order -> order, boot_delay -> up and down (as the legacy tool set them)', () => {
  const r = run({ '101': base({ start_at_boot: true, boot_order: 2, boot_delay: 5 }) });
  assert.is(spec(r, 101).onboot, true);
  assert.equal(spec(r, 101).startup, { order: 2, up: 5, down: 5 });
});

test('sizes, swap and cores map; numeric strings are read and noted', () => {
  const r = run({ '101': base({ memory_mb: '4096', swap_mb: 512, cores: 4, storage_size_gb: 32 }) });
  const s = spec(r, 101);
  assert.is(s.memory, 4096);
  assert.is(s.swap, 512);
  assert.is(s.cores, 4);
  assert.equal(s.rootfs, { storage: 'tank', size: '32G' });
  hasNote(r, 101, 'lxc_configs.101.memory_mb', /string "4096" read as the number 4096/);
});

test('pct_options: LXC features map, anything else is recorded as not imported', () => {
  const r = run({ '101': base({ pct_options: ['nesting=1', 'keyctl=1', 'mount=nfs;cifs', 'onboot=1'] }) });
  assert.equal(spec(r, 101).features, { nesting: true, keyctl: true, mount: ['nfs', 'cifs'] });
  assert.is(unmapped(r, 101)['pct_options[3]'], 'onboot=1');
});

test('mount points: zfs_volumes become volumes, mount_points bind mounts; owners are recorded as not imported', () => {
  const r = run({
    '101': base({
      zfs_volumes: [{ name: 'models', pool: 'bulk', size_gb: 50, mount_point: '/models' }],
      mount_points: [{ host_path: '/mnt/data/101', container_path: '/data', owner_uid: 33 }, { host_path: 'relative', container_path: '/x' }],
    }),
  });
  assert.equal(spec(r, 101).mountPoints, [
    { path: '/models', volume: { storage: 'bulk', size: '50G' } },
    { path: '/data', hostPath: '/mnt/data/101' },
  ]);
  const u = unmapped(r, 101);
  assert.is(u['mount_points[0].owner_uid'], 33);
  assert.is(u['zfs_volumes[0].name'], 'models');
  assert.ok(u['mount_points[1]']);
  hasNote(r, 101, 'lxc_configs.101.mount_points[1]', /absolute/);
});

test('firewall: port lists normalised, ranges converted, rules keep their order and enable=1', () => {
  const r = run({
    '101': base({
      firewall: {
        enabled: true,
        rules: [
          { type: 'in', action: 'ACCEPT', proto: 'tcp', port: '80,443', source: '10.0.0.10' },
          { type: 'in', action: 'accept', proto: 'TCP', port: '80, 443', source: '10.0.0.11' },
          { type: 'out', action: 'DROP', proto: 'udp', port: '8000-8010', dest: '10.0.0.0/24', comment: 'c' },
          { type: 'in', action: 'ACCEPT', proto: 'icmp' },
        ],
      },
    }),
  });
  assert.equal(spec(r, 101).firewall, {
    enabled: true,
    rules: [
      { type: 'in', action: 'ACCEPT', enable: true, proto: 'tcp', dport: '80,443', source: '10.0.0.10' },
      { type: 'in', action: 'ACCEPT', enable: true, proto: 'tcp', dport: '80,443', source: '10.0.0.11' },
      { type: 'out', action: 'DROP', enable: true, proto: 'udp', dport: '8000:8010', dest: '10.0.0.0/24', comment: 'c' },
      { type: 'in', action: 'ACCEPT', enable: true, proto: 'icmp' },
    ],
  });
  hasNote(r, 101, 'lxc_configs.101.firewall.rules[2].port', /"8000-8010" written as "8000:8010"/);
});

test('firewall: duplicate rules are deduplicated (first kept in place) and reported; the dropped one is kept in the annotation', () => {
  const rule = { type: 'out', action: 'ACCEPT', dest: '10.0.0.153', proto: 'tcp', port: '80', comment: 'one' };
  const r = run({ '103': base({ firewall: { enabled: true, rules: [rule, { ...rule, port: '443' }, { ...rule, comment: 'two' }, rule] } }) });
  const rules = spec(r, 103).firewall.rules;
  assert.equal(rules.map((x: any) => x.dport), ['80', '443']);
  assert.is(rules[0].comment, 'one');
  hasNote(r, 103, 'lxc_configs.103.firewall.rules[2]', /duplicate of firewall\.rules\[0\]/);
  hasNote(r, 103, 'lxc_configs.103.firewall.rules[3]', /duplicate of firewall\.rules\[0\]/);
  assert.is((unmapped(r, 103)['firewall.rules[2]'] as any).comment, 'two');
});

test('firewall: a rule that cannot be expressed exactly is left out whole, never widened', () => {
  const r = run({
    '101': base({
      firewall: {
        enabled: true,
        rules: [
          { type: 'in', action: 'ACCEPT', proto: 'tcp', port: 'http' },
          { type: 'in', action: 'ACCEPT', port: '22' },
          { type: 'in', action: 'ACCEPT', proto: 'tcp', port: '22', source: 'not an address' },
          { type: 'sideways', action: 'ACCEPT' },
          { type: 'in', action: 'ACCEPT', proto: 'tcp', port: '22' },
        ],
      },
    }),
  });
  assert.equal(spec(r, 101).firewall.rules, [{ type: 'in', action: 'ACCEPT', enable: true, proto: 'tcp', dport: '22' }]);
  hasNote(r, 101, 'lxc_configs.101.firewall.rules[0]', /port "http" is not a port/);
  hasNote(r, 101, 'lxc_configs.101.firewall.rules[1]', /needs proto tcp or udp/);
  hasNote(r, 101, 'lxc_configs.101.firewall.rules[2]', /source "not an address"/);
  hasNote(r, 101, 'lxc_configs.101.firewall.rules[3]', /type "sideways"/);
});

test('firewall without "enabled" (required) defaults to off and says so', () => {
  const r = run({ '101': base({ firewall: { rules: [{ type: 'in', action: 'DROP' }] } }) });
  assert.is(spec(r, 101).firewall.enabled, false);
  assert.is(spec(r, 101).networks[0].firewall, undefined);
  hasNote(r, 101, 'lxc_configs.101.firewall.enabled', /missing \(required by the legacy schema\); default false/);
});

test('missing required fields: a clone inherits from its source, others get a reported default', () => {
  const { unprivileged: _u, memory_mb: _m, portainer_role: _p, ...sparse } = base({ name: 'c', clone_from_ctid: '900', template: undefined });
  const { unprivileged: _u2, ...privileged } = base({ name: 'p' });
  const r = run({ '900': base({ unprivileged: true, memory_mb: 3000 }), '901': sparse, '902': privileged });
  assert.is(spec(r, 901).unprivileged, true);
  assert.is(spec(r, 901).memory, 3000);
  hasNote(r, 901, 'lxc_configs.901.unprivileged', /missing \(required by the legacy schema\); true inherited from lxc_configs\.900/);
  hasNote(r, 901, 'lxc_configs.901.memory_mb', /3000 inherited from lxc_configs\.900/);
  hasNote(r, 901, 'lxc_configs.901.portainer_role', /missing \(required by the legacy schema\)/);
  assert.is(spec(r, 902).unprivileged, false);
  hasNote(r, 902, 'lxc_configs.902.unprivileged', /default false/);
});

test('health_check (data) and health_checks (code) are both kept as not imported', () => {
  const hc = { command: '/bin/check', retries: 5 };
  const r = run({ '101': base({ health_check: hc }), '102': base({ name: 'b', health_checks: [hc] }) });
  assert.equal(unmapped(r, 101).health_check, hc);
  assert.equal(unmapped(r, 102).health_checks, [hc]);
  assert.match(guest(r, 101).unmapped.find((u) => u.field === 'health_check')!.reason, /host/);
});

test('docker_stacks: strings are read as {name}, objects kept, and the shape change is noted', () => {
  const r = run(undefined, [
    { vmid: 9000, name: 't', is_template: true, template_image: 'i.img' },
    { vmid: 1002, name: 'd', clone_from_vmid: 9000, docker_stacks: ['qdrant', { name: 'app', environment: 'prod' }] },
  ]);
  assert.equal(unmapped(r, 1002).docker_stacks, [{ name: 'qdrant' }, { name: 'app', environment: 'prod' }]);
  hasNote(r, 1002, 'vms[1].docker_stacks[0]', /string "qdrant"/);
});

test('fields without a Proxmox API equivalent are recorded with a reason, unknown ones too', () => {
  const r = run({ '101': base({ lxc_options: ['lxc.mount.auto: sys:rw'], id_maps: [{ type: 'gid' }], gpu_assignment: '0,1', features: ['nvidia'], frobnicate: 7 }) });
  const u = guest(r, 101).unmapped;
  for (const f of ['lxc_options', 'id_maps', 'gpu_assignment', 'features', 'apparmor_profile', 'apparmor_manages_nesting', 'portainer_role', 'frobnicate'])
    assert.ok(u.some((x) => x.field === f && x.reason.length > 10), `${f} not recorded`);
  assert.match(u.find((x) => x.field === 'frobnicate')!.reason, /nothing is lost/);
  // every top-level legacy key is either imported or recorded
  const keys = Object.keys(base({ lxc_options: 1, id_maps: 1, gpu_assignment: 1, features: 1, frobnicate: 1 }));
  for (const k of keys) assert.ok(guest(r, 101).imported.includes(k) || u.some((x) => x.field === k), k);
});

test('traefik_service becomes spec.services (443/9443 taken as HTTPS backends, noted)', () => {
  const r = run({ '101': base({ traefik_service: { name: 'Nginx', port: 443 } }), '102': base({ name: 'b', traefik_service: { name: 'api', port: 8000 } }) });
  assert.equal(spec(r, 101).services, [{ name: 'nginx', port: 443, protocol: 'https' }]);
  assert.equal(spec(r, 102).services, [{ name: 'api', port: 8000, protocol: 'http' }]);
});

test('guests that cannot be imported are reported, and so are their clones; dependencies on them are dropped with a note', () => {
  const r = run(
    { '900': base({ template: undefined }), '901': base({ name: 'c', clone_from_ctid: '900', template: undefined }), '902': base({ name: 'd', dependencies: ['900'] }), abc: base() },
    [{ vmid: 1001, name: 'v', clone_from_vmid: 901 }, { vmid: 902, name: 'dup' }, { name: 'novmid' }],
  );
  assert.match(guest(r, 900).errors[0]!.message, /nothing to create the container from/);
  assert.match(guest(r, 901).errors[0]!.message, /clone source lxc_configs\.900 could not be imported/);
  assert.is(spec(r, 902).dependsOn, undefined);
  hasNote(r, 902, 'lxc_configs.902.dependencies[0]', /could not be imported/);
  assert.match(guest(r, 1001).errors[0]!.message, /901 is a LXC; a VM can only be cloned from a VM/);
  const all = r.guests.map((g) => `${g.path}:${g.errors.map((e) => e.message).join(';')}`).join('\n');
  assert.match(all, /lxc_configs\.abc:key "abc" is not a CTID/);
  assert.match(all, /vms\[1\]:vmid 902 is already used by lxc_configs\.902/);
  assert.match(all, /vms\[2\]:missing \(required by the legacy schema\)/);
});

test('a VM made from a cloud image without is_template and without clones is refused with the way out', () => {
  const r = run(undefined, [{ vmid: 1001, name: 'v', template_image: 'i.img' }]);
  assert.match(guest(r, 1001).errors[0]!.message, /set is_template or clone_from_vmid/);
});

test('documents that are not legacy configurations are refused naming the file', () => {
  assert.throws(() => importLegacy({ file: 'x.json', doc: { foo: 1 } }, undefined), (e: unknown) => e instanceof LegacyInputError && /x\.json/.test(String(e)));
  assert.throws(() => importLegacy(undefined, { file: 'y.json', doc: { vms: 3 } }), /y\.json/);
});

test('the mapping is deterministic: guests ordered by vmid whatever the input order', () => {
  const a = run({ '300': base({ name: 'a' }), '200': base({ name: 'b' }) });
  assert.equal(a.guests.map((g) => g.vmid), [200, 300]);
  assert.equal(JSON.stringify(a), JSON.stringify(run({ '300': base({ name: 'a' }), '200': base({ name: 'b' }) })));
});

test.run();
