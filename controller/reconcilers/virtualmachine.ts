// VirtualMachine: clone from a Template (full by default) or another VM at a snapshot, then converge
// config (cloud-init drive regenerated after a change), disks, firewall and power in place.
import type { VirtualMachine } from '../../resources/types.js';
import type { Reconciler } from '../types.js';
import type { Shared } from './guest-common.js';
import { guestReconciler } from './guest-common.js';
import { provisionClone } from './provision.js';

export function virtualMachineReconciler(sh: Shared): Reconciler<VirtualMachine> {
  return guestReconciler<VirtualMachine>(sh, 'VirtualMachine', (ctx, dryRun) => provisionClone(sh, ctx, dryRun), (r) =>
    r.spec.source.ostemplate ? 'spec.source.ostemplate: a VirtualMachine is cloned from a Template or another VM, not created from an LXC ostemplate' : undefined,
  );
}
