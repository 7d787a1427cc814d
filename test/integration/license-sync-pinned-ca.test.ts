import { expect, it, onTestFinished } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { FakeAuthority } from '../helpers/fake-authority.ts';
import { createPki } from '../helpers/pki.ts';
import { SERVICE, syncHarness } from '../helpers/sync-harness.ts';
import { waitFor } from '../helpers/wait.ts';

it('syncs over https with authority.ca pinned, and refuses an authority its CA did not sign', async () => {
  const pki = await createPki();
  onTestFinished(() => pki.close());
  const [ca, other] = await Promise.all([pki.createCa('authority-ca'), pki.createCa('other-ca')]);
  const server = await ca.issue('authority', { ips: ['127.0.0.1'] });
  const clock = new ManualClock();
  const authority = await FakeAuthority.start({ clock, tls: { cert: server.certPem, key: server.keyPem } });
  onTestFinished(() => authority.close());
  const issued = await authority.issue({ service: SERVICE, port: 'api', number: 8443 });

  const pinned = await (await syncHarness(authority, clock, { ca: ca.cert })).start();
  await waitFor(() => pinned.get('api')?.claims.jti === issued.jti, { what: 'the license over https' });

  const wrong = await syncHarness(authority, clock, { ca: other.cert });
  const refused = await wrong.start({ backoff: { floorMs: 10, ceilingMs: 20 } });
  await waitFor(() => wrong.logs.some((line) => line.code === 'authority_unreachable'), { what: 'a refused TLS handshake' });
  expect(refused.get('api')).toBeUndefined();
  expect(refused.authorityReachable).toBe(false);
});
