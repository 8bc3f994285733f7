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
  doc,
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
  hostname: opt(doc(S.hostname, "Host name of the container (`hostname`); `metadata.name` when left out.")),
  source: sourceSchema,
  swap: opt(doc({ type: 'integer', minimum: 0, maximum: 268435456 }, 'Swap in MiB (`swap`; `pct set --swap`).', { default: 512 })),
  rootfs: doc(volumeSchema, 'The root file system (`rootfs: STORAGE:SIZE`). For a clone, the cloned root file system is grown to `size`.'),
  mountPoints: opt(doc({ type: 'array', items: mountPointSchema, maxItems: 256 }, 'Further volumes and bind mounts, `mp0`, `mp1`, ... in list order.')),
  networks: opt(doc({ type: 'array', items: lxcNetworkSchema, maxItems: 32 }, 'Network interfaces, `net0`, `net1`, ... in list order.')),
  nameserver: opt(doc(S.ip, "DNS server of the container (`nameserver`); the node's when left out.")),
  searchdomain: opt(doc(S.hostname, "DNS search domain of the container (`searchdomain`); the node's when left out.")),
  features: opt(featuresSchema),
  unprivileged: opt(
    doc(S.bool, 'Run as an unprivileged container (`unprivileged`), its root mapped to an unprivileged host user. `false` needs Sys.Modify on / (in practice root@pam). Set at creation; changing it needs `allowReplace`.', {
      default: true,
    }),
  ),
  ostype: opt(doc({ type: 'string', enum: LXC_OSTYPES }, 'OS of the container, which selects the setup scripts Proxmox runs (`ostype`); detected from the template when left out.')),
  ...runningGuestProperties,
};
const _onlyKeys: OnlyKeysOf<LxcContainerSpec, typeof lxcContainerProperties> = true;

export const lxcContainerSpecSchema: JSONSchemaType<LxcContainerSpec> = {
  type: 'object',
  required: ['vmid', 'source', 'rootfs'],
  additionalProperties: false,
  properties: lxcContainerProperties,
};

export const lxcContainerSchema = manifestSchema(
  'LxcContainer',
  lxcContainerSpecSchema,
  'A Proxmox LXC container: created from a template archive (`pct create`) or cloned from a Template or another guest (`pct clone`), then kept configured, running or stopped as declared.',
);

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
