import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { closedBy, connectTo, echoes, echo, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';
import { testLicense } from '../helpers/static-license-source.ts';
import { tempDir } from '../helpers/tmp.ts';


it('adds and removes ports without touching another port’s open connection', async () => {
  const upstream = await startUpstream(echo);
  const before = testConfig([
    { name: 'stays', upstream: upstream.address },
    { name: 'goes', upstream: upstream.address },
  ]);
  const h = await startSidecar(before);
  const stays = await connectTo(h.address('stays'));
  const goes = await connectTo(h.address('goes'));
  expect(await echoes(stays, 'before')).toBe(true);
  expect(await echoes(goes, 'before')).toBe(true);
  const goesAddress = h.address('goes');

  // same `stays` entry (listen 127.0.0.1:0 is unchanged), `goes` removed, `comes` added
  await h.sidecar.reload(testConfig([{ name: 'stays', upstream: upstream.address }, { name: 'comes', upstream: upstream.address }]));
  h.source.set('comes', testLicense({ port: 'comes' }));

  expect(h.sidecar.addresses.has('goes')).toBe(false);
  await expect(connectTo(goesAddress)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  expect(await echoes(goes, 'a removed port drains its open connections')).toBe(true);
  expect(await echoes(stays, 'untouched')).toBe(true);
  const comes = await connectTo(h.address('comes'));
  expect(await echoes(comes, 'new')).toBe(true);
  expect(await h.metric('portwarden_config_reloads_total', { result: 'applied' })).toBe(1);
  expect(h.records).toEqual([]); // no connection was closed by the reload
});

it('refuses an unsafe or unreadable configuration and keeps the old one running', async () => {
  const upstream = await startUpstream(echo);
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address }]));
  const open = await connectTo(h.address('api'));

  await expect(h.sidecar.reload(testConfig([{ name: 'api', upstream: '10.0.0.1:80' }]))).rejects.toMatchObject({
    code: 'config_invalid',
    issues: [expect.objectContaining({ key: 'ports[0].upstream' })],
  });
  await expect(h.sidecar.reload(testConfig([{ name: 'api', upstream: upstream.address }], { service: 'billing' }))).rejects.toMatchObject({
    code: 'config_invalid',
    issues: [expect.objectContaining({ key: 'service' })],
  });
  const dir = await tempDir();
  const file = join(dir, 'sidecar.yaml');
  await writeFile(file, 'service: payments\nports:\n  - name: api\n    listen: 127.0.0.1:0\n    upstream: nowhere\n');
  await expect(h.sidecar.reloadFile(file, {})).rejects.toMatchObject({ code: 'config_invalid', issues: [expect.objectContaining({ line: 5 })] });

  expect(await h.metric('portwarden_config_reloads_total', { result: 'refused' })).toBe(3);
  expect(h.logs.filter((line) => line.msg.startsWith('configuration reload refused'))).toHaveLength(3);
  expect(await echoes(open, 'old config still serving')).toBe(true);
  expect(await echoes(await connectTo(h.address('api')), 'and admitting')).toBe(true);
  expect(h.sidecar.config.ports[0]?.upstream).toEqual({ host: '127.0.0.1', port: upstream.port });
});

it('restarts a changed port on its new settings while its open connection drains on the old', async () => {
  const first = await startUpstream((socket) => socket.pipe(socket));
  const second = await startUpstream((socket) => socket.on('data', (chunk: Buffer) => socket.write(chunk.toString().toUpperCase())));
  const h = await startSidecar(testConfig([{ name: 'api', upstream: first.address }]));
  const old = await connectTo(h.address('api'));
  expect(await echoes(old, 'abc')).toBe(true);

  await h.sidecar.reload(testConfig([{ name: 'api', upstream: second.address }]));
  const fresh = await connectTo(h.address('api'));
  const reply = new Promise<string>((resolve) => fresh.once('data', (chunk: Buffer) => resolve(chunk.toString())));
  fresh.write('abc');
  expect(await reply).toBe('ABC');
  expect(await echoes(old, 'still the old upstream')).toBe(true);
  old.end();
  expect(await closedBy(old)).toBe('closed');
});
