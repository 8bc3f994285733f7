// pvesim in a process of its own for the resync benchmark, so that the benchmark process holds the
// controller alone and its memory is the controller's. Started with fork() (IPC): it reports
// {url, token, fingerprint}, then on `seed` copies guest 1000 (created by the controller) into
// guests 1001..1000+n-1 the way bench/run.ts does in-process, answers `stats`, and exits on `stop`.
import { startSim } from '../pvesim/index.js';
import { STORAGES, seedCopies } from './env.js';

export type ToChild = { kind: 'seed'; n: number } | { kind: 'stats' } | { kind: 'stop' };

const h = await startSim({ timeScale: 0, nodes: ['pve'], seed: 5, storages: STORAGES(4) });
process.send!({ kind: 'ready', url: h.url, token: h.token, fingerprint: h.fingerprint });
process.on('message', (m: ToChild) => {
  if (m.kind === 'seed') {
    seedCopies(h.sim, m.n);
    process.send!({ kind: 'seeded' });
  } else if (m.kind === 'stats') {
    process.send!({ kind: 'stats', stats: h.stats() });
  } else {
    void h.close().then(() => process.exit(0));
  }
});
