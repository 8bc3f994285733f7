// CertificateAuthority: an internal CA (embedded, or an existing step-ca) and the certificates it
// issues and renews. Its `host` guest is an implicit dependency; afterRenewal guests are not.
import type { JSONSchemaType } from 'ajv';
import type {
  AfterRenewal,
  CaSubject,
  CertificateAuthority,
  CertificateAuthoritySpec,
  CertificateOutput,
  CertificateSpec,
  EmbeddedCa,
  ObjectMeta,
  StepCa,
} from './types.js';
import type { Issue } from './common.js';
import { S, checkUnique, dependsOnSchema, formatDuration, manifestSchema, opt, parseDuration, refSchema } from './common.js';

const KEY_ALGORITHMS = ['ECDSA-P256', 'ECDSA-P384', 'RSA-2048', 'RSA-4096'] as const;

const subjectSchema: JSONSchemaType<CaSubject> = {
  type: 'object',
  required: ['commonName'],
  additionalProperties: false,
  properties: {
    commonName: { ...S.oneLine, minLength: 1, maxLength: 64 },
    organization: opt({ ...S.oneLine, maxLength: 64 }),
    validity: opt(S.goDuration),
  },
};

const outputSchema: JSONSchemaType<CertificateOutput> = {
  type: 'object',
  required: ['certFile', 'keyFile'],
  additionalProperties: false,
  properties: {
    certFile: S.filePath,
    keyFile: S.filePath,
    chainFile: opt(S.filePath),
    mode: opt(S.fileMode),
    owner: opt({ type: 'integer', minimum: 0, maximum: 4294967294 }),
    group: opt({ type: 'integer', minimum: 0, maximum: 4294967294 }),
  },
};

const afterRenewalSchema: JSONSchemaType<AfterRenewal> = {
  type: 'object',
  required: ['guest', 'command'],
  additionalProperties: false,
  properties: {
    guest: refSchema,
    command: { type: 'array', items: { ...S.oneLine, maxLength: 4096 }, minItems: 1 },
  },
};

const certificateSchema: JSONSchemaType<CertificateSpec> = {
  type: 'object',
  required: ['name', 'commonName', 'output'],
  additionalProperties: false,
  properties: {
    name: S.dnsLabel,
    commonName: S.certDnsName,
    dnsNames: opt({ type: 'array', items: S.certDnsName, uniqueItems: true }),
    ipAddresses: opt({ type: 'array', items: S.ip, uniqueItems: true }),
    duration: opt(S.goDuration),
    renewBefore: opt(S.goDuration),
    keyAlgorithm: opt({ type: 'string', enum: [...KEY_ALGORITHMS] }),
    output: outputSchema,
    afterRenewal: opt(afterRenewalSchema),
  },
};

const embeddedSchema: JSONSchemaType<EmbeddedCa> = {
  type: 'object',
  required: ['root', 'intermediate'],
  additionalProperties: false,
  properties: {
    keyAlgorithm: opt({ type: 'string', enum: [...KEY_ALGORITHMS] }),
    root: subjectSchema,
    intermediate: subjectSchema,
    rootCertPath: opt(S.filePath),
  },
};

const stepCaSchema: JSONSchemaType<StepCa> = {
  type: 'object',
  required: ['url', 'rootFingerprint', 'provisioner'],
  additionalProperties: false,
  properties: {
    url: S.httpsUrl,
    rootFingerprint: S.sha256Hex,
    provisioner: { ...S.oneLine, minLength: 1, maxLength: 256 },
    provisionerKeyFile: opt(S.filePath),
    passwordFile: opt(S.filePath),
  },
};

export const certificateAuthoritySpecSchema: JSONSchemaType<CertificateAuthoritySpec> = {
  type: 'object',
  required: [],
  additionalProperties: false,
  properties: {
    backend: opt({ type: 'string', enum: ['embedded', 'step-ca'] }),
    host: opt(refSchema),
    embedded: opt(embeddedSchema),
    stepCa: opt(stepCaSchema),
    certificates: opt({ type: 'array', items: certificateSchema }),
    dependsOn: opt(dependsOnSchema),
  },
};

export const certificateAuthoritySchema = manifestSchema('CertificateAuthority', certificateAuthoritySpecSchema);

export function checkCertificateAuthority(r: CertificateAuthority): Issue[] {
  const s = r.spec;
  const backend = s.backend ?? 'embedded';
  const issues: Issue[] = [];
  if (backend === 'embedded' && s.embedded === undefined) issues.push({ path: ['spec'], message: "the embedded backend needs 'embedded' (root and intermediate subjects)" });
  if (backend === 'embedded' && s.stepCa !== undefined) issues.push({ path: ['spec', 'stepCa'], message: "'stepCa' applies to backend 'step-ca' only", atKey: true });
  if (backend === 'step-ca' && s.stepCa === undefined) issues.push({ path: ['spec'], message: "backend 'step-ca' needs 'stepCa' (url, rootFingerprint, provisioner)" });
  if (backend === 'step-ca' && s.embedded !== undefined) issues.push({ path: ['spec', 'embedded'], message: "'embedded' applies to backend 'embedded' only", atKey: true });
  if (s.host && s.host.kind !== 'LxcContainer' && s.host.kind !== 'VirtualMachine')
    issues.push({ path: ['spec', 'host', 'kind'], message: 'must be LxcContainer or VirtualMachine: the guest that hosts the CA' });
  issues.push(...checkUnique(s.certificates, (c) => c.name, ['spec', 'certificates'], 'name', 'certificate name'));
  (s.certificates ?? []).forEach((c, i) => {
    const path = ['spec', 'certificates', i];
    const duration = parseDuration(c.duration ?? '24h') ?? 0;
    if (duration <= 0) issues.push({ path: [...path, 'duration'], message: 'must be longer than 0s' });
    if (c.renewBefore !== undefined && (parseDuration(c.renewBefore) ?? 0) >= duration)
      issues.push({ path: [...path, 'renewBefore'], message: `must be shorter than duration (${c.duration ?? '24h'})` });
    const g = c.afterRenewal?.guest;
    if (g && g.kind !== 'LxcContainer' && g.kind !== 'VirtualMachine')
      issues.push({ path: [...path, 'afterRenewal', 'guest', 'kind'], message: 'must be LxcContainer or VirtualMachine' });
  });
  return issues;
}

/** Applies the CertificateAuthority defaults (pure): backend, key algorithm, duration, renewBefore. */
export function certificateAuthorityDefaults(spec: CertificateAuthoritySpec, _metadata?: Pick<ObjectMeta, 'name'>): CertificateAuthoritySpec {
  const out: CertificateAuthoritySpec = { ...spec, backend: spec.backend ?? 'embedded' };
  if (out.embedded) out.embedded = { ...out.embedded, keyAlgorithm: out.embedded.keyAlgorithm ?? 'ECDSA-P256' };
  if (spec.certificates)
    out.certificates = spec.certificates.map((c) => {
      const duration = c.duration ?? '24h';
      const ms = parseDuration(duration);
      return {
        ...c,
        duration,
        keyAlgorithm: c.keyAlgorithm ?? 'ECDSA-P256',
        renewBefore: c.renewBefore ?? (ms !== undefined ? formatDuration(ms / 3) : undefined),
      };
    });
  return out;
}
