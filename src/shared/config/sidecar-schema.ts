import { z } from 'zod';
import { isLoopbackHost, type HostPort } from '../address.ts';
import type { Frozen } from './frozen.ts';
import { formatKeyPath } from './load.ts';
import { cidr, duration, filePath, hostPort, hostPorts, hostPortWithDefault, identity, logLevel, name } from './schema-parts.ts';

/** Who is calling: how a port learns the caller's workload identity. */
const identitySchema = z.discriminatedUnion('mode', [
  // origin CIDR -> identity, from the top-level `identities` table
  z.strictObject({ mode: z.literal('source') }),
  // TLS terminated here; identity is the client certificate's single URI SAN (SPIFFE ID)
  z.strictObject({
    mode: z.literal('mtls'),
    ca: filePath,
    cert: filePath,
    key: filePath,
    handshake_timeout: duration('10s'),
  }),
  // PROXY protocol v1/v2 header from a trusted proxy carries the origin
  z.strictObject({
    mode: z.literal('proxy-protocol'),
    trusted_proxies: z.array(cidr).min(1, 'must list at least one trusted proxy CIDR'),
    header_timeout: duration('5s'),
  }),
  // plaintext from the local app, mTLS to a remote sidecar whose SPIFFE ID must match `expect`
  z.strictObject({
    mode: z.literal('outbound'),
    ca: filePath,
    cert: filePath,
    key: filePath,
    expect: identity,
    handshake_timeout: duration('10s'),
  }),
]);

export const portSchema = z
  .strictObject({
    name,
    // one host:port, or a list: one listener bound to every address (e.g. both numbers during a transition)
    listen: hostPorts,
    upstream: hostPort,
    identity: identitySchema.prefault({ mode: 'source' }),
    // admit past `exp` only while the authority is unreachable, never past a revocation
    expiry_grace: duration('0s'),
    // what happens to open connections when the license is revoked: close them, or let them finish
    on_revoke: z.enum(['close', 'drain']).default('close'),
    timeouts: z
      .strictObject({
        connect: duration('5s'), // upstream connect
        idle: duration('15m'), // no bytes either way
        half_close: duration('30s'), // after one side ends, how long the other may keep sending
      })
      .prefault({}),
    max_connections: z.number().int().min(1).max(1_000_000).default(4096),
    // a non-loopback upstream must be allowed by name
    allow_remote_upstream: z.boolean().default(false),
    // listening on a reserved port (1-1023, 2379-2380, 6443, 10250-10259, 30000-32767) must be allowed by name
    allow_reserved_listen: z.boolean().default(false),
    // listen on a number the authority licenses for this port beyond `listen` (a transition's new number) while its license lasts
    follow_transitions: z.boolean().default(true),
    // send a PROXY v2 header to the upstream so the service sees the real origin
    upstream_proxy_protocol: z.enum(['off', 'v2']).default('off'),
  })
  // every address the port listens on, in the configured order: one listener each (`ListenerConfig`)
  .transform(({ listen, ...port }) => ({ ...port, listens: listen as readonly [HostPort, ...HostPort[]] }));

