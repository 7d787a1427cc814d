import { expect, it } from 'vitest';
import { connectTo, echo, openFds, readAll, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';
import { waitFor } from '../helpers/wait.ts';

it('returns to the baseline of open descriptors after 2,000 connections of churn', async () => {
  const upstream = await startUpstream(echo);
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address }]));
  const address = h.address('api');
  const roundTrip = async (i: number) => {
    const client = await connectTo(address);
    const reply = readAll(client);
    // every fifth caller resets instead of closing, as real clients do
    if (i % 5 === 0) {
      client.on('error', () => undefined);
      client.write('x');
      client.resetAndDestroy();
      await reply;
      return true;
    }
    client.end(`hello ${i}`);
    return (await reply).data.toString() === `hello ${i}`;
  };
  const warm = await roundTrip(1); // first use loads lazy modules and opens what stays open
  expect(warm).toBe(true);
  await waitFor(async () => (await h.metric('portwarden_connections_active', { port: 'api' })) === 0);
  const baseline = await openFds();

  let ok = 0;
  for (let batch = 0; batch < 40; batch++) {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => roundTrip(batch * 50 + i)));
    ok += results.filter(Boolean).length;
  }
  expect(ok).toBe(2_000);
  await waitFor(async () => (await h.metric('portwarden_connections_active', { port: 'api' })) === 0, { what: 'no open connections' });
  await waitFor(async () => (await openFds()) <= baseline, { what: `descriptors back to ${baseline}` });
  // callers that reset at once may be gone before a decision; none of them is refused
  expect(await h.metric('portwarden_connections_total', { port: 'api', decision: 'allow', reason: '' })).toBeGreaterThanOrEqual(1_601);
  expect(h.records.filter((record) => record.decision === 'deny')).toEqual([]);
});
