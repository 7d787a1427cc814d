import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { systemClock, type Clock } from '../../../shared/clock.ts';
import { ConfigError, type ConfigIssue } from '../../../shared/config/config-error.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { SidecarMetrics } from '../../admin/metrics.ts';
import { certificateIdentity } from './spiffe.ts';
import { watchTlsFiles } from './watch.ts';

/** The files a port's TLS identity is made of, as configured. */
export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/** One consistent generation of TLS material; a reload swaps it whole. */
export interface TlsSnapshot {
  /** What `tls.createServer`/`setSecureContext` take; TLS 1.2 is the floor. */
  readonly options: SecureContextOptions;
  /** The same, built once, for `tls.connect`. */
  readonly secureContext: SecureContext;
  /** This sidecar's own (leaf) certificate. */
  readonly certificate: X509Certificate;
  /** The leaf's single URI SAN (SPIFFE ID), if it has exactly one. */
  readonly identity: string | undefined;
}

export interface TlsMaterialOptions {
  files: TlsFiles;
  /** The key path of the files in the configuration (`ports[0].identity`), for messages. */
  keyPath: string;
  /** The port name, for the log and metric labels. */
  port: string;
  logger: Logger;
  metrics: Pick<SidecarMetrics, 'tlsCertExpiry' | 'tlsReloadsTotal'>;
  clock?: Clock;
  /** Re-read when a file changes (default true); `reload()` works either way. */
  watch?: boolean;
  /** Refuse a certificate without exactly one URI SAN that is a SPIFFE ID: the workload's identity must be in it (outbound). */
  requireIdentity?: boolean;
  /** Quiet time after a change before re-reading, so a cert and key written one after the other load together (default 100ms). */
  debounceMs?: number;
}

type Raw = Record<keyof TlsFiles, Buffer>;
const fileKeys = ['ca', 'cert', 'key'] as const;

/**
 * A port's certificate, key and CA bundle: read and checked at start (a bad file refuses the
 * start, naming the key), re-read when a file changes (watching the directories, so an atomic
 * rename or a Kubernetes secret's symlink swap is seen) and on `reload()` (SIGHUP). New
 * material applies to new handshakes only; a broken new file is refused, logged and counted,
 * and the old material stays.
 */
