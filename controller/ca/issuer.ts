// What the reconciler needs from a CA backend (embedded or step-ca), and the guest command executor
// used for after-renewal actions. Both are interfaces so the CA core depends on neither the Proxmox
// client nor a network.
import type { X509Certificate } from 'node:crypto';
import type { CaCertificateStatus, KeyAlgorithm } from '../../resources/types.js';

export interface IssueRequest {
  commonName: string;
  /** DNS SANs to carry (the common name included when it is a DNS name). */
  dnsNames: string[];
  ipAddresses: string[];
  durationMs: number;
  keyAlgorithm: KeyAlgorithm;
  now: Date;
  signal?: AbortSignal;
}

export interface IssuedCertificate {
  /** PKCS#8 PEM of the new private key (generated here, never sent anywhere). */
  keyPem: string;
  /** The leaf certificate alone. */
  certPem: string;
  /** Intermediates, the leaf's issuer first. */
  intermediatePems: string[];
  /** The root the chain ends at. */
  rootPem: string;
}

export interface Issuer {
  /** CA certificates for status, root(s) first. */
  caCertificates(): CaCertificateStatus[];
  /** The trust anchors: certificates a leaf must chain to. */
  roots(): X509Certificate[];
  /** Intermediates this CA knows of (a leaf on disk may also bring its own, which must chain to a root). */
  intermediates(): X509Certificate[];
  issue(req: IssueRequest): Promise<IssuedCertificate>;
}

/** A guest to run a command in, resolved from the afterRenewal reference. */
export interface ExecTarget {
  type: 'qemu' | 'lxc';
  node: string;
  vmid: number;
}

export interface ExecResult {
  exitCode: number;
  stdout?: string;
  stderr?: string;
}

/**
 * Runs after-renewal commands. VMs: QEMU guest agent (agent/exec + agent/exec-status); containers:
 * `pct exec` on the host, which the reconciler only asks for when host commands are allowed.
 */
export interface GuestExec {
  exec(target: ExecTarget, command: string[], signal?: AbortSignal): Promise<ExecResult>;
}
