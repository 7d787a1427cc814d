import { Agent, request, type Dispatcher } from 'undici';
import { readClientTls, type ClientTlsFiles, type ClientTlsPem } from '../shared/client-tls.ts';
import { errorCodes, PortwardenError, type ErrorCode } from '../shared/errors.ts';

/** Where the CLI reaches the authority when neither `--authority` nor `PORTWARDEN_AUTHORITY` says. */
export const defaultAuthorityUrl = 'http://127.0.0.1:7400';

/** `--authority URL`, else `$PORTWARDEN_AUTHORITY`, else the default. */
export function authorityUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const url = flag ?? (env.PORTWARDEN_AUTHORITY || defaultAuthorityUrl);
  if (!/^https?:\/\/[^/]+/.test(url)) throw new PortwardenError('usage', `--authority must be an http:// or https:// URL, not "${url}"`);
  return url.replace(/\/+$/, '');
}

/** The API commands' options as parsed (`apiOptions`): `--authority` and the TLS files. */
export interface ApiFlags {
  authority?: string | undefined;
  'authority-ca'?: string | undefined;
  'authority-cert'?: string | undefined;
  'authority-key'?: string | undefined;
}

const tlsSources = {
  ca: { flag: 'authority-ca', env: 'PORTWARDEN_AUTHORITY_CA' },
  cert: { flag: 'authority-cert', env: 'PORTWARDEN_AUTHORITY_CERT' },
  key: { flag: 'authority-key', env: 'PORTWARDEN_AUTHORITY_KEY' },
} as const;

/**
 * `--authority-ca`, `--authority-cert` and `--authority-key`, each else its variable
 * (`PORTWARDEN_AUTHORITY_CA`, `_CERT`, `_KEY`): read and checked. A file that cannot be used, or
 * a certificate without its key, is a `usage` error naming the flag or the variable.
 */
export async function authorityTls(flags: ApiFlags, env: NodeJS.ProcessEnv): Promise<ClientTlsPem> {
  const files: ClientTlsFiles = {};
  const names: Record<keyof ClientTlsFiles, string> = { ca: '', cert: '', key: '' };
  for (const which of ['ca', 'cert', 'key'] as const) {
    const { flag, env: variable } = tlsSources[which];
    const fromFlag = flags[flag];
    files[which] = fromFlag ?? (env[variable] || undefined);
    names[which] = fromFlag === undefined && env[variable] ? `$${variable}` : `--${flag}`;
  }
  const { pem, problems } = await readClientTls(files);
  if (problems.length > 0) {
    const lines = problems.map((problem) => `${names[problem.which]}${problem.file ? ` ${problem.file}` : ''}: ${problem.message}`);
    throw new PortwardenError('usage', lines.join('\n'));
  }
  return pem;
}

export interface ApiClientOptions {
  /** The `--authority` flag, if given. */
  authority?: string | undefined;
  /** Reads `PORTWARDEN_AUTHORITY` and `PORTWARDEN_TOKEN`. */
  env: NodeJS.ProcessEnv;
  /** The CA to trust instead of the system's, and a client certificate (see `authorityTls`). */
  tls?: ClientTlsPem;
  timeoutMs?: number;
}

/**
 * The CLI's client for the authority's JSON API, on its own undici Agent (with `tls`). An error
 * answer becomes a `PortwardenError` with the API's code (so exit codes follow the code); a
 * network or TLS failure is `authority_unreachable`.
 */
export class ApiClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #agent: Agent;
  readonly #timeoutMs: number;
  #closing: Promise<void> | undefined;

  constructor(options: ApiClientOptions) {
    this.baseUrl = authorityUrl(options.authority, options.env);
    this.#token = options.env.PORTWARDEN_TOKEN?.trim() || undefined;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#agent = new Agent({ keepAliveTimeout: 1_000, connect: options.tls ?? {} });
  }

  get<T>(path: string, query: Record<string, string | undefined> = {}): Promise<T> {
    const params = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => entry[1] !== undefined));
    const search = params.size > 0 ? `?${params}` : '';
    return this.#call<T>('GET', `${path}${search}`, undefined);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.#call<T>('POST', path, body);
  }

  /** Closes the connection pool. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#agent.close();
    return this.#closing;
  }

  async #call<T>(method: 'GET' | 'POST', path: string, body: unknown): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    let response: Dispatcher.ResponseData;
    let text: string;
    try {
      response = await request(url, {
        method,
        dispatcher: this.#agent,
        headers: {
          accept: 'application/json',
          ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
      text = await response.body.text();
    } catch (cause) {
      const detail = (cause as { code?: string }).code ?? (cause as Error).message;
      throw new PortwardenError('authority_unreachable', `cannot reach the authority at ${this.baseUrl} (${detail})`, { cause });
    }
    const parsed = parseJson(text);
    if (response.statusCode >= 200 && response.statusCode < 300) {
      if (parsed === undefined) throw new PortwardenError('authority_bad_response', `${method} ${path} answered with a body that is not JSON`);
      return parsed as T;
    }
    throw apiError(response.statusCode, parsed);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The API's `{ error: { code, message } }` as a PortwardenError; unknown codes keep the status's meaning. */
export function apiError(status: number, body: unknown): PortwardenError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const message = typeof error?.message === 'string' ? error.message : `the authority answered HTTP ${status}`;
  if (error?.code === 'unauthenticated' || status === 401) return new PortwardenError('unauthenticated', `${message} (set PORTWARDEN_TOKEN)`);
  if (typeof error?.code === 'string' && error.code in errorCodes) return new PortwardenError(error.code as ErrorCode, message);
  if (status === 403) return new PortwardenError('forbidden', message);
  if (status === 404) return new PortwardenError('not_found', message);
  if (status >= 500) return new PortwardenError('authority_unreachable', message);
  return new PortwardenError('authority_bad_response', message);
}

/** A client for the API options (and the environment); the TLS files are read first. */
export async function openApiClient(flags: ApiFlags, env: NodeJS.ProcessEnv): Promise<ApiClient> {
  authorityUrl(flags.authority, env); // a bad URL is reported before any file is read
  const tls = await authorityTls(flags, env);
  return new ApiClient({ authority: flags.authority, env, tls });
}

/** Runs `fn` with a client for the API options (and the environment), closing it afterwards. */
export async function withApiClient<T>(env: NodeJS.ProcessEnv, flags: ApiFlags, fn: (client: ApiClient) => Promise<T>): Promise<T> {
  const client = await openApiClient(flags, env);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** The subcommand (first argument) and the arguments after it; `undefined` asks for help. */
export function splitSubcommand(argv: readonly string[]): { sub: string | undefined; rest: string[] } {
  const [first, ...rest] = argv;
  if (first === undefined || first.startsWith('-') || first === 'help') return { sub: undefined, rest: [...argv] };
  return { sub: first, rest };
}
