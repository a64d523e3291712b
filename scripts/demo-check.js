// `npm run demo -- --check`: proves that what `npm run demo` serves is a working ML Lab. Loads the
// workbench in Chromium (Debian's, through playwright-core), opens the ML Lab view container and waits
// until the extension has started its backend and shows the Projects view's first-run content.
'use strict';
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.MLLAB_IT_CHROMIUM || '/usr/bin/chromium';

/**
 * Resolves once the ML Lab views answer in the workbench at `url`; rejects with what was missing.
 * Saves a screenshot to `screenshot` either way.
 */
async function checkWorkbench(url, screenshot, timeoutMs = 180_000) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1000, deadline - Date.now());
  let step = 'loading the workbench';
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    try {
      await page.goto(url);
      await page.waitForSelector('.monaco-workbench', { timeout: left() });
      step = 'finding the ML Lab icon in the activity bar';
      const icon = page.locator('.activitybar [aria-label^="ML Lab"]').first();
      await icon.waitFor({ timeout: left() });
      await icon.click();
      step = 'waiting for the ML Lab Projects view to show its first-run content (extension and backend started)';
      await page.getByText('No projects yet', { exact: false }).first().waitFor({ timeout: left() });
    } finally {
      await page.screenshot({ path: screenshot }).catch(() => undefined);
    }
  } catch (e) {
    throw new Error(
      `the demo workbench failed the check while ${step}: ${e.message.split('\n')[0]} (screenshot: ${screenshot})`,
    );
  } finally {
    await browser.close();
  }
}

module.exports = { checkWorkbench };
