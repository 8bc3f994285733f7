// Template: an LXC template from an ostemplate, or a VM template from a cloud image (import-from,
// cloud-init drive). Created, never started, converted. An existing template is never recreated or
// modified: a spec change is reported (event TemplateChanged), not forced onto it or its clones.
import type { Template } from '../../resources/types.js';
import type { Plan, PlanStep, ReconcileContext, ReconcileOutcome, Reconciler } from '../types.js';
import type { ClusterGuest } from '../pve/client.js';
import { formatMiB, parseVolume } from '../pve/normalize.js';
import type { Shared } from './guest-common.js';
import { blockedPlan, conflict, convergeExisting, finalizeGuest, guard, isOutcome, markerProblem, ownershipProblem, resumeInFlight, runTask, waitOnForeignLock, withLockRetry } from './guest-common.js';
import { provisionCreate } from './provision.js';
import type { GuestResource } from '../../resources/types.js';
import { sizeToMiB } from '../pve/normalize.js';

export function templateReconciler(sh: Shared): Reconciler<Template> {
  async function convert(ctx: ReconcileContext<GuestResource>, g: ClusterGuest): Promise<ClusterGuest> {
    const t = ctx.resource as Template;
    if (g.type === 'qemu' && t.spec.disk) {
      // The imported disk has the image's size: grow it to the declared size before converting.
      const config = await sh.pve.guestConfig(g.node, g.type, g.vmid);
      const have = config[t.spec.disk.slot] ? parseVolume(String(config[t.spec.disk.slot])).sizeMiB : undefined;
      const want = sizeToMiB(t.spec.disk.size, 'G');
      if (have !== undefined && have < want) {
        const upid = await withLockRetry(sh, ctx, 'resize', () => sh.pve.resizeDisk(g.node, 'qemu', g.vmid, t.spec.disk!.slot, formatMiB(want)));
        if (upid) await runTask(sh, ctx, `resize ${t.spec.disk.slot}`, upid);
      }
    }
    const upid = await withLockRetry(sh, ctx, 'template', () => sh.pve.convertToTemplate(g.node, g.type, g.vmid));
    if (upid) await runTask(sh, ctx, 'template', upid);
    ctx.recorder.event('Normal', 'Templated', `converted ${g.type === 'lxc' ? 'CT' : 'VM'} ${g.vmid} to a template (never started)`);
    const done = { ...g, template: true, status: 'stopped' };
    await sh.fleet.note(done);
    return done;
  }

  async function run(ctx: ReconcileContext<Template>, dryRun: boolean): Promise<{ plan: Plan; outcome: ReconcileOutcome }> {
    const c = ctx as unknown as ReconcileContext<GuestResource>;
    const r = ctx.resource;
    const ref = { kind: 'Template' as const, name: r.metadata.name };
    if (!dryRun) {
      const stop = await resumeInFlight(sh, c);
      if (stop) return { plan: blockedPlan(ref, [], stop), outcome: stop };
    }
    let g = await sh.fleet.find(r.spec.vmid);
    const pre: PlanStep[] = [];
    let fresh = false;
    if (!g) {
      const p = await provisionCreate(sh, ctx, dryRun);
      if (p.outcome) return { plan: blockedPlan(ref, p.steps, p.outcome), outcome: p.outcome };
      pre.push(...p.steps, { action: 'template', description: `convert ${r.spec.vmid} to a template` });
      if (dryRun) return { plan: { ref, steps: pre }, outcome: { state: 'Ready' } };
      g = await convert(c, p.created!);
      fresh = true;
    } else {
      const prob = await ownershipProblem(sh, r, g);
      if (prob) return { plan: { ref, steps: [], blocked: { reason: 'Conflict', message: prob } }, outcome: dryRun ? { state: 'Ready' } : conflict(sh, c, prob) };
      if (g.lock) {
        if (dryRun) return { plan: { ref, steps: [] }, outcome: { state: 'Ready' } };
        const w = await waitOnForeignLock(sh, c, g);
        if (isOutcome(w)) return { plan: { ref, steps: [] }, outcome: w };
        g = w;
      }
      if (!g.template) {
        // Created but not yet converted (an interrupted earlier pass): convert, never start.
        const mp = markerProblem(r, await sh.pve.guestConfig(g.node, g.type, g.vmid));
        if (mp) return { plan: { ref, steps: [], blocked: { reason: 'Conflict', message: mp } }, outcome: dryRun ? { state: 'Ready' } : conflict(sh, c, mp) };
        if (g.status === 'running') {
          const outcome: ReconcileOutcome = { state: 'Stalled', reason: 'TemplateRunning', message: `vmid ${g.vmid} is running; phoenix never starts nor converts a running guest into a template — stop it` };
          return { plan: blockedPlan(ref, [], outcome), outcome };
        }
        pre.push({ action: 'template', description: `convert ${g.vmid} to a template` });
        if (dryRun) return { plan: { ref, steps: pre }, outcome: { state: 'Ready' } };
        g = await convert(c, g);
        fresh = true;
      }
    }
    const res = await convergeExisting(sh, c, g, { reportOnly: true, fresh, dryRun });
    res.plan.steps = [...pre, ...res.plan.steps];
    return res;
  }

  return {
    kind: 'Template',
    plan: async (ctx) => (await run(ctx, true)).plan,
    reconcile: (ctx) => guard(sh, ctx as unknown as ReconcileContext<GuestResource>, async () => (await run(ctx, false)).outcome),
    finalize: (ctx) => finalizeGuest(sh, ctx),
  };
}
