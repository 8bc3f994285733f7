// How kinds are named on the API and the command line, kubectl style, from the kind registry
// (resources/index.ts): the plural is the path segment (`/apis/phoenix.hypervisor/v1alpha1/lxccontainers`),
// singular and short names are accepted by phoenixctl, and `kind.group/name` is the `-o name` form.
import type { Kind } from './types.js';
import { API_VERSION, KINDS } from './types.js';
import { KIND_DEFINITIONS, lookupKind } from './index.js';

export const API_GROUP = API_VERSION.split('/')[0]!;
export const API_GROUP_VERSION = API_VERSION.split('/')[1]!;

export function pluralOf(kind: Kind): string {
  return KIND_DEFINITIONS[kind].plural;
}

/** The kind a user typed: Kind, plural, singular or short name (any case), optionally `.phoenix.hypervisor`-qualified. */
export function resolveKind(word: string): Kind | undefined {
  const suffix = `.${API_GROUP}`;
  const w = word.toLowerCase().endsWith(suffix) ? word.slice(0, -suffix.length) : word;
  return lookupKind(w);
}

/** The kind a URL path segment (plural only) denotes. */
export function kindOfPlural(plural: string): Kind | undefined {
  return KINDS.find((k) => KIND_DEFINITIONS[k].plural === plural);
}

/** kubectl's `-o name` form: `lxccontainer.phoenix.hypervisor/web`. */
export function qualifiedName(kind: Kind, name: string): string {
  return `${KIND_DEFINITIONS[kind].singular}.${API_GROUP}/${name}`;
}
