import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { startTestAuthority } from '../helpers/authority.ts';
import { spawnAuthority } from '../helpers/authority-process.ts';
import { openPage, screenshot, signInWith, useBrowser, warnIfNoBrowser, withBrowser } from '../helpers/browser.ts';
import { runPortwarden } from '../helpers/cli.ts';
import { call, consoleAuthorityConfig, seedRegister } from '../helpers/console-seed.ts';
import { tempDir } from '../helpers/tmp.ts';
import { waitFor } from '../helpers/wait.ts';

warnIfNoBrowser();

/** The text the map's tooltip shows with the pointer over `number` of a range's canvas. */
async function hoverNumber(page: Page, range: string, number: number): Promise<string> {
  const canvas = page.locator(`canvas[data-range="${range}"]`);
  const d = await canvas.evaluate((el) => ({ ...(el as unknown as { dataset: Record<string, string> }).dataset }));
  const cell = Math.floor((number - Number(d.from)) / Number(d.bucket));
  const pitch = Number(d.pitch);
  await canvas.scrollIntoViewIfNeeded();
  const box = (await canvas.boundingBox())!;
  await page.mouse.move(box.x + Number(d.gutter) + (cell % Number(d.cols)) * pitch + pitch / 3, box.y + Number(d.inset) + Math.floor(cell / Number(d.cols)) * pitch + pitch / 3);
  return (await page.locator('[data-test="map-tip"]:visible').textContent()) ?? '';
}

