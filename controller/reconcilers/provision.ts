// Bringing a guest into existence: create from an ostemplate or a cloud image, or clone from a
// Template or from another guest at a snapshot. Every path goes through provisionIdempotent (a lost
// answer is recognised by the marker) and through the node/storage/source limits.
import type { GuestResource, Kind, LxcContainer, Template, VirtualMachine } from '../../resources/types.js';
import type { PlanStep, ReconcileContext, ReconcileOutcome } from '../types.js';
import { keyOf } from '../types.js';
import type { ClusterGuest, Params } from '../pve/client.js';
import type { GuestType } from '../pve/normalize.js';
import { desiredDescription, desiredTags, guestTypeOf, lxcCreateParams, qemuTemplateCreateParams } from '../plan/desired.js';
import type { Shared } from './guest-common.js';
import { isPveError } from '../pve/errors.js';
import { mountPointsProblem, placeNode, provisionIdempotent, runTask, withLockRetry } from './guest-common.js';

/** Locks a source carries while it is being cloned (transient: not a reason to wait for the source). */
const CLONE_LOCKS = new Set(['disk', 'clone']);

/** Storage types on which Proxmox can make linked clones of a container template. */
const LINKED_CLONE_STORAGE = new Set(['lvmthin', 'zfspool', 'rbd', 'btrfs']);

export interface ProvisionResult {
  steps: PlanStep[];
  /** Stop here (waiting for a source, refused, ...). */
  outcome?: ReconcileOutcome;
  /** The new guest (after the task finished), for the converge that follows. */
  created?: ClusterGuest;
}

function storageOfSource(r: GuestResource | undefined): string | undefined {
  if (!r) return undefined;
  if (r.kind === 'Template') return r.spec.type === 'lxc' ? r.spec.rootfs?.storage : r.spec.disk?.storage;
  if (r.kind === 'LxcContainer') return r.spec.rootfs.storage;
  return r.spec.disks?.[0]?.storage;
}

async function chooseNode(sh: Shared, ctx: ReconcileContext<GuestResource>, preferred?: string): Promise<string> {
  const node = ctx.resource.spec.node ?? ctx.status.node ?? preferred ?? (await placeNode(sh));
  if (ctx.status.node !== node) {
    ctx.status.node = node;
    await ctx.persist();
  }
  return node;
}

const newGuest = (vmid: number, node: string, type: GuestType, tags: string): ClusterGuest => ({
  id: `${type}/${vmid}`,
  vmid,
  node,
  type,
  status: 'stopped',
  template: false,
  tags: tags.split(';'),
});

/** Create from an ostemplate (LXC) or a cloud image (VM template). */
export async function provisionCreate(sh: Shared, ctx: ReconcileContext<LxcContainer | Template>, dryRun: boolean): Promise<ProvisionResult> {
  const r = ctx.resource;
  const type = guestTypeOf(r);
  const vmid = r.spec.vmid;
  let params: Record<string, string | number>;
  let storage: string | undefined;
  if (type === 'lxc') {
    const ostemplate = r.kind === 'Template' ? r.spec.ostemplate : r.spec.source.ostemplate;
    if (!ostemplate) return { steps: [], outcome: { state: 'Stalled', reason: 'Invalid', message: 'spec: an LXC needs an ostemplate to be created from' } };
    if (r.kind === 'LxcContainer') {
      const bad = mountPointsProblem(r.spec.mountPoints, sh.options.allowedHostPaths);
      if (bad) return { steps: [], outcome: { state: 'Stalled', reason: 'HostPathNotAllowed', message: bad } };
    }
    params = lxcCreateParams(r, ostemplate);
    storage = r.kind === 'Template' ? r.spec.rootfs?.storage : r.spec.rootfs.storage;
  } else {
    const t = r as Template;
    if (!t.spec.image) return { steps: [], outcome: { state: 'Stalled', reason: 'Invalid', message: 'spec.image: a VM template needs a cloud image to import' } };
    params = qemuTemplateCreateParams(t);
    storage = t.spec.disk?.storage;
  }
  const what = type === 'lxc' ? `CT ${vmid} from ${params.ostemplate}` : `VM ${vmid} from image ${(r as Template).spec.image}`;
  const steps: PlanStep[] = [{ action: 'create', description: `create ${what}` }];
  if (dryRun) return { steps };
  const node = await chooseNode(sh, ctx);
  const out = await sh.limits.run({ node, ...(storage ? { storage } : {}) }, () =>
    provisionIdempotent(sh, ctx, { step: 'create', node, type, vmid, send: () => sh.pve.createGuest(node, type, params) }),
    { whileQueued: ctx.whileWaiting, priority: ctx.priority },
  );
  if (out === 'done') ctx.recorder.event('Normal', 'Created', `created ${what} on ${node}`);
  const g = newGuest(vmid, node, type, String(params.tags));
  await sh.fleet.note(g);
  return { steps, created: g };
}

