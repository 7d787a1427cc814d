import { expect, it } from 'vitest';
import { connectTo, echo, readAll, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';

// the contract's sidecar metrics (DESIGN.md): public surface, renamed only on purpose
const contract = [
  'portwarden_connections_total',
  'portwarden_connections_active',
  'portwarden_bytes_total',
  'portwarden_connection_duration_seconds',
  'portwarden_license_expiry_timestamp_seconds',
  'portwarden_license_valid',
  'portwarden_authority_sync_total',
  'portwarden_authority_last_sync_timestamp_seconds',
  'portwarden_last_access_timestamp_seconds',
];
// what the data path adds beside them
const dataPath = [
  'portwarden_connections_closed_total',
  'portwarden_upstream_errors_total',
  'portwarden_accept_errors_total',
  'portwarden_follow_listen_failures_total',
  'portwarden_config_reloads_total',
  'portwarden_handshake_failures_total',
];

it('serves every metric of the contract, the data-path ones and the process defaults on /metrics', async () => {
  const upstream = await startUpstream(echo);
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address }]), { processMetrics: true });
  const client = await connectTo(h.address('api'));
  const reply = readAll(client);
  client.end('ping');
  await reply;

  const response = await fetch(`${h.adminUrl()}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  const text = await response.text();
  const declared = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]));
  for (const name of [...contract, ...dataPath]) expect(declared, name).toContain(name);
  expect(declared).toContain('process_cpu_seconds_total');
  expect(text).toMatch(/^portwarden_connections_total\{port="api",decision="allow",reason=""\} 1$/m);
  expect(text).toMatch(/^portwarden_bytes_total\{port="api",direction="in"\} 4$/m);
  expect(text).toMatch(/^portwarden_connection_duration_seconds_count\{port="api"\} 1$/m);
  // no label ever holds an origin address
  expect(text).not.toMatch(/127\.0\.0\.1/);
});
