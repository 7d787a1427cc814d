import { expect, it } from 'vitest';
import { issueBody, startTestAuthority } from '../helpers/authority.ts';

it('gives concurrent issues and revokes distinct, gap-free indexes and a consistent state', async () => {
  const t = await startTestAuthority();
  const services = ['payments', 'orders', 'billing'];
  const first = await Promise.all(
    Array.from({ length: 24 }, (_, i) => t.api('POST', '/v1/licenses', { body: issueBody({ service: services[i % 3], port_name: `p${i}` }) })),
  );
  expect(first.every((answer) => answer.status === 201)).toBe(true);
  const toRevoke = first.slice(0, 12).map((answer) => answer.body.lid as string);
  const second = await Promise.all([
    ...toRevoke.map((lid) => t.api('POST', `/v1/licenses/${lid}/revoke`)),
    ...Array.from({ length: 12 }, (_, i) => t.api('POST', '/v1/licenses', { body: issueBody({ service: services[i % 3], port_name: `q${i}` }) })),
    // revoking the same license twice at once: exactly one wins
    t.api('POST', `/v1/licenses/${first[12]?.body.lid}/revoke`),
    t.api('POST', `/v1/licenses/${first[12]?.body.lid}/revoke`),
  ]);
  const duplicate = second.slice(-2).map((answer) => answer.status).sort();
  expect(duplicate).toEqual([200, 409]);

  const indexes = [...first, ...second].filter((answer) => answer.status < 300).map((answer) => answer.body.modify_index as number);
  expect(new Set(indexes).size).toBe(indexes.length);
  // an empty store is at index 1; every change takes the next one
  expect([...indexes].sort((a, b) => a - b)).toEqual(Array.from({ length: indexes.length }, (_, i) => i + 2));
  const last = indexes.length + 1;

  const all = await t.api('GET', '/v1/licenses');
  expect(all.body.index).toBe(last);
  expect(all.body.licenses).toHaveLength(24 + 12 - 12 - 1);
  const revokedLids = (await t.api('GET', '/v1/licenses?index=0')).body.revoked as string[];
  expect(revokedLids.sort()).toEqual([...toRevoke, first[12]?.body.lid].sort());
  // every change has its audit line
  const audit = (await t.api('GET', '/v1/audit?target=license/*')).body.entries;
  expect(audit).toHaveLength(indexes.length);
  // each service's own index is its latest change
  for (const service of services) {
    const answer = await t.api('GET', `/v1/licenses?service=${service}`);
    expect(answer.body.index).toBe(last);
  }
});