/** Clone from a Template, or from another guest at a named snapshot (ensured first). */
export async function provisionClone(sh: Shared, ctx: ReconcileContext<LxcContainer | VirtualMachine>, dryRun: boolean): Promise<ProvisionResult> {
  const r = ctx.resource;
  const type = guestTypeOf(r);
  const vmid = r.spec.vmid;
  const src = r.spec.source;
  const kindOfGuest: Kind = type === 'lxc' ? 'LxcContainer' : 'VirtualMachine';
  const srcRef = src.template ? { kind: 'Template' as Kind, name: src.template } : src.guest ? { kind: kindOfGuest, name: src.guest } : undefined;
  if (!srcRef) return { steps: [], outcome: { state: 'Stalled', reason: 'Invalid', message: 'spec.source: name a template, a guest (with a snapshot) or an ostemplate' } };
  const srcRes = ctx.lookup(srcRef)?.resource as GuestResource | undefined;
  if (!srcRes) return { steps: [], outcome: { state: 'Progressing', reason: 'WaitingForSource', message: `waiting for ${keyOf(srcRef)} to be declared`, requeueAfterMs: 5000 } };
  if (guestTypeOf(srcRes) !== type) {
    return { steps: [], outcome: { state: 'Stalled', reason: 'Invalid', message: `spec.source: ${keyOf(srcRef)} is a ${guestTypeOf(srcRes)} guest, ${keyOf(r)} needs ${type}` } };
  }
  const srcVmid = srcRes.spec.vmid;
  const s = await sh.fleet.find(srcVmid);
  // A clone in progress locks its source (`disk` for a container) only while it copies; the clones of
  // one source already take turns (limits), and a lock met anyway is retried. Waiting out such a lock
  // here, seen in a fleet list up to fleetMaxAgeMs old, left the source idle for whole requeue delays.
  const ready = s && s.type === type && (!s.lock || CLONE_LOCKS.has(s.lock)) && (srcRef.kind !== 'Template' || s.template);
  if (!s || !ready) {
    return { steps: [], outcome: { state: 'Progressing', reason: 'WaitingForSource', message: `waiting for ${keyOf(srcRef)} (vmid ${srcVmid}) to be ready`, requeueAfterMs: 5000 } };
  }
  const snapname = src.template ? undefined : (src.snapshot ?? 'phoenix-clone');
  const full = src.full ?? (type === 'qemu' ? true : !s.template);
  if (!full && !s.template) return { steps: [], outcome: { state: 'Stalled', reason: 'Invalid', message: `spec.source.full: a linked clone needs a template source; ${keyOf(srcRef)} is not one` } };
  const node = r.spec.node ?? ctx.status.node ?? s.node;
  const targetStorage = full ? (src.storage ?? storageOfSource(srcRes)) : storageOfSource(srcRes);
  let linkedNote = '';
  if (!full && type === 'lxc') {
    const st = (await sh.fleet.storages()).find((x) => x.storage === storageOfSource(srcRes));
    if (st && !LINKED_CLONE_STORAGE.has(st.type)) {
      if (src.full === false) return { steps: [], outcome: { state: 'Stalled', reason: 'Invalid', message: `spec.source.full: storage ${st.storage} (${st.type}) cannot hold linked clones` } };
      linkedNote = ' (storage cannot link: full)';
    }
  }
  const isFull = full || linkedNote !== '';
  const params: Params = { newid: vmid, description: desiredDescription(r.kind, r.metadata.name, r.spec.description), full: isFull ? 1 : 0 };
  if (type === 'lxc') params.hostname = (r as LxcContainer).spec.hostname ?? r.metadata.name;
  else params.name = r.metadata.name;
  if (isFull && src.storage) params.storage = src.storage;
  if (snapname) params.snapname = snapname;
  if (node !== s.node) {
    const st = targetStorage ? (await sh.fleet.storages()).find((x) => x.storage === targetStorage) : undefined;
    if (!st?.shared) {
      const message = `cannot clone ${keyOf(srcRef)} from node ${s.node} onto node ${node}: storage ${targetStorage ?? '(unknown)'} is not shared; place the guest on ${s.node} or use shared storage`;
      return { steps: [], outcome: { state: 'Stalled', reason: 'CrossNodeClone', message } };
    }
    params.target = node;
  }
  const steps: PlanStep[] = [];
  const snapshots = snapname ? await sh.pve.snapshots(s.node, type, srcVmid) : [];
  const needSnap = snapname !== undefined && !snapshots.some((x) => x.name === snapname);
  if (needSnap) steps.push({ action: 'snapshot', description: `snapshot ${keyOf(srcRef)} (vmid ${srcVmid}) as ${snapname}` });
  const what = `${keyOf(srcRef)} (vmid ${srcVmid}${snapname ? ` @${snapname}` : ''}) to ${vmid}, ${isFull ? 'full' : 'linked'}${linkedNote}${params.target ? `, onto ${node}` : ''}`;
  steps.push({ action: 'clone', description: `clone ${what}` });
  if (dryRun) return { steps };
  if (ctx.status.node !== node) {
    ctx.status.node = node;
    await ctx.persist();
  }
  const lockKey = type === 'lxc' ? `${s.node}/${srcVmid}` : undefined;
  const out = await sh.limits.run({ node: s.node, ...(targetStorage ? { storage: targetStorage } : {}), ...(lockKey ? { source: lockKey } : {}) }, async () => {
    // Re-checked inside the source's queue: a clone queued behind another may find it taken.
    const still = needSnap && !(await sh.pve.snapshots(s.node, type, srcVmid)).some((x) => x.name === snapname);
    if (still) {
      const upid = await withLockRetry(sh, ctx, 'snapshot', () => sh.pve.createSnapshot(s.node, type, srcVmid, snapname!, `phoenix: clone source for ${keyOf(r)}`));
      await runTask(sh, ctx, 'snapshot', upid);
      ctx.recorder.event('Normal', 'Snapshotted', `took snapshot ${snapname} of ${keyOf(srcRef)} to clone from`);
    }
    const send = async () => {
      try {
        return await sh.pve.cloneGuest(s.node, type, srcVmid, params);
      } catch (e) {
        // Linked was phoenix's choice, not the manifest's: when the storage refuses (before any
        // task starts), a full clone is the documented fallback.
        if (src.full === undefined && params.full === 0 && isPveError(e, 'Invalid') && /linked clone/i.test(e.pveMessage)) {
          params.full = 1;
          if (src.storage) params.storage = src.storage;
          ctx.log.info(`linked clone refused (${e.pveMessage}); cloning in full`);
          return sh.pve.cloneGuest(s.node, type, srcVmid, params);
        }
        throw e;
      }
    };
    return provisionIdempotent(sh, ctx, { step: 'clone', node: s.node, guestNode: node, type, vmid, sourceVmid: srcVmid, send });
  }, { whileQueued: ctx.whileWaiting, priority: ctx.priority });
  if (out === 'done') ctx.recorder.event('Normal', 'Cloned', `cloned ${what}`);
  const g = newGuest(vmid, node, type, desiredTags(r.spec.tags));
  await sh.fleet.note(g);
  return { steps, created: g };
}
