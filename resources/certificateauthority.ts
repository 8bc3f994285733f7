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
import { S, checkUnique, dependsOnSchema, doc, formatDuration, manifestSchema, opt, parseDuration, refSchema } from './common.js';

const KEY_ALGORITHMS = ['ECDSA-P256', 'ECDSA-P384', 'RSA-2048', 'RSA-4096'] as const;

const KEY_ALGORITHM_TEXT = 'Key type: ECDSA on curve P-256 or P-384, or RSA of 2048 or 4096 bits.';

const subjectSchema: JSONSchemaType<CaSubject> = {
  type: 'object',
  required: ['commonName'],
  additionalProperties: false,
  properties: {
    commonName: doc({ ...S.oneLine, minLength: 1, maxLength: 64 }, 'Common name (CN) of the CA certificate, as clients show it.'),
    organization: opt(doc({ ...S.oneLine, maxLength: 64 }, 'Organisation (O) of the CA certificate.')),
    validity: opt(doc(S.goDuration, 'Lifetime of the CA certificate; 87600h (10 years) for the root and 43800h (5 years) for the intermediate when left out.')),
  } satisfies Record<keyof CaSubject, unknown>,
};

const outputSchema: JSONSchemaType<CertificateOutput> = {
  type: 'object',
  description:
    "Where the certificate's files are written: paths relative to the controller's `--cert-dir` (or absolute ones inside it), so guests can read them through bind mounts.",
  required: ['certFile', 'keyFile'],
  additionalProperties: false,
  properties: {
    certFile: doc(S.filePath, 'The certificate followed by the intermediate (the bundle a TLS server presents), PEM, mode 0644.'),
    keyFile: doc(S.filePath, 'The private key, PKCS#8 PEM, with `mode`.'),
    chainFile: opt(doc(S.filePath, 'The CA chain (intermediate and root), PEM, mode 0644, for clients that verify against it.')),
    mode: opt(doc(S.fileMode, 'File mode of `keyFile`; 0600 when left out.')),
    owner: opt(doc({ type: 'integer', minimum: 0, maximum: 4294967294 }, "Numeric user id that owns the files on the controller's host. Mind the id mapping of an unprivileged container that reads them: its uid N is usually 100000+N on the host unless the container maps ids itself.")),
    group: opt(doc({ type: 'integer', minimum: 0, maximum: 4294967294 }, 'Numeric group id that owns the files on the controller\'s host (the same id mapping applies as for `owner`).')),
  } satisfies Record<keyof CertificateOutput, unknown>,
};

const afterRenewalSchema: JSONSchemaType<AfterRenewal> = {
  type: 'object',
  description:
    'A command run in a guest after its certificate files were replaced, e.g. to reload a web server: through the QEMU guest agent in a VM, with `pct exec` in a container (only when the controller runs with `--allow-host-commands`).',
  required: ['guest', 'command'],
  additionalProperties: false,
  properties: {
    guest: doc(refSchema, 'The LxcContainer or VirtualMachine to run the command in; it runs only when that guest is Ready (a VM needs the guest agent and `agent: true`).'),
    command: doc({ type: 'array', items: { ...S.oneLine, maxLength: 4096 }, minItems: 1 } as const, 'The command and its arguments, e.g. `[systemctl, reload, nginx]`; never run through a shell.'),
  } satisfies Record<keyof AfterRenewal, unknown>,
};

const certificateSchema: JSONSchemaType<CertificateSpec> = {
  type: 'object',
  description: 'A certificate the CA issues and renews: a new key each time, written to `output`.',
  required: ['name', 'commonName', 'output'],
  additionalProperties: false,
  properties: {
    name: doc(S.dnsLabel, 'Name of the certificate in status, events and metrics; unique within the CA.'),
    commonName: doc(S.certDnsName, 'Common name (CN) of the certificate; it is also put in the DNS names.'),
    dnsNames: opt(doc({ type: 'array', items: S.certDnsName, uniqueItems: true }, 'Further DNS names (subject alternative names) the certificate is valid for.')),
    ipAddresses: opt(doc({ type: 'array', items: S.ip, uniqueItems: true }, 'IP addresses (subject alternative names) the certificate is valid for.')),
    duration: opt(doc(S.goDuration, 'Lifetime of each certificate issued.', { default: '24h' })),
    renewBefore: opt(doc(S.goDuration, 'Renew when less than this remains; a third of `duration` when left out. Must be shorter than `duration`.')),
    keyAlgorithm: opt(doc({ type: 'string', enum: [...KEY_ALGORITHMS] }, `${KEY_ALGORITHM_TEXT} of the certificate.`, { default: 'ECDSA-P256' })),
    output: outputSchema,
    afterRenewal: opt(afterRenewalSchema),
  } satisfies Record<keyof CertificateSpec, unknown>,
};

