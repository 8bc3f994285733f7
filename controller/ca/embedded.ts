// The embedded CA backend: a root and an intermediate created on first use and kept in phoenix's
// state dir (<state-dir>/ca/<name>/, 0700; keys 0600). Leaves are signed by the intermediate.
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import type { CaCertificateStatus, EmbeddedCa } from '../../resources/types.js';
import { readIfExists, writeFilesAtomic } from '../fs-atomic.js';
import { ensurePrivateDir } from './files.js';
import { parseDuration } from './issue.js';
import type { IssueRequest, IssuedCertificate, Issuer } from './issuer.js';
import {
  DEFAULT_KEY_ALGORITHM,
  type Signer,
  caCertificateStatus,
  createIntermediateCert,
  createLeafCert,
  createRootCert,
  exportKeyPem,
  generateKeyPair,
  importKeyPem,
  issuedBy,
  keyMatchesCert,
  x509,
} from './pki.js';

export const DEFAULT_ROOT_VALIDITY = '87600h';
export const DEFAULT_INTERMEDIATE_VALIDITY = '43800h';
/** Issued certificates start a minute early, against clock skew between hosts. */
export const BACKDATE_MS = 60_000;

const PRIVATE = { mode: 0o600, dirMode: 0o700 };

/** An intermediate is replaced once less than a third of its lifetime remains. */
export function intermediateDue(cert: X509Certificate, now: Date): boolean {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  return to - now.getTime() < (to - from) / 3;
}

const FILES = { rootCert: 'root.crt', rootKey: 'root.key', intCert: 'intermediate.crt', intKey: 'intermediate.key' } as const;

export class EmbeddedIssuer implements Issuer {
  private constructor(
    readonly root: X509Certificate,
    readonly intermediate: X509Certificate,
    private readonly signer: Signer,
  ) {}

  /** Whether the CA's files exist in `dir` (used by plan, which must not create them). */
  static async exists(dir: string): Promise<boolean> {
    return (await readIfExists(join(dir, FILES.intKey))) !== undefined;
  }

  /**
   * Load the CA from `dir`, creating root and intermediate on first use. Refuses a half-written or
   * inconsistent directory rather than silently replacing a CA that guests already trust.
   */
  static async loadOrCreate(dir: string, spec: EmbeddedCa, now: Date): Promise<{ issuer: EmbeddedIssuer; created: boolean; rotated: boolean }> {
    await ensurePrivateDir(dir);
    const [rootCert, rootKey, intCert, intKey] = await Promise.all(
      [FILES.rootCert, FILES.rootKey, FILES.intCert, FILES.intKey].map((f) => readIfExists(join(dir, f))),
    );
    const present = [rootCert, rootKey, intCert, intKey].filter((x) => x !== undefined).length;
    if (present === 0) return { issuer: await EmbeddedIssuer.create(dir, spec, now), created: true, rotated: false };
    if (present !== 4) {
      throw new Error(`CA state in ${dir} is incomplete (expected ${Object.values(FILES).join(', ')}); restore it or remove the directory to create a new CA`);
    }
    const loaded = await EmbeddedIssuer.load(rootCert!, rootKey!, intCert!, intKey!, dir);
    if (!intermediateDue(loaded.intermediate, now)) return { issuer: loaded, created: false, rotated: false };
    // the intermediate is in the last third of its life: sign a new one with the same root
    const root = new x509.X509Certificate(rootCert!);
    const { key: rootSigningKey, alg } = await importKeyPem(rootKey!);
    const next = await EmbeddedIssuer.newIntermediate(spec, now, { cert: root, key: rootSigningKey, alg });
    await writeFilesAtomic([
      { path: join(dir, FILES.intKey), data: next.keyPem, opts: PRIVATE },
      { path: join(dir, FILES.intCert), data: next.certPem, opts: PRIVATE },
    ]);
    return { issuer: await EmbeddedIssuer.load(rootCert!, rootKey!, next.certPem, next.keyPem, dir), created: false, rotated: true };
  }

