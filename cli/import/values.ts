// Small pure checks and normalisers for values found in legacy Phoenix configuration.
// Each returns the normalised value or undefined; callers report what was wrong and where.

/** DNS-1123 label: lowercase alphanumerics and '-', starts and ends alphanumeric, at most 63. */
export const DNS1123_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Turns a legacy name into a DNS-1123 label: lowercase, every run of other characters becomes one
 * '-', leading/trailing '-' removed, cut to 63. Returns '' when nothing usable is left.
 */
export function toDns1123(name: string): string {
  let s = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (s.length > 63) s = s.slice(0, 63).replace(/-+$/, '');
  return s;
}

/** A host name as Proxmox's `dns-name` format accepts it (labels of letters, digits, '-', dotted). */
export function isDnsName(s: string): boolean {
  if (s.length === 0 || s.length > 255) return false;
  return s.split('.').every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l));
}

export type MacProblem = 'format' | 'multicast' | 'zero';

/** Normalises a MAC to Proxmox's upper-case form; reports a malformed, multicast or all-zero one. */
export function checkMac(raw: string): { mac: string } | { problem: MacProblem } {
  const s = raw.trim();
  if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(s)) return { problem: 'format' };
  const mac = s.toUpperCase();
  if (mac === '00:00:00:00:00:00') return { problem: 'zero' };
  // Proxmox accepts only unicast addresses: the least significant bit of the first octet is clear.
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1) return { problem: 'multicast' };
  return { mac };
}

export function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

export function isIPv4Cidr(s: string): boolean {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  return !!m && isIPv4(m[1]!) && Number(m[2]) <= 32;
}

function isIPv6(s: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(':')) return false;
  const dbl = s.split('::');
  if (dbl.length > 2) return false;
  const groups = s.split(':').filter((g) => g !== '');
  return groups.length <= 8 && groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g) || isIPv4(g));
}

/** A firewall source/dest as Proxmox accepts it: IP, CIDR, range a-b, alias/ipset name, comma list. */
export function isFirewallAddress(s: string): boolean {
  return s.split(',').every((item) => {
    const t = item.trim();
    if (t === '') return false;
    if (/^\+?(dc\/|guest\/)?[A-Za-z][A-Za-z0-9_-]{1,}$/.test(t)) return true; // alias or +ipset
    const range = t.split('-');
    if (range.length === 2) return isIPv4(range[0]!) && isIPv4(range[1]!);
    const [addr, prefix, ...rest] = t.split('/');
    if (rest.length) return false;
    if (prefix !== undefined && !/^\d{1,3}$/.test(prefix)) return false;
    if (isIPv4(addr!)) return prefix === undefined || Number(prefix) <= 32;
    return isIPv6(addr!) && (prefix === undefined || Number(prefix) <= 128);
  });
}

/**
 * Normalises a legacy port string ("80", "80,443", "80, 443", "8000-8010", "8000:8010") into
 * Proxmox's dport syntax (comma list of ports and a:b ranges). Returns undefined when any item is
 * not a port or a range of ports (1..65535, low <= high).
 */
export function normalisePorts(raw: string | number): string | undefined {
  const items = String(raw)
    .split(',')
    .map((x) => x.trim());
  const out: string[] = [];
  const isPort = (p: string) => /^\d{1,5}$/.test(p) && Number(p) >= 1 && Number(p) <= 65535;
  for (const item of items) {
    const m = /^(\d+)\s*[:-]\s*(\d+)$/.exec(item);
    if (m) {
      if (!isPort(m[1]!) || !isPort(m[2]!) || Number(m[1]) > Number(m[2])) return undefined;
      out.push(`${Number(m[1])}:${Number(m[2])}`);
    } else if (isPort(item)) {
      out.push(String(Number(item)));
    } else {
      return undefined;
    }
  }
  return out.length ? out.join(',') : undefined;
}

/** Compact JSON with object keys sorted at every level (arrays keep their order). */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

export function sortKeys<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => sortKeys(x)) as T;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o).sort()) if (o[k] !== undefined) out[k] = sortKeys(o[k]);
    return out as T;
  }
  return v;
}
