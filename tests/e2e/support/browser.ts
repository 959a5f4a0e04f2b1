// Debian's Chromium driven by playwright-core: never a downloaded browser. A missing browser is a
// failure that says how to install it, not a skipped test.

import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Screenshots land here (git-ignored): look at them before calling the UI done. */
export const SCREENSHOT_DIR = path.resolve(__dirname, '../../../test-results/e2e');

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: the browser tests need Debian's Chromium; install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 20000,
  });
}

/**
 * Everything a page reports as an error: console.error messages (from every frame), uncaught
 * exceptions, and failed requests. The tests assert it stays empty.
 */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    // An EventSource or a long poll closed by navigation or teardown is not an error of the page.
    const aborted = request.failure()?.errorText === 'net::ERR_ABORTED';
    if (!aborted) errors.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
  });
  return errors;
}

export function screenshotPath(name: string): string {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return path.join(SCREENSHOT_DIR, `${name}.png`);
}
