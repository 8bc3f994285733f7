// Hostile input, without a server: every string field of every kind's schema, walked generically,
// filled with injection strings (separators, percent-encodings, newlines, NUL, Unicode look-alikes).
// Each value is either refused by validation with an issue naming the field, or, if accepted, the
// requests phoenix builds from it carry exactly the parameters and property-string sub-keys the
// benign manifest gives (read back with pvesim's own parser) and pass pvesim's parameter checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { KIND_DEFINITIONS, applyDefaults, formatPath, validateResource } from '../../resources/index.js';
import type { AnyResource, GuestResource, Kind, LxcContainer, Template } from '../../resources/types.js';
import { desiredConfig, desiredDescription, desiredDisks, desiredFirewall, guestTypeOf, lxcCreateParams, ownerOf, qemuTemplateCreateParams } from '../../controller/plan/desired.js';
import { diffConfig, diffDisks, diffFirewall } from '../../controller/plan/guest.js';
import { validateRequest } from '../../pvesim/params/index.js';
import { collectRecords } from '../../controller/dns/records.js';
import { renderTraefik } from '../../controller/dns/traefik.js';
import { parse } from 'yaml';
import { ca, lxc, lxcTemplate, qemuTemplate, vm, withValue, type Path } from '../helpers/resources.js';
import { fixedHostile, hostileString, requestShape, shapeText } from './hostile.js';

// --- the schema, walked generically ---------------------------------------------------------------

type Json = Record<string, unknown>;

/** Generic paths (`spec.networks[].bridge`, `metadata.labels.*`) of every string a kind's schema accepts. */
function schemaStringPaths(schema: Json, at = ''): string[] {
  const out: string[] = [];
  if (schema.type === 'string') out.push(at);
  if (schema.type === 'object') {
    for (const [k, s] of Object.entries((schema.properties as Record<string, Json> | undefined) ?? {})) out.push(...schemaStringPaths(s, at ? `${at}.${k}` : k));
    if (schema.additionalProperties && typeof schema.additionalProperties === 'object') out.push(...schemaStringPaths(schema.additionalProperties as Json, `${at}.*`));
  }
  if (schema.type === 'array' && schema.items) out.push(...schemaStringPaths(schema.items as Json, `${at}[]`));
  return out;
}

/** The string leaves of a document, with concrete and generic paths, walked alongside its schema. */
function docStrings(schema: Json, value: unknown, path: Path = [], generic = ''): Array<{ path: Path; generic: string; value: string }> {
  if (typeof value === 'string') return schema.type === 'string' ? [{ path, generic, value }] : [];
  const out: Array<{ path: Path; generic: string; value: string }> = [];
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => out.push(...docStrings(schema.items as Json, v, [...path, i], `${generic}[]`)));
  else if (value && typeof value === 'object') {
    const props = (schema.properties as Record<string, Json> | undefined) ?? {};
    for (const [k, v] of Object.entries(value)) {
      const sub = props[k] ?? (typeof schema.additionalProperties === 'object' ? (schema.additionalProperties as Json) : undefined);
      if (sub) out.push(...docStrings(sub, v, [...path, k], props[k] ? (generic ? `${generic}.${k}` : k) : `${generic}.*`));
    }
  }
  return out;
}

// --- base manifests that between them hold every string field -----------------------------------

const META = { labels: { app: 'web', 'example.org/tier': 'front' }, annotations: { 'example.org/note': 'owner: ops' } };
const FIREWALL = {
  enabled: true,
  policyIn: 'DROP',
  policyOut: 'ACCEPT',
  rules: [{ type: 'in', action: 'ACCEPT', proto: 'tcp', source: '10.0.0.0/24', dest: '10.0.0.5', dport: '80,443', sport: '1024:65535', iface: 'net0', comment: 'web from the LAN' }],
};

/**
 * `refused`: a document the semantic checks always refuse, for a field the kind's schema shares but
 * the kind forbids; only that field (`only`) is attacked in it.
 */
interface Base {
  label: string;
  doc: Json;
  refused?: true;
  only?: string;
}

