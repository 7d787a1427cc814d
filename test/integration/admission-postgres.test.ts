import { afterAll, beforeAll, describe, expect } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { podSpecOf, postReview, registerPorts, review, scraped, startWebhookAuthority } from '../helpers/admission.ts';
import type { TestAuthority } from '../helpers/authority.ts';
import { createPki, type CertFiles, type TestCa, type TestPki } from '../helpers/pki.ts';
import { freshPostgresUrl, warnIfNoPostgres, withPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait.ts';

warnIfNoPostgres();

let pki: TestPki;
let ca: TestCa;
let server: CertFiles;

beforeAll(async () => {
  pki = await createPki();
  ca = await pki.createCa('cluster-ca');
  server = await ca.issue('portwarden-authority', { ips: ['127.0.0.1'] });
});
afterAll(() => pki.close());

/** A Job of service `batch` on 20777, which the register does not give it yet. */
function batchJob() {
  const body = review('job');
  body.request.object.metadata.labels['portwarden.dev/service'] = 'batch';
  podSpecOf(body).containers[0].ports[0].containerPort = 20777;
  return body;
}

async function allowed(t: TestAuthority): Promise<boolean> {
  return (await postReview(t, batchJob())).body.response.allowed as boolean;
}

describe('the admission webhook of authorities sharing one PostgreSQL', () => {
  withPostgres('sees a register change made through another authority at once, without waiting for max_staleness', async () => {
    const url = await freshPostgresUrl();
    // one frozen clock: max_staleness never passes, so only the store's notification can refresh B's view
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
    const start = () => startWebhookAuthority(ca, server, { max_staleness: '1h' }, { clock, config: { storage: { url } } });
    const [a, b] = [await start(), await start()];
    expect(await allowed(b)).toBe(false);
    expect(await scraped(b, 'portwarden_admission_view_refreshes_total', { result: 'ok' })).toBe(1);

    const requestedAt = performance.now();
    await registerPorts(a, [['batch', 'progress', 20777]]);
    await waitFor(() => allowed(b), { timeoutMs: 5_000, what: "B's view to hear A's register change" });
    expect(performance.now() - requestedAt).toBeLessThan(2_000);

    // and a release through B reaches A's view
    expect(await allowed(a)).toBe(true);
    const released = await b.api('POST', `/v1/ports/${encodeURIComponent('batch/progress')}/release?env=prod`, { body: {} });
    expect(released.status).toBe(200);
    await waitFor(async () => !(await allowed(a)), { timeoutMs: 5_000, what: "A's view to hear B's release" });
  });
});
