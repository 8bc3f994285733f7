// Temporary directories for loader and CLI tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(prefix = 'phoenix-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A valid LxcContainer manifest as YAML text. */
export function lxcYaml(name: string, vmid: number, extra = ''): string {
  return `apiVersion: phoenix.hypervisor/v1alpha1
kind: LxcContainer
metadata:
  name: ${name}
spec:
  vmid: ${vmid}
  source:
    ostemplate: local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst
  rootfs:
    storage: local-lvm
    size: 8G
${extra}`;
}
