import type { Socket } from 'node:net';
import { CidrSet, parseCidr, unmapIPv4 } from '../../shared/cidr.ts';
import { PortwardenError } from '../../shared/errors.ts';
import type { IdentityResolver, InboundResult } from './identity.ts';

/** One row of the config's `identities` table. */
export interface IdentityMapping {
  cidr: string;
  identity: string;
}

interface CompiledMapping {
  readonly set: CidrSet;
  readonly identity: string;
}

/**
 * Identity mode `source`: the caller's identity is looked up from its origin address in the
 * `identities` table, first match wins. Only sound where the network guarantees source
 * addresses (a pod network with policy, a loopback-only listener).
 */
export class SourceIdentityResolver implements IdentityResolver {
  readonly #mappings: readonly CompiledMapping[];

  constructor(mappings: readonly IdentityMapping[]) {
    this.#mappings = mappings.map(({ cidr, identity }) => {
      const parsed = parseCidr(cidr);
      if (!parsed) throw new PortwardenError('config_invalid', `identities: "${cidr}" is not a CIDR`);
      return { set: new CidrSet([parsed]), identity };
    });
  }

  /** The identity of `address` (IPv4-mapped IPv6 is read as IPv4), or undefined. */
  lookup(address: string): string | undefined {
    for (const mapping of this.#mappings) {
      if (mapping.set.contains(address)) return mapping.identity;
    }
    return undefined;
  }

  /** Synchronous, so the plain path costs no promise. */
  resolve(socket: Socket): InboundResult {
    const address = unmapIPv4(socket.remoteAddress ?? '');
    return { ok: true, stream: socket, identity: this.lookup(address), origin: { address, port: socket.remotePort ?? 0 } };
  }

  async close(): Promise<void> {}
}
