import { readFile, stat } from 'node:fs/promises';
import { PortwardenError } from '../../shared/errors.ts';

/**
 * The sidecar's API credential, read from `authority.token_file`. Re-read when the file changes
 * (size or mtime) or after the authority answered 401, so a rotated token is picked up without
 * a restart. The token itself is never logged.
 */
export class BearerToken {
  readonly #file: string;
  #token: string | undefined;
  #stamp = '';

  constructor(file: string) {
    this.#file = file;
  }

  /** The current token; throws `unauthenticated` when the file is missing or empty. */
  async get(): Promise<string> {
    let stamp: string;
    try {
      const info = await stat(this.#file);
      stamp = `${info.size}:${info.mtimeMs}:${info.ino}`;
    } catch (cause) {
      throw new PortwardenError('unauthenticated', `cannot read the token file ${this.#file} (${errnoCode(cause)})`, { cause });
    }
    if (this.#token !== undefined && stamp === this.#stamp) return this.#token;
    let text: string;
    try {
      text = await readFile(this.#file, 'utf8');
    } catch (cause) {
      throw new PortwardenError('unauthenticated', `cannot read the token file ${this.#file} (${errnoCode(cause)})`, { cause });
    }
    const token = text.trim();
    if (token === '') throw new PortwardenError('unauthenticated', `the token file ${this.#file} is empty`);
    this.#token = token;
    this.#stamp = stamp;
    return token;
  }

  /** Forgets the cached token: the next `get` reads the file again (after a 401). */
  invalidate(): void {
    this.#token = undefined;
  }
}

function errnoCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'unreadable';
}
