import type { Logger } from '../../shared/logger.ts';
import { PortwardenError } from '../../shared/errors.ts';
import type { PortConfig, SidecarConfig } from '../../shared/config/sidecar-schema.ts';
import { plainUpstreamConnector, type UpstreamConnector } from '../upstream.ts';
import type { IdentityResolver } from './identity.ts';
import { SourceIdentityResolver } from './source.ts';

/** What a port's identity mode decides: who the caller is, and how the upstream is reached. */
export interface PortIdentity {
  resolver: IdentityResolver;
  connector: UpstreamConnector;
}

export interface PortIdentityContext {
  /** The whole configuration: `source` reads the top-level `identities` table. */
  config: SidecarConfig;
  logger: Logger;
}

/** Builds a port's identity pieces; injectable so tests and other modes can supply their own. */
export type PortIdentityFactory = (port: PortConfig, ctx: PortIdentityContext) => PortIdentity | Promise<PortIdentity>;

/**
 * The one place that maps `ports[].identity.mode` to a resolver and an upstream connector.
 * Modes other than `source` are not built yet and are refused by name.
 */
export const createPortIdentity: PortIdentityFactory = (port, ctx) => {
  const mode = port.identity.mode;
  switch (mode) {
    case 'source':
      return { resolver: new SourceIdentityResolver(ctx.config.identities), connector: plainUpstreamConnector };
    case 'mtls':
    case 'proxy-protocol':
    case 'outbound':
      throw new PortwardenError('config_invalid', `port "${port.name}": identity mode "${mode}" is not supported yet`);
    default:
      throw new PortwardenError('config_invalid', `port "${port.name}": unknown identity mode "${(mode as string) ?? ''}"`);
  }
};

/** True when a reload must rebuild the port's identity pieces although the port itself is unchanged. */
export function identityInputsChanged(port: PortConfig, before: SidecarConfig, after: SidecarConfig): boolean {
  return port.identity.mode === 'source' && JSON.stringify(before.identities) !== JSON.stringify(after.identities);
}
