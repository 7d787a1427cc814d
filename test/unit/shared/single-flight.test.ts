import { expect, it } from 'vitest';
import { SingleFlight } from '../../../src/shared/single-flight.ts';

/** Work that resolves (or rejects) when told, counting its runs. */
function gate<V>() {
  let runs = 0;
  const pending: { resolve: (value: V) => void; reject: (err: Error) => void }[] = [];
  const work = () => {
    runs++;
    return new Promise<V>((resolve, reject) => pending.push({ resolve, reject }));
  };
  return { work, runs: () => runs, pending };
}

it('runs the work once for concurrent callers of one key, and gives each the result', async () => {
  const flights = new SingleFlight<string, number>();
  const g = gate<number>();
  const callers = Array.from({ length: 100 }, () => flights.run('payments', g.work));
  const other = flights.run('checkout', g.work);
  expect(g.runs()).toBe(2);
  g.pending[0]!.resolve(7);
  g.pending[1]!.resolve(8);
  expect(await Promise.all(callers)).toEqual(Array(100).fill(7));
  expect(await other).toBe(8);
});

it('keeps nothing once the work settled: the next call reads again, and an error reaches every caller of its flight only', async () => {
  const flights = new SingleFlight<string, number>();
  const g = gate<number>();
  const first = [flights.run('k', g.work), flights.run('k', g.work)];
  g.pending[0]!.reject(new Error('store unavailable'));
  for (const caller of first) await expect(caller).rejects.toThrow('store unavailable');
  const next = flights.run('k', g.work);
  expect(g.runs()).toBe(2);
  g.pending[1]!.resolve(1);
  expect(await next).toBe(1);
});

it('after forget, a later caller does not join a run begun before a write', async () => {
  const flights = new SingleFlight<string, string>();
  const g = gate<string>();
  const before = flights.run('token', g.work);
  flights.forget();
  const after = flights.run('token', g.work);
  expect(g.runs()).toBe(2);
  g.pending[0]!.resolve('active');
  expect(await before).toBe('active');
  // the older run settling does not drop the newer one, still in flight
  expect(flights.run('token', g.work)).toBe(after);
  g.pending[1]!.resolve('revoked');
  expect(await after).toBe('revoked');
});
