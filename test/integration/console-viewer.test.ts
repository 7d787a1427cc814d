import { describe, expect } from 'vitest';
import { spawnAuthority } from '../helpers/authority-process.ts';
import { openPage, screenshot, signInWith, useBrowser, warnIfNoBrowser, withBrowser } from '../helpers/browser.ts';
import { runPortwarden } from '../helpers/cli.ts';
import { call, consoleAuthorityConfig, seedRegister } from '../helpers/console-seed.ts';
import { createPki } from '../helpers/pki.ts';

warnIfNoBrowser();

describe('the console, for a viewer and for tokens it refuses', () => {
  const browser = useBrowser();

  withBrowser('a viewer sees what an admin sees without a control to change it, and the API refuses its writes', async () => {
    const authority = await spawnAuthority({ config: consoleAuthorityConfig });
    const seeded = await seedRegister(authority.url, authority.adminToken);
    const created = await runPortwarden(['tokens', 'create', '--role', 'viewer', '--name', 'dashboard', '--authority', authority.url], { PORTWARDEN_TOKEN: authority.adminToken });
    expect(created.code).toBe(0);
    const viewer = created.stdout.trim();
    const { page, errors, foreign, close } = await openPage(browser(), authority.url);
    try {
      await signInWith(page, authority.url, viewer);
      await page.waitForSelector('[data-test="map"]');
      expect(await page.locator('.role').textContent()).toBe('viewerdashboard');
      expect(await page.locator('.readonly-note').textContent()).toContain('Read-only');
      // the token is in this tab's session storage only: not in local storage, a cookie or the URL
      expect(await page.evaluate("[sessionStorage.length, localStorage.length, document.cookie, location.href.includes('pw.')]")).toEqual([1, 0, '', false]);

      await page.click('[data-nav="approvals"]');
      await page.waitForSelector('[data-test="approvals"]');
      expect(await page.locator('[data-test="approvals"] tbody tr').count()).toBe(2);
      expect(await page.locator('[data-test="approve"], [data-test="reject"]').count()).toBe(0);
      expect(await page.locator('[data-test="readonly"]').textContent()).toContain('an admin decides them');
      await screenshot(page, '10-approvals-viewer');

      await page.click('[data-nav="licenses"]');
      await page.waitForSelector('[data-test="licenses"]');
      await page.click('[data-test="licenses"] tbody tr:first-child td:first-child');
      await page.waitForSelector('[data-test="license-detail"] [data-test="timeline"]');
      const billing = seeded['billing/api@prod']!;
      await page.evaluate(`location.hash = '#/ports/${billing.id}'`);
      await page.waitForSelector('[data-test="port-licenses"]');
      await page.click('[data-nav="stale"]');
      await page.waitForSelector('[data-test="empty"]');
      expect(await page.locator('[data-test="revoke"], [data-test="reclaim"], [data-test="approve"]').count()).toBe(0);
      expect(errors).toEqual([]);
      expect(foreign).toEqual([]);

      // a viewer who writes to the API anyway, with the page's own token, is refused
      const refused = await page.evaluate(async (id) => {
        const token = sessionStorage.getItem('portwarden.token') ?? '';
        const res = await fetch(`/v1/ports/${id}/approve`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
        return [res.status, ((await res.json()) as { error: { code: string } }).error.code];
      }, seeded['inventory/api@prod']!.id);
      expect(refused).toEqual([403, 'forbidden']);
      const still = await call(authority.url, authority.adminToken, 'GET', `/v1/ports/${seeded['inventory/api@prod']!.id}`);
      expect(still.state).toBe('requested');
    } finally {
      await close();
    }
  });

  withBrowser('refuses a sidecar token at sign-in, saying why, and an unknown token too', async () => {
    const authority = await spawnAuthority({ config: consoleAuthorityConfig });
    const sidecar = (await call(authority.url, authority.adminToken, 'POST', '/v1/tokens', { role: 'sidecar', service: 'billing' })).token as string;
    const { page, errors, close } = await openPage(browser(), authority.url);
    try {
      await signInWith(page, authority.url, sidecar);
      const error = page.locator('[data-test="signin-error"]:visible');
      expect(await error.textContent()).toBe('This is a sidecar token (service billing): it only acts for its sidecar. Sign in with an admin token, or a read-only viewer token.');
      expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
      expect(await page.locator('#token').isVisible()).toBe(true);
      await screenshot(page, '11-sign-in-sidecar-refused', { fullPage: false });
      expect(errors).toEqual([]);

      await page.fill('#token', 'pw.0123456789abcdef.not-a-secret');
      await page.click('button[type="submit"]');
      await page.waitForSelector('[data-test="signin-error"]:has-text("does not know this token")');
      expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    } finally {
      await close();
    }
  });

  withBrowser('signs in over the authority’s TLS', async () => {
    const pki = await createPki();
    try {
      const ca = await pki.createCa('authority-ca');
      const server = await ca.issue('authority', { ips: ['127.0.0.1'] });
      const authority = await spawnAuthority({ config: `tls: { cert: ${server.cert}, key: ${server.key} }\n` });
      expect(authority.url).toMatch(/^https:\/\//);
      const { page, errors, foreign, close } = await openPage(browser(), authority.url, { trustCertificate: true });
      try {
        await signInWith(page, authority.url, authority.adminToken);
        await page.waitForSelector('[data-test="live"]:not(.reconnecting)');
        await page.waitForSelector('[data-test="empty"]');
        expect(await page.evaluate('isSecureContext')).toBe(true);
        expect(errors).toEqual([]);
        expect(foreign).toEqual([]);
      } finally {
        await close();
      }
    } finally {
      await pki.close();
    }
  });
});