function bases(): Base[] {
  const l = lxc();
  Object.assign(l.metadata, META);
  Object.assign(l.spec, { dependsOn: [{ kind: 'Template', name: 'base' }], ostype: 'ubuntu', powerState: 'running', restartPolicy: 'IfRequired', firewall: { ...FIREWALL } });
  l.spec.source = { template: 'base', full: true, storage: 'fast-pool' };
  const lGuest = withValue(l, ['spec', 'source'], { guest: 'golden', snapshot: 'clean' });
  const lOs = withValue(l, ['spec', 'source'], { ostemplate: 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst' });

  const v = vm();
  Object.assign(v.metadata, META);
  Object.assign(v.spec, {
    ostype: 'l26',
    powerState: 'running',
    restartPolicy: 'Never',
    description: 'an app server',
    firewall: { ...FIREWALL },
    services: [{ name: 'app', port: 8443, protocol: 'https', path: '/healthz' }],
    dependsOn: [{ kind: 'Template', name: 'cloud' }],
  });
  v.spec.source = { template: 'cloud', full: true, storage: 'fast-pool' };
  const vGuest = withValue(v, ['spec', 'source'], { guest: 'golden', snapshot: 'clean' });

  const tl = lxcTemplate();
  Object.assign(tl.metadata, META);
  Object.assign(tl.spec, { ostype: 'debian', tags: ['base'], description: 'the base', node: 'pve', features: { nesting: true, mount: ['nfs'] }, firewall: { ...FIREWALL } });
  const tq = qemuTemplate();
  Object.assign(tq.spec, {
    ostype: 'l26',
    dependsOn: [{ kind: 'Template', name: 'base' }],
    cloudInit: { ...tq.spec.cloudInit, ipConfig: [{ ip: '10.0.0.50/24', gw: '10.0.0.1', ip6: 'fd00::50/64', gw6: 'fd00::1' }], sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ ops@example'] },
  });

  const c = ca();
  Object.assign(c.metadata, META);
  c.spec.embedded = {
    ...c.spec.embedded,
    keyAlgorithm: 'ECDSA-P256',
    root: { ...c.spec.embedded.root, organization: 'Example' },
    intermediate: { ...c.spec.embedded.intermediate, organization: 'Example', validity: '43800h' },
  };
  c.spec.certificates[0].keyAlgorithm = 'ECDSA-P384';
  c.spec.dependsOn = [{ kind: 'LxcContainer', name: 'web' }];
  const cStep = withValue(c, ['spec'], {
    backend: 'step-ca',
    stepCa: { url: 'https://ca.internal.example:9000', rootFingerprint: 'a'.repeat(64), provisioner: 'phoenix', provisionerKeyFile: 'keys/jwk.json', passwordFile: 'keys/pass' },
    certificates: c.spec.certificates,
  });
  return [
    { label: 'LxcContainer from a template', doc: l },
    { label: 'LxcContainer from a guest snapshot', doc: lGuest },
    { label: 'LxcContainer from an ostemplate', doc: lOs },
    { label: 'VirtualMachine from a template', doc: v },
    { label: 'VirtualMachine from a guest snapshot', doc: vGuest },
    { label: 'VirtualMachine from an ostemplate (always refused)', doc: withValue(v, ['spec', 'source'], { ostemplate: 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst' }), refused: true, only: 'spec.source.ostemplate' },
    { label: 'lxc Template', doc: tl },
    { label: 'qemu Template', doc: tq },
    { label: 'embedded CertificateAuthority', doc: c },
    { label: 'step-ca CertificateAuthority', doc: cStep },
  ];
}

// --- what phoenix sends for a resource (the pure builders the reconcilers use) ------------------

interface Req {
  method: string;
  template: string;
  params: Record<string, string | number | string[]>;
}

function clean(p: Record<string, unknown>): Record<string, string | number | string[]> {
  const out: Record<string, string | number | string[]> = {};
  for (const [k, v] of Object.entries(p)) if (v !== undefined && v !== null) out[k] = typeof v === 'boolean' ? (v ? 1 : 0) : (v as string | number | string[]);
  return out;
}

/**
 * The Proxmox requests phoenix derives from a resource's strings: create (ostemplate or cloud image),
 * the config update of an existing guest that has none of it yet, firewall options and rules. Clone
 * parameters are built inside the reconciler and are covered end to end (hostile.e2e.test.ts).
 * A CertificateAuthority sends nothing to Proxmox from its strings but after-renewal commands (e2e).
 */
function proxmoxRequests(r: AnyResource): Req[] {
  if (r.kind === 'CertificateAuthority') return [];
  const g = r as GuestResource;
  const type = guestTypeOf(g);
  const base = `/nodes/{node}/${type}/{vmid}`;
  const reqs: Req[] = [];
  if (g.kind === 'Template' && g.spec.type === 'qemu') reqs.push({ method: 'POST', template: '/nodes/{node}/qemu', params: qemuTemplateCreateParams(g) });
  const ostemplate = g.kind === 'Template' ? g.spec.ostemplate : g.kind === 'LxcContainer' ? g.spec.source.ostemplate : undefined;
  if (ostemplate) reqs.push({ method: 'POST', template: '/nodes/{node}/lxc', params: lxcCreateParams(g as LxcContainer | Template, ostemplate) });
  const cfg = diffConfig(type, desiredConfig(g), {}, false);
  const disks = diffDisks(type, desiredDisks(g), {});
  reqs.push({ method: 'PUT', template: `${base}/config`, params: clean({ ...(cfg?.params ?? {}), ...disks.params }) });
  const fw = diffFirewall(desiredFirewall(g), {}, []);
  if (fw?.options) reqs.push({ method: 'PUT', template: `${base}/firewall/options`, params: clean(fw.options) });
  for (const rule of fw?.rules ?? []) reqs.push({ method: 'POST', template: `${base}/firewall/rules`, params: clean(rule) });
  return reqs;
}

const PATH_PARAMS = { node: 'pve', vmid: '4242' };

function wire(p: Req['params']): Record<string, string | string[]> {
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, Array.isArray(v) ? v : String(v)]));
}

// --- the tests ------------------------------------------------------------------------------------

const BASES = bases();
const stats = { tried: 0, refused: 0, accepted: 0, undeclared: 0 };

/**
 * Fields whose validity only the Proxmox host can judge: `cpu` may name a custom model defined in
 * the host's cpu-models.conf, so an unknown name is the node's 400 to give (with its own message).
 * The no-extra-key check above still applies to them.
 */
const HOST_DEPENDENT = new Set(['spec.cpu']);
const generic = (path: Path) => path.map((p) => (typeof p === 'number' ? '[]' : `.${p}`)).join('').slice(1);

/** The string fields of a base manifest that are attacked. */
function attacked(b: Base) {
  return docStrings(KIND_DEFINITIONS[b.doc.kind as Kind].schema, b.doc).filter((s) => !b.only || s.generic === b.only);
}

/** The one shape a route's rule may have: its own host, and its own path prefix. */
const RULE = /^Host\(`[a-z0-9.-]+`\)( && PathPrefix\(`[^`]*`\))?$/;

/**
 * Services become Traefik routes (controller/dns): a service path is written into the rule, so a
 * hostile one must not add matchers (`/x`)||Host(`other`)`). Undefined when every rule has its shape.
 */
function routeProblem(r: AnyResource): string | undefined {
  if (r.kind !== 'LxcContainer' && r.kind !== 'VirtualMachine') return undefined;
  const { services } = collectRecords([r], undefined, 'fleet.internal');
  const doc = parse(renderTraefik(services)) as { http?: { routers?: Record<string, { rule: string }> } } | null;
  const rules = Object.values(doc?.http?.routers ?? {}).map((x) => x.rule);
  const web = services.filter((x) => (x.protocol ?? 'http').startsWith('http')).length;
  if (rules.length !== web) return `${rules.length} routers for ${web} http services`;
  return rules.find((x) => !RULE.test(x));
}

/** What the base manifest sends; undefined for one that is always refused. */
function benignRequests(b: Base): Req[] | undefined {
  return b.refused ? undefined : proxmoxRequests(applyDefaults(validateResource(b.doc).resource!));
}

/** Checks one hostile value at one field; returns a failure description or undefined. */
function check(doc: Json, path: Path, value: string, benign: Req[] | undefined): string | undefined {
  stats.tried++;
  const res = validateResource(withValue(doc, path, value));
  const field = formatPath(path);
  if (!res.resource) {
    stats.refused++;
    const named = res.issues.some((i) => field === formatPath(i.path) || field.startsWith(`${formatPath(i.path)}.`) || field.startsWith(`${formatPath(i.path)}[`));
    return named ? undefined : `refused ${JSON.stringify(value)} at ${field} without naming it: ${JSON.stringify(res.issues)}`;
  }
  if (!benign) return `accepted ${JSON.stringify(value)} at ${field} in a manifest that must be refused`;
  stats.accepted++;
  const reqs = proxmoxRequests(applyDefaults(res.resource));
  const want = benign.map((r) => shapeText(requestShape(r.method, r.template, r.params)));
  const got = reqs.map((r) => shapeText(requestShape(r.method, r.template, r.params)));
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    stats.undeclared++;
    return `accepted ${JSON.stringify(value)} at ${field} changed the parameters sent:\n  benign  ${want.join('\n          ')}\n  hostile ${got.join('\n          ')}`;
  }
  const route = routeProblem(res.resource);
  if (route) {
    stats.undeclared++;
    return `accepted ${JSON.stringify(value)} at ${field} changed a Traefik route: ${route}`;
  }
  if (HOST_DEPENDENT.has(generic(path))) return undefined;
  for (const r of reqs) {
    const v = validateRequest(r.method, r.template, { ...wire(r.params), ...PATH_PARAMS });
    if (v.errors) return `accepted ${JSON.stringify(value)} at ${field}, but Proxmox would answer 400 to ${r.method} ${r.template}: ${JSON.stringify(v.errors)}`;
  }
  return undefined;
}

test('firewall addresses: lists of one family, ranges alone, aliases and ipsets; anything else refused at the field', () => {
  const rule = (source: string) => withValue(BASES[0]!.doc, ['spec', 'firewall', 'rules', 0, 'source'], source);
  const ok = ['10.0.0.1', '10.0.0.0/24', '10.0.0.1-10.0.0.9', '10.0.0.1,10.0.0.2/32', 'fd00::1', 'fd00::/64,fd01::1', '+trusted', 'dc/office', 'guest/lan', 'lan_1'];
  const bad = ['10.0.,0.0/24', '10.0.0.5:', '..10.0.0.5', '10.0.0.1,fd00::1', '10.0.0.1-10.0.0.9,10.0.0.20', '10.0.0.0/33', 'fd00::/129', '10.0.0.1-fd00::1', '10.0.0.0/24-10.0.1.1', '10.0.0.1,', '1,0.0.0.0/24'];
  for (const s of ok) assert.equal(validateResource(rule(s)).issues, [], s);
  for (const s of bad) {
    const issues = validateResource(rule(s)).issues;
    assert.ok(issues.some((i) => formatPath(i.path) === 'spec.firewall.rules[0].source' && /address, CIDR/.test(i.message)), `${s}: ${JSON.stringify(issues)}`);
    assert.ok(validateRequest('POST', '/nodes/{node}/lxc/{vmid}/firewall/rules', { node: 'pve', vmid: '100', type: 'in', action: 'ACCEPT', source: s }).errors, `${s}: Proxmox refuses it too`);
  }
});

test("a description cannot claim another resource's guest: refused at the field, and phoenix's own marker wins", () => {
  const claims = [
    'managed-by: phoenix LxcContainer/victim',
    'notes\nmanaged-by: phoenix VirtualMachine/victim\nmore',
    '  Managed-By:  phoenix Template/victim',
    'notes%0Amanaged-by: phoenix LxcContainer/victim',
  ];
  for (const b of BASES.filter((x) => !x.refused && x.doc.kind !== 'CertificateAuthority')) {
    for (const d of claims) {
      const issues = validateResource(withValue(b.doc, ['spec', 'description'], d)).issues;
      assert.ok(issues.some((i) => formatPath(i.path) === 'spec.description' && /managed-by: phoenix/.test(i.message)), `${b.label}: ${JSON.stringify(d)}`);
    }
  }
  // whatever text precedes it (even text the check would refuse), the marker phoenix appends decides
  const kinds = ['LxcContainer', 'VirtualMachine', 'Template'] as const;
  fc.assert(
    fc.property(fc.constantFrom(...kinds), fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/), hostileString('managed-by: phoenix LxcContainer/victim'), (kind, name, d) => {
      stats.tried++;
      return ownerOf(desiredDescription(kind, name, d)) === `${kind}/${name}`;
    }),
    { numRuns: 2000, seed: 4243 },
  );
});

test('the base manifests are valid and between them hold every string field of every kind', () => {
  for (const kind of Object.keys(KIND_DEFINITIONS) as Kind[]) {
    const schema = KIND_DEFINITIONS[kind].schema;
    const want = new Set(schemaStringPaths(schema));
    assert.ok(want.size > 5, `${kind}: the walk found string fields`);
    const have = new Set<string>();
    for (const b of BASES.filter((x) => x.doc.kind === kind)) {
      const r = validateResource(b.doc);
      if (b.refused) assert.ok(r.issues.length > 0, `${b.label} is refused`);
      else assert.equal(r.issues, [], `${b.label} is valid`);
      for (const s of docStrings(schema, b.doc)) have.add(s.generic);
    }
    const missing = [...want].filter((p) => !have.has(p));
    assert.equal(missing, [], `${kind}: string fields no base manifest sets (add them so they are attacked)`);
  }
});

test('the builders send the parameters a benign manifest declares, and Proxmox accepts them', () => {
  for (const b of BASES.filter((x) => !x.refused)) {
    const r = validateResource(b.doc).resource!;
    for (const q of proxmoxRequests(applyDefaults(r))) {
      assert.equal(validateRequest(q.method, q.template, { ...wire(q.params), ...PATH_PARAMS }), {}, `${b.label}: ${q.method} ${q.template}`);
      assert.equal(requestShape(q.method, q.template, q.params).invalid, {}, `${b.label}: property strings parse`);
    }
  }
  // the route check sees the services and can fail
  const withRoutes = BASES.filter((b) => !b.refused && (b.doc.spec as { services?: unknown[] }).services?.length);
  assert.ok(withRoutes.length >= 2);
  for (const b of withRoutes) assert.is(routeProblem(validateResource(b.doc).resource!), undefined, b.label);
  const hijack = structuredClone(validateResource(withRoutes[0]!.doc).resource!) as { spec: { services: Array<{ path?: string }> } };
  hijack.spec.services[0]!.path = '/x`)||Host(`bank.example`)||PathPrefix(`/';
  assert.ok(routeProblem(hijack as unknown as AnyResource));
  // the comparison can fail: a value with a separator in it, if it got through, would show up
  const net = lxcCreateParams(applyDefaults(validateResource(BASES[2]!.doc).resource as LxcContainer), 'local:vztmpl/x.tar.zst');
  const smuggled = { ...net, net0: `${String(net.net0)},firewall=1` };
  assert.is.not(shapeText(requestShape('POST', '/nodes/{node}/lxc', smuggled)), shapeText(requestShape('POST', '/nodes/{node}/lxc', net)));
});

test('every string field x every injection fragment: refused naming the field, or sent with no extra key', () => {
  const failures: string[] = [];
  for (const b of BASES) {
    const benign = benignRequests(b);
    for (const s of attacked(b)) {
      for (const value of fixedHostile(s.value)) {
        const f = check(b.doc, s.path, value, benign);
        if (f && failures.length < 20) failures.push(`${b.label}: ${f}`);
      }
    }
  }
  assert.equal(failures, []);
});

test('random hostile strings in random string fields (property)', () => {
  const targets = BASES.flatMap((b) => {
    const benign = benignRequests(b);
    return attacked(b).map((s) => ({ ...s, b, benign }));
  });
  fc.assert(
    fc.property(
      fc.nat({ max: targets.length - 1 }).chain((i) => fc.tuple(fc.constant(i), hostileString(targets[i]!.value))),
      ([i, value]) => {
        const t = targets[i]!;
        const f = check(t.b.doc, t.path, value, t.benign);
        if (f) throw new Error(`${t.b.label}: ${f}`);
      },
    ),
    { numRuns: 3000, seed: 4242 },
  );
});

test.after(() => {
  console.log(
    `\nfigure: hostile input (schema walk): ${stats.tried} values tried in ${new Set(BASES.flatMap((b) => docStrings(KIND_DEFINITIONS[b.doc.kind as Kind].schema, b.doc).map((s) => `${String(b.doc.kind)}:${s.generic}`))).size} string fields, ${stats.refused} refused naming the field, ${stats.accepted} accepted, ${stats.undeclared} undeclared parameters`,
  );
});

test.run();
