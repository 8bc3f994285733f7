// Property: whatever a legacy file holds — right values, wrong types, garbage — the import never
// throws, accounts for every legacy field, and every manifest it produces passes phoenix's schema.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { importLegacy } from '../../cli/import/map.js';
import { annotatedResource } from '../../cli/import/output.js';
import { validateResource } from '../../resources/index.js';

const junk = fc.oneof(fc.anything(), fc.constant(null), fc.string(), fc.integer(), fc.boolean());
const maybe = <T>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: a }, { weight: 1, arbitrary: junk });
const ip = fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 40 })).map(([a, p]) => `10.0.${a % 256}.${a}/${p}`);
const rule = fc.record(
  {
    type: maybe(fc.constantFrom('in', 'out', 'IN', 'sideways')),
    action: maybe(fc.constantFrom('ACCEPT', 'DROP', 'reject', 'ALLOW')),
    proto: maybe(fc.constantFrom('tcp', 'udp', 'icmp', 'TCP', 'bad proto')),
    port: maybe(fc.constantFrom('22', '80,443', '80, 443', '8000-8010', '0', '70000', 'http', '5:1')),
    source: maybe(fc.constantFrom('10.0.0.1', '10.0.0.0/24', 'nope nope', '10.0.0.1-10.0.0.9', 'fd00::1')),
    dest: maybe(fc.constantFrom('10.0.0.2', '10.0.0.0/33')),
    comment: maybe(fc.string()),
  },
  { requiredKeys: [] },
);
const lxcEntry = (ids: number[]) =>
  fc.record(
    {
      name: maybe(fc.constantFrom('Copy-Base', 'granite-3.3-8b-fp8', 'x', '---', 'A'.repeat(80), 'Ünïcode name')),
      memory_mb: maybe(fc.integer({ min: -1, max: 9000000 })),
      swap_mb: maybe(fc.integer({ min: -1, max: 100000 })),
      cores: maybe(fc.integer({ min: 0, max: 10000 })),
      template: maybe(fc.constantFrom('/a/b/debian-12.tar.zst', 'local:vztmpl/x.tar.zst', '')),
      storage_pool: maybe(fc.constantFrom('local-lvm', 'quickOS-lxc-disks', 'bad pool!')),
      storage_size_gb: maybe(fc.integer({ min: -1, max: 200000 })),
      network_config: maybe(
        fc.record(
          { name: maybe(fc.constantFrom('eth0', 'a-very-long-interface-name')), bridge: maybe(fc.constantFrom('vmbr0', '')), ip: maybe(fc.oneof(ip, fc.constant('dhcp'))), gw: maybe(fc.constantFrom('10.0.0.1', '999.1.1.1')), nameservers: maybe(fc.constantFrom('8.8.8.8', '1.1.1.1, 8.8.4.4', 'x')) },
          { requiredKeys: [] },
        ),
      ),
      mac_address: maybe(fc.constantFrom('52:54:00:AA:BB:CC', '01:00:5e:00:00:01', '00:00:00:00:00:00', 'zz')),
      unprivileged: maybe(fc.boolean()),
      clone_from_ctid: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: maybe(fc.constantFrom(...ids.map(String), '12345')) }),
      template_snapshot_name: maybe(fc.constantFrom('final-form', 'bad snap name', '1abc')),
      dependencies: maybe(fc.array(maybe(fc.constantFrom(...ids.map(String), '4242')), { maxLength: 3 })),
      pct_options: maybe(fc.array(fc.constantFrom('nesting=1', 'keyctl=0', 'mount=nfs;cifs', 'bogus'), { maxLength: 3 })),
      mount_points: maybe(fc.array(fc.record({ host_path: maybe(fc.constantFrom('/mnt/a', 'rel')), container_path: maybe(fc.constantFrom('/data', '/data', 'x')) }), { maxLength: 2 })),
      zfs_volumes: maybe(fc.array(fc.record({ name: fc.string(), pool: maybe(fc.constantFrom('tank', 'bulk')), size_gb: maybe(fc.integer({ min: 0, max: 100 })), mount_point: maybe(fc.constantFrom('/m', '/data')) }), { maxLength: 2 })),
      firewall: maybe(fc.record({ enabled: maybe(fc.boolean()), rules: maybe(fc.array(rule, { maxLength: 4 })) }, { requiredKeys: [] })),
      traefik_service: maybe(fc.record({ name: maybe(fc.constantFrom('web', 'Web App', '')), port: maybe(fc.integer({ min: 0, max: 70000 })) })),
      start_at_boot: maybe(fc.boolean()),
      boot_order: maybe(fc.integer({ min: -1, max: 10 })),
      boot_delay: maybe(fc.integer({ min: -1, max: 10 })),
      something_new: junk,
    },
    { requiredKeys: [] },
  );

test('any legacy LXC data: no throw, every field accounted for, every manifest valid', () => {
  const ids = [900, 901, 902, 903];
  fc.assert(
    fc.property(fc.tuple(...ids.map(() => lxcEntry(ids))), (entries) => {
      const lxc_configs = Object.fromEntries(entries.map((e, i) => [String(ids[i]), e]));
      const r = importLegacy({ file: 'l.json', doc: { lxc_configs } }, undefined);
      assert.is(r.guests.length, ids.length);
      for (const g of r.guests) {
        const raw = lxc_configs[String(g.vmid)] as Record<string, unknown>;
        for (const k of Object.keys(raw))
          if (raw[k] !== undefined)
            assert.ok(g.imported.includes(k) || g.unmapped.some((u) => u.field === k || u.field.startsWith(`${k}[`) || u.field.startsWith(`${k}.`)) || g.notes.some((n) => n.path.startsWith(`${g.path}.${k}`)) || g.errors.length > 0, `${g.path}.${k} unaccounted`);
        if (!g.resource) {
          assert.ok(g.errors.length > 0, `${g.path}: no resource and no error`);
          continue;
        }
        const v = validateResource(JSON.parse(JSON.stringify(annotatedResource(g))));
        assert.equal(v.issues, [], `${g.path} -> invalid manifest: ${JSON.stringify(v.issues)}\n${JSON.stringify(annotatedResource(g))}`);
      }
    }),
    { numRuns: 300 },
  );
});

test.run();
