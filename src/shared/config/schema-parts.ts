import { z } from 'zod';
import { isDuration, parseDuration } from '../duration.ts';
import { parseHostPort, type HostPort } from '../address.ts';
import { parseCidr } from '../cidr.ts';

/** A duration written `500ms`/`30s`/`15m`/`24h`/`30d`, read as milliseconds; `fallback` when absent. */
export function duration(fallback: string) {
  return z
    .string()
    .refine(isDuration, { message: 'must be a duration such as 500ms, 30s, 15m, 24h or 30d' })
    .default(fallback)
    .transform(parseDuration);
}

/** A required `host:port`. */
export const hostPort = z.string().transform((text, ctx): HostPort => {
  const parsed = parseHostPort(text);
  if (!parsed) {
    ctx.addIssue({ code: 'custom', message: notHostPort(text) });
    return z.NEVER;
  }
  return parsed;
});

/**
 * One `host:port`, or a list of them (a listener bound to several addresses, as Envoy's
 * `additional_addresses`): read as a non-empty list. A bad entry of a list is reported at its index.
 */
export const hostPorts = z
  .union([z.string(), z.array(z.string())], { error: 'must be host:port or a list of host:port' })
  .transform((value, ctx): [HostPort, ...HostPort[]] => {
    const texts = typeof value === 'string' ? [value] : value;
    if (texts.length === 0) ctx.addIssue({ code: 'custom', message: 'must list at least one host:port' });
    const parsed: HostPort[] = [];
    texts.forEach((text, index) => {
      const address = parseHostPort(text);
      if (address) parsed.push(address);
      else ctx.addIssue({ code: 'custom', path: typeof value === 'string' ? [] : [index], message: notHostPort(text) });
    });
    return parsed as [HostPort, ...HostPort[]];
  });

/** A `host:port` with a default. */
export function hostPortWithDefault(fallback: string) {
  return z.string().default(fallback).pipe(hostPort);
}

/** An IPv4 or IPv6 CIDR, kept as written. */
export const cidr = z.string().refine((text) => parseCidr(text) !== undefined, {
  message: 'must be a CIDR such as 10.1.0.0/16 or fd00::/8',
});

/** A name that goes into URLs, metric labels and the license `sub`. */
export const name = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/, 'must be lowercase letters, digits, ".", "-" or "_", 1-63 characters');

/** A workload identity: a SPIFFE ID or any non-empty string without whitespace. */
export const identity = z.string().regex(/^\S+$/, 'must be a non-empty identity without spaces');

/** A path to a file; relative paths are taken from the working directory, as the peers do. */
export const filePath = z.string().min(1, 'must be a path');

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');

function notHostPort(text: string): string {
  return `"${text}" is not host:port (e.g. 127.0.0.1:8443 or [::1]:8443)`;
}
