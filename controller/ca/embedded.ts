// The embedded CA backend: a root and an intermediate created on first use and kept in phoenix's
// state dir (<state-dir>/ca/<name>/, 0700; keys 0600). Leaves are signed by the intermediate.
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { webcrypto as wc } from 'node:crypto';
import type { CaCertificateStatus, EmbeddedCa, KeyAlgorithm } from '../../resources/types.js';
import { ensurePrivateDir, readIfExists, writeFileAtomic } from './files.js';
import { parseDuration } from './issue.js';
import type { IssueRequest, IssuedCertificate, Issuer } from './issuer.js';
import {
  DEFAULT_KEY_ALGORITHM,
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

const FILES = { rootCert: 'root.crt', rootKey: 'root.key', intCert: 'intermediate.crt', intKey: 'intermediate.key' } as const;

export class EmbeddedIssuer implements Issuer {
  private constructor(
    readonly root: X509Certificate,
    readonly intermediate: X509Certificate,
    private readonly signer: { cert: x509.X509Certificate; key: wc.CryptoKey; alg: KeyAlgorithm },
  ) {}

  /** Whether the CA's files exist in `dir` (used by plan, which must not create them). */
  static async exists(dir: string): Promise<boolean> {
    return (await readIfExists(join(dir, FILES.intKey))) !== undefined;
  }

  /**
   * Load the CA from `dir`, creating root and intermediate on first use. Refuses a half-written or
   * inconsistent directory rather than silently replacing a CA that guests already trust.
   */
  static async loadOrCreate(dir: string, spec: EmbeddedCa, now: Date): Promise<{ issuer: EmbeddedIssuer; created: boolean }> {
    await ensurePrivateDir(dir);
    const [rootCert, rootKey, intCert, intKey] = await Promise.all(
      [FILES.rootCert, FILES.rootKey, FILES.intCert, FILES.intKey].map((f) => readIfExists(join(dir, f))),
    );
    const present = [rootCert, rootKey, intCert, intKey].filter((x) => x !== undefined).length;
    if (present === 0) return { issuer: await EmbeddedIssuer.create(dir, spec, now), created: true };
    if (present !== 4) {
      throw new Error(`CA state in ${dir} is incomplete (expected ${Object.values(FILES).join(', ')}); restore it or remove the directory to create a new CA`);
    }
    return { issuer: await EmbeddedIssuer.load(rootCert!, rootKey!, intCert!, intKey!, dir), created: false };
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
    const notBefore = new Date(now.getTime() - BACKDATE_MS);
    const rootKeys = await generateKeyPair(alg);
    const rootCert = await createRootCert({
      commonName: spec.root.commonName,
      organization: spec.root.organization,
      notBefore,
      notAfter: new Date(now.getTime() + parseDuration(spec.root.validity ?? DEFAULT_ROOT_VALIDITY)),
      keys: rootKeys,
      alg,
    });
    const intKeys = await generateKeyPair(alg);
    const intCert = await createIntermediateCert(
      {
        commonName: spec.intermediate.commonName,
        organization: spec.intermediate.organization,
        notBefore,
        notAfter: new Date(now.getTime() + parseDuration(spec.intermediate.validity ?? DEFAULT_INTERMEDIATE_VALIDITY)),
        keys: intKeys,
        alg,
      },
      { cert: rootCert, key: rootKeys.privateKey, alg },
    );
    const mode = { mode: 0o600, dirMode: 0o700 };
    // keys first, certificates last: a crash in between leaves an incomplete set, refused on load
    await writeFileAtomic(join(dir, FILES.rootKey), await exportKeyPem(rootKeys.privateKey), mode);
    await writeFileAtomic(join(dir, FILES.intKey), await exportKeyPem(intKeys.privateKey), mode);
    await writeFileAtomic(join(dir, FILES.rootCert), rootCert.toString('pem') + '\n', mode);
    await writeFileAtomic(join(dir, FILES.intCert), intCert.toString('pem') + '\n', mode);
    return EmbeddedIssuer.load(
      await fs.readFile(join(dir, FILES.rootCert), 'utf8'),
      await fs.readFile(join(dir, FILES.rootKey), 'utf8'),
      await fs.readFile(join(dir, FILES.intCert), 'utf8'),
      await fs.readFile(join(dir, FILES.intKey), 'utf8'),
      dir,
    );
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
