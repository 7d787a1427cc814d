import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { createSidecarMetrics } from '../../src/sidecar/admin/metrics.ts';
import { LicenseSync } from '../../src/sidecar/licenses/sync.ts';
import { decide } from '../../src/sidecar/proxy/decide.ts';
import { FakeAuthority, type Forgery } from '../helpers/fake-authority.ts';
import { fc, fuzzAsync, mutatedText } from '../helpers/fuzz.ts';
import { freePort } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

const caller = 'spiffe://corp/ns/billing/sa/api';

describe('the last-known-good license file, fuzzed', () => {
  it('a corrupted or forged file never makes a sidecar admit on anything but a genuine, current license', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
    const authority = await FakeAuthority.start({ clock });
    onTestFinished(() => authority.close());
    const mint = (port: string, extra: Partial<Parameters<FakeAuthority['mint']>[0]> = {}) => authority.mint({ service: 'payments', port, number: port === 'api' ? 8443 : 9443, allow: [caller], ...extra });
    const genuine = { api: await mint('api'), grpc: await mint('grpc') };
    const forgeries: Forgery[] = ['alg-none', 'hs256-public-key', 'tampered', 'foreign-key', 'unknown-kid'];
    const bad = [
      ...(await Promise.all(forgeries.map((forge) => mint('api', { forge })))),
      await mint('api', { iatOffsetMs: -7_200_000, ttlMs: 3_600_000 }), // expired an hour ago
      await mint('api', { nbfOffsetMs: 3_600_000 }), // not valid for an hour
      await authority.mint({ service: 'billing', port: 'api', number: 8443, allow: [caller] }), // another service's
      await mint('api', { claims: { aud: 'someone-else' } }),
      await mint('api', { number: 1234 }), // another number than the port listens on
    ];
    const file = (licenses: unknown, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ version: 1, service: 'payments', savedAt: new Date(clock.now()).toISOString(), jwks: authority.jwks, licenses, revoked: [], ...extra });
    const good = file([{ port: 'api', lid: 'l1', token: genuine.api }, { port: 'grpc', lid: 'l2', token: genuine.grpc }]);

    // documents an attacker or a crash could leave: tokens swapped for bad ones, entries moved, keys gone, any text
    const entry = fc.record({ port: fc.constantFrom('api', 'grpc', 'other', ''), lid: fc.constantFrom('l1', 'l2', 'x'), token: fc.constantFrom(genuine.api, genuine.grpc, ...bad) });
    const document = fc.oneof(
      fc.array(entry, { maxLength: 4 }).map((licenses) => file(licenses)),
      fc.array(entry, { maxLength: 3 }).map((licenses) => file(licenses, { jwks: { keys: [] } })),
      fc.array(entry, { maxLength: 3 }).map((licenses) => file(licenses, { service: 'billing' })),
      fc.array(entry, { maxLength: 3 }).map((licenses) => file(licenses, { revoked: ['l1', 'l2'] })),
      fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)),
    );
    const contents = mutatedText(fc.oneof(fc.constant(good), document), fc.constantFrom('"', ',', '}', '{', '[', '0', 'null', 'A', '.'));

    const root = await tempDir();
    const unreachable = `http://127.0.0.1:${await freePort()}`;
    let n = 0;
    let admitted = 0;
    await fuzzAsync(150, 10_000, contents, async (text) => {
      const cacheDir = join(root, `case-${n++}`);
      await mkdir(cacheDir, { recursive: true });
      await writeFile(join(cacheDir, 'licenses-payments.json'), text);
      await writeFile(join(cacheDir, 'token'), 'pw.x.y\n');
      const sync = new LicenseSync({
        service: 'payments',
        authority: { url: unreachable, issuer: authority.issuer, token_file: join(cacheDir, 'token'), refresh: 60_000, cache_dir: cacheDir, clock_tolerance: 0 },
        ports: [{ name: 'api', listenPort: 8443 }, { name: 'grpc', listenPort: 9443 }],
        logger: createLogger({ level: 'silent' }),
        metrics: createSidecarMetrics(new Registry(), { processDefaults: false }),
        clock,
        backoff: { floorMs: 60_000 },
      });
      try {
        await sync.start();
        for (const port of ['api', 'grpc'] as const) {
          const license = sync.get(port);
          const decision = decide(license, caller, { now: clock.now(), clockToleranceMs: 0, expiryGraceMs: 0, authorityReachable: false });
          // an admission only ever on the genuine token of that very port
          if (decision.allow) {
            admitted += 1;
            expect(license?.token).toBe(genuine[port]);
          }
          if (license !== undefined) expect([genuine.api, genuine.grpc, ...bad]).toContain(license.token);
        }
      } finally {
        await sync.close();
      }
    });
    // the cases reach an admission at all: files that still hold a genuine token do admit on it
    expect(admitted).toBeGreaterThan(0);
  });
});
