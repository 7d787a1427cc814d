import { isLoopbackHost } from '../../shared/address.ts';
import { unmapIPv4 } from '../../shared/cidr.ts';
import { defaultReserved } from '../../shared/config/authority-schema.ts';
import { formatKeyPath } from '../../shared/config/load.ts';
import { ConfigError } from '../../shared/config/config-error.ts';
import { listenAddresses, listenPath, sidecarSchema, type SidecarConfig } from '../../shared/config/sidecar-schema.ts';

/** An unsafe combination, located by key path. */
export interface SafetyIssue {
  path: (string | number)[];
  message: string;
}

const reservedRanges = defaultReserved.map((text) => {
  const [from = 0, to = from] = text.split('-').map(Number);
  return { text, from, to };
});

/** The reserved range `port` falls in, as written (`1-1023`), or undefined. Port 0 (any free port) is never reserved. */
export function reservedRangeOf(port: number): string | undefined {
  if (port === 0) return undefined;
  return reservedRanges.find((range) => port >= range.from && port <= range.to)?.text;
}

/**
 * Combinations refused unless allowed by name (as ghostunnel's validateFlags does): an upstream
 * off this host could turn the sidecar into an open relay; a reserved listen port (on any of a
 * port's addresses) collides with system and cluster services.
 */
export function safetyIssues(config: Pick<SidecarConfig, 'ports'>): SafetyIssue[] {
  const issues: SafetyIssue[] = [];
  config.ports.forEach((port, index) => {
    // an outbound port reaches its one upstream over mTLS and checks its SPIFFE ID: no open relay
    const remoteByDesign = port.identity.mode === 'outbound';
    if (!port.allow_remote_upstream && !remoteByDesign && !isLoopbackHost(unmapIPv4(port.upstream.host))) {
      issues.push({
        path: ['ports', index, 'upstream'],
        message: `"${port.upstream.host}" is not a loopback address; set allow_remote_upstream: true to forward off this host`,
      });
    }
    listenAddresses(port).forEach((address, at) => {
      const reserved = reservedRangeOf(address.port);
      if (reserved === undefined || port.allow_reserved_listen) return;
      issues.push({
        path: listenPath(port, index, at),
        message: `port ${address.port} is reserved (${reserved}); set allow_reserved_listen: true to listen on it`,
      });
    });
  });
  return issues;
}

/** The sidecar schema plus the safety rules, so a refused combination is reported with its line. */
export const safeSidecarSchema: typeof sidecarSchema = sidecarSchema.superRefine((config, ctx) => {
  for (const issue of safetyIssues(config)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
});

/** Throws a ConfigError naming each unsafe key, for configurations that did not come through the loader. */
export function assertSafe(config: SidecarConfig, file = 'configuration'): void {
  const issues = safetyIssues(config);
  if (issues.length === 0) return;
  throw new ConfigError(
    'config_invalid',
    issues.map((issue) => ({ file, line: 0, key: formatKeyPath(issue.path), message: issue.message })),
  );
}
