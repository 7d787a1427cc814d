/** Micro benchmarks: the decision function alone and license verification. */
export async function microBenchmarks(_smoke: boolean): Promise<string[]> {
  return [];
}