describe('the console, signed in with the admin token', () => {
  const browser = useBrowser();

  withBrowser('shows the register on the map, the ports, a port with its callers and dependents, and approves a request from the page', async () => {
    const authority = await spawnAuthority({ config: consoleAuthorityConfig });
    const seeded = await seedRegister(authority.url, authority.adminToken);
    const { page, errors, foreign, close } = await openPage(browser(), authority.url);
    try {
      await page.goto(`${authority.url}/ui/`);
      await page.waitForSelector('#token');
      await screenshot(page, '01-sign-in');
      await signInWith(page, authority.url, authority.adminToken);

      // the overview opens on prod, the environment with the most numbers in use
      await page.waitForSelector('[data-test="map"][data-env="prod"] canvas[data-draw-ms]');
      await page.waitForSelector('[data-test="live"]:not(.reconnecting)');
      expect(await page.locator('.role').textContent()).toContain('admin');
      // the 10,000-number range is drawn in cells of 10 numbers; a cell's tooltip names its ports
      expect(await hoverNumber(page, 'default', 20001)).toMatch(/20000–20009.*2 assigned, 8 free.*20001 billing\/api · assigned.*20002 billing\/metrics · assigned/);
      expect(await hoverNumber(page, 'default', 20030)).toMatch(/20030–20039.*20030 legacy\/reports · cool-down/);
      expect(await hoverNumber(page, 'default', 20050)).toMatch(/20050 search\/http · in transition/);
      expect(await hoverNumber(page, 'default', 21004)).toMatch(/21000–21009.*10 free/);
      const inventory = seeded['inventory/api@prod']!;
      expect(await hoverNumber(page, 'default', inventory.number!)).toMatch(new RegExp(`${inventory.number} inventory/api · requested`));
      // a 100-number range is drawn number by number
      const postgres = seeded['postgres-billing/sql@prod']!;
      expect(postgres.number).toBeGreaterThanOrEqual(15000);
      expect(await hoverNumber(page, 'databases', postgres.number!)).toMatch(new RegExp(`${postgres.number}.*Assigned.*postgres-billing/sql \\(tcp\\)`));
      expect(await hoverNumber(page, 'databases', 15099)).toMatch(/15099.*Free/);
      const timing = await page.locator('canvas[data-range="default"]').evaluate((el) => ({ ...(el as unknown as { dataset: Record<string, string> }).dataset }));
      console.log(`map of the 10,000-number default range: model ${timing.modelMs}ms, draw ${timing.drawMs}ms (${timing.cols} columns of ${timing.pitch}px)`);
      await page.mouse.move(0, 0);
      await screenshot(page, '02-overview-map');

      // a click opens the block of 100 around the number, each cell in its state
      await page.locator('canvas[data-range="default"]').click({ position: { x: 52, y: 4 } });
      await page.waitForSelector('[data-test="block"][data-start="20000"]');
      expect(await page.getAttribute('[data-number="20001"]', 'data-state')).toBe('assigned');
      expect(await page.getAttribute('[data-number="20030"]', 'data-state')).toBe('cooldown');
      expect(await page.getAttribute('[data-number="20030"]', 'title')).toMatch(/Cool-down: legacy\/reports, free again in 23h 59m/);
      expect(await page.getAttribute('[data-number="20050"]', 'data-state')).toBe('transitioning');
      expect(await page.getAttribute('[data-number="20099"]', 'data-state')).toBe('free');
      await page.click('[data-number="20099"]');
      expect(await page.locator('.picked-info').textContent()).toContain('portwarden ports request --service SERVICE --name NAME --env prod --number 20099');
      await screenshot(page, '03-map-block');

      // the ports table, filtered and sorted
      await page.click('[data-nav="ports"]');
      await page.waitForSelector('[data-test="ports"]');
      expect(await page.locator('[data-test="ports"] tbody tr').count()).toBe(14);
      await screenshot(page, '04-ports');
      await page.fill('input[data-focus="ports-text"]', 'team-dba');
      await waitFor(async () => (await page.locator('[data-test="ports"] tbody tr').count()) === 2, { what: 'the filter' });
      await page.fill('input[data-focus="ports-text"]', '');

      // a port's page: licenses, callers, what depends on it, the audit trail
      const billing = seeded['billing/api@prod']!;
      await page.click(`[data-test="ports"] tr[data-row="${billing.id}"] td:nth-child(2)`);
      await page.waitForSelector(`[data-test="port"][data-port="${billing.id}"] [data-test="callers"]`);
      expect(await page.locator('[data-test="callers"] tbody tr').count()).toBe(3);
      expect(await page.locator('[data-test="callers"]').textContent()).toContain('spiffe://corp/ns/web/sa/frontend');
      expect(await page.locator('[data-test="dependents"]').textContent()).toContain('checkout/api');
      expect(await page.locator('[data-test="port-licenses"] tbody tr').count()).toBe(1);
      expect(await page.locator('[data-test="timeline"] [data-action]').evaluateAll((items) => items.map((i) => i.getAttribute('data-action')))).toEqual(['port.request', 'license.issued', 'port.approve']);
      await screenshot(page, '05-port');

      // a manual request, approved from the page, is active for the CLI
      await page.click('[data-nav="approvals"]');
      await page.waitForSelector('[data-test="approvals"]');
      expect(await page.locator('[data-test="approvals"] tbody tr').count()).toBe(2);
      await screenshot(page, '06-approvals-admin');
      await page.click(`[data-test="approve"][data-port="${inventory.id}"]`);
      await page.fill('dialog [data-test="reason"]', 'launch approved by the platform team');
      await screenshot(page, '07-approve-dialog', { fullPage: false });
      await page.click('dialog [data-test="confirm"]');
      await waitFor(async () => (await page.locator('[data-test="approvals"] tbody tr').count()) === 1, { what: 'the approved request to leave the list' });
      const listed = await runPortwarden(['ports', 'list', '--format', 'json', '--authority', authority.url], { PORTWARDEN_TOKEN: authority.adminToken });
      expect(listed.code).toBe(0);
      const approved = (JSON.parse(listed.stdout).ports as { id: string; state: string; reason: string }[]).find((port) => port.id === inventory.id);
      expect(approved).toMatchObject({ state: 'active', reason: 'launch approved by the platform team' });

      expect(errors).toEqual([]);
      expect(foreign).toEqual([]);
    } finally {
      await close();
    }
  });

  withBrowser('lists the numbers left outside every range after the policy changed', async () => {
    const dataDir = await tempDir();
    const before = await startTestAuthority({ dataDir, adminToken: null });
    const token = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();
    await call(before.url, token, 'POST', '/v1/ports', { service: 'billing', name: 'api', env: 'prod', number: 20001 });
    await before.authority.close();
    // the default range moved; billing/api keeps its number, now outside every range
    const after = await startTestAuthority({ dataDir, adminToken: null, config: { register: { ranges: [{ name: 'default', from: 21000, to: 21999 }] } } });
    const { page, errors, close } = await openPage(browser(), after.url);
    try {
      await signInWith(page, after.url, token);
      await page.waitForSelector('[data-test="map"][data-env="prod"] .outside');
      expect(await page.locator('.outside').textContent()).toBe('In use outside every range20001 billing/api Assigned');
      expect(await page.locator('.range-card').count()).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });
});
