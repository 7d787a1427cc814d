import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { consoleDir } from '../../src/authority/console/assets.ts';
import { consoleHeaders } from '../../src/authority/console/routes.ts';
import { startTestAuthority } from '../helpers/authority.ts';
import { runPortwarden } from '../helpers/cli.ts';
import { createPki, type CertFiles, type TestCa, type TestPki } from '../helpers/pki.ts';

let pki: TestPki;
let ca: TestCa;
let server: CertFiles;

beforeAll(async () => {
  pki = await createPki();
  ca = await pki.createCa('authority-ca');
  server = await ca.issue('authority', { ips: ['127.0.0.1'] });
});
afterAll(() => pki.close());

const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

it('serves the console at /ui/ with a strict CSP and no inline script or style, and every module it imports', async () => {
  const t = await startTestAuthority();
  const page = await t.api('GET', '/ui/', { token: null });
  expect(page.status).toBe(200);
  expect(page.headers).toMatchObject({
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cache-control': 'no-cache',
  });
  expect(page.headers['set-cookie']).toBeUndefined();
  const html = page.body as string;
  expect(html).toContain('<script type="module" src="/ui/app.js"></script>');
  expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/); // no inline script
  expect(html).not.toMatch(/\sstyle=|\son[a-z]+=/); // no inline style or handler
  expect(html).not.toMatch(/https?:\/\//); // nothing from another host

  // follow the module graph from app.js: every import is served, as JavaScript, from /ui/
  const seen = new Set<string>();
  const queue = ['app.js'];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const module = await t.api('GET', `/ui/${file}`, { token: null });
    expect([file, module.status, module.headers['content-type'], module.headers['content-security-policy']]).toEqual([file, 200, 'text/javascript; charset=utf-8', csp]);
    const source = module.body as string;
    expect(source, file).not.toMatch(/\binnerHTML\b|\beval\(|new Function|document\.write|localStorage|document\.cookie/);
    for (const [, imported] of source.matchAll(/^import\s[^'"]*['"]\.\/([\w-]+\.js)['"]/gm)) queue.push(imported!);
  }
  expect(seen.size).toBeGreaterThanOrEqual(15);
  for (const file of ['style.css', 'favicon.svg']) expect((await t.api('GET', `/ui/${file}`, { token: null })).status).toBe(200);
});

it('revalidates with ETags, refuses files that are not the console, and leads / and /ui to /ui/', async () => {
  const t = await startTestAuthority();
  const first = await t.api('GET', '/ui/app.js', { token: null });
  const etag = first.headers.etag as string;
  expect(etag).toMatch(/^"[\w-]{22}"$/);
  const again = await t.api('GET', '/ui/app.js', { token: null, headers: { 'if-none-match': etag } });
  expect([again.status, again.body]).toEqual([304, '']);
  expect(again.headers['content-security-policy']).toBe(consoleHeaders['content-security-policy']);
  expect((await t.api('GET', '/ui/app.js', { token: null, headers: { 'if-none-match': '"stale"' } })).status).toBe(200);

  for (const path of ['/ui/api-types.d.ts', '/ui/tsconfig.json', '/ui/..%2Fassets.ts', '/ui/%2e%2e%2froutes.ts', '/ui/nope.js', '/ui/web/app.js']) {
    const answer = await t.api('GET', path, { token: null });
    expect([path, answer.status, answer.body.error?.code]).toEqual([path, 404, 'not_found']);
  }
  for (const path of ['/', '/ui']) {
    const answer = await t.api('GET', path, { token: null });
    expect([path, answer.status, answer.headers.location]).toEqual([path, 308, '/ui/']);
  }
  expect((await t.api('POST', '/ui/', { token: null })).status).toBe(405);
});

it('keeps the API closed to other origins: no CORS headers, and no cookies anywhere', async () => {
  const t = await startTestAuthority();
  const origin = { origin: 'https://elsewhere.example' };
  const read = await t.api('GET', '/v1/whoami', { headers: origin });
  expect(read.status).toBe(200);
  expect(Object.keys(read.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
  const preflight = await t.api('OPTIONS', '/v1/licenses', { token: null, headers: { ...origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } });
  expect(preflight.status).toBe(405);
  expect(Object.keys(preflight.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
  for (const answer of [read, preflight, await t.api('GET', '/ui/', { token: null })]) expect(answer.headers['set-cookie']).toBeUndefined();
});

it('is served over the authority’s TLS when it has one', async () => {
  const t = await startTestAuthority({ config: { tls: { cert: server.cert, key: server.key } } });
  const agent = new Agent({ connect: { ca: ca.certPem } });
  try {
    const answer = await request(`${t.url}/ui/`, { dispatcher: agent });
    expect(t.url).toMatch(/^https:/);
    expect([answer.statusCode, answer.headers['content-security-policy']]).toEqual([200, csp]);
    expect(await answer.body.text()).toContain('/ui/app.js');
  } finally {
    await agent.close();
  }
});

it('suggests only commands, subcommands and options the CLI has', async () => {
  const suggested = new Set<string>();
  for (const file of (await readdir(consoleDir)).filter((name) => name.endsWith('.js'))) {
    const source = await readFile(join(consoleDir, file), 'utf8');
    for (const [line] of source.matchAll(/portwarden [a-z]+ [a-z]+[^'`"\n)]*/g)) suggested.add(line.replace(/\$\{[^}]*\}/g, 'X'));
  }
  expect(suggested.size).toBeGreaterThanOrEqual(8);
  const wrong: string[] = [];
  const usages = new Map<string, string>();
  for (const line of suggested) {
    const [, command = '', sub = ''] = line.split(' ');
    if (!usages.has(command)) usages.set(command, (await runPortwarden([command, '--help'])).stdout);
    const usage = usages.get(command) ?? '';
    if (!new RegExp(`\\b${sub}\\b`).test(usage)) wrong.push(`${line}: no subcommand ${sub}`);
    for (const [flag] of line.matchAll(/--[a-z-]+/g)) if (!usage.includes(flag)) wrong.push(`${line}: no option ${flag}`);
  }
  expect(wrong).toEqual([]);
});
