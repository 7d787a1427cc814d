import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its key on disk, with their PEM text. */
export interface CertFiles {
  cert: string;
  key: string;
  certPem: string;
  keyPem: string;
}

export interface IssueOptions {
  /** URI SANs, e.g. SPIFFE IDs; several make an ambiguous identity, none a missing one. */
  uris?: string[];
  dns?: string[];
  ips?: string[];
  /** Days of validity; a negative number gives a certificate that has already expired. */
  days?: number;
}

/** A throwaway certificate authority made with `openssl`; ECDSA P-256 keys, so it is fast. */
export interface TestCa extends CertFiles {
  readonly name: string;
  /** Issues a leaf certificate signed by this CA, usable for both client and server auth. */
  issue(name: string, options?: IssueOptions): Promise<CertFiles>;
}

/** A directory of test PKI material; make it once per test file and `close()` it in `afterAll`. */
export interface TestPki {
  readonly dir: string;
  createCa(name: string): Promise<TestCa>;
  close(): Promise<void>;
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** Makes a temp directory to hold CAs and certificates. */
export async function createPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'portwarden-pki-'));
  let serial = 1;
  const files = async (base: string): Promise<CertFiles> => ({
    cert: `${base}.crt`,
    key: `${base}.key`,
    certPem: await readFile(`${base}.crt`, 'utf8'),
    keyPem: await readFile(`${base}.key`, 'utf8'),
  });

  async function createCa(caName: string): Promise<TestCa> {
    const base = join(dir, caName);
    await run('openssl', [
      'req', '-x509', ...ecKey, '-keyout', `${base}.key`, '-out', `${base}.crt`, '-subj', `/CN=${caName}`, '-days', '3650',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    const ca = await files(base);
    return {
      ...ca,
      name: caName,
      async issue(name, options = {}) {
        const leaf = join(dir, `${caName}-${name}`);
        // a section, not a one-line list, so a value may hold a comma
        const sans = [
          ...(options.uris ?? []).map((uri, i) => `URI.${i + 1} = ${uri}`),
          ...(options.dns ?? []).map((dns, i) => `DNS.${i + 1} = ${dns}`),
          ...(options.ips ?? []).map((ip, i) => `IP.${i + 1} = ${ip}`),
        ];
        const ext = [
          'basicConstraints=critical,CA:FALSE',
          'keyUsage=critical,digitalSignature',
          'extendedKeyUsage=serverAuth,clientAuth',
          ...(sans.length > 0 ? ['subjectAltName=@alt', '[alt]', ...sans] : []),
        ];
        await writeFile(`${leaf}.ext`, `${ext.join('\n')}\n`);
        await run('openssl', ['req', '-new', ...ecKey, '-keyout', `${leaf}.key`, '-out', `${leaf}.csr`, '-subj', `/CN=${name}`]);
        // `-days -1` ends validity a day before it starts: an already-expired certificate
        await run('openssl', [
          'x509', '-req', '-in', `${leaf}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', String(serial++),
          '-days', String(options.days ?? 30), '-extfile', `${leaf}.ext`, '-out', `${leaf}.crt`,
        ]);
        return files(leaf);
      },
    };
  }

  let closed: Promise<void> | undefined;
  return {
    dir,
    createCa,
    close: () => (closed ??= rm(dir, { recursive: true, force: true })),
  };
}

/** The `{ ca, cert, key }` files of a port's identity: `leaf`'s cert and key, trusting `ca`. */
export function identityFiles(ca: CertFiles, leaf: CertFiles): { ca: string; cert: string; key: string } {
  return { ca: ca.cert, cert: leaf.cert, key: leaf.key };
}
