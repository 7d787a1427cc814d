import { Registry } from 'prom-client';
import { expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.ts';
import { createSidecarMetrics } from '../../src/sidecar/admin/metrics.ts';
import { Sidecar } from '../../src/sidecar/sidecar.ts';
import { echo, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';
import { StaticLicenseSource } from '../helpers/static-license-source.ts';

it('starts nothing half-way: a port that cannot bind closes the ones already bound', async () => {
  const taken = await startUpstream(echo);
  const config = testConfig([
    { name: 'free', upstream: taken.address },
    { name: 'busy', upstream: taken.address, listen: taken.address },
  ]);
  const sidecar = new Sidecar({
    config,
    logger: createLogger({ level: 'silent' }),
    metrics: createSidecarMetrics(new Registry(), { processDefaults: false }),
    licenseSource: new StaticLicenseSource(),
  });
  await expect(sidecar.start()).rejects.toMatchObject({ code: 'listen_failed', message: expect.stringContaining('"busy"') });
  expect(sidecar.addresses.size).toBe(0);
  expect(sidecar.adminAddress).toBeUndefined();
  expect(sidecar.readiness()).toMatchObject({ ready: false });
  expect(await sidecar.close()).toBe(false);
  expect(await sidecar.close()).toBe(false);
});
