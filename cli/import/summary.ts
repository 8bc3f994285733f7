// The human-readable account of an import: a per-resource table, then per resource what was
// imported, what was not and why, and what was adjusted, then the volume-id mappings, file-level
// fields and the storages the fleet needs.
import type { GuestResource } from '../../resources/types.js';
import type { ImportResult } from './map.js';
import { fileNameOf, type WritePlan } from './output.js';

/** Storages the imported fleet refers to, with the Proxmox content types it needs on each. */
export function referencedStorages(resources: GuestResource[]): Record<string, string[]> {
  const out = new Map<string, Set<string>>();
  const add = (storage: string | undefined, content: string) => {
    if (!storage) return;
    if (!out.has(storage)) out.set(storage, new Set());
    out.get(storage)!.add(content);
  };
  const volStorage = (volid: string | undefined) => (volid && volid.includes(':') ? volid.slice(0, volid.indexOf(':')) : undefined);
  for (const r of resources) {
    const s = r.spec as unknown as Record<string, any>;
    if (r.kind === 'Template' && s.type === 'qemu') add(s.disk?.storage, 'images');
    else add(s.rootfs?.storage, 'rootdir');
    for (const m of s.mountPoints ?? []) add(m.volume?.storage, 'rootdir');
    for (const d of s.disks ?? []) add(d.storage, 'images');
    add(volStorage(s.ostemplate ?? s.source?.ostemplate), 'vztmpl');
    add(volStorage(s.image), 'import');
  }
  return Object.fromEntries([...out.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, [...v].sort()]));
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

export function formatSummary(result: ImportResult, plan?: WritePlan): string {
  const lines: string[] = [];
  const rows = [['LEGACY', 'VMID', 'RESOURCE', 'FILE', 'IMPORTED', 'NOT IMPORTED', 'ADJUSTED']];
  for (const g of result.guests) {
    rows.push([
      g.path,
      g.vmid !== undefined ? String(g.vmid) : '-',
      g.resource ? `${g.resource.kind}/${g.resource.metadata.name}` : 'NOT IMPORTED',
      fileNameOf(g) ?? '-',
      String(g.imported.length),
      String(g.unmapped.length),
      String(g.notes.length),
    ]);
  }
  const ok = result.guests.filter((g) => g.resource).length;
  lines.push(`Imported ${ok} of ${result.guests.length} guests.`, '', table(rows), '');
  for (const g of result.guests) {
    const head = g.resource ? `${g.resource.kind}/${g.resource.metadata.name} (${fileNameOf(g)})` : 'NOT IMPORTED';
    lines.push(`${g.path} ${g.legacyName !== undefined ? JSON.stringify(g.legacyName) + ' ' : ''}-> ${head}`);
    for (const e of g.errors) lines.push(`  error:        ${e.path}: ${e.message}`);
    if (g.imported.length) lines.push(`  imported:     ${g.imported.join(', ')}`);
    g.unmapped.forEach((u, i) => lines.push(`  ${i === 0 ? 'not imported: ' : '              '}${u.field}: ${u.reason}`));
    g.notes.forEach((n, i) => lines.push(`  ${i === 0 ? 'adjusted:     ' : '              '}${n.path}: ${n.message}`));
    lines.push('');
  }
  if (result.volumeMappings.length) {
    lines.push('Volume ids (host paths and file names mapped onto Proxmox storage):');
    for (const m of result.volumeMappings) lines.push(`  ${m.path}: ${m.from} -> ${m.to}`);
    lines.push('');
  }
  if (result.globalUnmapped.length || result.globalNotes.length) {
    lines.push('File-level fields:');
    for (const u of result.globalUnmapped) lines.push(`  not imported: ${u.path}: ${u.reason}`);
    for (const n of result.globalNotes) lines.push(`  adjusted:     ${n.path}: ${n.message}`);
    lines.push('');
  }
  const storages = referencedStorages(result.guests.flatMap((g) => (g.resource ? [g.resource] : [])));
  if (Object.keys(storages).length) {
    lines.push('Storages the fleet needs (name: content types):');
    for (const [s, c] of Object.entries(storages)) lines.push(`  ${s}: ${c.join(',')}`);
    lines.push('');
  }
  if (plan) {
    const f = (label: string, list: string[]) => list.length && lines.push(`${label}: ${list.join(', ')}`);
    f('Written', plan.write.map((w) => w.file));
    f('Overwritten although edited (--force)', plan.forced);
    f('Unchanged', plan.unchanged);
    f('Removed (guest no longer in the legacy files, file unchanged since import)', plan.remove);
    f('Left in place (guest no longer in the legacy files, but the file was edited)', plan.keepEdited);
  }
  return lines.join('\n').replace(/\n+$/, '') + '\n';
}
