import { expect, it } from 'vitest';
import { startTestAuthority } from '../helpers/authority.ts';
import { requestPort } from '../helpers/register.ts';

it('never assigns one number twice: 50 parallel requests into a range of 40 numbers', async () => {
  const t = await startTestAuthority({ config: { register: { ranges: [{ name: 'tiny', from: 20000, to: 20039 }] } } });
  const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => requestPort(t, { name: `port-${i}`, env: 'prod' })));
  const granted = answers.filter((a) => a.status === 201).map((a) => a.body.number as number);
  const refused = answers.filter((a) => a.status !== 201).map((a) => [a.status, a.body.error.code]);
  expect(granted).toHaveLength(40);
  expect(new Set(granted).size).toBe(40);
  expect(granted.every((n) => n >= 20000 && n <= 20039)).toBe(true);
  expect(refused).toEqual(Array.from({ length: 10 }, () => [409, 'range_exhausted']));
  // and what the register holds says the same
  const held = (await t.api('GET', '/v1/ports?state=active')).body.ports.map((p: { number: number }) => p.number);
  expect(held.sort()).toEqual([...granted].sort());
});

it('serialises parallel requests for the same explicit number: exactly one wins', async () => {
  const t = await startTestAuthority();
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => requestPort(t, { service: `svc-${i}`, name: 'api', env: 'prod', number: 20001 })));
  expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
  expect(new Set(answers.filter((a) => a.status !== 201).map((a) => `${a.status} ${a.body.error.code}`))).toEqual(new Set(['409 port_taken']));
});