  private static async newIntermediate(spec: EmbeddedCa, now: Date, root: Signer): Promise<{ certPem: string; keyPem: string }> {
    const alg = spec.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM;
    const keys = await generateKeyPair(alg);
    const cert = await createIntermediateCert(
      {
        commonName: spec.intermediate.commonName,
        organization: spec.intermediate.organization,
        notBefore: new Date(now.getTime() - BACKDATE_MS),
        notAfter: new Date(now.getTime() + parseDuration(spec.intermediate.validity ?? DEFAULT_INTERMEDIATE_VALIDITY)),
        keys,
        alg,
      },
      root,
    );
    return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
  }

  private static async load(rootPem: string, rootKeyPem: string, intPem: string, intKeyPem: string, dir: string): Promise<EmbeddedIssuer> {
    const root = new X509Certificate(rootPem);
    const intermediate = new X509Certificate(intPem);
    if (!keyMatchesCert(root, rootKeyPem) || !keyMatchesCert(intermediate, intKeyPem) || !issuedBy(intermediate, root)) {
      throw new Error(`CA state in ${dir} is inconsistent (a key does not match its certificate, or the intermediate is not signed by the root)`);
    }
    const { key, alg } = await importKeyPem(intKeyPem);
    return new EmbeddedIssuer(root, intermediate, { cert: new x509.X509Certificate(intPem), key, alg });
  }

  private static async create(dir: string, spec: EmbeddedCa, now: Date): Promise<EmbeddedIssuer> {
    const alg = spec.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM;
    const rootKeys = await generateKeyPair(alg);
    const rootCert = await createRootCert({
      commonName: spec.root.commonName,
      organization: spec.root.organization,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + parseDuration(spec.root.validity ?? DEFAULT_ROOT_VALIDITY)),
      keys: rootKeys,
      alg,
    });
    const inter = await EmbeddedIssuer.newIntermediate(spec, now, { cert: rootCert, key: rootKeys.privateKey, alg });
    const rootKeyPem = await exportKeyPem(rootKeys.privateKey);
    const rootPem = rootCert.toString('pem') + '\n';
    // keys first, certificates last: a crash in between leaves an incomplete set, refused on load
    await writeFilesAtomic([
      { path: join(dir, FILES.rootKey), data: rootKeyPem, opts: PRIVATE },
      { path: join(dir, FILES.intKey), data: inter.keyPem, opts: PRIVATE },
    ]);
    await writeFilesAtomic([
      { path: join(dir, FILES.rootCert), data: rootPem, opts: PRIVATE },
      { path: join(dir, FILES.intCert), data: inter.certPem, opts: PRIVATE },
    ]);
    return EmbeddedIssuer.load(rootPem, rootKeyPem, inter.certPem, inter.keyPem, dir);
  }

  get rootPem(): string {
    return this.root.toString();
  }

  caCertificates(): CaCertificateStatus[] {
    return [caCertificateStatus(this.root), caCertificateStatus(this.intermediate)];
  }

  roots(): X509Certificate[] {
    return [this.root];
  }

  intermediates(): X509Certificate[] {
    return [this.intermediate];
  }

  async issue(req: IssueRequest): Promise<IssuedCertificate> {
    const keys = await generateKeyPair(req.keyAlgorithm);
    const notAfter = new Date(req.now.getTime() + req.durationMs);
    const intNotAfter = new Date(this.intermediate.validTo);
    if (notAfter > intNotAfter) {
      throw new Error(`the intermediate CA expires at ${intNotAfter.toISOString()}, before the certificate would (${notAfter.toISOString()})`);
    }
    const leaf = await createLeafCert(
      {
        commonName: req.commonName,
        dnsNames: req.dnsNames,
        ipAddresses: req.ipAddresses,
        notBefore: new Date(req.now.getTime() - BACKDATE_MS),
        notAfter,
        publicKey: keys.publicKey,
      },
      this.signer,
    );
    return {
      keyPem: await exportKeyPem(keys.privateKey),
      certPem: leaf.toString('pem') + '\n',
      intermediatePems: [this.intermediate.toString()],
      rootPem: this.root.toString(),
    };
  }
}
