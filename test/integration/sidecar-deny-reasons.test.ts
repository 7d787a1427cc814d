import { connect } from 'node:net';
import { expect, it } from 'vitest';
import { closedBy, connectTo, echo, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';
import { LOCAL_IDENTITY, testLicense } from '../helpers/static-license-source.ts';
import { waitFor } from '../helpers/wait.ts';

/** The value of one series in Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    const have = labelText.split(',');
    if (wanted.every((pair) => have.includes(pair)) && have.length === wanted.length) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

it('refuses with each deny reason and counts every one in /metrics', async () => {
  const upstream = await startUpstream(echo);
  const config = testConfig(
    [
      { name: 'unlicensed', upstream: upstream.address },
      { name: 'lapsed', upstream: upstream.address },
      { name: 'others', upstream: upstream.address },
      { name: 'full', upstream: upstream.address, max_connections: 1 },
    ],
    // only 127.0.0.1 has an identity: a caller from 127.0.0.2 has none
    { identities: [{ cidr: '127.0.0.1/32', identity: LOCAL_IDENTITY }] },
  );
  const h = await startSidecar(config, { licensed: false });
  h.source.set('lapsed', testLicense({ port: 'lapsed', ttlMs: -60_000, nbfOffsetMs: -3_600_000 }));
  h.source.set('others', testLicense({ port: 'others', allow: ['spiffe://test.local/ns/other/*'] }));
  h.source.set('full', testLicense({ port: 'full' }));

  const refused = async (port: string, localAddress = '127.0.0.1') => {
    const address = h.address(port);
    const socket = connect({ ...address, localAddress });
    return closedBy(socket);
  };
  expect(await refused('unlicensed')).toBe('closed');
  expect(await refused('lapsed')).toBe('closed');
  expect(await refused('others')).toBe('closed');
  expect(await refused('full', '127.0.0.2')).toBe('closed');
  const holder = await connectTo(h.address('full'));
  await waitFor(() => upstream.sockets.size === 1);
  expect(await refused('full')).toBe('closed');
  holder.destroy();

  const text = await (await fetch(`${h.adminUrl()}/metrics`)).text();
  const denied = (port: string, reason: string) => sample(text, 'portwarden_connections_total', { port, decision: 'deny', reason });
  expect(denied('unlicensed', 'no_license')).toBe(1);
  expect(denied('lapsed', 'expired')).toBe(1);
  expect(denied('others', 'identity_not_allowed')).toBe(1);
  expect(denied('full', 'no_identity')).toBe(1);
  expect(denied('full', 'max_connections')).toBe(1);
  expect(sample(text, 'portwarden_connections_total', { port: 'full', decision: 'allow', reason: '' })).toBe(1);
  expect(h.records.filter((record) => record.decision === 'deny').map((record) => record.reason)).toEqual([
    'no_license',
    'expired',
    'identity_not_allowed',
    'no_identity',
    'max_connections',
  ]);
  // the log names the refusal and never the token
  const access = h.logs.filter((line) => line.msg === 'access' && line.decision === 'deny');
  expect(access.map((line) => line.reason)).toContain('identity_not_allowed');
  expect(JSON.stringify(h.logs)).not.toContain('test-token-never-logged');
});
