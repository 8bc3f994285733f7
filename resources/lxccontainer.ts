// LxcContainer: a Proxmox LXC container (POST /nodes/{node}/lxc, or a clone of a Template/guest).
import type { JSONSchemaType } from 'ajv';
import type { LxcContainer, LxcContainerSpec, ObjectMeta } from './types.js';
import type { Issue, OnlyKeysOf } from './common.js';
import {
  LXC_OSTYPES,
  S,
  checkMountPoints,
  checkSource,
  checkDescription,
  checkStartup,
  checkUnique,
  featuresSchema,
  guestCommonProperties,
  runningGuestProperties,
  lxcNetworkSchema,
  manifestSchema,
  mountPointSchema,
  opt,
  sourceSchema,
  volumeSchema,
} from './common.js';

const lxcContainerProperties = {
  ...guestCommonProperties,
  hostname: opt(S.hostname),
  source: sourceSchema,
  swap: opt({ type: 'integer', minimum: 0, maximum: 268435456 }),
  rootfs: volumeSchema,
  mountPoints: opt({ type: 'array', items: mountPointSchema, maxItems: 256 }),
  networks: opt({ type: 'array', items: lxcNetworkSchema, maxItems: 32 }),
  nameserver: opt(S.ip),
  searchdomain: opt(S.hostname),
  features: opt(featuresSchema),
  unprivileged: opt(S.bool),
  ostype: opt({ type: 'string', enum: LXC_OSTYPES }),
  ...runningGuestProperties,
};
const _onlyKeys: OnlyKeysOf<LxcContainerSpec, typeof lxcContainerProperties> = true;

export const lxcContainerSpecSchema: JSONSchemaType<LxcContainerSpec> = {
  type: 'object',
  required: ['vmid', 'source', 'rootfs'],
  additionalProperties: false,
  properties: lxcContainerProperties,
};

export const lxcContainerSchema = manifestSchema('LxcContainer', lxcContainerSpecSchema);

/** Rules JSON Schema cannot express (or expresses with unreadable errors). */
export function checkLxcContainer(r: LxcContainer): Issue[] {
  const s = r.spec;
  const issues = [
    ...checkSource(s.source, true),
    ...checkMountPoints(s.mountPoints),
    ...checkStartup(s.startup),
    ...checkDescription(s.description),
    ...checkUnique(s.networks, (n) => n.name, ['spec', 'networks'], 'name', 'interface name'),
    ...checkUnique(s.services, (x) => x.name, ['spec', 'services'], 'name', 'service name'),
  ];
  if (s.features?.keyctl && s.unprivileged === false)
    issues.push({ path: ['spec', 'features', 'keyctl'], message: 'keyctl applies to unprivileged containers only' });
  return issues;
}

/** Applies the LxcContainer defaults (pure). */
export function lxcContainerDefaults(spec: LxcContainerSpec, metadata?: Pick<ObjectMeta, 'name'>): LxcContainerSpec {
  const out: LxcContainerSpec = {
    ...spec,
    cores: spec.cores ?? 1,
    memory: spec.memory ?? 512,
    swap: spec.swap ?? 512,
    unprivileged: spec.unprivileged ?? true,
    powerState: spec.powerState ?? 'running',
    restartPolicy: spec.restartPolicy ?? 'Never',
    source: { ...spec.source },
  };
  if (out.hostname === undefined && metadata) out.hostname = metadata.name;
  // pct clone: linked from a template where possible, always full from an ordinary guest.
  if (out.source.full === undefined) {
    if (out.source.template !== undefined) out.source.full = false;
    else if (out.source.guest !== undefined) out.source.full = true;
  }
  return out;
}
