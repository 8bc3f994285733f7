// Storages: definitions (cluster-wide, like storage.cfg) and pools holding volumes with capacity
// accounting. A non-shared storage has one pool per node; a shared one a single pool for all nodes.
import { fail } from './errors.js';
import { GiB, MiB } from './util.js';

export type StorageType = 'dir' | 'lvmthin' | 'zfspool' | 'nfs';
export const STORAGE_TYPES: readonly StorageType[] = ['dir', 'lvmthin', 'zfspool', 'nfs'];
export type ContentType = 'images' | 'rootdir' | 'vztmpl' | 'iso' | 'import' | 'backup' | 'snippets';

export interface StorageSpec {
  name: string;
  type: StorageType;
  content: string[];
  sizeGiB: number;
  shared?: boolean;
}

export interface Volume {
  volid: string;
  /** bytes */
  size: number;
  content: ContentType;
  format: string;
  vmid?: number;
  ctime: number;
  /** Base volume a linked clone is based on. */
  parent?: string;
}

export interface StoragePool {
  spec: StorageSpec;
  /** Node of a non-shared pool; undefined for shared storage. */
  node?: string;
  volumes: Map<string, Volume>;
}

export const UBUNTU_VZTMPL = 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst';
export const NOBLE_IMAGE = 'local:import/noble-server-cloudimg-amd64.img';
/** Virtual size of the noble cloud image (what an import-from disk becomes). */
export const NOBLE_VIRTUAL_SIZE = 3584 * MiB;

export const DEFAULT_STORAGES: StorageSpec[] = [
  { name: 'local', type: 'dir', content: ['vztmpl', 'iso', 'backup', 'import', 'snippets'], sizeGiB: 100 },
  { name: 'local-lvm', type: 'lvmthin', content: ['images', 'rootdir'], sizeGiB: 512 },
];

/** Parse the CLI form NAME:TYPE:SIZEGIB[:shared][:content,content]. */
export function parseStorageArg(s: string): StorageSpec {
  const parts = s.split(':');
  const [name, type, size, ...rest] = parts;
  if (!name || !/^[a-zA-Z][a-zA-Z0-9\-_.]*$/.test(name)) throw new Error(`--storage ${s}: bad storage name`);
  if (!STORAGE_TYPES.includes(type as StorageType)) throw new Error(`--storage ${s}: type must be one of ${STORAGE_TYPES.join(', ')}`);
  const sizeGiB = Number(size);
  if (!Number.isFinite(sizeGiB) || sizeGiB <= 0) throw new Error(`--storage ${s}: size must be a positive number of GiB`);
  let shared = type === 'nfs';
  let content: string[] | undefined;
  for (const r of rest) {
    if (r === 'shared') shared = true;
    else if (r) content = r.split(',');
  }
  return { name, type: type as StorageType, sizeGiB, shared, content: content ?? defaultContent(type as StorageType) };
}

export function defaultContent(type: StorageType): string[] {
  return type === 'dir' || type === 'nfs' ? ['images', 'rootdir', 'vztmpl', 'iso', 'import', 'backup'] : ['images', 'rootdir'];
}

export function poolCapacity(p: StoragePool): number {
  return Math.round(p.spec.sizeGiB * GiB);
}

export function poolUsed(p: StoragePool): number {
  let used = 0;
  // A linked clone shares its base volume's data: thin storages account only new writes (none here).
  for (const v of p.volumes.values()) if (!v.parent) used += v.size;
  return used;
}

/** Whether a storage can hold a linked clone of this guest type's base volume. */
export function supportsLinkedClone(type: StorageType, guest: 'lxc' | 'qemu'): boolean {
  if (type === 'lvmthin' || type === 'zfspool') return true;
  return guest === 'qemu';
}

/** The volume name Proxmox would give disk N of a guest on this storage. */
export function volumeName(spec: StorageSpec, guest: 'lxc' | 'qemu', vmid: number, n: number, base = false): { name: string; format: string } {
  const prefix = base ? 'base' : 'vm';
  if (spec.type === 'lvmthin') return { name: `${prefix}-${vmid}-disk-${n}`, format: 'raw' };
  if (spec.type === 'zfspool') {
    if (guest === 'lxc') return { name: `${base ? 'basevol' : 'subvol'}-${vmid}-disk-${n}`, format: 'subvol' };
    return { name: `${prefix}-${vmid}-disk-${n}`, format: 'raw' };
  }
  const format = guest === 'qemu' ? 'qcow2' : 'raw';
  return { name: `${vmid}/${prefix}-${vmid}-disk-${n}.${format}`, format };
}

/** The text the storage layer fails with when the pool has no room. */
export function outOfSpaceMessage(spec: StorageSpec, name: string, need: number, free: number): string {
  switch (spec.type) {
    case 'lvmthin':
      return `lvcreate 'pve/${name}' error:   Volume group "pve" has insufficient free space (${Math.floor(free / (4 * MiB))} extents): ${Math.ceil(need / (4 * MiB))} required.`;
    case 'zfspool':
      return `zfs error: cannot create 'rpool/data/${name}': out of space`;
    default:
      return `unable to create image: qemu-img: /mnt/pve/${spec.name}/images/${name}: Could not preallocate data for the new file: No space left on device`;
  }
}

export function contentLabel(c: ContentType): string {
  return c === 'rootdir' ? 'container directories' : c === 'images' ? 'vm images' : c;
}

export function checkContent(spec: StorageSpec, c: ContentType): void {
  if (!spec.content.includes(c)) fail(`storage '${spec.name}' does not support ${contentLabel(c)}`);
}
