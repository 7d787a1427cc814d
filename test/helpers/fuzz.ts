/**
 * Property-based fuzzing with fast-check, seeded so every run of `npm test` tries the same cases:
 * a failure prints the seed and the shrunk counterexample's path, and `FC_SEED=<seed>` (with
 * `FC_PATH=<path>` to go straight to the case) replays it. `FC_RUNS_FACTOR` scales every
 * property's number of runs, for a longer hunt than the suite's budget allows.
 */
import fc from 'fast-check';

/** The suite's seed unless `FC_SEED` names another. */
export const fuzzSeed = process.env.FC_SEED === undefined ? 20_260_101 : Number(process.env.FC_SEED);

const runsFactor = Number(process.env.FC_RUNS_FACTOR ?? 1);

/** The options every fuzz property runs with: the seed, `runs` cases (scaled), the replay path if given. */
export function fuzzOptions(runs: number): fc.Parameters<unknown> {
  return {
    seed: fuzzSeed,
    numRuns: Math.max(1, Math.round(runs * runsFactor)),
    ...(process.env.FC_PATH === undefined ? {} : { path: process.env.FC_PATH }),
    // a property that never finishes is a failure (a hang), not a pass
    markInterruptAsFailure: true,
  };
}

/** Runs a synchronous property `runs` times with the suite's seed. */
export function fuzz<Ts extends [unknown, ...unknown[]]>(runs: number, ...args: [...arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> }, predicate: (...values: Ts) => boolean | void]): void {
  fc.assert(fc.property(...args), fuzzOptions(runs));
}

/** Runs an asynchronous property `runs` times with the suite's seed; each case must settle within `timeoutMs`. */
export async function fuzzAsync<Ts extends [unknown, ...unknown[]]>(
  runs: number,
  timeoutMs: number,
  ...args: [...arbitraries: { [K in keyof Ts]: fc.Arbitrary<Ts[K]> }, predicate: (...values: Ts) => Promise<boolean | void>]
): Promise<void> {
  await fc.assert(fc.asyncProperty(...args), { ...fuzzOptions(runs), timeout: timeoutMs });
}

/** Bytes: random ones, or `valid` ones with a few bytes flipped, cut, or spliced in. */
export function mutatedBytes(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  );
  const mutated = fc.tuple(valid, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([bytes, edits]) => {
    let out = Buffer.from(bytes);
    for (const step of edits) {
      const at = out.length === 0 ? 0 : step.at % (out.length + 1);
      if (step.kind === 'flip' && out.length > 0) out[at % out.length] = step.value;
      else if (step.kind === 'cut') out = out.subarray(0, at);
      else if (step.kind === 'insert') out = Buffer.concat([out.subarray(0, at), step.bytes, out.subarray(at)]);
      else if (step.kind === 'delete') out = Buffer.concat([out.subarray(0, at), out.subarray(at + step.count)]);
    }
    return new Uint8Array(out);
  });
  return fc.oneof({ weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }) }, { weight: 3, arbitrary: mutated });
}

/** Text: random (any code points), or `valid` text with a few characters replaced, cut, or spliced in. */
export function mutatedText(valid: fc.Arbitrary<string>, splice: fc.Arbitrary<string> = fc.string({ maxLength: 6 })): fc.Arbitrary<string> {
  const edit = fc.record({ at: fc.nat(), remove: fc.integer({ min: 0, max: 6 }), insert: splice });
  const mutated = fc.tuple(valid, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([text, edits]) => {
    let out = text;
    for (const step of edits) {
      const at = step.at % (out.length + 1);
      out = out.slice(0, at) + step.insert + out.slice(at + step.remove);
    }
    return out;
  });
  return fc.oneof({ weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) }, { weight: 1, arbitrary: valid }, { weight: 4, arbitrary: mutated });
}

export { fc };
