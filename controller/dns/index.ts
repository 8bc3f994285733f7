// DNS records and Traefik routes from the fleet (issue 9). The runtime calls syncDnsAndRoutes after
// each pass; it rewrites the dnsmasq hosts file and the Traefik file only when their content
// changes, and signals dnsmasq only after it rewrote the hosts file. See docs/dns.md.
import type { AnyResource } from '../../resources/types.js';
import type { ResourceKey } from '../types.js';
import { writeIfChanged } from '../fs-atomic.js';
import { collectRecords, type DnsConflict, type StatusLookup, type Unresolved } from './records.js';
import { reloadDnsmasq, renderDnsmasq } from './dnsmasq.js';
import { renderTraefik, type TraefikOptions } from './traefik.js';

export { collectRecords, checkDomain, guestAddresses } from './records.js';
export type { DnsRecord, DnsConflict, RouteService, CollectResult, Unresolved } from './records.js';
export { renderDnsmasq, reloadDnsmasq } from './dnsmasq.js';
export { renderTraefik, type TraefikOptions } from './traefik.js';
export { writeIfChanged } from '../fs-atomic.js';

export interface SyncOptions {
  resources: readonly AnyResource[];
  statuses?: StatusLookup;
  /** The fleet's internal domain (controller setting --domain / PHOENIX_DOMAIN). */
  domain: string;
  /** The hosts file dnsmasq reads with --addn-hosts. */
  dnsmasqFile?: string;
  /** dnsmasq's pid file: SIGHUP after the hosts file changed. */
  pidFile?: string;
  /** The Traefik file-provider dynamic configuration file. */
  traefikFile?: string;
  /** Fleet CA certificates Traefik serves for TLS routes. */
  caCertPaths?: { certFile: string; keyFile: string }[];
  /** Fleet CA root: Traefik verifies HTTPS backends against it. */
  caRootFile?: string;
  entryPoints?: TraefikOptions['entryPoints'];
}

export interface SyncResult {
  wroteDns: boolean;
  wroteRoutes: boolean;
  /** True when dnsmasq was sent SIGHUP. */
  reloaded: boolean;
  conflicts: DnsConflict[];
  unresolved: Unresolved[];
  /** Names served per resource (for status.dnsNames). */
  names: Record<ResourceKey, string[]>;
}

// Hosts files written but not yet followed by a successful SIGHUP: retried on the next sync, so a
// failed reload is not forgotten just because the file no longer changes.
const pendingReload = new Set<string>();

export async function syncDnsAndRoutes(opts: SyncOptions): Promise<SyncResult> {
  const c = collectRecords(opts.resources, opts.statuses, opts.domain);
  let wroteDns = false;
  let reloaded = false;
  if (opts.dnsmasqFile) {
    wroteDns = await writeIfChanged(opts.dnsmasqFile, renderDnsmasq(c.records));
    if (wroteDns) pendingReload.add(opts.dnsmasqFile);
    if (opts.pidFile && pendingReload.has(opts.dnsmasqFile)) {
      await reloadDnsmasq(opts.pidFile);
      pendingReload.delete(opts.dnsmasqFile);
      reloaded = true;
    }
  }
  let wroteRoutes = false;
  if (opts.traefikFile) {
    wroteRoutes = await writeIfChanged(
      opts.traefikFile,
      renderTraefik(c.services, { certificates: opts.caCertPaths, rootCAFile: opts.caRootFile, entryPoints: opts.entryPoints }),
    );
  }
  return { wroteDns, wroteRoutes, reloaded, conflicts: c.conflicts, unresolved: c.unresolved, names: c.names };
}
