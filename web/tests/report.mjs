// End-to-end test of the resident report page in headless Chromium.
// Usage: node tests/report.mjs BASE_URL OUTPUT_DIR
import { chromium } from 'playwright-core';

const [base, out] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking'],
});
function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exitCode = 1;
}
try {
  for (const [name, viewport] of [['phone', { width: 360, height: 740 }], ['desktop', { width: 1280, height: 900 }]]) {
    const page = await browser.newPage({ viewport });
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${base}/report`);
    await page.waitForSelector('#categories input', { timeout: 30000 });
    await page.waitForFunction(() => window.trygg?.map?.loaded(), null, { timeout: 30000 });
    // Submitting without a place is refused in the page.
    await page.click('#send');
    await page.waitForSelector('#error:not([hidden])');
    await page.screenshot({ path: `${out}/report-${name}.png`, fullPage: true });
    const map = page.locator('#map canvas');
    await map.scrollIntoViewIfNeeded();
    const box = await map.boundingBox();
    await map.click({ position: { x: box.width / 2, y: box.height / 2 } });
    await page.waitForSelector('.maplibregl-marker');
    await page.check('input[value=dark_area]');
    await page.fill('#comment', 'Mörk gångväg utan belysning');
    // A cleared "När" is explained, and the button is ready again.
    const when = await page.inputValue('#when');
    await page.fill('#when', '');
    await page.click('#send');
    await page.waitForSelector('#error:not([hidden])');
    if (await page.isDisabled('#send')) fail(`the send button stays disabled after a cleared time (${name})`);
    const label = await page.textContent('#send');
    if (label.includes('…')) fail(`the send button still says "${label}" after a cleared time (${name})`);
    await page.fill('#when', when);
    await page.click('#send');
    await page.waitForSelector('#thanks:not([hidden])', { timeout: 10000 }).catch(async (e) => {
      const shown = await page.textContent('#error');
      await page.screenshot({ path: `${out}/report-${name}-failed.png`, fullPage: true });
      throw new Error(`no thanks; the page says: ${shown}`);
    });
    await page.screenshot({ path: `${out}/report-${name}-sent.png` });
    if (errors.length) fail(`console errors (${name}): ${errors.join(' | ')}`);
  }
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
