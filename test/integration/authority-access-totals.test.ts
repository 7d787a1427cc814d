import { describe, expect, it } from 'vitest';
import { issueBody, startTestAuthority, type TestAuthority } from '../helpers/authority.ts';
import { waitFor } from '../helpers/wait.ts';

const billing = 'spiffe://corp/ns/billing/sa/api';
const ops = 'spiffe://corp/ns/ops/sa/cron';

async function sidecarToken(t: TestAuthority, service = 'payments'): Promise<string> {
  return (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service } })).body.token;
}

/** A record as the sidecar cuts it; times are milliseconds on the test clock. */
function record(o: { identity?: string | null; origin?: string; count?: number; bytesIn?: number; bytesOut?: number; first: number; last: number; decision?: 'allow' | 'deny'; reason?: string | null }) {
  return {
    port: 'api',
    identity: o.identity === undefined ? billing : o.identity,
    origin: o.origin ?? '10.0.0.1',
    count: o.count ?? 1,
    bytes_in: o.bytesIn ?? 0,
    bytes_out: o.bytesOut ?? 0,
    first_access: new Date(o.first).toISOString(),
    last_access: new Date(o.last).toISOString(),
    decision: o.decision ?? 'allow',
    reason: o.reason ?? null,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

describe('access totals at the authority', () => {
  it('does not count a batch twice, however often it is delivered', async () => {
    const t = await startTestAuthority();
    const token = await sidecarToken(t);
    const now = t.clock.now();
    const batch = {
      batch_id: '5b0d7a0e-8a43-4a55-9d8e-1f4f3c1f0001',
      service: 'payments',
      sent_at: iso(now),
      records: [record({ count: 4, bytesIn: 400, bytesOut: 4_000, first: now - 60_000, last: now })],
    };
    const first = await t.api('POST', '/v1/telemetry', { token, body: batch });
    expect(first.body).toMatchObject({ applied: true, records: 1 });
    // the same batch again, twice at once and once more later: a retry after a lost answer
    const again = await Promise.all([t.api('POST', '/v1/telemetry', { token, body: batch }), t.api('POST', '/v1/telemetry', { token, body: batch })]);
    expect(again.map((answer) => [answer.status, answer.body.applied, answer.body.records])).toEqual([
      [200, false, 0],
      [200, false, 0],
    ]);
    t.clock.advance(60_000);
    expect((await t.api('POST', '/v1/telemetry', { token, body: batch })).body.applied).toBe(false);

    const access = (await t.api('GET', '/v1/access?service=payments&port=api')).body;
    expect(access.totals).toEqual({
      count: 4,
      bytes_in: 400,
      bytes_out: 4_000,
      first_access_at: iso(now - 60_000),
      last_access_at: iso(now),
      last_decision: 'allow',
      last_reason: null,
      last_allowed_at: iso(now),
    });
    expect(access.callers).toEqual([
      {
        port: 'api',
        identity: billing,
        origin: '10.0.0.1',
        count: 4,
        bytes_in: 400,
        bytes_out: 4_000,
        first_access_at: iso(now - 60_000),
        last_access_at: iso(now),
        last_decision: 'allow',
        last_reason: null,
      },
    ]);
  });

  it('keeps totals and the latest decision per (port, identity, origin address), whatever order batches arrive in', async () => {
    const t = await startTestAuthority();
    const token = await sidecarToken(t);
    const license = (await t.api('POST', '/v1/licenses', { body: issueBody() })).body;
    const t0 = t.clock.now();
    const post = (id: string, records: unknown[]) => t.api('POST', '/v1/telemetry', { token, body: { batch_id: id, service: 'payments', sent_at: iso(t0), records } });

    // the later batch lands first (a spooled one is sent after a fresh one was cut elsewhere)
    expect((await post('b-2', [record({ count: 2, bytesIn: 20, bytesOut: 200, first: t0 + 5_000, last: t0 + 9_000 })])).status).toBe(200);
    await post('b-1', [
      record({ count: 3, bytesIn: 30, bytesOut: 300, first: t0 + 1_000, last: t0 + 4_000 }),
      // an older report's shape: the source port is dropped, so this is the same caller
      record({ origin: '10.0.0.1:51234', count: 1, bytesIn: 1, bytesOut: 1, first: t0 + 2_000, last: t0 + 2_000 }),
      // another origin of the same identity, and a caller refused for its identity
      record({ origin: '10.0.0.2', count: 1, first: t0 + 3_000, last: t0 + 3_000 }),
      record({ identity: ops, origin: '10.9.0.1', count: 5, first: t0 + 1_000, last: t0 + 10_000, decision: 'deny', reason: 'identity_not_allowed' }),
      // no identity at all
      record({ identity: null, origin: '::ffff:10.7.0.1', count: 1, first: t0 + 6_000, last: t0 + 6_000, decision: 'deny', reason: 'no_identity' }),
    ]);

    const access = (await t.api('GET', '/v1/access?service=payments&port=api')).body;
    const callers = access.callers.map((c: Record<string, unknown>) => [c.identity, c.origin, c.count, c.bytes_in, c.bytes_out, c.first_access_at, c.last_access_at, c.last_decision, c.last_reason]);
    expect(callers).toEqual([
      [ops, '10.9.0.1', 5, 0, 0, iso(t0 + 1_000), iso(t0 + 10_000), 'deny', 'identity_not_allowed'],
      [billing, '10.0.0.1', 6, 51, 501, iso(t0 + 1_000), iso(t0 + 9_000), 'allow', null],
      [null, '10.7.0.1', 1, 0, 0, iso(t0 + 6_000), iso(t0 + 6_000), 'deny', 'no_identity'],
      [billing, '10.0.0.2', 1, 0, 0, iso(t0 + 3_000), iso(t0 + 3_000), 'allow', null],
    ]);
    // the port: every caller summed; the last connection was refused, the last admitted one is kept apart
    expect(access.totals).toEqual({
      count: 13,
      bytes_in: 51,
      bytes_out: 501,
      first_access_at: iso(t0 + 1_000),
      last_access_at: iso(t0 + 10_000),
      last_decision: 'deny',
      last_reason: 'identity_not_allowed',
      last_allowed_at: iso(t0 + 9_000),
    });

    // licenses show carries the same callers; only admitted connections mark the license in use
    const shown = (await t.api('GET', `/v1/licenses/${license.lid}`)).body;
    expect(shown.access).toEqual(access.callers);
    expect(shown.last_access_at).toBe(iso(t0 + 9_000));
    // the listing stays lean
    expect((await t.api('GET', '/v1/licenses?service=payments')).body.licenses[0].access).toBeUndefined();
    expect((await t.api('GET', '/v1/access?service=payments&port=api&limit=1')).body.callers).toHaveLength(1);
  });

  it('shows a license only the callers since it was issued', async () => {
    const t = await startTestAuthority();
    const token = await sidecarToken(t);
    const before = t.clock.now();
    await t.api('POST', '/v1/telemetry', { token, body: { batch_id: 'old', records: [record({ origin: '10.0.0.9', first: before, last: before })] } });
    t.clock.advance(60_000);
    const license = (await t.api('POST', '/v1/licenses', { body: issueBody() })).body;
    expect((await t.api('GET', `/v1/licenses/${license.lid}`)).body.access).toEqual([]);
    t.clock.advance(1_000);
    await t.api('POST', '/v1/telemetry', { token, body: { batch_id: 'new', records: [record({ origin: '10.0.0.3', first: t.clock.now(), last: t.clock.now() })] } });
    const shown = (await t.api('GET', `/v1/licenses/${license.lid}`)).body;
    expect(shown.access.map((c: { origin: string }) => c.origin)).toEqual(['10.0.0.3']);
  });

  it('forgets callers unseen for 90 days and keeps the port totals the register reads', async () => {
    const t = await startTestAuthority({ renewIntervalMs: 20 });
    const token = await sidecarToken(t);
    const at = t.clock.now();
    await t.api('POST', '/v1/telemetry', { token, body: { batch_id: 'b', records: [record({ count: 2, first: at, last: at })] } });
    t.clock.advance(91 * 86_400_000);
    const access = await waitFor(async () => {
      const body = (await t.api('GET', '/v1/access?service=payments&port=api')).body;
      return body.callers.length === 0 ? body : undefined;
    }, { what: 'the old caller to be pruned' });
    expect(access.totals).toMatchObject({ count: 2, last_access_at: iso(at) });
  });

  it('lets a sidecar read only its own service, and answers an unknown port with no totals', async () => {
    const t = await startTestAuthority();
    const orders = await sidecarToken(t, 'orders');
    const own = await t.api('GET', '/v1/access?service=orders&port=api', { token: orders });
    expect([own.status, own.body]).toEqual([200, { service: 'orders', port: 'api', totals: null, callers: [] }]);
    const other = await t.api('GET', '/v1/access?service=payments&port=api', { token: orders });
    expect([other.status, other.body.error.code]).toEqual([403, 'forbidden']);
    const anonymous = await t.api('GET', '/v1/access?service=payments&port=api', { token: null });
    expect(anonymous.status).toBe(401);
    const bad = await t.api('GET', '/v1/access?service=payments');
    expect([bad.status, bad.body.error.code]).toEqual([400, 'bad_request']);
    expect((await t.api('GET', '/v1/access?service=payments&port=api&limit=0')).status).toBe(400);
  });
});
