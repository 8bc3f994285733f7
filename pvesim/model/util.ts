// Small pure helpers of the model: seeded randomness, sizes, Proxmox property strings, MACs.

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

const UNITS: Record<string, number> = { '': 1, K: KiB, M: MiB, G: GiB, T: TiB };

/** Parse a Proxmox disk size ("8G", "512M", "1T", "4096", "1.5G") into bytes; undefined if malformed. */
export function parseSize(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/.exec(s.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

/** Format bytes the way Proxmox writes `size=` in configs: the largest unit that divides evenly. */
export function formatSize(bytes: number): string {
  for (const [u, f] of [['T', TiB], ['G', GiB], ['M', MiB], ['K', KiB]] as const) {
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${u}`;
  }
  return String(bytes);
}

export interface PropString {
  /** The value of the leading element without a key (e.g. the volume of a disk), if any. */
  head?: string;
  /** key=value pairs in order; keys without a value map to "". */
  kv: Map<string, string>;
}

/**
 * Parse "local-lvm:32,size=8G,ssd=1" or "name=eth0,bridge=vmbr0". An element without '=' in the
 * first position becomes `head`; later ones become keys with an empty value.
 */
export function parsePropString(s: string): PropString {
  const kv = new Map<string, string>();
  let head: string | undefined;
  const parts = s.split(',');
  parts.forEach((p, i) => {
    const eq = p.indexOf('=');
    if (eq < 0) {
      if (i === 0) head = p;
      else kv.set(p, '');
    } else kv.set(p.slice(0, eq), p.slice(eq + 1));
  });
  return head === undefined ? { kv } : { head, kv };
}

export function formatPropString(p: PropString): string {
  const parts: string[] = [];
  if (p.head !== undefined) parts.push(p.head);
  for (const [k, v] of p.kv) parts.push(v === '' ? k : `${k}=${v}`);
  return parts.join(',');
}

/** A MAC in Proxmox's range (OUI BC:24:11, assigned to Proxmox Server Solutions). */
export function generateMac(rand: () => number): string {
  const b = [0xbc, 0x24, 0x11, 0, 0, 0].map((x, i) => (i < 3 ? x : Math.floor(rand() * 256)));
  return b.map((x) => x.toString(16).toUpperCase().padStart(2, '0')).join(':');
}

/** Unix time in seconds. */
export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}
