import { expect, it } from 'vitest';
import { startTestAuthority, type TestAuthority } from '../helpers/authority.ts';
import { requestPort } from '../helpers/register.ts';

const names = ['api', 'grpc', 'admin', 'metrics', 'events', 'search'];

async function numbersOf(t: TestAuthority, order: readonly string[], env = 'prod'): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const name of order) {
    const answer = await requestPort(t, { name, env });
    expect(answer.status).toBe(201);
    out[name] = answer.body.number;
  }
  return out;
}

it('gives the same numbers to the same requests in any order, on any authority', async () => {
  const a = await startTestAuthority();
  const b = await startTestAuthority();
  const forward = await numbersOf(a, names);
  const backward = await numbersOf(b, [...names].reverse());
  expect(backward).toEqual(forward);
  expect(new Set(Object.values(forward)).size).toBe(names.length);
});

it('keeps every number across a restart, and gives a released port its number back after one', async () => {
  const first = await startTestAuthority();
  const before = await numbersOf(first, names);
  const api = (await first.api('GET', '/v1/ports?service=payments&env=prod')).body.ports.find((p: { name: string }) => p.name === 'api');
  await first.api('POST', `/v1/ports/${api.id}/release`, { body: {} });
  await first.authority.close();

  const second = await startTestAuthority({ dataDir: first.dataDir, clock: first.clock });
  const listed = (await second.api('GET', '/v1/ports?state=active')).body.ports;
  expect(Object.fromEntries(listed.map((p: { name: string; number: number }) => [p.name, p.number]))).toEqual(
    Object.fromEntries(names.filter((n) => n !== 'api').map((n) => [n, before[n]])),
  );
  // while its number cools down for everyone else, the port itself gets it back
  const again = await requestPort(second, { name: 'api', env: 'prod' });
  expect([again.status, again.body.number, again.body.allocation.source]).toEqual([201, before.api, 'hash']);
  expect(again.body.id).not.toBe(api.id); // a new record: released is final
});

it('shares a number across environments where it is free, and probes past it where it is not', async () => {
  const t = await startTestAuthority();
  const prod = (await requestPort(t, { env: 'prod' })).body;
  const staging = (await requestPort(t, { env: 'staging' })).body;
  expect([staging.number, staging.allocation.source]).toEqual([prod.number, 'other_env']);

  // in qa another service already holds that number
  expect((await requestPort(t, { service: 'orders', name: 'grpc', env: 'qa', number: prod.number })).status).toBe(201);
  const qa = (await requestPort(t, { env: 'qa' })).body;
  expect(qa.number).not.toBe(prod.number);
  expect(qa.allocation).toEqual({ source: 'hash', range: 'default' });

  // a later env follows the lowest number the port holds elsewhere that is free there
  const dev = (await requestPort(t, { env: 'dev' })).body;
  expect(dev.number).toBe(Math.min(prod.number, qa.number));
});
