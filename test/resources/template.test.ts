import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyDefaults } from '../../resources/index.js';
import type { Template } from '../../resources/types.js';
import { assertInjectionRejected, assertRejected, assertValid, lxcTemplate, qemuTemplate, withValue } from '../helpers/resources.js';

test('lxc and qemu templates are valid', () => {
  assertValid(lxcTemplate());
  assertValid(qemuTemplate());
});

test('every property-string-bound field rejects every injection character', () => {
  assertInjectionRejected(lxcTemplate(), [
    ['spec', 'ostemplate'],
    ['spec', 'rootfs', 'storage'],
    ['spec', 'rootfs', 'size'],
    ['spec', 'lxcNetworks', 0, 'name'],
    ['spec', 'lxcNetworks', 0, 'bridge'],
    ['spec', 'lxcNetworks', 0, 'ip'],
    ['spec', 'lxcNetworks', 0, 'hwaddr'],
    ['spec', 'nameserver'],
    ['spec', 'searchdomain'],
  ]);
  assertInjectionRejected(qemuTemplate(), [
    ['spec', 'image'],
    ['spec', 'disk', 'slot'],
    ['spec', 'disk', 'storage'],
    ['spec', 'disk', 'size'],
    ['spec', 'vmNetworks', 0, 'bridge'],
    ['spec', 'cloudInit', 'user'],
    ['spec', 'cloudInit', 'ipConfig', 0, 'ip'],
  ]);
});

test('volume ids: vztmpl for lxc, import for qemu', () => {
  assertRejected(withValue(lxcTemplate(), ['spec', 'ostemplate'], 'local:iso/ubuntu.iso'), ['spec', 'ostemplate'], /container template volume/);
  assertRejected(withValue(lxcTemplate(), ['spec', 'ostemplate'], '/var/lib/vz/template/cache/x.tar.zst'), ['spec', 'ostemplate'], /container template volume/);
  assertRejected(withValue(qemuTemplate(), ['spec', 'image'], 'local:import/../../etc/passwd'), ['spec', 'image'], /import volume/);
  assertRejected(withValue(lxcTemplate(), ['spec', 'type'], 'vm'), ['spec', 'type'], /must be one of: lxc, qemu/);
});

test('each type needs its own fields and refuses the other type\'s', () => {
  assertRejected(withValue(lxcTemplate(), ['spec', 'ostemplate'], undefined), ['spec'], /lxc template needs 'ostemplate'/);
  assertRejected(withValue(lxcTemplate(), ['spec', 'rootfs'], undefined), ['spec'], /lxc template needs 'rootfs'/);
  assertRejected(withValue(qemuTemplate(), ['spec', 'image'], undefined), ['spec'], /qemu template needs 'image'/);
  assertRejected(withValue(qemuTemplate(), ['spec', 'disk'], undefined), ['spec'], /qemu template needs 'disk'/);
  assertRejected(withValue(lxcTemplate(), ['spec', 'cloudInit'], { user: 'x' }), ['spec', 'cloudInit'], /does not apply to a lxc template/);
  assertRejected(withValue(qemuTemplate(), ['spec', 'unprivileged'], true), ['spec', 'unprivileged'], /does not apply to a qemu template/);
  assertRejected(withValue(lxcTemplate(), ['spec', 'ostype'], 'l26'), ['spec', 'ostype'], /must be one of: debian/);
  assertRejected(withValue(qemuTemplate(), ['spec', 'ostype'], 'ubuntu'), ['spec', 'ostype'], /must be one of: other/);
  assertValid(withValue(qemuTemplate(), ['spec', 'ostype'], 'l26'));
});

test('defaults depend on the type: 512 MiB + swap + unprivileged for lxc, 2048 MiB for qemu', () => {
  const l = applyDefaults(lxcTemplate() as Template).spec;
  assert.equal([l.cores, l.memory, l.swap, l.unprivileged], [1, 512, 512, true]);
  const q = applyDefaults(qemuTemplate() as Template).spec;
  assert.equal([q.cores, q.memory, q.swap, q.unprivileged], [1, 2048, undefined, undefined]);
});

test.run();
