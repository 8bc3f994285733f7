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
  doc,
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
  sockets: opt(doc({ type: 'integer', minimum: 1, maximum: 4 }, 'CPU sockets (`sockets`); the VM has `sockets` x `cores` vCPUs.', { default: 1 })),
  cpu: opt(doc(S.cpuType, 'Emulated CPU type (`cpu`), e.g. `host` or `x86-64-v2-AES`; the Proxmox default when left out.')),
  balloon: opt(
    doc({ type: 'integer', minimum: 0, maximum: 268435456 }, 'Minimum memory in MiB for the balloon driver (`balloon`); `0` turns ballooning off. At most `memory`.'),
  ),
  disks: opt(doc({ type: 'array', items: vmDiskSchema, maxItems: 64 }, 'Disks by slot: those the clone has are grown to their size, new slots get new disks.')),
  networks: opt(doc({ type: 'array', items: vmNetworkSchema, maxItems: 32 }, 'Network devices, `net0`, `net1`, ... in list order.')),
  cloudInit: opt(cloudInitSchema),
  agent: opt(doc(S.bool, 'Enable the QEMU guest agent device (`agent`); the guest must run qemu-guest-agent.')),
  ostype: opt(doc({ type: 'string', enum: VM_OSTYPES }, 'Guest OS type, which tunes Proxmox\'s defaults for it (`ostype`), e.g. `l26` for Linux 2.6 and later.')),
  ...runningGuestProperties,
};
const _onlyKeys: OnlyKeysOf<VirtualMachineSpec, typeof virtualMachineProperties> = true;

export const virtualMachineSpecSchema: JSONSchemaType<VirtualMachineSpec> = {
  type: 'object',
  required: ['vmid', 'source'],
  additionalProperties: false,
  properties: virtualMachineProperties,
};

export const virtualMachineSchema = manifestSchema(
  'VirtualMachine',
  virtualMachineSpecSchema,
  'A Proxmox QEMU virtual machine, cloned from a Template or another VM at a snapshot (`qm clone`), configured by cloud-init, and kept configured, running or stopped as declared.',
);

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
