import { accessSync, constants, readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { AuthConfig } from '../config/auth.config';

/** Where a service's TLS material is and how it is used (from GRPC_TLS_* of its config: `grpcTlsSettings`). */
export interface GrpcTlsSettings {
  /** This service's certificate and key (PEM): its server's identity, and its client identity towards mTLS peers. */
  certFile?: string;
  keyFile?: string;
  /** CA bundle (PEM): clients verify servers with it; a server requiring client certificates verifies them with it. */
  caFile?: string;
  /** `require`: the server refuses clients without a certificate issued by `caFile` (mTLS). */
  clientAuth?: 'none' | 'require';
  /** How often the files are read again (default 60 s): rotated certificates apply to new connections. */
  reloadIntervalMs?: number;
}

type TlsConfig = Pick<
  AuthConfig,
  'GRPC_TLS_CERT_FILE' | 'GRPC_TLS_KEY_FILE' | 'GRPC_TLS_CA_FILE' | 'GRPC_TLS_CLIENT_AUTH' | 'GRPC_TLS_RELOAD_INTERVAL'
>;

/** The TLS settings of a service's config; undefined when it speaks plaintext (no certificate and no CA). */
export function grpcTlsSettings(config: Partial<TlsConfig>): GrpcTlsSettings | undefined {
  if (!config.GRPC_TLS_CERT_FILE && !config.GRPC_TLS_CA_FILE) return undefined;
  return {
    certFile: config.GRPC_TLS_CERT_FILE || undefined,
    keyFile: config.GRPC_TLS_KEY_FILE || undefined,
    caFile: config.GRPC_TLS_CA_FILE || undefined,
    clientAuth: config.GRPC_TLS_CLIENT_AUTH ?? 'none',
    reloadIntervalMs: config.GRPC_TLS_RELOAD_INTERVAL,
  };
}

/** TLS settings that cannot work together or files the process cannot read; the service refuses to start on them. */
export function grpcTlsProblems(config: Partial<TlsConfig>): { variable: string; message: string }[] {
  const problems: { variable: string; message: string }[] = [];
  const cert = config.GRPC_TLS_CERT_FILE;
  const key = config.GRPC_TLS_KEY_FILE;
  if (Boolean(cert) !== Boolean(key))
    problems.push({
      variable: cert ? 'GRPC_TLS_KEY_FILE' : 'GRPC_TLS_CERT_FILE',
      message: 'the certificate and its key go together: set both or neither',
    });
  if (config.GRPC_TLS_CLIENT_AUTH === 'require') {
    if (!cert)
      problems.push({ variable: 'GRPC_TLS_CLIENT_AUTH', message: 'require (mTLS) needs the server certificate GRPC_TLS_CERT_FILE' });
    if (!config.GRPC_TLS_CA_FILE)
      problems.push({ variable: 'GRPC_TLS_CLIENT_AUTH', message: 'require (mTLS) needs GRPC_TLS_CA_FILE to verify client certificates' });
  }
  for (const variable of ['GRPC_TLS_CERT_FILE', 'GRPC_TLS_KEY_FILE', 'GRPC_TLS_CA_FILE'] as const) {
    const file = config[variable];
    if (!file) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch {
      problems.push({ variable, message: `cannot read ${file}` });
    }
  }
  return problems;
}

type CaListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityListener = grpc.experimental.IdentityCertificateUpdateListener;

/**
 * PEM files read again every `intervalMs`; a change goes to the listeners only once it is whole and valid (the key
 * matches the certificate, the CA parses), so a rotation caught half-way keeps the last good material instead of
 * refusing connections until the next read. grpc-js's FileWatcherCertificateProvider publishes whatever it read.
 */
export class PemFilesCertificateProvider implements grpc.experimental.CertificateProvider {
  private identity: grpc.experimental.IdentityCertificateUpdate | null = null;
  private ca: grpc.experimental.CaCertificateUpdate | null = null;
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private timer: NodeJS.Timeout | undefined;
  /** Why the last read was not taken (the files named, the reason), or undefined when it was. */
  lastError: string | undefined;

  constructor(
    private readonly files: { certFile?: string; keyFile?: string; caFile?: string },
    private readonly intervalMs: number,
  ) {
    this.reload();
  }

  /** Reads the files now; returns whether the material changed. */
  reload(): boolean {
    let changed = false;
    try {
      const { certFile, keyFile, caFile } = this.files;
      if (certFile && keyFile) {
        const certificate = readFileSync(certFile);
        const privateKey = readFileSync(keyFile);
        createSecureContext({ cert: certificate, key: privateKey }); // throws when the key does not match
        if (!this.identity || !this.identity.certificate.equals(certificate) || !this.identity.privateKey.equals(privateKey)) {
          this.identity = { certificate, privateKey };
          changed = true;
        }
      }
      if (caFile) {
        const caCertificate = readFileSync(caFile);
        createSecureContext({ ca: caCertificate });
        if (!this.ca || !this.ca.caCertificate.equals(caCertificate)) {
          this.ca = { caCertificate };
          changed = true;
        }
      }
      this.lastError = undefined;
    } catch (error) {
      this.lastError = `${Object.values(this.files).join(', ')}: ${error instanceof Error ? error.message : String(error)}`;
      return false;
    }
    if (changed) {
      for (const listener of this.identityListeners) listener(this.identity);
      for (const listener of this.caListeners) listener(this.ca);
    }
    return changed;
  }

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    this.watch();
    // Later, not now: grpc-js registers its own watcher only after adding this listener.
    queueMicrotask(() => this.caListeners.has(listener) && listener(this.ca));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
    this.unwatch();
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    this.watch();
    queueMicrotask(() => this.identityListeners.has(listener) && listener(this.identity));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
    this.unwatch();
  }

  private watch(): void {
    if (this.timer) return;
    this.reload();
    this.timer = setInterval(() => this.reload(), this.intervalMs);
    this.timer.unref();
  }

  private unwatch(): void {
    if (this.caListeners.size > 0 || this.identityListeners.size > 0 || !this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * The credentials of a Pulse gRPC server: plaintext without a certificate; TLS with one, asking for a client
 * certificate when a CA is set and refusing clients without a valid one when `clientAuth` is `require`. The files are
 * read again every `reloadIntervalMs`, so a rotated certificate serves new connections without a restart
 * (`PemFilesCertificateProvider`).
 */
export function serverCredentials(tls: GrpcTlsSettings | undefined): grpc.ServerCredentials {
  if (!tls?.certFile || !tls.keyFile) return grpc.ServerCredentials.createInsecure();
  const interval = tls.reloadIntervalMs ?? 60_000;
  const identity = new PemFilesCertificateProvider({ certFile: tls.certFile, keyFile: tls.keyFile }, interval);
  const ca = tls.caFile ? new PemFilesCertificateProvider({ caFile: tls.caFile }, interval) : null;
  // grpc-js builds CertificateProviderServerCredentials(identity, ca, requireClientCertificate) from these arguments
  // in this order, whatever their names in its typings say.
  return grpc.experimental.createCertificateProviderServerCredentials(identity, ca, tls.clientAuth === 'require');
}

/**
 * The credentials of calls to a Pulse server: plaintext without a CA; with one, TLS verifying the server's certificate
 * against it, presenting this service's own certificate when it has one (for peers requiring mTLS). Re-read like the
 * server's.
 */
export function channelCredentials(tls: GrpcTlsSettings | undefined): grpc.ChannelCredentials {
  if (!tls?.caFile) return grpc.credentials.createInsecure();
  const interval = tls.reloadIntervalMs ?? 60_000;
  const ca = new PemFilesCertificateProvider({ caFile: tls.caFile }, interval);
  const identity =
    tls.certFile && tls.keyFile ? new PemFilesCertificateProvider({ certFile: tls.certFile, keyFile: tls.keyFile }, interval) : null;
  return grpc.experimental.createCertificateProviderChannelCredentials(ca, identity);
}
