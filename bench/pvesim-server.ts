// The pvesim side of bench/pvesim.ts, in a process of its own so that its CPU is measured apart from
// the load generator's: started with fork() (IPC), it fills pvesim with guests, reports the heap they
// hold, then answers `cpu` with its process.cpuUsage() until told to `stop`. Needs --expose-gc for an
// exact heap figure (bench/pvesim.ts passes it).
import { startSim } from '../pvesim/index.js';

export interface ServerReady {
  kind: 'ready';
  url: string;
  token: string;
  certPem: string;
  nodes: string[];
  populateMs: number;
  heldMiB: number;
  rssMiB: number;
}
export interface ServerCpu {
  kind: 'cpu';
  usage: NodeJS.CpuUsage;
}
export type ToServer = { kind: 'cpu' } | { kind: 'stop' };

/** A full GC before reading the heap: global.gc when node runs with --expose-gc, else nothing. */
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function heapMiB(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return (m.heapUsed + m.external + m.arrayBuffers) / 1024 / 1024;
}

const send = (m: ServerReady | ServerCpu) => process.send!(m);
const guests = Number(process.env.PVESIM_BENCH_GUESTS ?? 10_000);
const nodes = ['pve1', 'pve2', 'pve3'];
const h = await startSim({
  timeScale: 0,
  nodes,
  seed: 1,
  storages: [{ name: 'bench', type: 'lvmthin', content: ['images', 'rootdir'], sizeGiB: 1_000_000 }],
});
const base = heapMiB();
const t0 = Date.now();
// half LXC, half QEMU, over three nodes; a quarter of them running
for (let i = 0; i < guests; i++) {
  const vmid = 1000 + i;
  const node = nodes[i % nodes.length]!;
  if (i % 2 === 0) {
    h.sim.addGuest(node, 'lxc', vmid, {
      arch: 'amd64', hostname: `ct${vmid}`, memory: '1024', swap: '512', cores: '2', ostype: 'ubuntu', unprivileged: '1',
      features: 'nesting=1', tags: 'bench;lxc', rootfs: 'bench:8', net0: `name=eth0,bridge=vmbr0,ip=10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/8,gw=10.0.0.1`,
      description: 'benchmark container',
    }, i % 4 === 0 ? 'running' : 'stopped');
  } else {
    h.sim.addGuest(node, 'qemu', vmid, {
      name: `vm${vmid}`, memory: '2048', cores: '2', sockets: '1', cpu: 'x86-64-v2-AES', scsihw: 'virtio-scsi-single', scsi0: 'bench:16',
      net0: 'virtio,bridge=vmbr0', agent: '1', ciuser: 'ubuntu', ipconfig0: 'ip=dhcp', boot: 'order=scsi0;net0', ostype: 'l26', tags: 'bench;vm',
    }, i % 4 === 1 ? 'running' : 'stopped');
  }
}
const populateMs = Date.now() - t0;
const heldMiB = heapMiB() - base;
send({ kind: 'ready', url: h.url, token: h.token, certPem: h.certPem, nodes, populateMs, heldMiB, rssMiB: process.memoryUsage().rss / 1024 / 1024 });

let closing: Promise<void> | undefined;
const close = () => (closing ??= h.close());
process.on('message', (m: ToServer) => {
  if (m.kind === 'cpu') send({ kind: 'cpu', usage: process.cpuUsage() });
  else if (m.kind === 'stop') void close().then(() => process.disconnect());
});
// the parent went away without saying stop: do not linger
process.on('disconnect', () => void close());
