import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** The PEM files of a TLS client: a CA trusted instead of the system's, and a client certificate with its key. */
export interface ClientTlsFiles {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
}

/** Their text, as undici's `connect` options (and `tls.connect`) take it. */
export interface ClientTlsPem {
  ca?: string;
  cert?: string;
  key?: string;
}

/** One file that cannot be used, by which of the three it is. */
export interface ClientTlsProblem {
  which: keyof ClientTlsFiles;
  /** The file as configured; empty when the problem is a missing partner (a cert without a key). */
  file: string;
  message: string;
}

const pemCertificate = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Reads and checks the files that are set: the CA holds PEM certificates, the certificate
 * parses, the key parses and belongs to the certificate, and a certificate comes with its key
 * (and a key with its certificate). Every problem is returned at once; no message holds key
 * material. `pem` is complete only when `problems` is empty.
 */
export async function readClientTls(files: ClientTlsFiles): Promise<{ pem: ClientTlsPem; problems: ClientTlsProblem[] }> {
  const problems: ClientTlsProblem[] = [];
  const pem: ClientTlsPem = {};
  const read = async (which: keyof ClientTlsFiles): Promise<void> => {
    const file = files[which];
    if (file === undefined) return;
    try {
      pem[which] = await readFile(file, 'utf8');
    } catch (err) {
      problems.push({ which, file, message: `cannot read file (${codeOf(err)})` });
    }
  };
  await Promise.all([read('ca'), read('cert'), read('key')]);
  if ((files.cert === undefined) !== (files.key === undefined)) {
    const missing = files.cert === undefined ? 'cert' : 'key';
    problems.push({ which: missing, file: '', message: missing === 'key' ? 'required with the client certificate' : 'required with the client key' });
  }

  const certificates = (which: 'ca' | 'cert'): X509Certificate[] => {
    const text = pem[which];
    const file = files[which];
    if (text === undefined || file === undefined) return [];
    const blocks = text.match(pemCertificate) ?? [];
    if (blocks.length === 0) problems.push({ which, file, message: 'holds no PEM certificate' });
    try {
      return blocks.map((block) => new X509Certificate(block));
    } catch (err) {
      problems.push({ which, file, message: `cannot parse a certificate (${codeOf(err)})` });
      return [];
    }
  };
  certificates('ca');
  const [leaf] = certificates('cert');
  let privateKey: KeyObject | undefined;
  if (pem.key !== undefined && files.key !== undefined) {
    try {
      privateKey = createPrivateKey(pem.key);
    } catch (err) {
      problems.push({ which: 'key', file: files.key, message: `cannot parse a private key (${codeOf(err)})` });
    }
  }
  if (leaf && privateKey && files.key !== undefined && !leaf.checkPrivateKey(privateKey)) {
    problems.push({ which: 'key', file: files.key, message: 'does not belong to the client certificate' });
  }
  return { pem, problems };
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException | null)?.code ?? 'error';
}
