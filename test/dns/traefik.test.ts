// The Traefik file's shape against Traefik's documented dynamic configuration, and its content.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { collectRecords, renderTraefik } from '../../controller/dns/index.js';
import { traefikDynamicSchema } from './traefik-schema.js';
import { lxc, vm } from './fleet.js';

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(traefikDynamicSchema);
const check = (doc: unknown) => {
  const ok = validate(doc);
  assert.ok(ok, `not Traefik dynamic configuration: ${ajv.errorsText(validate.errors)}`);
};

const fleet = [
  lxc('step-ca', 103, '10.0.0.10/24', [{ name: 'ca', port: 9000, protocol: 'https', tls: true }]),
  lxc('nginx', 101, '10.0.0.153/24', [{ name: 'www', port: 80, path: '/app' }]),
  vm('portainer', 1001, '10.0.0.111/24', [{ name: 'portainer', port: 9443, protocol: 'https' }]),
  lxc('db', 110, '10.0.0.50/24', [{ name: 'pg', port: 5432, protocol: 'tcp' }, { name: 'pgs', port: 5433, protocol: 'tcp', tls: true }]),
  lxc('dns', 111, 'fd00::53/64', [{ name: 'resolver', port: 53, protocol: 'udp' }]),
];
const services = collectRecords(fleet, undefined, 'fleet.internal').services;
const certs = [{ certFile: '/etc/traefik/certs/fleet.crt', keyFile: '/etc/traefik/certs/fleet.key' }];

test('the schema rejects what Traefik would not understand (it can fail)', () => {
  assert.not.ok(validate({ http: { routers: { a: { rule: 'Host(`a`)' } } } }));
  assert.not.ok(validate({ http: { services: { a: { loadBalancer: { servers: [{ uri: 'http://x:1' }] } } } } }));
  assert.not.ok(validate({ udp: { routers: { a: { service: 'a', rule: 'x' } } } }));
  assert.not.ok(validate({ tls: { certificates: [{ certFile: 'a' }] } }));
});

test('one router and one service per declared service, in the documented shape', () => {
  const doc = parse(renderTraefik(services, { certificates: certs, rootCAFile: '/etc/traefik/certs/root.crt' }));
  check(doc);
  assert.equal(doc.http.routers['www-fleet-internal'], { rule: 'Host(`www.fleet.internal`) && PathPrefix(`/app`)', service: 'www-fleet-internal', entryPoints: ['web'] });
  assert.equal(doc.http.services['www-fleet-internal'], { loadBalancer: { servers: [{ url: 'http://10.0.0.153:80' }] } });
  // TLS at the mesh: tls {} on the router, the fleet CA's certificate under tls.certificates
  assert.equal(doc.http.routers['ca-fleet-internal'], { rule: 'Host(`ca.fleet.internal`)', service: 'ca-fleet-internal', entryPoints: ['websecure'], tls: {} });
  assert.equal(doc.tls.certificates, certs);
  // HTTPS backends are verified against the fleet CA root
  assert.equal(doc.http.services['portainer-fleet-internal'].loadBalancer, { servers: [{ url: 'https://10.0.0.111:9443' }], serversTransport: 'phoenix-fleet-ca' });
  assert.equal(doc.http.serversTransports, { 'phoenix-fleet-ca': { rootCAs: ['/etc/traefik/certs/root.crt'] } });
  // tcp: plain on its own entry point, TLS by SNI; udp by entry point; IPv6 bracketed
  assert.equal(doc.tcp.routers['pg-fleet-internal'], { rule: 'HostSNI(`*`)', service: 'pg-fleet-internal', entryPoints: ['tcp-5432'] });
  assert.equal(doc.tcp.routers['pgs-fleet-internal'], { rule: 'HostSNI(`pgs.fleet.internal`)', service: 'pgs-fleet-internal', entryPoints: ['websecure'], tls: {} });
  assert.equal(doc.tcp.services['pg-fleet-internal'], { loadBalancer: { servers: [{ address: '10.0.0.50:5432' }] } });
  assert.equal(doc.udp.routers['resolver-fleet-internal'], { service: 'resolver-fleet-internal', entryPoints: ['udp-53'] });
  assert.equal(doc.udp.services['resolver-fleet-internal'], { loadBalancer: { servers: [{ address: '[fd00::53]:53' }] } });
  // every router points at a service of its own section
  for (const sec of ['http', 'tcp', 'udp'])
    for (const [name, r] of Object.entries(doc[sec].routers as Record<string, { service: string }>)) assert.ok(doc[sec].services[r.service], `${sec} router ${name}`);
  assert.is(Object.keys(doc.http.routers).length + Object.keys(doc.tcp.routers).length + Object.keys(doc.udp.routers).length, 6);
});

test('without TLS routes or a CA root: no tls section, no servers transport; deterministic; empty fleet is valid', () => {
  const plain = services.filter((s) => !s.tls);
  const text = renderTraefik(plain, { certificates: certs });
  const doc = parse(text);
  check(doc);
  assert.is(doc.tls, undefined);
  assert.is(doc.http.serversTransports, undefined);
  assert.is(renderTraefik([...plain].reverse(), { certificates: certs }), text);
  check(parse(renderTraefik([])));
});

test.run();
