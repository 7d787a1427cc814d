import { describe, expect } from 'vitest';
import { spawnAuthority } from '../helpers/authority-process.ts';
import { openPage, screenshot, signInWith, useBrowser, warnIfNoBrowser, withBrowser } from '../helpers/browser.ts';
import { runPortwarden } from '../helpers/cli.ts';
import { call, consoleAuthorityConfig, issueAtRiskLicense, seedRegister } from '../helpers/console-seed.ts';
import { freePort } from '../helpers/ports.ts';
import { waitFor } from '../helpers/wait.ts';

warnIfNoBrowser();

describe('the console, live', () => {
  const browser = useBrowser();

  withBrowser('follows a revocation made with the CLI within a second, highlights a license at risk, and revokes with a reason', async () => {
    const authority = await spawnAuthority({ config: consoleAuthorityConfig });
    const seeded = await seedRegister(authority.url, authority.adminToken);
    const { page, errors, foreign, close } = await openPage(browser(), authority.url);
    try {
      await signInWith(page, authority.url, authority.adminToken);
      await page.waitForSelector('[data-test="live"]:not(.reconnecting)');

      // a request approved with the CLI leaves the open approvals page, and the count beside it drops
      await page.click('[data-nav="approvals"]');
      await page.waitForSelector('[data-test="approvals"]');
      expect(await page.locator('.nav-count-approvals').textContent()).toBe('2');
      const approved = await runPortwarden(['ports', 'approve', seeded['notifications/ws@prod']!.id, '--reason', 'ok', '--authority', authority.url], { PORTWARDEN_TOKEN: authority.adminToken });
      expect(approved.code).toBe(0);
      await waitFor(async () => (await page.locator('[data-test="approvals"] tbody tr').count()) === 1, { timeoutMs: 1000, what: 'the approval to show on the open page' });
      expect(await page.locator('.nav-count-approvals').textContent()).toBe('1');

      await page.click('[data-nav="licenses"]');
      await page.waitForSelector('[data-test="licenses"]');
      const { licenses } = await call(authority.url, authority.adminToken, 'GET', '/v1/licenses?service=orders');
      const lid = (licenses as { lid: string }[])[0]!.lid;
      const row = page.locator(`[data-test="licenses"] tr[data-row="${lid}"]`);
      expect(await row.locator('[data-state]').first().getAttribute('data-state')).toBe('active');

      // the CLI revokes; the open page shows it without a reload
      await page.click('[data-show="all"]');
      const revoked = await runPortwarden(['licenses', 'revoke', lid, '--reason', 'incident 4121', '--authority', authority.url], { PORTWARDEN_TOKEN: authority.adminToken });
      expect(revoked.code).toBe(0);
      const shownAt = Date.now();
      await waitFor(async () => (await row.locator('[data-state]').first().getAttribute('data-state')) === 'revoked', { timeoutMs: 1000, what: 'the revocation to show on the open page' });
      console.log(`a CLI revocation showed on the open page ${Date.now() - shownAt}ms after the CLI returned`);

      // a license inside its renew window with no renewal coming is flagged, and counted in the
      // navigation, once the window opens (half its 12s TTL in): the page loads again at that moment
      const risky = await issueAtRiskLicense(authority.url, authority.adminToken, '12s');
      await page.click('[data-show="active"]');
      await page.waitForSelector(`tr.at-risk[data-row="${risky}"]`, { timeout: 12_000 });
      expect(await page.locator('.nav-count-licenses').textContent()).toBe('1');
      await page.click(`tr[data-row="${risky}"] td:first-child`);
      await page.waitForSelector(`[data-test="license-detail"][data-lid="${risky}"] [data-action="license.issued"]`);
      expect(await page.locator('[data-test="license-detail"] .notice.danger').textContent()).toContain('portwarden licenses renew');
      await screenshot(page, '08-licenses-at-risk');

      // revoking from the page takes a confirmation and a reason
      const checkout = (await call(authority.url, authority.adminToken, 'GET', '/v1/licenses?service=checkout')).licenses[0].lid as string;
      await page.click(`tr[data-row="${checkout}"] td:first-child`);
      await page.click(`button[data-test="revoke"][data-lid="${checkout}"]`);
      await page.fill('dialog [data-test="reason"]', 'checkout moved behind the gateway');
      await page.click('dialog [data-test="confirm"]');
      await page.waitForSelector(`[data-test="license-detail"][data-lid="${checkout}"] [data-action="license.revoked"]`);
      const audit = await call(authority.url, authority.adminToken, 'GET', `/v1/audit?target=license/${checkout}&action=license.revoked`);
      expect(audit.entries[0]).toMatchObject({ after: { state: 'revoked', reason: 'checkout moved behind the gateway' } });

      expect(errors).toEqual([]);
      expect(foreign).toEqual([]);
    } finally {
      await close();
    }
  });

  const browserNetworkFailure = /^Failed to load resource: net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|CONNECTION_CLOSED|SOCKET_NOT_CONNECTED|EMPTY_RESPONSE)$/;

  withBrowser('an open page does not hold up the authority’s shutdown, says it is reconnecting while the authority is away, and catches up when it is back', async () => {
    const listen = `127.0.0.1:${await freePort()}`;
    const first = await spawnAuthority({ config: consoleAuthorityConfig, listen });
    const seeded = await seedRegister(first.url, first.adminToken);
    const { page, errors, close } = await openPage(browser(), first.url);
    try {
      await signInWith(page, first.url, first.adminToken);
      await page.waitForSelector('[data-test="live"]:not(.reconnecting)');
      await page.click('[data-nav="approvals"]');
      await page.waitForSelector('[data-test="approvals"]');

      expect(errors).toEqual([]);
      // the page's blocking query is answered at shutdown, so SIGTERM is done in moments
      const stopping = Date.now();
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      expect(Date.now() - stopping).toBeLessThan(5_000);
      await page.waitForSelector('[data-test="live"].reconnecting');
      expect(await page.locator('[data-test="live"]').textContent()).toBe('reconnecting…');

      // back on the same address and data, with a change made meanwhile
      const second = await spawnAuthority({ config: consoleAuthorityConfig, listen, dataDir: first.dataDir });
      await call(second.url, first.adminToken, 'POST', `/v1/ports/${seeded['notifications/ws@prod']!.id}/approve`, { reason: 'while the page was away' });
      await page.waitForSelector('[data-test="live"]:not(.reconnecting)', { timeout: 15_000 });
      await waitFor(async () => (await page.locator('[data-test="approvals"] tbody tr').count()) === 1, { what: 'the page to catch up' });
      // while the authority was down the browser logs each failed request itself (refused, or a
      // socket it had open cut: which one depends on timing); the page adds nothing of its own
      expect(errors.filter((error) => !browserNetworkFailure.test(error))).toEqual([]);
    } finally {
      await close();
    }
  });
});
