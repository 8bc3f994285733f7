// LxcContainer: create from an ostemplate or clone (Template, or another container at a snapshot),
// then converge config, disks, firewall and power in place.
import type { LxcContainer } from '../../resources/types.js';
import type { Reconciler } from '../types.js';
import type { Shared } from './guest-common.js';
import { guestReconciler, mountPointsProblem } from './guest-common.js';
import { provisionClone, provisionCreate } from './provision.js';

export function lxcContainerReconciler(sh: Shared): Reconciler<LxcContainer> {
  return guestReconciler<LxcContainer>(
    sh,
    'LxcContainer',
    (ctx, dryRun) => (ctx.resource.spec.source.ostemplate ? provisionCreate(sh, ctx, dryRun) : provisionClone(sh, ctx, dryRun)),
    (r) => mountPointsProblem(r.spec.mountPoints, sh.options.allowedHostPaths),
  );
}
