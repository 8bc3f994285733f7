// Timing behaviour: full clones hold the storage lock for seconds per GiB, so three parallel clones on
// one storage exceed the 10 s lock wait (all figures scaled by --time-scale). Runs at scale 0.1 so the
// margins (the second clone waits 6 of 10 units, the third would need 12) are hundreds of ms wide.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startSim } from '../../pvesim/index.js';
import { client, waitTask } from './helpers.js';

test('parallel full clones on one storage contend for its lock: the third times out', async () => {
  const h = await startSim({ timeScale: 0.1 });
  try {
    const px: any = client(h);
    const vm = (id: number) => px.nodes.$('pve').qemu.$(id);
    assert.is(await waitTask(px, await px.nodes.$('pve').qemu.$post({ vmid: 930, scsi0: 'local-lvm:6' }), 20_000), 'OK');
    assert.is(await waitTask(px, await vm(930).template.$post(), 20_000), 'OK');
    const started = Date.now();
    const upids: string[] = await Promise.all([931, 932, 933].map((id) => vm(930).clone.$post({ newid: id, full: 1 })));
    const results = await Promise.all(upids.map((u) => waitTask(px, u, 20_000)));
    const elapsed = Date.now() - started;
    assert.is(results.filter((r) => r === 'OK').length, 2, results.join(' | '));
    assert.ok(results.includes("clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout"), results.join(' | '));
    // two 6 GiB copies back to back at 1 s/GiB plus the 1 s clone start, scaled by 0.1
    assert.ok(elapsed >= 1200, `elapsed ${elapsed} ms`);
    console.log(`figure: pvesim 3 parallel 6 GiB full clones at time scale 0.1 took ${elapsed} ms`);
  } finally {
    await h.close();
  }
});

test.run();
