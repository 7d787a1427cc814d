import { describe, expect } from 'vitest';
import { spawnAuthority } from '../helpers/authority-process.ts';
import { openPage, screenshot, signInWith, useBrowser, warnIfNoBrowser, withBrowser } from '../helpers/browser.ts';
import { runPortwarden } from '../helpers/cli.ts';
import { call } from '../helpers/console-seed.ts';
import { waitFor } from '../helpers/wait.ts';

warnIfNoBrowser();

describe('the console, from an empty register to a reclaim', () => {
  const browser = useBrowser();

  withBrowser('shows what to run when there is nothing yet, then lists stale ports and reclaims them after a dry run and a confirmation', async () => {
    const authority = await spawnAuthority({ config: 'register: { stale_after: 30m }\n' });
    const { page, errors, foreign, close } = await openPage(browser(), authority.url);
    try {
      await signInWith(page, authority.url, authority.adminToken);
      await page.waitForSelector('[data-test="empty"]');
      expect(await page.locator('[data-test="empty"]').textContent()).toContain('portwarden ports request --service billing --name api');
      await screenshot(page, '12-overview-empty');
      for (const [nav, text] of [
        ['ports', 'No ports yet'],
        ['approvals', 'With approval: auto, nothing ever waits'],
        ['licenses', 'portwarden licenses issue'],
        ['stale', 'portwarden ports list --stale'],
      ]) {
        await page.click(`[data-nav="${nav}"]`);
        await page.waitForSelector(`[data-test="empty"]:has-text("${text}")`);
      }

      // three ports; the sidecars last saw two of them two hours ago, the third a minute ago
      const request = (name: string) => call(authority.url, authority.adminToken, 'POST', '/v1/ports', { service: 'reports', name, env: 'prod', owner: 'team-data' });
      await page.click('[data-nav="ports"]');
      const [daily, weekly, live] = [await request('daily'), await request('weekly'), await request('live')];
      const at = (ms: number) => new Date(Date.now() - ms).toISOString();
      await call(authority.url, authority.adminToken, 'POST', '/v1/telemetry', {
        batch_id: 'b1',
        service: 'reports',
        records: [
          { port: 'daily', identity: 'spiffe://corp/ns/bi/sa/cron', origin: '10.2.0.5', last_access: at(2 * 3_600_000) },
          { port: 'weekly', identity: 'spiffe://corp/ns/bi/sa/cron', origin: '10.2.0.5', last_access: at(3 * 3_600_000) },
          { port: 'live', identity: 'spiffe://corp/ns/bi/sa/ui', origin: '10.2.0.9', last_access: at(60_000) },
        ],
      });
      // the requests show on the open page as they are made; access telemetry with the next
      // load (a reload, or the blocking query's answer every 30s)
      await waitFor(async () => (await page.locator('[data-test="ports"] tbody tr').count()) === 3, { what: 'the new ports on the open page' });
      await page.click('[data-nav="stale"]');
      await page.reload();
      await page.waitForSelector('[data-test="stale"]');
      expect(await page.locator('[data-test="stale"] tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-row')))).toEqual([weekly.id, daily.id]);
      expect(await page.locator('.nav-count-stale').textContent()).toBe('2');
      await screenshot(page, '13-stale');

      // the dry run comes first and says exactly what would go; cancelling changes nothing
      await page.click('[data-test="reclaim"]');
      await page.waitForSelector('dialog [data-test="dry-run"]');
      expect(await page.locator('dialog [data-test="dry-run"] li').count()).toBe(2);
      await screenshot(page, '14-reclaim-confirm', { fullPage: false });
      await page.click('dialog [data-test="cancel"]');
      expect((await call(authority.url, authority.adminToken, 'GET', `/v1/ports/${daily.id}`)).state).toBe('active');
      const audit = await call(authority.url, authority.adminToken, 'GET', '/v1/audit?action=port.reclaim');
      expect(audit.entries).toEqual([]);

      await page.click('[data-test="reclaim"]');
      await page.click('dialog [data-test="confirm"]');
      await page.waitForSelector('[data-test="empty"]:has-text("No stale ports")');
      const released = await runPortwarden(['ports', 'list', '--state', 'released', '--format', 'json', '--authority', authority.url], { PORTWARDEN_TOKEN: authority.adminToken });
      expect((JSON.parse(released.stdout).ports as { id: string }[]).map((port) => port.id).sort()).toEqual([daily.id, weekly.id].sort());
      expect((await call(authority.url, authority.adminToken, 'GET', `/v1/ports/${live.id}`)).state).toBe('active');
      expect(errors).toEqual([]);
      expect(foreign).toEqual([]);
    } finally {
      await close();
    }
  });
});