const embeddedSchema: JSONSchemaType<EmbeddedCa> = {
  type: 'object',
  description:
    "The embedded backend: phoenix creates a root and an intermediate CA on first use and keeps their keys under `<state-dir>/ca/<name>/` (back it up: the root key cannot be recreated). Required with backend `embedded`.",
  required: ['root', 'intermediate'],
  additionalProperties: false,
  properties: {
    keyAlgorithm: opt(doc({ type: 'string', enum: [...KEY_ALGORITHMS] }, `${KEY_ALGORITHM_TEXT} of the root and intermediate CA.`, { default: 'ECDSA-P256' })),
    root: doc(subjectSchema, 'Subject and lifetime of the root CA certificate, the one guests trust.'),
    intermediate: doc(subjectSchema, 'Subject and lifetime of the intermediate CA, which signs the certificates; rotated when a third of its lifetime remains.'),
    rootCertPath: opt(doc(S.filePath, 'Also write the root certificate here (under `--cert-dir`, mode 0644), for guests to trust it.')),
  } satisfies Record<keyof EmbeddedCa, unknown>,
};

const stepCaSchema: JSONSchemaType<StepCa> = {
  type: 'object',
  description: 'The step-ca backend: an existing smallstep step-ca that signs the certificates through a JWK provisioner. Required with backend `step-ca`.',
  required: ['url', 'rootFingerprint', 'provisioner'],
  additionalProperties: false,
  properties: {
    url: doc(S.httpsUrl, 'Address of the step-ca, e.g. `https://ca.internal.example:9000`.'),
    rootFingerprint: doc(S.sha256Hex, "SHA-256 fingerprint of the step-ca's root certificate (`step certificate fingerprint root_ca.crt`); every connection is verified against that root."),
    provisioner: doc({ ...S.oneLine, minLength: 1, maxLength: 256 }, 'Name of the JWK provisioner phoenix signs its requests with.'),
    provisionerKeyFile: opt(doc(S.filePath, "File on the controller's host holding the provisioner's private JWK, plain or encrypted as step stores it.")),
    passwordFile: opt(doc(S.filePath, "File on the controller's host holding the password of an encrypted provisioner key.")),
  } satisfies Record<keyof StepCa, unknown>,
};

export const certificateAuthoritySpecSchema: JSONSchemaType<CertificateAuthoritySpec> = {
  type: 'object',
  required: [],
  additionalProperties: false,
  properties: {
    backend: opt(doc({ type: 'string', enum: ['embedded', 'step-ca'] }, 'Who signs: phoenix itself (`embedded`) or an existing step-ca (`step-ca`).', { default: 'embedded' })),
    host: opt(doc(refSchema, 'The LxcContainer or VirtualMachine that hosts the CA: an implicit dependency, so the CA waits until it is Ready.')),
    embedded: opt(embeddedSchema),
    stepCa: opt(stepCaSchema),
    certificates: opt(doc({ type: 'array', items: certificateSchema }, 'The certificates this CA issues and keeps renewed.')),
    dependsOn: opt(dependsOnSchema),
  } satisfies Record<keyof CertificateAuthoritySpec, unknown>,
};

export const certificateAuthoritySchema = manifestSchema(
  'CertificateAuthority',
  certificateAuthoritySpecSchema,
  "The fleet's internal certificate authority and the certificates it issues and renews, written as files guests read through bind mounts (docs/certificates.md). Nothing is sent to Proxmox.",
);

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
