import { Socket } from 'node:net';
import { Registry } from 'prom-client';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { systemClock } from '../../../../src/shared/clock.ts';
import { createLogger } from '../../../../src/shared/logger.ts';
import { createPortIdentity } from '../../../../src/sidecar/identity/resolver-factory.ts';
import { createSidecarMetrics } from '../../../../src/sidecar/admin/metrics.ts';
import type { AccessRecord } from '../../../../src/sidecar/proxy/access-record.ts';
import { PortListener } from '../../../../src/sidecar/proxy/listener.ts';
import { connectTo, echo, echoes, firstListener, readAll, startUpstream, testConfig } from '../../../helpers/sidecar-harness.ts';
import { StaticLicenseSource, testLicense } from '../../../helpers/static-license-source.ts';
import { waitFor } from '../../../helpers/wait.ts';

describe('PortListener', () => {
  it('pauses accepting after an accept error, counts it, and resumes on the same address', async () => {
    const upstream = await startUpstream(echo);
    const config = testConfig([{ name: 'api', upstream: upstream.address }]);
    const port = firstListener(config);
    const logger = createLogger({ level: 'silent' });
    const metrics = createSidecarMetrics(new Registry(), { processDefaults: false });
    const licenses = new StaticLicenseSource();
    licenses.set('api', testLicense({ port: 'api' }));
    const listener = new PortListener({
      port,
      identity: await createPortIdentity(port, { config, logger, metrics }),
      licenses,
      clock: systemClock,
      clockToleranceMs: 0,
      logger,
      metrics,
    });
    onTestFinished(() => listener.close());
    const address = await listener.listen();

    listener.acceptFailed(Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' }));
    expect(listener.accepting).toBe(false);
    await waitFor(() => listener.accepting, { what: 'accepting again' });
    expect(listener.address).toEqual(address);
    expect(await echoes(await connectTo(address), 'served again')).toBe(true);
    const counted = await metrics.acceptErrorsTotal.get();
    expect(counted.values).toEqual([{ labels: { port: 'api', code: 'EMFILE' }, value: 1 }]);
  });

  it('arms TCP keep-alive on both sockets of a connection at the sweep, not at accept', async () => {
    const upstream = await startUpstream(echo);
    const config = testConfig([{ name: 'api', upstream: upstream.address }]);
    const port = firstListener(config);
    const logger = createLogger({ level: 'silent' });
    const metrics = createSidecarMetrics(new Registry(), { processDefaults: false });
    const licenses = new StaticLicenseSource();
    licenses.set('api', testLicense({ port: 'api' }));
    const listener = new PortListener({
      port,
      identity: await createPortIdentity(port, { config, logger, metrics }),
      licenses,
      clock: systemClock,
      clockToleranceMs: 0,
      logger,
      metrics,
    });
    onTestFinished(() => listener.close());
    const address = await listener.listen();
    const keepAlive = vi.spyOn(Socket.prototype, 'setKeepAlive');
    onTestFinished(() => keepAlive.mockRestore());

    const client = await connectTo(address);
    expect(await echoes(client, 'open')).toBe(true);
    // the test's own client socket is not the proxy's: count the calls on the proxy's sockets only
    const [conn] = [...listener.connections];
    const proxied = () => keepAlive.mock.contexts.filter((socket) => socket === conn?.client || socket === conn?.upstream);
    expect(proxied()).toHaveLength(0);
    listener.sweep(Date.now());
    expect(proxied()).toHaveLength(2);
    expect(keepAlive.mock.calls.at(-1)).toEqual([true, 60_000]);
    listener.sweep(Date.now());
    expect(proxied()).toHaveLength(2); // once per connection
  });

  it('cuts a connection whose upstream is not ready within timeouts.connect (one pass per port, no timer per connection)', async () => {
    const upstream = await startUpstream(echo);
    const config = testConfig([{ name: 'api', upstream: upstream.address, timeouts: { connect: '100ms' } }]);
    const port = firstListener(config);
    const logger = createLogger({ level: 'silent' });
    const metrics = createSidecarMetrics(new Registry(), { processDefaults: false });
    const licenses = new StaticLicenseSource();
    licenses.set('api', testLicense({ port: 'api' }));
    const records: AccessRecord[] = [];
    const listener = new PortListener({
      port,
      identity: await createPortIdentity(port, { config, logger, metrics }),
      licenses,
      clock: systemClock,
      clockToleranceMs: 0,
      logger,
      metrics,
      onAccess: (record) => records.push(record),
    });
    onTestFinished(() => listener.close());
    const address = await listener.listen();
    // an upstream socket that never connects
    listener.connector = { readyEvent: 'connect', connect: () => new Socket() };

    const started = performance.now();
    const client = await connectTo(address);
    const { error } = await readAll(client);
    expect(error).toBeUndefined();
    await waitFor(() => records.length === 1, { what: 'the access record' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    expect(records[0]).toMatchObject({ decision: 'allow', closeReason: 'upstream_error' });
    const errors = await metrics.upstreamErrorsTotal.get();
    expect(errors.values).toEqual([{ labels: { port: 'api', code: 'ETIMEDOUT' }, value: 1 }]);
  });
});
