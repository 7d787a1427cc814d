import { z } from 'zod';
import type { Frozen } from '../shared/config/frozen.ts';
import { portRange, rangeSchema } from '../shared/config/authority-schema.ts';
import { parseConfigText, readConfigText } from '../shared/config/load.ts';
import { duration } from '../shared/config/schema-parts.ts';
import { formatDuration } from '../shared/duration.ts';
import type { Clock } from '../shared/clock.ts';
import { portRecordSchema, type PortRecord } from './port-record.ts';
import { formatSpan, type RegisterPolicy } from './policy.ts';

/**
 * A register snapshot: what `portwarden ports export` writes and `portwarden check --register`
 * reads, so CI checks offline against the same policy and assignments the authority holds.
 * The policy is spelled as in the authority configuration (`"30000-32767"`, `24h`).
 */
export const snapshotSchema = z.strictObject({
  version: z.literal(1),
  exported_at: z.iso.datetime({ offset: true }),
  policy: z.strictObject({
    reserved: z.array(portRange),
    ranges: z.array(rangeSchema),
    // check reports a number another service gave up less than this long ago
    reuse_cooldown: duration('24h'),
  }),
  ports: z.array(portRecordSchema),
});

/** A snapshot as read: reserved spans parsed, cool-down in milliseconds. */
export type RegisterSnapshot = Frozen<z.output<typeof snapshotSchema>>;
/** A snapshot as written (JSON). */
export type RegisterSnapshotJson = z.input<typeof snapshotSchema>;

/** The register policy a snapshot carries. */
export function snapshotPolicy(snapshot: RegisterSnapshot): RegisterPolicy {
  const { reserved, ranges, reuse_cooldown } = snapshot.policy;
  return { reserved, ranges, reuseCooldownMs: reuse_cooldown };
}

/** Builds the JSON document `ports export` writes: the policy as configured, then every record. */
export function createSnapshot(policy: RegisterPolicy, ports: readonly PortRecord[], clock: Clock): RegisterSnapshotJson {
  return {
    version: 1,
    exported_at: new Date(clock.now()).toISOString(),
    policy: {
      reserved: policy.reserved.map(formatSpan),
      ranges: policy.ranges.map((range) => ({
        name: range.name,
        from: range.from,
        to: range.to,
        ...(range.services ? { services: [...range.services] } : {}),
        ...(range.envs ? { envs: [...range.envs] } : {}),
      })),
      reuse_cooldown: formatDuration(policy.reuseCooldownMs),
    },
    // stable order, so two exports of the same register diff cleanly
    ports: [...ports].sort(comparePorts),
  };
}

/**
 * Parses a snapshot. JSON is YAML, so the configuration loader's line-numbered errors apply:
 * a bad snapshot throws ConfigError with `file:line: key: message` for every problem.
 */
export function parseSnapshot(text: string, file: string): RegisterSnapshot {
  return parseConfigText(text, file, snapshotSchema, {});
}

/** Reads and parses a snapshot file; an unreadable file is a `config_unreadable` ConfigError. */
export async function readSnapshot(file: string): Promise<RegisterSnapshot> {
  return parseSnapshot(await readConfigText(file), file);
}

function comparePorts(a: PortRecord, b: PortRecord): number {
  const keys = (p: PortRecord) => [p.env, p.service, p.name, p.protocol, p.id];
  const [x, y] = [keys(a), keys(b)];
  for (let i = 0; i < x.length; i++) {
    // code-unit order, not the locale's: the same register exports the same bytes everywhere
    if (x[i] !== y[i]) return (x[i] ?? '') < (y[i] ?? '') ? -1 : 1;
  }
  return 0;
}
