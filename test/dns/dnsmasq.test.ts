// The generated hosts file served by the REAL dnsmasq on a loopback port: every expected name
// resolves to the right address; after a guest and a service are removed, the file is rewritten,
// dnsmasq gets SIGHUP and the names stop resolving while the others still do.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { Resolver } from 'node:dns/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { syncDnsAndRoutes, collectRecords } from '../../controller/dns/index.js';
import { lxc, vm, template } from './fleet.js';

const DNSMASQ = process.env.PHOENIX_DNSMASQ ?? '/usr/sbin/dnsmasq';
const DOMAIN = 'fleet.internal';

const fleet = [
  template,
  lxc('step-ca', 103, '10.0.0.10/24', [{ name: 'ca', port: 9000, protocol: 'https', tls: true }]),
  lxc('nginx', 101, '10.0.0.153/24', [{ name: 'www', port: 80 }]),
  lxc('dual', 130, '10.0.0.30/24', [], 'fd00::30/64'),
  vm('portainer', 1001, '10.0.0.111/24', [{ name: 'portainer', port: 9443, protocol: 'https' }]),
  vm('drphoenix', 1002, '10.0.0.102/24', [{ name: 'agent', port: 9001 }]),
];

async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    // dnsmasq also listens on TCP at the same port
    const tcpFree = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (tcpFree && port > 1024) return port;
  }
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 10000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The addresses a name resolves to (A and AAAA), or 'NXDOMAIN'. */
async function lookup(r: Resolver, name: string): Promise<string[] | 'NXDOMAIN'> {
  const get = async (fn: (n: string) => Promise<string[]>) => {
    try {
      return await fn.call(r, name);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA') return [];
      throw err;
    }
  };
  const all = [...(await get(r.resolve4)), ...(await get(r.resolve6))];
  return all.length ? all.sort() : 'NXDOMAIN';
}

let dir = '';
let child: ChildProcess | undefined;
let stderr = '';

if (!existsSync(DNSMASQ)) {
  if (process.env.CI === 'true') {
    test('dnsmasq is installed (CI needs it)', () => assert.unreachable(`${DNSMASQ} not found`));
  } else console.log(`skipped: ${DNSMASQ} not found (install dnsmasq-base)`);
} else {
  test.before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'phoenix-dnsmasq-'));
  });
  test.after(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  test('the real dnsmasq serves the generated names and drops removed ones after SIGHUP', async () => {
    const hosts = join(dir, 'fleet.hosts');
    const pidFile = join(dir, 'dnsmasq.pid');
    const first = await syncDnsAndRoutes({ resources: fleet, domain: DOMAIN, dnsmasqFile: hosts });
    assert.is(first.wroteDns, true);
    assert.equal(first.conflicts, []);

    let port = 0;
    for (let attempt = 0; attempt < 3 && !child; attempt++) {
      port = await freePort();
      const p = spawn(
        DNSMASQ,
        [
          '--keep-in-foreground',
          '--conf-file=/dev/null',
          '--no-resolv',
          '--no-hosts',
          '--listen-address=127.0.0.1',
          '--bind-interfaces',
          `--port=${port}`,
          `--addn-hosts=${hosts}`,
          `--pid-file=${pidFile}`,
          `--local=/${DOMAIN}/`,
          `--user=${userInfo().username}`,
          '--log-facility=-',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      p.stderr!.on('data', (d) => (stderr += d));
      const started = await until(`dnsmasq to start on port ${port}`, async () => {
        if (p.exitCode !== null) return false;
        const pid = await readFile(pidFile, 'utf8').catch(() => '');
        return Number(pid.trim()) === p.pid ? true : undefined;
      });
      if (started) child = p;
    }
    assert.ok(child, `dnsmasq did not start: ${stderr}`);

    const r = new Resolver({ timeout: 1000, tries: 2 });
    r.setServers([`127.0.0.1:${port}`]);
    const expected = new Map<string, string[]>();
    for (const rec of collectRecords(fleet, undefined, DOMAIN).records) expected.set(rec.name, [...(expected.get(rec.name) ?? []), rec.address].sort());
    assert.equal([...expected.keys()].sort(), [
      'agent.fleet.internal',
      'ca.fleet.internal',
      'drphoenix.fleet.internal',
      'dual.fleet.internal',
      'nginx.fleet.internal',
      'portainer.fleet.internal',
      'step-ca.fleet.internal',
      'www.fleet.internal',
    ]);
    await until('dnsmasq to answer', async () => ((await lookup(r, 'nginx.fleet.internal')) !== 'NXDOMAIN' ? true : undefined));
    for (const [name, addrs] of expected) assert.equal(await lookup(r, name), addrs, name);
    assert.equal(await lookup(r, 'dual.fleet.internal'), ['10.0.0.30', 'fd00::30']);
    assert.is(await lookup(r, 'nothing.fleet.internal'), 'NXDOMAIN');

    // drop the guest drphoenix (and with it its service "agent") and nginx's service "www"
    const changed = fleet
      .filter((x) => x.metadata.name !== 'drphoenix')
      .map((x) => (x.metadata.name === 'nginx' ? lxc('nginx', 101, '10.0.0.153/24') : x));
    const second = await syncDnsAndRoutes({ resources: changed, domain: DOMAIN, dnsmasqFile: hosts, pidFile });
    assert.equal([second.wroteDns, second.reloaded], [true, true]);
    for (const gone of ['drphoenix.fleet.internal', 'agent.fleet.internal', 'www.fleet.internal'])
      await until(`${gone} to stop resolving`, async () => ((await lookup(r, gone)) === 'NXDOMAIN' ? true : undefined), 5000);
    for (const kept of ['nginx.fleet.internal', 'ca.fleet.internal', 'portainer.fleet.internal', 'step-ca.fleet.internal'])
      assert.equal(await lookup(r, kept), expected.get(kept), kept);
    // nothing changed: no write, no signal
    const third = await syncDnsAndRoutes({ resources: changed, domain: DOMAIN, dnsmasqFile: hosts, pidFile });
    assert.equal([third.wroteDns, third.reloaded], [false, false]);
    assert.match(stderr, /read .*fleet\.hosts - \d+ names/);
  });
}

test.run();
