import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { InventoryReporter } from '../../src/sidecar/inventory/reporter.ts';
import { sidecarOwnPorts } from '../../src/sidecar/inventory/own-ports.ts';
import { issueBody, startTestAuthority } from '../helpers/authority.ts';
import { echo, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';
import { tempDir } from '../helpers/tmp.ts';
import { waitFor } from '../helpers/wait.ts';
import { capturedLogger } from '../unit/sidecar/telemetry/support.ts';

/** Listens on `host`, on a free port of the register's default range (so the register can assign it). */
async function listenInRange(host: string): Promise<{ server: Server; port: number }> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, host, () => resolve(true));
    });
    if (!bound) continue;
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return { server, port };
  }
  throw new Error('no free port in 20000-29999');
}

describe('inventory of listening sockets', () => {
  it('flags a listener nobody accounts for within a round, and stops once it is registered', async () => {
    const authority = await startTestAuthority();
    const dir = await tempDir();
    const tokenFile = join(dir, 'sidecar.token');
    await writeFile(tokenFile, (await authority.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body.token, { mode: 0o600 });
    const upstream = await startUpstream(echo);
    // an app that binds its upstream port on every interface can be reached around the sidecar
    const exposed = await listenInRange('0.0.0.0');
    // the sidecar itself listens on every interface: its own port must not be flagged
    const config = testConfig([{ name: 'api', listen: '0.0.0.0:0', upstream: upstream.address }, { name: 'web', listen: '127.0.0.1:0', upstream: `127.0.0.1:${exposed.port}` }], {
      authority: { url: authority.url, token_file: tokenFile },
      inventory: { interval: '100ms' },
    });
    const harness = await startSidecar(config);
    const { logger } = capturedLogger();
    const reporter = new InventoryReporter({ config, metrics: harness.metrics, logger, ownPorts: () => sidecarOwnPorts(harness.sidecar) });
    onTestFinished(() => reporter.close());
    reporter.start();

    const stray = await listenInRange('0.0.0.0');
    const local = await listenInRange('127.0.0.1'); // loopback: no other workload reaches it
    const flagged = (port: number) => reporter.status()?.unregistered.some((l) => l.protocol === 'tcp' && l.port === port);
    await waitFor(() => reporter.status()?.basis === 'authority' && flagged(stray.port), { what: 'the stray listener to be flagged' });
    expect(flagged(local.port)).toBe(false);
    expect(flagged(harness.address('api').port)).toBe(false);
    expect(flagged(exposed.port)).toBe(true);
    expect(flagged(Number(upstream.address.split(':')[1]))).toBe(false); // the upstream on loopback
    expect(await harness.metric('portwarden_unregistered_listeners')).toBeGreaterThanOrEqual(1);

    const unregistered = async () => (await authority.api('GET', '/v1/inventory/unregistered?service=payments')).body.unregistered as { port: number }[];
    expect((await unregistered()).filter((l) => l.port === stray.port)).toEqual([
      { service: 'payments', protocol: 'tcp', address: '0.0.0.0', port: stray.port, reported_at: expect.any(String) },
    ]);

    const registered = await authority.api('POST', '/v1/ports', { body: { service: 'payments', name: 'stray', number: stray.port } });
    expect([registered.status, registered.body.state]).toEqual([201, 'active']);
    // the admin listing judges against the register as it is now; the sidecar hears it next round
    expect((await unregistered()).some((l) => l.port === stray.port)).toBe(false);
    await waitFor(() => flagged(stray.port) === false, { what: 'the registered listener to stop being flagged' });
  });

  it('leaves out loopback, the sidecar TCP ports and licensed or registered numbers, and keeps each service to itself', async () => {
    const t = await startTestAuthority();
    await t.api('POST', '/v1/licenses', { body: issueBody({ port: { number: 24_001, protocol: 'tcp' } }) });
    await t.api('POST', '/v1/ports', { body: { service: 'orders', name: 'grpc', number: 24_002 } });
    const listeners = [
      { protocol: 'tcp', address: '0.0.0.0', port: 24_001 }, // licensed to this service
      { protocol: 'udp', address: '0.0.0.0', port: 24_001 }, // the license is for TCP
      { protocol: 'tcp', address: '::', port: 24_002 }, // registered, to another service on this host
      { protocol: 'tcp', address: '10.0.0.5', port: 24_003 },
      { protocol: 'tcp', address: '127.0.0.1', port: 24_004 },
      { protocol: 'tcp', address: '::ffff:127.0.0.1', port: 24_005 },
      { protocol: 'tcp', address: '::1', port: 24_006 },
      { protocol: 'tcp', address: '0.0.0.0', port: 9_901 }, // the sidecar's admin port
      { protocol: 'udp', address: '0.0.0.0', port: 9_901 }, // it proxies TCP only
    ];
    const posted = await t.api('POST', '/v1/inventory', { body: { service: 'payments', sent_at: new Date(t.clock.now()).toISOString(), listeners, sidecar_ports: [9_901] } });
    expect(posted.status).toBe(200);
    expect(posted.body.unregistered).toEqual([
      { protocol: 'udp', address: '0.0.0.0', port: 24_001 },
      { protocol: 'tcp', address: '10.0.0.5', port: 24_003 },
      { protocol: 'udp', address: '0.0.0.0', port: 9_901 },
    ]);
    const all = (await t.api('GET', '/v1/inventory/unregistered')).body.unregistered;
    expect(all.map((l: { service: string; port: number }) => [l.service, l.port])).toEqual([
      ['payments', 24_001],
      ['payments', 24_003],
      ['payments', 9_901],
    ]);

    const orders = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'orders' } })).body.token;
    const foreign = await t.api('POST', '/v1/inventory', { token: orders, body: { service: 'payments', listeners: [] } });
    expect([foreign.status, foreign.body.error.code]).toEqual([403, 'forbidden']);
    const own = await t.api('POST', '/v1/inventory', { token: orders, body: { listeners: [{ protocol: 'tcp', address: '0.0.0.0', port: 24_009 }] } });
    expect(own.body).toEqual({ service: 'orders', unregistered: [{ protocol: 'tcp', address: '0.0.0.0', port: 24_009 }] });
    expect((await t.api('GET', '/v1/inventory/unregistered', { token: orders })).status).toBe(403);
    const nameless = await t.api('POST', '/v1/inventory', { body: { listeners: [] } });
    expect([nameless.status, nameless.body.error.code]).toEqual([400, 'bad_request']);
  });
});