export const sidecarSchema = z
  .strictObject({
    service: name,
    authority: z
      .strictObject({
        url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).default('http://127.0.0.1:7400'),
        issuer: z.string().min(1).default('portwarden-authority'),
        token_file: filePath.default('./data/sidecar.token'),
        refresh: duration('30s'), // longest gap between syncs; changes arrive sooner (long-poll)
        cache_dir: filePath.default('./data/cache'), // last-known-good licenses and JWKS
        clock_tolerance: duration('30s'), // allowed skew on exp/nbf, bounded
        ca: filePath.optional(), // pin the authority's CA for https
        cert: filePath.optional(), // client certificate, for an authority that requires one (tls.client_ca) ...
        key: filePath.optional(), // ... and its key: both or neither
      })
      .prefault({}),
    admin: z.strictObject({ listen: hostPortWithDefault('127.0.0.1:9901') }).prefault({}),
    identities: z.array(z.strictObject({ cidr, identity })).default([]),
    telemetry: z
      .strictObject({
        report_interval: duration('10s'),
        max_entries: z.number().int().min(1).default(10_000),
        max_identities: z.number().int().min(1).default(1_000),
        spool_dir: filePath.default('./data/spool'),
        spool_max_bytes: z.number().int().min(1024).default(64 * 1024 * 1024),
      })
      .prefault({}),
    inventory: z.strictObject({ interval: duration('60s'), enabled: z.boolean().default(true) }).prefault({}),
    shutdown_timeout: duration('30s'),
    log: z.strictObject({ level: logLevel }).prefault({}),
    ports: z.array(portSchema).min(1, 'must configure at least one port'),
  })
  .superRefine((config, ctx) => {
    const { cert, key } = config.authority;
    if (cert !== undefined && key === undefined) ctx.addIssue({ code: 'custom', path: ['authority', 'key'], message: 'required with authority.cert: the client certificate needs its key' });
    if (key !== undefined && cert === undefined) ctx.addIssue({ code: 'custom', path: ['authority', 'cert'], message: 'required with authority.key: the key needs its client certificate' });
    // TLS settings for a plaintext URL would be silently unused: almost always a URL left at http://
    if (config.authority.url.startsWith('http://')) {
      for (const tlsKey of ['ca', 'cert', 'key'] as const) {
        if (config.authority[tlsKey] !== undefined) ctx.addIssue({ code: 'custom', path: ['authority', tlsKey], message: 'only used with an https:// authority url' });
      }
    }
    const names = new Map<string, number>();
    const listens = new Map<string, string>();
    config.ports.forEach((port, index) => {
      const seenName = names.get(port.name);
      if (seenName !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['ports', index, 'name'], message: `duplicates ports[${seenName}].name "${port.name}"` });
      }
      names.set(port.name, index);
      listenAddresses(port).forEach((address, at) => {
        const listenKey = `${address.host}:${address.port}`;
        const seenListen = listens.get(listenKey);
        if (address.port !== 0 && seenListen !== undefined) {
          ctx.addIssue({ code: 'custom', path: listenPath(port, index, at), message: `duplicates ${seenListen} ${listenKey}` });
        }
        if (seenListen === undefined) listens.set(listenKey, formatKeyPath(listenPath(port, index, at)));
        // the local app's leg of an outbound port is plaintext: it must not leave the host
        if (port.identity.mode === 'outbound' && !isLoopbackHost(address.host)) {
          ctx.addIssue({
            code: 'custom',
            path: listenPath(port, index, at),
            message: 'must be a loopback address (127.0.0.1, ::1 or localhost) with identity mode outbound: the local leg is plaintext',
          });
        }
      });
    });
  });

/**
 * Every listen address of a port. Refinements run even when another key of the port failed
 * (so every problem is reported at once), and then the port's transform has not run: the
 * addresses are still under `listen` (one, or a list) and `listens` is absent. This reads both shapes.
 */
export function listenAddresses(port: Pick<PortConfig, 'listens'> | { listen: HostPort | readonly HostPort[] }): readonly HostPort[] {
  if ('listens' in port) return port.listens;
  return Array.isArray(port.listen) ? port.listen : [port.listen as HostPort];
}

/**
 * The key path of a port's `at`-th listen address, for messages: `ports[1].listen` when the port
 * has one address, `ports[1].listen[0]` when it lists several.
 */
export function listenPath(port: Parameters<typeof listenAddresses>[0], index: number, at: number): (string | number)[] {
  return listenAddresses(port).length > 1 ? ['ports', index, 'listen', at] : ['ports', index, 'listen'];
}

/** A loaded sidecar configuration: frozen (a reload replaces it, never edits it). */
export type SidecarConfig = Frozen<z.output<typeof sidecarSchema>>;
/** One configured port, with every address it listens on (`listens`). */
export type PortConfig = SidecarConfig['ports'][number];
export type IdentityConfig = PortConfig['identity'];

/** What one listener runs on: its port's settings and the one address it is bound to. */
export type ListenerConfig = Omit<PortConfig, 'listens'> & { readonly listen: HostPort };

/** The configuration of the listener on `address`, one of `port.listens`. */
export function listenerConfig(port: PortConfig, address: HostPort): ListenerConfig {
  const { listens: _listens, ...settings } = port;
  return Object.freeze({ ...settings, listen: address });
}
