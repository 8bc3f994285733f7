// Conformance of pvesim with the behaviour of Proxmox VE 9.1 (shared/pve-api/behaviour.md), row by
// row, through the real proxmox-api client over HTTPS: once with an API token, once with ticket login.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startSim, type SimHandle } from '../../pvesim/index.js';
import { IMG, TMPL, client, rejects, until, waitTask } from './helpers.js';

const MAC = /^BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2}$/;

for (const mode of ['token', 'ticket'] as const) {
  const S = suite(`conformance (${mode})`);
  let h: SimHandle;
  let px: any;
  const node = (n = 'pve') => px.nodes.$(n);
  const ct = (vmid: number) => node().lxc.$(vmid);
  const vm = (vmid: number) => node().qemu.$(vmid);
  const mkCt = (vmid: number, extra: Record<string, unknown> = {}, n = 'pve') =>
    node(n).lxc.$post({ vmid, ostemplate: TMPL, rootfs: 'local-lvm:8', net0: 'name=eth0,bridge=vmbr0,ip=dhcp', ...extra });
  const mkVm = (vmid: number, extra: Record<string, unknown> = {}) => node().qemu.$post({ vmid, name: `vm${vmid}`, scsi0: 'local-lvm:8', net0: 'virtio,bridge=vmbr0', ...extra });
  const done = async (p: Promise<string>) => waitTask(px, await p);
  const ok = async (p: Promise<string>) => assert.is(await done(p), 'OK');

  S.before(async () => {
    h = await startSim({ timeScale: 0.01, nodes: ['pve', 'pve2'], seed: 7, storages: [{ name: 'tiny', type: 'lvmthin', content: ['images', 'rootdir'], sizeGiB: 10 }] });
    px = client(h, mode);
    // fixtures: CT 100 (stopped), CT 102 (running), VM 300 (stopped), VM 301 (running), CT template 200, VM templates 900, 905
    await ok(mkCt(100));
    await ok(mkCt(102));
    await ok(ct(102).status.start.$post());
    await ok(mkVm(300));
    await ok(mkVm(301, { agent: '1' }));
    await ok(vm(301).status.start.$post());
    await ok(mkCt(200, { rootfs: 'local-lvm:32' }));
    assert.is(await ct(200).template.$post(), null);
    await ok(mkVm(900, { scsi0: 'local-lvm:8' }));
    await ok(vm(900).template.$post());
    await ok(mkVm(905));
    await ok(vm(905).template.$post());
  });
  S.after(async () => {
    h.setFaults(null);
    await h.close();
  });

  S('create carries lock: create until its task ends; LXC config shapes and defaults', async () => {
    const upid: string = await mkCt(101);
    assert.match(upid, /^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:vzcreate:101:root@pam(!pvesim)?:$/);
    assert.is((await ct(101).config.$get()).lock, 'create');
    assert.is(await waitTask(px, upid), 'OK');
    const c = await ct(101).config.$get();
    assert.is(c.lock, undefined);
    assert.is(c.memory, 512);
    assert.is(c.swap, 512);
    assert.is(c.unprivileged, 1);
    assert.is(c.rootfs, 'local-lvm:vm-101-disk-0,size=8G');
    assert.match(c.net0, /^name=eth0,bridge=vmbr0,hwaddr=BC:24:11:[0-9A-F:]{8},ip=dhcp,type=veth$/);
    assert.match(c.digest, /^[0-9a-f]{40}$/);
  });

  S('LXC create on a taken vmid (CT, VM, other node)', async () => {
    await rejects(mkCt(100), 500, "CT 100 already exists on node 'pve'");
    await rejects(mkCt(300), 500, "VM 300 already exists on node 'pve'");
    await rejects(mkCt(100, {}, 'pve2'), 500, "CT 100 already exists on node 'pve'");
  });

  S('QEMU create on a taken vmid', async () => {
    await rejects(mkVm(300), 500, "unable to create VM 300 - VM 300 already exists on node 'pve'");
  });

  S('LXC and QEMU clone to a taken id', async () => {
    await rejects(ct(200).clone.$post({ newid: 100 }), 500, "CT 100 already exists on node 'pve'");
    await rejects(vm(900).clone.$post({ newid: 300 }), 500, 'unable to create VM 300: config file already exists');
  });

  S('nextid returns a string; a taken vmid is a 400 on vmid', async () => {
    const id = await px.cluster.nextid.$get();
    assert.type(id, 'string');
    assert.ok(Number(id) >= 100);
    const msg = await rejects(px.cluster.nextid.$get({ vmid: 100 }), 400, 'Parameter verification failed.');
    assert.ok(msg.includes('"errors":{"vmid":"VM 100 already exists"}'), msg);
  });

  S('unknown guest and unknown node', async () => {
    await rejects(ct(117).config.$get(), 500, "Configuration file 'nodes/pve/lxc/117.conf' does not exist");
    await rejects(vm(117).config.$get(), 500, "Configuration file 'nodes/pve/qemu-server/117.conf' does not exist");
    await rejects(vm(100).config.$get(), 500, "Configuration file 'nodes/pve/qemu-server/100.conf' does not exist");
    await rejects(node('x').lxc.$get(), 500, "hostname lookup 'x' failed - failed to get address info for: x: Name or service not known");
  });

  S('a locked guest refuses changes (create, clone locks held by hung tasks)', async () => {
    h.setFaults('POST /nodes/pve/lxc taskhang');
    await mkCt(110);
    h.setFaults(null);
    await rejects(ct(110).config.$put({ memory: 1024 }), 500, 'CT is locked (create)');
    // (a hung QEMU clone keeps its source's config lock too, so it gets a template of its own)
    h.setFaults('POST /nodes/pve/qemu/905/clone taskhang');
    await vm(905).clone.$post({ newid: 910, full: 0 });
    h.setFaults(null);
    assert.is((await vm(910).config.$get()).lock, 'clone');
    await rejects(vm(910).config.$put({ memory: '1024' }), 500, 'VM is locked (clone)');
  });

  S('a busy config file times out with the flock text (LXC, QEMU, during create)', async () => {
    await ok(mkCt(111));
    await ok(mkVm(311));
    h.setFaults('POST /nodes/pve/lxc/111/status/start taskhang;POST /nodes/pve/qemu/311/status/start taskhang');
    await ct(111).status.start.$post();
    await vm(311).status.start.$post();
    h.setFaults(null);
    await rejects(ct(111).config.$put({ memory: 1024 }), 500, "can't lock file '/run/lock/lxc/pve-config-111.lock' - got timeout");
    await rejects(vm(311).config.$put({ memory: '1024' }), 500, "can't lock file '/var/lock/qemu-server/lock-311.conf' - got timeout");
    const release = await h.sim.locks.acquire('lxc:120', 'x', 1000);
    try {
      await rejects(mkCt(120), 500, "unable to create CT 120 - can't lock file '/run/lock/lxc/pve-config-120.lock' - got timeout");
    } finally {
      release();
    }
  });

  S('QEMU clone: the new VM carries lock: clone until the task ends; name and MACs', async () => {
    const upid = await vm(900).clone.$post({ newid: 920, full: 1 });
    assert.is((await vm(920).config.$get()).lock, 'clone');
    assert.is(await waitTask(px, upid), 'OK');
    const c = await vm(920).config.$get();
    const src = await vm(900).config.$get();
    assert.is(c.lock, undefined);
    assert.is(c.template, undefined);
    assert.is(c.name, 'Copy-of-VM-vm900');
    assert.is.not(c.net0, src.net0);
    assert.match(c.net0.split(',')[0].split('=')[1], MAC);
    assert.is(c.scsi0, 'local-lvm:vm-920-disk-0,size=8G');
  });

  S('LXC clone locks its source with disk and the target with create; a second clone is refused', async () => {
    const upid = await ct(200).clone.$post({ newid: 201, full: 1, hostname: 'c201' });
    assert.is((await ct(200).config.$get()).lock, 'disk');
    assert.is((await ct(201).config.$get()).lock, 'create');
    await rejects(ct(200).clone.$post({ newid: 202 }), 500, 'CT is locked (disk)');
    assert.is(await waitTask(px, upid), 'OK');
    assert.is((await ct(200).config.$get()).lock, undefined);
    const c = await ct(201).config.$get();
    assert.is(c.hostname, 'c201');
    assert.is(c.rootfs, 'local-lvm:vm-201-disk-0,size=32G');
  });

  S('LXC full clone of a running CT needs a snapshot', async () => {
    await rejects(ct(102).clone.$post({ newid: 103, full: 1 }), 500, 'Full clone of a running container is only possible from a snapshot');
  });

  S('linked clone of a non-template; linked clone with storage', async () => {
    await rejects(ct(100).clone.$post({ newid: 104, full: 0 }), 500, "Linked clone feature for 'local-lvm:vm-100-disk-0' is not available");
    await rejects(vm(300).clone.$post({ newid: 304, full: 0 }), 500, "Linked clone feature is not supported for 'local-lvm:vm-300-disk-0' (scsi0)");
    await rejects(ct(200).clone.$post({ newid: 204, full: 0, storage: 'local-lvm' }), 500, "parameter 'storage' not allowed for linked clones");
  });

  S('clone result: a template clones linked by default, new MAC, template flag dropped', async () => {
    await ok(ct(200).clone.$post({ newid: 203 }));
    const src = await ct(200).config.$get();
    const c = await ct(203).config.$get();
    assert.is(src.template, 1);
    assert.is(c.template, undefined);
    assert.is(c.rootfs, 'local-lvm:base-200-disk-0/vm-203-disk-0,size=32G');
    const mac = (v: string) => /hwaddr=([^,]+)/.exec(v)![1]!;
    assert.is.not(mac(c.net0), mac(src.net0));
    assert.match(mac(c.net0), MAC);
  });

  S('convert to template: flag, base disks, refusals', async () => {
    const c = await ct(200).config.$get();
    assert.is(c.template, 1);
    assert.is(c.rootfs, 'local-lvm:base-200-disk-0,size=32G');
    assert.is((await vm(900).config.$get()).scsi0, 'local-lvm:base-900-disk-0,size=8G');
    await rejects(ct(200).template.$post(), 500, "you can't convert a template to a template");
    await rejects(ct(102).template.$post(), 500, "you can't convert a CT to template if the CT is running");
    await rejects(vm(301).template.$post(), 500, "you can't convert a VM to template if VM is running");
  });

  S('starting a template fails in the task', async () => {
    assert.is(await done(ct(200).status.start.$post()), "you can't start a CT if it's a template");
    assert.is(await done(vm(900).status.start.$post()), "you can't start a vm if it's a template");
  });

  S('LXC start while running / stop while stopped are 500s', async () => {
    await rejects(ct(102).status.start.$post(), 500, 'CT 102 already running');
    await rejects(ct(100).status.stop.$post(), 500, 'CT 100 not running');
    await rejects(ct(100).status.shutdown.$post(), 500, 'CT 100 not running');
  });

  S('QEMU start while running fails in the task; stop while stopped succeeds', async () => {
    assert.is(await done(vm(301).status.start.$post()), 'VM 301 already running');
    assert.is(await done(vm(300).status.stop.$post()), 'OK');
  });

  S('running state and uptime', async () => {
    const s = await ct(102).status.current.$get();
    assert.is(s.status, 'running');
    assert.type(s.uptime, 'number');
    assert.is((await ct(100).status.current.$get()).status, 'stopped');
  });

  S('delete a running CT (refused, then force=1) and a running VM', async () => {
    await ok(mkCt(130));
    await ok(ct(130).status.start.$post());
    await rejects(ct(130).$delete(), 500, 'unable to destroy CT 130 - container is running');
    await ok(ct(130).$delete({ force: 1 }));
    await rejects(ct(130).config.$get(), 500, "Configuration file 'nodes/pve/lxc/130.conf' does not exist");
    await rejects(vm(301).$delete(), 500, 'VM 301 is running - destroy failed');
  });

  S('a protected guest cannot be removed', async () => {
    await ok(mkCt(131));
    assert.is(await ct(131).config.$put({ protection: 1 }), null);
    await rejects(ct(131).$delete(), 500, "can't remove CT 131 - protection mode enabled");
  });

  S('resize: shrink refused, grow is a task', async () => {
    await rejects(ct(100).resize.$put({ disk: 'rootfs', size: '4G' }), 500, 'unable to shrink disk size');
    await rejects(vm(300).resize.$put({ disk: 'scsi0', size: '4G' }), 500, 'shrinking disks is not supported');
    await ok(vm(300).resize.$put({ disk: 'scsi0', size: '+2G' }));
    assert.is((await vm(300).config.$get()).scsi0, 'local-lvm:vm-300-disk-0,size=10G');
  });

  S('PUT config: stale digest, nothing to do, unknown key to delete', async () => {
    const stale = '0'.repeat(40);
    await rejects(ct(100).config.$put({ memory: 1024, digest: stale }), 500, 'detected modified configuration - file changed by other user? Try again.');
    await rejects(vm(300).config.$put({ cores: 2, digest: stale }), 500, 'checksum mismatch (file change by other user?)');
    await rejects(ct(100).config.$put({}), 500, 'no options specified');
    const msg = await rejects(ct(100).config.$put({ delete: 'bogus' }), 400, 'Parameter verification failed.');
    assert.ok(msg.includes(`"delete":"unknown option 'bogus'"`), msg);
    const before = (await ct(100).config.$get()).digest;
    assert.is(await ct(100).config.$put({ memory: 1024, digest: before }), null);
    const after = await ct(100).config.$get();
    assert.is(after.memory, 1024);
    assert.is.not(after.digest, before);
  });

  S('QEMU config shapes: memory string, cloud-init drive, sshkeys stored encoded, password hidden', async () => {
    const keys = encodeURIComponent('ssh-ed25519 AAAAC3Nza test@example');
    await ok(mkVm(320, { memory: '2048', ide2: 'local-lvm:cloudinit', ciuser: 'ubuntu', cipassword: 'secret', sshkeys: keys, ipconfig0: 'ip=10.0.0.5/24,gw=10.0.0.1', agent: '1', scsi0: `local-lvm:0,import-from=${IMG}` }));
    const c = await vm(320).config.$get();
    assert.is(c.memory, '2048');
    assert.is(c.ide2, 'local-lvm:vm-320-cloudinit,media=cdrom');
    assert.is(c.sshkeys, keys);
    assert.is(c.cipassword, '**********');
    assert.is(c.ipconfig0, 'ip=10.0.0.5/24,gw=10.0.0.1');
    assert.is(c.scsi0, 'local-lvm:vm-320-disk-0,size=3584M');
    assert.match(c.net0, /^virtio=BC:24:11:[0-9A-F:]{8},bridge=vmbr0$/);
  });

  S('QEMU pending changes on a running VM apply at reboot; config shows pending unless current=1', async () => {
    assert.is(await vm(301).config.$put({ cores: 4, description: 'hot' }), null);
    const pending = await vm(301).pending.$get();
    const cores = pending.find((e: any) => e.key === 'cores');
    assert.equal(cores, { key: 'cores', pending: 4 });
    assert.is(pending.find((e: any) => e.key === 'description').pending, undefined);
    assert.is((await vm(301).config.$get()).cores, 4);
    assert.is((await vm(301).config.$get({ current: 1 })).cores, undefined);
    await ok(vm(301).status.reboot.$post());
    assert.is((await vm(301).pending.$get()).find((e: any) => e.key === 'cores').pending, undefined);
    assert.is((await vm(301).config.$get({ current: 1 })).cores, 4);
  });

  S('POST qemu config is a qmconfig task', async () => {
    const upid: string = await vm(300).config.$post({ cores: 2 });
    assert.match(upid, /:qmconfig:300:/);
    assert.is(await waitTask(px, upid), 'OK');
    assert.is((await vm(300).config.$get()).cores, 2);
  });

  S('tasks: status fields, log, list with start and end times, unknown upid', async () => {
    const upid: string = await ct(100).status.start.$post();
    assert.is(await waitTask(px, upid), 'OK');
    const st = await node().tasks.$(upid).status.$get();
    assert.equal(Object.keys(st).sort(), ['exitstatus', 'id', 'node', 'pid', 'pstart', 'starttime', 'status', 'type', 'upid', 'user']);
    assert.is(st.type, 'vzstart');
    assert.is(st.id, '100');
    const logResp = await node().tasks.$(upid).log.$get({ start: 0, limit: 50 });
    assert.is(logResp[logResp.length - 1].t, 'TASK OK');
    const failing: string = await ct(200).status.start.$post();
    await waitTask(px, failing);
    const flog = await node().tasks.$(failing).log.$get();
    assert.is(flog[flog.length - 1].t, "TASK ERROR: you can't start a CT if it's a template");
    const list = await node().tasks.$get({ vmid: 100 });
    const entry = list.find((t: any) => t.upid === upid);
    assert.ok(entry && entry.endtime >= entry.starttime && entry.status === 'OK', JSON.stringify(entry));
    const bogus = 'UPID:pve:00000001:00000001:00000001:vzstart:100:root@pam:';
    const msg = await rejects(node().tasks.$(bogus).status.$get(), 400, 'Parameter verification failed.');
    assert.ok(msg.includes('"upid":"no such task"'), msg);
    await ok(ct(100).status.stop.$post());
  });

  S('a full storage fails create and clone with the storage text', async () => {
    await ok(mkCt(140, { rootfs: 'tiny:8' }));
    const r = await done(mkCt(141, { rootfs: 'tiny:8' }));
    assert.match(r, /^unable to create CT 141 - lvcreate 'pve\/vm-141-disk-0' error: {3}Volume group "pve" has insufficient free space/);
    await rejects(ct(141).config.$get(), 500, "Configuration file 'nodes/pve/lxc/141.conf' does not exist");
    const c = await done(ct(140).clone.$post({ newid: 142, full: 1, storage: 'tiny' }));
    assert.match(c, /^clone failed: lvcreate 'pve\/vm-142-disk-0' error/);
  });

  S('cluster resources list every guest of every node with the documented fields', async () => {
    await ok(mkCt(150, { tags: 'web;prod' }, 'pve2'));
    const res = await px.cluster.resources.$get({ type: 'vm' });
    const e = res.find((r: any) => r.id === 'lxc/150');
    assert.ok(e, 'lxc/150 listed');
    assert.is(e.node, 'pve2');
    assert.is(e.vmid, 150);
    for (const k of ['status', 'name', 'template', 'maxmem', 'maxcpu', 'maxdisk', 'tags']) assert.ok(k in e, k);
    assert.ok(res.some((r: any) => r.id === 'qemu/910' && r.lock === 'clone'));
    assert.ok((await node('pve2').lxc.$get()).some((g: any) => g.vmid === 150));
    await rejects(ct(150).config.$get(), 500, "Configuration file 'nodes/pve/lxc/150.conf' does not exist");
  });

  S('storages: list, content with the Ubuntu template and the noble image', async () => {
    const list = await node().storage.$get();
    assert.ok(list.some((s: any) => s.storage === 'local-lvm' && s.type === 'lvmthin'));
    const tmpl = await node().storage.$('local').content.$get({ content: 'vztmpl' });
    assert.ok(tmpl.some((v: any) => v.volid === TMPL));
    const imp = await node().storage.$('local').content.$get({ content: 'import' });
    assert.ok(imp.some((v: any) => v.volid === IMG));
    const images = await node().storage.$('local-lvm').content.$get({ vmid: 100 });
    assert.equal(images.map((v: any) => v.volid), ['local-lvm:vm-100-disk-0']);
    await rejects(node().storage.$('nope').content.$get(), 500, "storage 'nope' does not exist");
  });

  S('guest agent exec: needs agent configured and a running VM; records commands', async () => {
    await rejects(vm(300).agent.exec.$post({ command: ['true'] }), 500, 'VM 300 is not running');
    await ok(vm(300).status.start.$post());
    await until('agent ready', async () => {
      await rejects(vm(300).agent.exec.$post({ command: ['true'] }), 500, 'No QEMU guest agent configured');
      return true;
    });
    const r = await until('agent answers', () => vm(301).agent.exec.$post({ command: ['systemctl', 'reload', 'nginx'] }));
    assert.type(r.pid, 'number');
    const st = await vm(301).agent['exec-status'].$get({ pid: r.pid });
    assert.is(st.exited, 1);
    assert.is(st.exitcode, 0);
    assert.ok(h.sim.agentExecs.some((e) => e.vmid === 301 && e.command.join(' ') === 'systemctl reload nginx'));
  });

  S('snapshots: create, list, template refused, delete', async () => {
    await ok(ct(100).snapshot.$post({ snapname: 'pre', description: 'before' }));
    const list = await ct(100).snapshot.$get();
    assert.equal(list.map((s: any) => s.name), ['pre', 'current']);
    await rejects(ct(100).snapshot.$post({ snapname: 'pre' }), 500, "snapshot name 'pre' already used");
    await rejects(ct(100).template.$post(), 500, "you can't convert a CT to template if it has snapshots");
    await ok(ct(100).snapshot.$('pre').$delete());
    assert.equal((await ct(100).snapshot.$get()).map((s: any) => s.name), ['current']);
  });

  S('firewall rules and options', async () => {
    assert.is(await ct(100).firewall.rules.$post({ type: 'in', action: 'ACCEPT', proto: 'tcp', dport: '22', enable: 1 }), null);
    assert.is(await ct(100).firewall.rules.$post({ type: 'in', action: 'DROP', pos: 1 }), null);
    let rules = await ct(100).firewall.rules.$get();
    assert.equal(rules.map((r: any) => [r.pos, r.action]), [[0, 'ACCEPT'], [1, 'DROP']]);
    assert.is(rules[0].enable, 1);
    await ct(100).firewall.rules.$(0).$put({ dport: '2222' });
    assert.is((await ct(100).firewall.rules.$(0).$get()).dport, '2222');
    await ct(100).firewall.rules.$(1).$delete();
    rules = await ct(100).firewall.rules.$get();
    assert.is(rules.length, 1);
    await ct(100).firewall.options.$put({ enable: 1, policy_in: 'DROP' });
    const o = await ct(100).firewall.options.$get();
    assert.is(o.enable, 1);
    assert.is(o.policy_in, 'DROP');
  });

  S('cloud-init: changed values show as pending until regenerated', async () => {
    await vm(320).config.$put({ ciuser: 'admin' });
    await ok(vm(320).status.start.$post());
    await vm(320).config.$put({ ciuser: 'ops' });
    const ci = await vm(320).cloudinit.$get();
    assert.equal(ci.find((e: any) => e.key === 'ciuser'), { key: 'ciuser', value: 'admin', pending: 'ops' });
    assert.is(await vm(320).cloudinit.$put(), null);
    assert.equal((await vm(320).cloudinit.$get()).find((e: any) => e.key === 'ciuser'), { key: 'ciuser', value: 'ops' });
  });

  S.run();
}