export class TlsMaterial {
  readonly #options: TlsMaterialOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #listeners = new Set<(snapshot: TlsSnapshot) => void>();
  #watch: { close(): void } | undefined;
  #raw: Raw;
  #current: TlsSnapshot;
  #reloading: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(options: TlsMaterialOptions, raw: Raw, snapshot: TlsSnapshot) {
    this.#options = options;
    this.#log = options.logger.child({ component: 'tls', port: options.port });
    this.#clock = options.clock ?? systemClock;
    this.#raw = raw;
    this.#current = snapshot;
  }

  /** Reads and checks the files; throws a ConfigError naming the key of each bad one. */
  static async load(options: TlsMaterialOptions): Promise<TlsMaterial> {
    const raw = await readAll(options);
    const material = new TlsMaterial(options, raw, build(options, raw));
    material.#applied();
    if (options.watch !== false) {
      material.#watch = watchTlsFiles({
        files: fileKeys.map((key) => options.files[key]),
        debounceMs: options.debounceMs ?? 100,
        logger: material.#log,
        onChange: () => void material.reload(),
      });
    }
    return material;
  }

  /** The material new handshakes use. */
  get current(): TlsSnapshot {
    return this.#current;
  }

  /** Called with each newly applied snapshot. Returns an unsubscribe. */
  onChange(listener: (snapshot: TlsSnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Re-reads the files now; resolves to what happened. Never throws: a refusal keeps the old material. */
  reload(): Promise<'applied' | 'unchanged' | 'refused'> {
    const run = this.#reloading.then(() => this.#reload());
    this.#reloading = run.catch(() => undefined);
    return run;
  }

  /** Stops watching. Idempotent; the current snapshot stays readable. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#watch?.close();
    await this.#reloading;
  }

  async #reload(): Promise<'applied' | 'unchanged' | 'refused'> {
    if (this.#closed) return 'unchanged';
    let raw: Raw;
    let snapshot: TlsSnapshot;
    try {
      raw = await readAll(this.#options);
      if (fileKeys.every((key) => raw[key].equals(this.#raw[key]))) return 'unchanged';
      snapshot = build(this.#options, raw);
    } catch (err) {
      const issues = err instanceof ConfigError ? err.issues.map((issue) => `${issue.key}: ${issue.message}`) : [String(err)];
      this.#options.metrics.tlsReloadsTotal.inc({ port: this.#options.port, result: 'refused' });
      this.#log.error({ issues }, 'new TLS material refused; the old material stays in use');
      return 'refused';
    }
    if (this.#closed) return 'unchanged';
    this.#raw = raw;
    this.#current = snapshot;
    this.#options.metrics.tlsReloadsTotal.inc({ port: this.#options.port, result: 'applied' });
    this.#applied();
    for (const listener of this.#listeners) listener(snapshot);
    return 'applied';
  }

  #applied(): void {
    const cert = this.#current.certificate;
    const notAfter = cert.validToDate.getTime();
    this.#options.metrics.tlsCertExpiry.set({ port: this.#options.port }, Math.floor(notAfter / 1000));
    const fields = { identity: this.#current.identity, serial: cert.serialNumber, notAfter: cert.validToDate.toISOString() };
    if (notAfter <= this.#clock.now()) this.#log.warn(fields, 'TLS certificate in use has expired');
    else this.#log.info(fields, 'TLS material loaded');
  }
}

async function readAll(options: TlsMaterialOptions): Promise<Raw> {
  const issues: ConfigIssue[] = [];
  const read = async (key: keyof TlsFiles): Promise<Buffer> => {
    try {
      return await readFile(options.files[key]);
    } catch (err) {
      issues.push(issue(options, key, `cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`));
      return Buffer.alloc(0);
    }
  };
  const [ca, cert, key] = await Promise.all(fileKeys.map(read));
  if (issues.length > 0) throw new ConfigError('config_unreadable', issues);
  return { ca: ca as Buffer, cert: cert as Buffer, key: key as Buffer };
}

const pemCertificate = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Parses and cross-checks the three files; throws a ConfigError naming each bad one. */
function build(options: TlsMaterialOptions, raw: Raw): TlsSnapshot {
  const issues: ConfigIssue[] = [];
  const certs = (key: 'ca' | 'cert'): X509Certificate[] => {
    const blocks = raw[key].toString('latin1').match(pemCertificate) ?? [];
    if (blocks.length === 0) issues.push(issue(options, key, 'holds no PEM certificate'));
    try {
      return blocks.map((block) => new X509Certificate(block));
    } catch (err) {
      issues.push(issue(options, key, `cannot parse a certificate (${(err as NodeJS.ErrnoException).code ?? 'error'})`));
      return [];
    }
  };
  certs('ca');
  const [leaf] = certs('cert');
  let privateKey: KeyObject | undefined;
  try {
    privateKey = createPrivateKey(raw.key);
  } catch (err) {
    // the message names the failure's code, never the key material
    issues.push(issue(options, 'key', `cannot parse a private key (${(err as NodeJS.ErrnoException).code ?? 'error'})`));
  }
  if (leaf && privateKey && !leaf.checkPrivateKey(privateKey)) {
    issues.push(issue(options, 'key', `does not match the certificate in ${options.keyPath}.cert`));
  }
  const identity = leaf && certificateIdentity(leaf);
  if (leaf && identity === undefined && options.requireIdentity) {
    issues.push(issue(options, 'cert', 'must carry exactly one URI SAN, this workload\'s SPIFFE ID (spiffe://trust-domain/path)'));
  }
  if (issues.length > 0 || !leaf) throw new ConfigError('config_invalid', issues);
  const contextOptions: SecureContextOptions = { ca: raw.ca, cert: raw.cert, key: raw.key, minVersion: 'TLSv1.2' };
  let secureContext: SecureContext;
  try {
    secureContext = createSecureContext(contextOptions);
  } catch (err) {
    throw new ConfigError('config_invalid', [issue(options, 'cert', `cannot be used for TLS (${(err as NodeJS.ErrnoException).code ?? 'error'})`)]);
  }
  return { options: contextOptions, secureContext, certificate: leaf, identity };
}

function issue(options: TlsMaterialOptions, key: keyof TlsFiles, message: string): ConfigIssue {
  return { file: options.files[key], line: 0, key: `${options.keyPath}.${key}`, message };
}
