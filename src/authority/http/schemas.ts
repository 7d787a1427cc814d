import { z } from 'zod';
import { isDuration, parseDuration } from '../../shared/duration.ts';

/** A duration such as `30s` or `24h`, read as milliseconds. */
export const durationText = z
  .string()
  .refine(isDuration, { message: 'must be a duration such as 500ms, 30s, 15m, 24h or 30d' })
  .transform(parseDuration);

/** A non-negative integer in a query string. */
export const indexText = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a non-negative integer')
  .transform(Number);

/** An allow-list entry: an exact identity, or a prefix ending in `/*` (no other `*`). */
export const allowEntry = z
  .string()
  .regex(/^\S+$/, 'must be an identity without spaces')
  .max(2048)
  .refine((text) => !text.includes('*') || (text.endsWith('/*') && text.indexOf('*') === text.length - 1), {
    message: 'a wildcard is only allowed as a trailing "/*" (a SPIFFE prefix)',
  });
