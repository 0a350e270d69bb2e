// End-to-end test of the safety-walk app: join with a code, go offline,
// save two findings, come back online; each must arrive exactly once.
// Usage: node tests/walk.mjs BASE_URL OUTPUT_DIR JOIN_CODE
import { chromium } from 'playwright-core';

const [base, out, code] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking'],
});
function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exitCode = 1;
}
try {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('net::ERR_INTERNET_DISCONNECTED')) errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}/walk`);
  await page.screenshot({ path: `${out}/walk-join-phone.png` });
  await page.fill('#code', code.toLowerCase());
  await page.click('#join-btn');
  await page.waitForSelector('#app:not([hidden])', { timeout: 10000 });
  await page.waitForFunction(() => window.trygg?.map?.loaded(), null, { timeout: 30000 });

  await context.setOffline(true);
  for (const [dx, category] of [[-40, 'lighting'], [40, 'vegetation']]) {
    const canvas = page.locator('#map canvas');
    await canvas.scrollIntoViewIfNeeded();
    const box = await canvas.boundingBox();
    await canvas.click({ position: { x: box.width / 2 + dx, y: box.height / 2 } });
    await page.check(`input[value=${category}]`, { force: true });
    // A double tap (the second finding) must save once.
    if (dx > 0) await page.dblclick('#save');
    else await page.click('#save');
  }
  await page.waitForFunction(() => document.getElementById('outbox').textContent.startsWith('2 '), null, { timeout: 5000 });
  await page.screenshot({ path: `${out}/walk-offline-phone.png`, fullPage: true });

  await context.setOffline(false);
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await page.waitForFunction(() => document.getElementById('outbox').textContent === 'Allt är skickat', null, { timeout: 15000 });
  await page.waitForFunction(() => document.querySelectorAll('#findings li').length === 2, null, { timeout: 10000 });
  await page.screenshot({ path: `${out}/walk-sent-phone.png`, fullPage: true });
  if (errors.length) fail(`console errors: ${errors.join(' | ')}`);
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
