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
  type: { type: 'string', enum: ['lxc', 'qemu'] } as const,
  ostemplate: opt(S.vztmpl),
  image: opt(S.importImage),
  rootfs: opt(volumeSchema),
  disk: opt(vmDiskSchema),
  swap: opt({ type: 'integer', minimum: 0, maximum: 268435456 }),
  unprivileged: opt(S.bool),
  features: opt(featuresSchema),
  lxcNetworks: opt({ type: 'array', items: lxcNetworkSchema, maxItems: 32 }),
  vmNetworks: opt({ type: 'array', items: vmNetworkSchema, maxItems: 32 }),
  nameserver: opt(S.ip),
  searchdomain: opt(S.hostname),
  cloudInit: opt(cloudInitSchema),
  // ostype is checked against the type's list in checkTemplate
  ostype: opt({ type: 'string', enum: [...new Set([...LXC_OSTYPES, ...VM_OSTYPES])] }),
  agent: opt(S.bool),
  adopt: opt(S.bool),
};
const _onlyKeys: OnlyKeysOf<TemplateSpec, typeof templateProperties> = true;

export const templateSpecSchema: JSONSchemaType<TemplateSpec> = {
  type: 'object',
  required: ['vmid', 'type'],
  additionalProperties: false,
  properties: templateProperties,
};

export const templateSchema = manifestSchema('Template', templateSpecSchema);

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
