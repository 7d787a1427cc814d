import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import { PortwardenError } from '../../shared/errors.ts';
import type { ListenerConfig, PortConfig, SidecarConfig } from '../../shared/config/sidecar-schema.ts';
import type { SidecarMetrics } from '../admin/metrics.ts';
import { TlsMaterial } from './tls/material.ts';
import { plainUpstreamConnector, type UpstreamConnector } from '../proxy/upstream.ts';
import type { IdentityResolver } from './identity.ts';
import { MtlsIdentityResolver } from './mtls.ts';
import { OutboundIdentityResolver } from './outbound.ts';
import { ProxyProtocolIdentityResolver } from './proxy-protocol/resolver.ts';
import { SourceIdentityResolver } from './source.ts';

/** What a port's identity mode decides: who the caller is, and how the upstream is reached. */
export interface PortIdentity {
  resolver: IdentityResolver;
  connector: UpstreamConnector;
}

export interface PortIdentityContext {
  /** The whole configuration: `source` and `proxy-protocol` read the top-level `identities` table. */
  config: SidecarConfig;
  logger: Logger;
  /** TLS modes publish their certificate's expiry and count material reloads here. */
  metrics: Pick<SidecarMetrics, 'tlsCertExpiry' | 'tlsReloadsTotal'>;
  clock?: Clock;
}

/** Builds a port's identity pieces; injectable so tests and other modes can supply their own. */
export type PortIdentityFactory = (port: ListenerConfig, ctx: PortIdentityContext) => PortIdentity | Promise<PortIdentity>;

/**
 * The one place that maps `ports[].identity.mode` to a resolver and an upstream connector.
 * `source` is built synchronously; the TLS modes read their files first, and a bad one refuses
 * the port (ConfigError naming the key).
 */
export const createPortIdentity: PortIdentityFactory = (port, ctx) => {
  const identity = port.identity;
  switch (identity.mode) {
    case 'source':
      return { resolver: new SourceIdentityResolver(ctx.config.identities), connector: plainUpstreamConnector };
    case 'proxy-protocol': {
      const table = new SourceIdentityResolver(ctx.config.identities);
      const resolver = new ProxyProtocolIdentityResolver({
        trustedProxies: identity.trusted_proxies,
        headerTimeoutMs: identity.header_timeout,
        lookup: (address) => table.lookup(address),
      });
      return { resolver, connector: plainUpstreamConnector };
    }
    case 'mtls':
      return loadMaterial(port, ctx, identity, false).then((material) => ({
        resolver: new MtlsIdentityResolver({ material, handshakeTimeoutMs: identity.handshake_timeout }),
        connector: plainUpstreamConnector,
      }));
    case 'outbound':
      return loadMaterial(port, ctx, identity, true).then((material) => {
        try {
          const resolver = new OutboundIdentityResolver({
            material,
            expect: identity.expect,
            handshakeTimeoutMs: identity.handshake_timeout,
            listen: port.listen,
            keyPath: keyPathOf(port, ctx.config),
          });
          return { resolver, connector: resolver.connector };
        } catch (err) {
          void material.close();
          throw err;
        }
      });
    default:
      throw new PortwardenError('config_invalid', `port "${port.name}": unknown identity mode "${(identity as { mode?: string }).mode ?? ''}"`);
  }
};

function loadMaterial(
  port: Pick<PortConfig, 'name'>,
  ctx: PortIdentityContext,
  files: { ca: string; cert: string; key: string },
  requireIdentity: boolean,
): Promise<TlsMaterial> {
  return TlsMaterial.load({
    files: { ca: files.ca, cert: files.cert, key: files.key },
    keyPath: `${keyPathOf(port, ctx.config)}.identity`,
    port: port.name,
    logger: ctx.logger,
    metrics: ctx.metrics,
    clock: ctx.clock,
    requireIdentity,
  });
}

/** `ports[2]`: where the port sits in the configuration, for messages. */
function keyPathOf(port: Pick<PortConfig, 'name'>, config: SidecarConfig): string {
  const index = config.ports.findIndex((candidate) => candidate.name === port.name);
  return `ports[${index < 0 ? '?' : index}]`;
}

/** True when a reload must rebuild the port's identity pieces although the port itself is unchanged. */
export function identityInputsChanged(port: Pick<PortConfig, 'identity'>, before: SidecarConfig, after: SidecarConfig): boolean {
  const readsTable = port.identity.mode === 'source' || port.identity.mode === 'proxy-protocol';
  return readsTable && JSON.stringify(before.identities) !== JSON.stringify(after.identities);
}
