/**
 * A real browser for the console's tests: Debian's Chromium (the `chromium` package), driven
 * by playwright-core pointed at the system binary, so nothing is ever downloaded.
 *
 * Chromium comes from apt, not from npm: `.ci/run` installs it, so in CI (`CI` set) these
 * tests always run and a missing browser fails them. On a developer's machine without it they
 * are skipped, and the reason is printed once per file.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, inject, it } from 'vitest';

export const chromiumPath = '/usr/bin/chromium';
const installed = existsSync(chromiumPath);

/** True when the browser tests run: Chromium is here, or this is CI (where its absence must fail them). */
export const browserTestsRun = installed || Boolean(process.env.CI);

/** `it` when the browser tests run, else a skipping one. */
export const withBrowser = browserTestsRun ? it : it.skip;

/** Prints, once per test file, why the browser tests are skipped. */
export function warnIfNoBrowser(): void {
  if (!installed && !process.env.CI) console.warn(`Chromium is not installed, so the console's browser tests are skipped here (CI runs them): apt-get install -y --no-install-recommends chromium`);
}

/**
 * Headless Chromium with a fresh profile (playwright gives each launch its own temporary
 * `--user-data-dir`), and none of its background traffic (updates, sync, safe browsing): the
 * only requests it makes are the page's.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!installed) throw new Error(`no browser at ${chromiumPath}. It comes with Debian's chromium package: apt-get install -y --no-install-recommends chromium`);
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page, and what it did that a person would call a fault. */
/**
 * One headless Chromium for the tests of a `describe` (or file): launched before them where
 * the browser tests run, closed after them. Returns how a test gets it.
 */
export function useBrowser(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    if (browserTestsRun) browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error('no browser: a test that needs one is declared with withBrowser');
    return browser;
  };
}

export interface WatchedPage {
  page: Page;
  /** Console errors, uncaught exceptions (CSP violations are console errors too). */
  errors: string[];
  /** Every URL the page requested that is not on `origin`. */
  foreign: string[];
  close(): Promise<void>;
}

/**
 * A new tab (its own session storage) at 1360×900 that records errors and foreign requests.
 * `trustCertificate`: the authority serves HTTPS with a test CA's certificate this browser does
 * not know, and the test means to reach it anyway.
 */
export async function openPage(browser: Browser, origin: string, options: { trustCertificate?: boolean } = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, deviceScaleFactor: 1, ignoreHTTPSErrors: options.trustCertificate ?? false });
  // a missing element fails in seconds with its selector, well inside the test's own timeout
  context.setDefaultTimeout(5_000);
  const page = await context.newPage();
  const errors: string[] = [];
  const foreign: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (url.origin !== origin && url.protocol !== 'data:') foreign.push(req.url());
  });
  return { page, errors, foreign, close: () => context.close() };
}

let announced = false;

/**
 * Saves a screenshot of the page into this run's screenshot directory (a temp dir named by
 * ./screenshot-dir.ts, kept after the run for CI to collect, never committed); says where once
 * per file.
 */
export async function screenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  const dir = inject('screenshotDir');
  if (!announced) {
    mkdirSync(dir, { recursive: true });
    console.log(`console screenshots: ${dir}`);
    announced = true;
  }
  const file = join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: options.fullPage ?? true });
  return file;
}

/** Signs in on the console's page with `token`. */
export async function signInWith(page: Page, url: string, token: string): Promise<void> {
  await page.goto(`${url}/ui/`);
  await page.fill('#token', token);
  await page.click('button[type="submit"]');
}
