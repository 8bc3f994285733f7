// How each kind is named on the API and the command line, kubectl style: the plural is the path
// segment (`/apis/phoenix.hypervisor/v1alpha1/lxccontainers`), the singular and short names are
// accepted by phoenixctl, and `kind.group/name` is the `-o name` form.
import type { Kind } from './types.js';
import { KINDS } from './types.js';

export const API_GROUP = 'phoenix.hypervisor';
export const API_GROUP_VERSION = 'v1alpha1';

export interface KindNames {
  kind: Kind;
  plural: string;
  singular: string;
  shortNames: string[];
}

export const KIND_NAMES: Record<Kind, KindNames> = {
  Template: { kind: 'Template', plural: 'templates', singular: 'template', shortNames: ['tpl'] },
  LxcContainer: { kind: 'LxcContainer', plural: 'lxccontainers', singular: 'lxccontainer', shortNames: ['lxc', 'ct'] },
  VirtualMachine: { kind: 'VirtualMachine', plural: 'virtualmachines', singular: 'virtualmachine', shortNames: ['vm'] },
  CertificateAuthority: {
    kind: 'CertificateAuthority',
    plural: 'certificateauthorities',
    singular: 'certificateauthority',
    shortNames: ['ca'],
  },
};

/** The kind a plural, singular, short name or kind name denotes (case-insensitive), with an optional `.phoenix.hypervisor` suffix. */
export function resolveKind(word: string): Kind | undefined {
  let w = word.toLowerCase();
  const suffix = `.${API_GROUP}`;
  if (w.endsWith(suffix)) w = w.slice(0, -suffix.length);
  for (const k of KINDS) {
    const n = KIND_NAMES[k];
    if (w === n.plural || w === n.singular || n.shortNames.includes(w)) return k;
  }
  return undefined;
}

/** The kind a URL path segment (plural only) denotes. */
export function kindOfPlural(plural: string): Kind | undefined {
  return KINDS.find((k) => KIND_NAMES[k].plural === plural);
}

/** kubectl's `-o name` form: `lxccontainer.phoenix.hypervisor/web`. */
export function qualifiedName(kind: Kind, name: string): string {
  return `${KIND_NAMES[kind].singular}.${API_GROUP}/${name}`;
}

/** The path segment of a kind: `lxccontainers`. */
export function pluralOf(kind: Kind): string {
  return KIND_NAMES[kind].plural;
}
