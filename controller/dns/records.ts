// Which DNS names the fleet declares, and where they point: every guest with an address under its
// own name, every declared service under its name, both in the fleet's internal domain. Two
// resources claiming one name is a conflict: reported with both named, and the name left out.
import type { AnyResource, ResourceStatus, Service } from '../../resources/types.js';
import { keyOf, type ResourceKey } from '../types.js';

export interface DnsRecord {
  /** Fully qualified: <label>.<domain>. */
  name: string;
  /** IPv4 or IPv6 address. */
  address: string;
  owner: ResourceKey;
  /** A guest's own name, or one of its declared services. */
  source: 'guest' | 'service';
}

export interface DnsConflict {
  name: string;
  /** Every resource that claims the name, sorted. */
  claimants: ResourceKey[];
  message: string;
}

/** A declared service with its guest's address: what a Traefik route needs. */
export interface RouteService extends Service {
  /** <service>.<domain> */
  host: string;
  /** The guest's address the route points at. */
  address: string;
  owner: ResourceKey;
}

export interface Unresolved {
  owner: ResourceKey;
  name: string;
  message: string;
}

export interface CollectResult {
  /** Sorted by name, then address. */
  records: DnsRecord[];
  conflicts: DnsConflict[];
  /** Services whose name is not in conflict and whose guest has an address; sorted by host. */
  services: RouteService[];
  /** Names that could not be given an address (a guest with DHCP only and none observed yet). */
  unresolved: Unresolved[];
  /** Names served per resource, for status.dnsNames. */
  names: Record<ResourceKey, string[]>;
}

export type StatusLookup = ReadonlyMap<string, ResourceStatus> | Readonly<Record<string, ResourceStatus>>;

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Checks the internal domain: lower-case DNS labels, dotted, no trailing dot. */
export function checkDomain(domain: string): string {
  const d = domain.trim().toLowerCase().replace(/\.$/, '');
  if (!d || d.length > 200 || !d.split('.').every((l) => LABEL.test(l)))
    throw new Error(`internal domain ${JSON.stringify(domain)} is not a DNS name (lower-case labels a-z, 0-9, '-', separated by dots)`);
  return d;
}

const stripPrefix = (cidr: string) => cidr.split('/')[0]!;
const isV4 = (s: string) => /^(\d{1,3})(\.\d{1,3}){3}$/.test(s) && s.split('.').every((p) => Number(p) <= 255);
const isV6 = (s: string) => s.includes(':') && /^[0-9a-fA-F:.]+$/.test(s);
/** A static address from a spec field: a CIDR (not dhcp/manual/auto). */
function staticAddress(v: string | undefined): string | undefined {
  if (!v || !v.includes('/')) return undefined;
  const a = stripPrefix(v);
  return isV4(a) || isV6(a) ? a.toLowerCase() : undefined;
}

function statusOf(statuses: StatusLookup | undefined, key: ResourceKey): ResourceStatus | undefined {
  if (!statuses) return undefined;
  if (statuses instanceof Map) return statuses.get(key);
  return (statuses as Record<string, ResourceStatus>)[key];
}

/**
 * Addresses of a guest: its static ones from the spec (LXC networks[].ip/ip6, VM
 * cloudInit.ipConfig[].ip/ip6), in declaration order; without any, those the controller observed.
 */
export function guestAddresses(resource: AnyResource, status?: ResourceStatus): string[] {
  const out: string[] = [];
  const add = (v: string | undefined) => {
    const a = staticAddress(v);
    if (a && !out.includes(a)) out.push(a);
  };
  const declared =
    resource.kind === 'LxcContainer' ? (resource.spec.networks ?? []) : resource.kind === 'VirtualMachine' ? (resource.spec.cloudInit?.ipConfig ?? []) : [];
  for (const n of declared) {
    add(n.ip);
    add(n.ip6);
  }
  if (out.length === 0)
    for (const a of status?.addresses ?? []) {
      const s = stripPrefix(a).toLowerCase();
      if ((isV4(s) || isV6(s)) && !out.includes(s)) out.push(s);
    }
  return out;
}

const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Collects every name the fleet declares. Pure and deterministic (input order does not matter). */
export function collectRecords(resources: readonly AnyResource[], statuses: StatusLookup | undefined, domain: string): CollectResult {
  const d = checkDomain(domain);
  const claims = new Map<string, { owner: ResourceKey; addresses: string[]; source: 'guest' | 'service' }[]>();
  const unresolved: Unresolved[] = [];
  const svcByHost = new Map<string, RouteService[]>();
  const claim = (name: string, owner: ResourceKey, addresses: string[], source: 'guest' | 'service') => {
    const list = claims.get(name) ?? [];
    list.push({ owner, addresses, source });
    claims.set(name, list);
  };
  for (const r of resources) {
    // Templates are never started; a CertificateAuthority is not a guest.
    if (r.kind !== 'LxcContainer' && r.kind !== 'VirtualMachine') continue;
    const key = keyOf(r);
    const addresses = guestAddresses(r, statusOf(statuses, key));
    const guestName = `${r.metadata.name}.${d}`;
    if (addresses.length === 0) {
      unresolved.push({ owner: key, name: guestName, message: 'no static address and none observed' });
      for (const s of r.spec.services ?? [])
        unresolved.push({ owner: key, name: `${s.name}.${d}`, message: `service of ${key}, which has no address` });
      continue;
    }
    claim(guestName, key, addresses, 'guest');
    for (const s of r.spec.services ?? []) {
      const host = `${s.name}.${d}`;
      claim(host, key, addresses, 'service');
      // Routes prefer IPv4: Traefik reaches the guest over its first IPv4 address if it has one.
      const address = addresses.find(isV4) ?? addresses[0]!;
      const list = svcByHost.get(host) ?? [];
      list.push({ ...s, host, address, owner: key });
      svcByHost.set(host, list);
    }
  }

  const records: DnsRecord[] = [];
  const conflicts: DnsConflict[] = [];
  const names: Record<ResourceKey, string[]> = {};
  const services: RouteService[] = [];
  for (const name of [...claims.keys()].sort()) {
    const cs = claims.get(name)!;
    const owners = [...new Set(cs.map((c) => c.owner))].sort();
    if (owners.length > 1) {
      conflicts.push({
        name,
        claimants: owners,
        message: `${name} is claimed by ${owners.join(' and ')}; left out until only one declares it`,
      });
      continue;
    }
    const owner = owners[0]!;
    // One resource may claim a name twice (a service named like its guest): one record per address.
    const addrs = [...new Set(cs.flatMap((c) => c.addresses))].sort();
    const source = cs.some((c) => c.source === 'guest') ? 'guest' : 'service';
    for (const address of addrs) records.push({ name, address, owner, source });
    (names[owner] ??= []).push(name);
    const svcs = svcByHost.get(name);
    // A service declared twice on the same guest keeps its first declaration.
    if (svcs?.length) services.push(svcs[0]!);
  }
  for (const k of Object.keys(names)) names[k as ResourceKey]!.sort();
  services.sort((a, b) => (a.host < b.host ? -1 : 1));
  unresolved.sort(byName);
  return { records, conflicts, services, unresolved, names };
}
