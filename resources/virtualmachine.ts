// VirtualMachine: a Proxmox QEMU guest, cloned from a Template (or a guest at a snapshot).
import type { JSONSchemaType } from 'ajv';
import type { ObjectMeta, VirtualMachine, VirtualMachineSpec } from './types.js';
import type { Issue, OnlyKeysOf } from './common.js';
import {
  S,
  VM_OSTYPES,
  checkSource,
  checkDescription,
  checkStartup,
  checkUnique,
  cloudInitSchema,
  guestCommonProperties,
  runningGuestProperties,
  manifestSchema,
  opt,
  sourceSchema,
  vmDiskSchema,
  vmNetworkSchema,
} from './common.js';

const virtualMachineProperties = {
  ...guestCommonProperties,
  source: sourceSchema,
  sockets: opt({ type: 'integer', minimum: 1, maximum: 4 }),
  cpu: opt(S.cpuType),
  balloon: opt({ type: 'integer', minimum: 0, maximum: 268435456 }),
  disks: opt({ type: 'array', items: vmDiskSchema, maxItems: 64 }),
  networks: opt({ type: 'array', items: vmNetworkSchema, maxItems: 32 }),
  cloudInit: opt(cloudInitSchema),
  agent: opt(S.bool),
  ostype: opt({ type: 'string', enum: VM_OSTYPES }),
  ...runningGuestProperties,
};
const _onlyKeys: OnlyKeysOf<VirtualMachineSpec, typeof virtualMachineProperties> = true;

export const virtualMachineSpecSchema: JSONSchemaType<VirtualMachineSpec> = {
  type: 'object',
  required: ['vmid', 'source'],
  additionalProperties: false,
  properties: virtualMachineProperties,
};

export const virtualMachineSchema = manifestSchema('VirtualMachine', virtualMachineSpecSchema);

export function checkVirtualMachine(r: VirtualMachine): Issue[] {
  const s = r.spec;
  const issues = [
    ...checkSource(s.source, false),
    ...checkStartup(s.startup),
    ...checkDescription(s.description),
    ...checkUnique(s.disks, (d) => d.slot, ['spec', 'disks'], 'slot', 'disk slot'),
    ...checkUnique(s.services, (x) => x.name, ['spec', 'services'], 'name', 'service name'),
  ];
  if (s.balloon !== undefined && s.balloon > 0 && s.balloon > (s.memory ?? 2048))
    issues.push({ path: ['spec', 'balloon'], message: `must not exceed memory (${s.memory ?? 2048} MiB)` });
  if (s.cloudInit?.ipConfig && s.cloudInit.ipConfig.length > (s.networks?.length ?? 1))
    issues.push({ path: ['spec', 'cloudInit', 'ipConfig'], message: 'has more entries than the VM has networks' });
  return issues;
}

/** Applies the VirtualMachine defaults (pure). */
export function virtualMachineDefaults(spec: VirtualMachineSpec, _metadata?: Pick<ObjectMeta, 'name'>): VirtualMachineSpec {
  return {
    ...spec,
    cores: spec.cores ?? 1,
    sockets: spec.sockets ?? 1,
    memory: spec.memory ?? 2048,
    powerState: spec.powerState ?? 'running',
    restartPolicy: spec.restartPolicy ?? 'Never',
    // qm clone: phoenix makes full clones of VMs unless told otherwise.
    source: { ...spec.source, full: spec.source.full ?? true },
  };
}
