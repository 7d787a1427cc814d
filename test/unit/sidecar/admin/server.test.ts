import { connect } from 'node:net';
import { Registry } from 'prom-client';
import { expect, it, onTestFinished } from 'vitest';
import { createLogger } from '../../../../src/shared/logger.ts';
import { AdminServer } from '../../../../src/sidecar/admin/server.ts';
import { waitFor } from '../../../helpers/wait.ts';

it('answers a request whose headers do not arrive in time 408 request_timeout, and bytes that are not HTTP 400, then closes', async () => {
  const subject = { readiness: () => ({ ready: true, ports: [] }), healthy: () => true, status: () => ({}) };
  const admin = new AdminServer({ listen: { host: '127.0.0.1', port: 0 }, registry: new Registry(), subject, logger: createLogger({ level: 'silent' }), headersTimeoutMs: 500 });
  const { port } = await admin.listen();
  onTestFinished(() => admin.close());
  const send = (bytes: string) => {
    const socket = connect(port, '127.0.0.1');
    const seen = { data: '', closed: false };
    socket.on('data', (chunk: Buffer) => (seen.data += chunk.toString()));
    socket.on('close', () => (seen.closed = true));
    socket.on('error', () => undefined);
    socket.write(bytes);
    onTestFinished(() => void socket.destroy());
    return seen;
  };
  const slow = send('GET /metrics HTTP/1.1\r\nhost: admin\r\n');
  const garbage = send('\u0000\u0001 not http\r\n\r\n');
  await waitFor(() => slow.closed && garbage.closed, { what: 'both connections to be answered and closed' });
  expect(slow.data).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[\s\S]*\{"error":\{"code":"request_timeout","message":"the request did not arrive in time"\}\}\n$/);
  expect(garbage.data).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*\{"error":\{"code":"bad_request","message":"the request is not valid HTTP"\}\}\n$/);
  // and it still serves
  expect((await fetch(`http://127.0.0.1:${port}/livez`)).status).toBe(200);
});
