// The page-level figure: the project's unlock page in the browser preview (Debian's Chromium via
// playwright-core), from the click on the pay sheet's confirm button to the rendered page showing
// `data-status="unlocked"`. Both instants are taken inside the page (performance.now()), so the
// figure does not include the test driver's round trips. A few sequential warm runs, one user,
// the emulator reset between runs so the same user can pay again.

import fs from 'node:fs';
import path from 'node:path';
import { startEmulator } from '../emulator/src';
import { summarize, type Summary } from './stats';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WAIT = { timeout: 15000 };

export interface PageResult {
  runs: number;
  latency: Summary;
  skipped?: string;
}

interface Probe {
  confirmAt?: number;
  unlockedAt?: number;
}

export async function measurePage(root: string, runs: number): Promise<PageResult> {
  if (!fs.existsSync(CHROMIUM)) {
    return { runs: 0, latency: summarize([]), skipped: `no Chromium at ${CHROMIUM}` };
  }
  const { chromium } = await import('playwright-core');
  const emu = await startEmulator({
    projectDir: root,
    functionsDir: path.join(root, 'cloudfunctions'),
    port: 0,
    inMemory: true,
    preview: true,
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 20000,
  });
  const samples: number[] = [];
  try {
    const page = await browser.newPage();
    // One run more than asked: the first starts the function instances (a cold start) and is dropped.
    for (let run = 0; run <= runs; run++) {
      await emu.reset();
      await page.goto(`${emu.url}/preview/?user=o_local_user_0001`);
      await page.locator('[data-role="unlock-page"][data-status="locked"]').waitFor(WAIT);
      await page.evaluate(() => {
        const probe: Probe = {};
        (window as unknown as { __bench: Probe }).__bench = probe;
        document.addEventListener(
          'click',
          (event) => {
            const target = event.target as Element | null;
            if (target?.closest('[data-role="sheet-pay"]')) probe.confirmAt = performance.now();
          },
          true,
        );
        new MutationObserver(() => {
          if (
            probe.unlockedAt === undefined &&
            document.querySelector('[data-role="unlock-page"][data-status="unlocked"]')
          ) {
            probe.unlockedAt = performance.now();
          }
        }).observe(document.body, { subtree: true, childList: true, attributes: true });
      });
      await page.locator('[data-role="pay"]').click();
      await page.locator('[data-role="sheet-pay"]').waitFor({ state: 'visible', ...WAIT });
      await page.locator('[data-role="sheet-pay"]').click();
      await page.locator('[data-role="unlock-page"][data-status="unlocked"]').waitFor(WAIT);
      const probe = await page.evaluate(() => (window as unknown as { __bench: Probe }).__bench);
      if (probe.confirmAt === undefined || probe.unlockedAt === undefined) {
        throw new Error(`page run ${run + 1}: the probe missed the confirm or the unlock`);
      }
      if (run > 0) samples.push(probe.unlockedAt - probe.confirmAt);
    }
  } finally {
    await browser.close();
    await emu.stop();
  }
  return { runs, latency: summarize(samples) };
}
