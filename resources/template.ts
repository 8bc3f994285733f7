// Template: a Proxmox template, an LXC from an ostemplate or a VM from a cloud image; never started.
import type { JSONSchemaType } from 'ajv';
import type { ObjectMeta, Template, TemplateSpec } from './types.js';
import type { Issue, OnlyKeysOf } from './common.js';
import {
  LXC_OSTYPES,
  S,
  VM_OSTYPES,
  checkDescription,
  checkStartup,
  checkUnique,
  cloudInitSchema,
  doc,
  featuresSchema,
  guestCommonProperties,
  lxcNetworkSchema,
  manifestSchema,
  opt,
  vmDiskSchema,
  vmNetworkSchema,
  volumeSchema,
} from './common.js';

const templateProperties = {
  ...guestCommonProperties,
  type: doc({ type: 'string', enum: ['lxc', 'qemu'] } as const, 'Container template (`lxc`, from a template archive) or VM template (`qemu`, from a cloud image).'),
  ostemplate: opt(doc(S.vztmpl, '`lxc` only, required: the template archive the container is created from (`pct create --ostemplate`).')),
  image: opt(doc(S.importImage, '`qemu` only, required: the disk image imported as the VM\'s disk (`import-from`), from a storage\'s `import` content.')),
  rootfs: opt(doc(volumeSchema, '`lxc` only, required: the root file system (`rootfs: STORAGE:SIZE`).')),
  disk: opt(doc(vmDiskSchema, '`qemu` only, required: the slot, storage and size of the imported disk (grown to `size` after the import).')),
  swap: opt(doc({ type: 'integer', minimum: 0, maximum: 268435456 }, '`lxc` only: swap in MiB (`swap`); 512 when left out.')),
  unprivileged: opt(doc(S.bool, '`lxc` only: an unprivileged container (`unprivileged`); `true` when left out.')),
  features: opt(doc(featuresSchema, '`lxc` only: extra container capabilities (`features`).')),
  lxcNetworks: opt(doc({ type: 'array', items: lxcNetworkSchema, maxItems: 32 }, '`lxc` only: network interfaces, `net0`, `net1`, ... in list order.')),
  vmNetworks: opt(doc({ type: 'array', items: vmNetworkSchema, maxItems: 32 }, '`qemu` only: network devices, `net0`, `net1`, ... in list order.')),
  nameserver: opt(doc(S.ip, "DNS server (`nameserver`); the node's when left out.")),
  searchdomain: opt(doc(S.hostname, "DNS search domain (`searchdomain`); the node's when left out.")),
  cloudInit: opt(doc(cloudInitSchema, '`qemu` only: cloud-init settings clones inherit (a cloud-init drive is added to the template).')),
  // ostype is checked against the type's list in checkTemplate
  ostype: opt(doc({ type: 'string', enum: [...new Set([...LXC_OSTYPES, ...VM_OSTYPES])] }, 'OS type (`ostype`): for `lxc` one of the container types (debian ... unmanaged), for `qemu` one of the VM types (other ... solaris).')),
  agent: opt(doc(S.bool, '`qemu` only: enable the QEMU guest agent device (`agent`).')),
  adopt: opt(doc(S.bool, "Take over a template found at this vmid that does not carry phoenix's marker; without it such a guest is never touched.")),
};
const _onlyKeys: OnlyKeysOf<TemplateSpec, typeof templateProperties> = true;

export const templateSpecSchema: JSONSchemaType<TemplateSpec> = {
  type: 'object',
  required: ['vmid', 'type'],
  additionalProperties: false,
  properties: templateProperties,
};

export const templateSchema = manifestSchema(
  'Template',
  templateSpecSchema,
  'A Proxmox template that guests are cloned from: a container created from a template archive, or a VM imported from a cloud image, then converted to a template. It is never started, and an existing template is never changed (roll out a change with a new Template).',
);

const LXC_ONLY = ['ostemplate', 'rootfs', 'swap', 'unprivileged', 'features', 'lxcNetworks'] as const;
const QEMU_ONLY = ['image', 'disk', 'vmNetworks', 'cloudInit', 'agent'] as const;

export function checkTemplate(r: Template): Issue[] {
  const s = r.spec;
  const issues: Issue[] = [...checkStartup(s.startup), ...checkDescription(s.description)];
  const lxc = s.type === 'lxc';
  const an = lxc ? 'an lxc' : 'a qemu';
  const [needed, forbidden] = lxc ? [['ostemplate', 'rootfs'] as const, QEMU_ONLY] : [['image', 'disk'] as const, LXC_ONLY];
  for (const f of needed) if (s[f] === undefined) issues.push({ path: ['spec'], message: `${an} template needs '${f}'` });
  for (const f of forbidden)
    if (s[f] !== undefined) issues.push({ path: ['spec', f], message: `'${f}' does not apply to ${an} template`, atKey: true });
  if (s.ostype !== undefined && !(lxc ? LXC_OSTYPES : VM_OSTYPES).includes(s.ostype))
    issues.push({ path: ['spec', 'ostype'], message: `must be one of: ${(lxc ? LXC_OSTYPES : VM_OSTYPES).join(', ')}` });
  issues.push(...checkUnique(s.lxcNetworks, (n) => n.name, ['spec', 'lxcNetworks'], 'name', 'interface name'));
  return issues;
}

/** Applies the Template defaults (pure). */
export function templateDefaults(spec: TemplateSpec, _metadata?: Pick<ObjectMeta, 'name'>): TemplateSpec {
  const lxc = spec.type === 'lxc';
  const out: TemplateSpec = { ...spec, cores: spec.cores ?? 1, memory: spec.memory ?? (lxc ? 512 : 2048) };
  if (lxc) {
    out.swap = spec.swap ?? 512;
    out.unprivileged = spec.unprivileged ?? true;
  }
  return out;
}
