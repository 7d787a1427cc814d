import type { Socket } from 'node:net';
import { CidrSet, parseCidr, unmapIPv4, type Cidr } from '../../../shared/cidr.ts';
import { PortwardenError } from '../../../shared/errors.ts';
import { ProxyHeaderParser } from './parse.ts';
import type { IdentityResolver, InboundResult, Origin } from '../identity.ts';

export interface ProxyProtocolResolverOptions {
  /** `identity.trusted_proxies`: only these peers may name an origin. */
  trustedProxies: readonly string[];
  /** `identity.header_timeout`: a hard deadline from accept to a complete header. */
  headerTimeoutMs: number;
  /** The origin's identity from the `identities` table, as identity mode `source` reads it. */
  lookup: (address: string) => string | undefined;
}

/**
 * Identity mode `proxy-protocol`: a load balancer in front sends a PROXY v1 or v2 header
 * naming the real caller. The header is believed only from `trusted_proxies`; anyone else is
 * refused before a byte is read. The origin is the address the header names (the proxy's own
 * for LOCAL and UNKNOWN, e.g. health checks) and the identity is that origin's entry in the
 * `identities` table. Bytes read past the header are handed on as `head`.
 */
export class ProxyProtocolIdentityResolver implements IdentityResolver {
  readonly #trusted: CidrSet;
  readonly #timeoutMs: number;
  readonly #lookup: (address: string) => string | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: ProxyProtocolResolverOptions) {
    const cidrs = options.trustedProxies.map((text, index): Cidr => {
      const cidr = parseCidr(text);
      if (!cidr) throw new PortwardenError('config_invalid', `identity.trusted_proxies[${index}]: "${text}" is not a CIDR`);
      return cidr;
    });
    this.#trusted = new CidrSet(cidrs);
    this.#timeoutMs = options.headerTimeoutMs;
    this.#lookup = options.lookup;
  }

  /** Reads the header; resolves with the origin it names, or a failure (the socket then destroyed). */
  resolve(socket: Socket): InboundResult | Promise<InboundResult> {
    const peer = { address: unmapIPv4(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
    if (this.#closed) return this.#refuse(socket, { ok: false, failure: 'proxy_header_invalid', detail: 'closing' });
    if (!this.#trusted.contains(peer.address)) return this.#refuse(socket, { ok: false, failure: 'proxy_untrusted_source' });
    return new Promise((resolve) => this.#read(socket, peer, resolve));
  }

  /**
   * Refuses new connections; those still sending their header finish (or time out) as they
   * would have, so swapping resolvers on a reload of `identities` cuts no caller. Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= Promise.resolve();
    return this.#closed;
  }

  #read(socket: Socket, peer: Origin, resolve: (result: InboundResult) => void): void {
    const parser = new ProxyHeaderParser();
    const finish = (result: InboundResult): void => {
      clearTimeout(timer);
      // without a 'readable' or 'data' listener the socket is back to its initial mode: the
      // proxy's 'data' listener starts the flow, the bytes not read yet still buffered
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (!result.ok) socket.destroy();
      resolve(result);
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        const step = parser.push(chunk);
        if (step.status === 'incomplete') continue;
        if (step.status === 'invalid') return finish({ ok: false, failure: 'proxy_header_invalid', detail: step.reason });
        const origin = step.header.source ?? peer;
        const result: InboundResult = { ok: true, stream: socket, identity: this.#lookup(origin.address), origin };
        return finish(step.rest.length > 0 ? { ...result, head: step.rest } : result);
      }
    };
    const onEnd = (): void => finish({ ok: false, failure: 'proxy_header_invalid', detail: 'ended before the header was complete' });
    const onError = (err: NodeJS.ErrnoException): void => finish({ ok: false, failure: 'proxy_header_invalid', detail: err.code ?? err.message });
    const onClose = (): void => finish({ ok: false, failure: 'proxy_header_invalid', detail: 'closed before the header was complete' });
    // a deadline, not an idle timer: a caller trickling one byte a second must not hold the slot
    const timer = setTimeout(() => finish({ ok: false, failure: 'proxy_header_timeout' }), this.#timeoutMs);
    socket.on('readable', onReadable);
    socket.on('end', onEnd);
    socket.on('error', onError);
    socket.on('close', onClose);
  }

  #refuse(socket: Socket, result: InboundResult): InboundResult {
    socket.destroy();
    return result;
  }
}
