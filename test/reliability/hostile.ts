// Shared by the hostile-input suites: the strings an attacker would put in a manifest, and the
// "shape" of a Proxmox request (its parameter names, and the sub-keys of every property string as
// pvesim's own parser reads them), so a request built from a hostile value can be compared with the
// one built from a benign value: equal shapes mean no parameter was smuggled in.
import fc from 'fast-check';
import { PROPERTY_FORMATS, parsePropertyString } from '../../pvesim/params/index.js';
import { parsePropString } from '../../pvesim/model/util.js';
import { FORMATS } from '../../pvesim/params/formats.js';

/**
 * Fragments that separate or encode keys in Proxmox property strings, form bodies and Traefik
 * rules, their percent-encoded forms, and Unicode look-alikes (fullwidth/small comma and equals, Greek question
 * mark for ';', line/paragraph separators, NEL, zero-width and bidi controls).
 */
export const HOSTILE_FRAGMENTS = [
  ',', '=', ';', '\n', '\r', '\r\n', '\u0000', '%', ' ', '\t', '&', '?', '#', '"', "'", '\\', ':', '/', '..', '../', '`', '(', ')', '|', '$',
  '`)||Host(`evil.example`)||PathPrefix(`/',
  '%2C', '%2c', '%3D', '%3B', '%0A', '%0D', '%00', '%25', '%26', '+',
  ',ip=10.9.9.9/24', ',bridge=vmbr9', ',firewall=0', ',mp=/etc', '=1', ',backup=1', ',import-from=/etc/shadow',
  '&vmid=1', '&delete=net0', '&unprivileged=0', '\nlxc.apparmor.profile: unconfined', '\nlxc.mount.entry: /dev dev none bind',
  '%2Cip%3D10.9.9.9%2F24', '%0Ahookscript%3Dlocal:snippets/x.pl', '\nmanaged-by: phoenix LxcContainer/victim\n', '%0Amanaged-by: phoenix VirtualMachine/victim',
  '\uff0c', '\ufe50', '\u201a', '\uff1d', '\ufe66', '\u037e', '\uff1b', '\u2028', '\u2029', '\u0085', '\u200b', '\u200d', '\u202e', '\u2066', '\ufeff',
  '\u00e9', 'e\u0301', '\u0430', '\ud83d\ude00',
];

/** A hostile string: a valid value (or nothing) with hostile fragments before, inside or after it. */
export function hostileString(valid: string): fc.Arbitrary<string> {
  const frag = fc.constantFrom(...HOSTILE_FRAGMENTS);
  const base = fc.constantFrom(valid, valid, '');
  return fc
    .tuple(base, fc.array(frag, { minLength: 1, maxLength: 3 }), fc.nat({ max: 1000 }), fc.string({ maxLength: 3, unit: 'binary' }))
    .map(([v, frags, at, noise]) => {
      const cut = v.length ? at % (v.length + 1) : 0;
      return v.slice(0, cut) + frags.join('') + noise + v.slice(cut);
    });
}

/** Every fragment at the end, start and middle of a valid value (the deterministic part). */
export function fixedHostile(valid: string): string[] {
  const mid = Math.floor(valid.length / 2);
  return HOSTILE_FRAGMENTS.flatMap((f) => [`${valid}${f}`, `${f}${valid}`, `${valid.slice(0, mid)}${f}${valid.slice(mid)}`]);
}

/** The pvesim property-string format of a parameter of a guest of this type, if it is one. */
export function propertyFormat(type: 'lxc' | 'qemu', key: string): string | undefined {
  let f: string | undefined;
  if (type === 'lxc') {
    if (/^net\d+$/.test(key)) f = 'lxc-net';
    else if (key === 'rootfs') f = 'lxc-rootfs';
    else if (/^mp\d+$/.test(key)) f = 'lxc-mp';
    else if (key === 'features') f = 'lxc-features';
    else if (/^dev\d+$/.test(key)) f = 'lxc-dev';
  } else {
    const bus = /^(ide|sata|scsi|virtio)\d+$/.exec(key)?.[1];
    if (/^net\d+$/.test(key)) f = 'qemu-net';
    else if (bus) f = `qemu-${bus}`;
    else if (/^ipconfig\d+$/.test(key)) f = 'qemu-ipconfig';
    else if (key === 'boot') f = 'qemu-boot';
    else if (key === 'cpu') f = 'qemu-cpu';
    else if (key === 'agent') f = 'qemu-agent';
  }
  if (f && !Object.hasOwn(PROPERTY_FORMATS, f)) throw new Error(`pvesim has no property-string format ${f}`);
  return f;
}

/** The sub-key a property string's leading bare value stands for (`cputype` in `host,flags=...`). */
function defaultKeyOf(format: string): string | undefined {
  const f = PROPERTY_FORMATS[format];
  const props = typeof f === 'string' ? FORMATS.hash(f) : f;
  return Object.entries(props ?? {}).find(([, s]) => s.defaultKey)?.[0];
}

/** Property strings pvesim has no named parser for; read with its generic splitter. */
const GENERIC_PROPERTY_KEYS = new Set(['startup']);

/** Guest type addressed by an API path template, if any. */
export function guestTypeOfTemplate(template: string): 'lxc' | 'qemu' | undefined {
  return /^\/nodes\/\{node\}\/(lxc|qemu)(\/|$)/.exec(template)?.[1] as 'lxc' | 'qemu' | undefined;
}

export interface RequestShape {
  method: string;
  template: string;
  keys: string[];
  /** Sub-keys of each property-string parameter (as Proxmox splits it). */
  sub: Record<string, string[]>;
  /** Property strings pvesim's parser refuses (Proxmox would answer 400), with its message. */
  invalid: Record<string, string>;
}

/** The names a request carries: parameters, and the sub-keys of its property strings. */
export function requestShape(method: string, template: string, params: Record<string, unknown>): RequestShape {
  const type = guestTypeOfTemplate(template);
  const sub: RequestShape['sub'] = {};
  const invalid: RequestShape['invalid'] = {};
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    const values = Array.isArray(v) ? v.map(String) : [String(v)];
    const f = type ? propertyFormat(type, k) : undefined;
    if (!f && !GENERIC_PROPERTY_KEYS.has(k)) continue;
    const keys = new Set<string>();
    for (const value of values) {
      let parsed: Record<string, string>;
      try {
        parsed = f ? parsePropertyString(f, value, k) : Object.fromEntries(parsePropString(value).kv);
      } catch (e) {
        // refused as a whole: still count the keys the string spells, as Proxmox's splitter reads them
        invalid[k] = (e as Error).message.trim();
        const split = parsePropString(value);
        parsed = Object.fromEntries(split.kv);
        if (split.head !== undefined) parsed[(f && defaultKeyOf(f)) ?? '(head)'] = split.head;
      }
      for (const sk of Object.keys(parsed)) keys.add(sk);
    }
    sub[k] = [...keys].sort();
  }
  const keys = Object.keys(params).filter((k) => params[k] !== undefined && params[k] !== null).sort();
  return { method, template, keys, sub, invalid };
}

export const shapeText = (s: RequestShape): string => JSON.stringify([s.method, s.template, s.keys, Object.entries(s.sub).sort(([a], [b]) => a.localeCompare(b))]);
