// Small hand-written fleets for the DNS and route tests.
import { API_VERSION, type AnyResource, type LxcContainer, type Service, type VirtualMachine } from '../../resources/types.js';

export function lxc(name: string, vmid: number, ip: string | undefined, services: Service[] = [], ip6?: string): LxcContainer {
  return {
    apiVersion: API_VERSION,
    kind: 'LxcContainer',
    metadata: { name },
    spec: {
      vmid,
      source: { template: 'base' },
      rootfs: { storage: 'local-lvm', size: '8G' },
      networks: [{ name: 'eth0', bridge: 'vmbr0', ...(ip ? { ip } : {}), ...(ip6 ? { ip6 } : {}) }],
      ...(services.length ? { services } : {}),
    },
  };
}

export function vm(name: string, vmid: number, ip: string | undefined, services: Service[] = []): VirtualMachine {
  return {
    apiVersion: API_VERSION,
    kind: 'VirtualMachine',
    metadata: { name },
    spec: {
      vmid,
      source: { template: 'cloud' },
      ...(ip ? { cloudInit: { ipConfig: [{ ip }] } } : {}),
      ...(services.length ? { services } : {}),
    },
  };
}

export const template: AnyResource = {
  apiVersion: API_VERSION,
  kind: 'Template',
  metadata: { name: 'base' },
  spec: { vmid: 900, type: 'lxc', ostemplate: 'local:vztmpl/x.tar.zst', lxcNetworks: [{ name: 'eth0', bridge: 'vmbr0', ip: '10.0.0.200/24' }] },
};
