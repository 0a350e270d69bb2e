// End-to-end test of the safety-walk app: join with a code, go offline,
// save two findings (one placed by keyboard), reload while offline (the
// service worker opens the app, the queue still listed), come back online;
// each must arrive exactly once, listed newest first. At 390×844 the map and
// the Save button are on screen together.
// Usage: node tests/walk.mjs BASE_URL OUTPUT_DIR JOIN_CODE
import { fail, launchBrowser } from './browser.mjs';

const [base, out, code] = process.argv.slice(2);
const browser = await launchBrowser();
// The phone of the user tests.
const PHONE = { width: 390, height: 844 };
/** The element's box is wholly on screen (no scrolling needed to reach it). */
const onScreen = (sel) => {
  const r = document.querySelector(sel).getBoundingClientRect();
  return r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth && r.height > 0;
};
/** The findings list as [category text, pending] pairs, top to bottom. */
const listed = () => [...document.querySelectorAll('#findings li')].map((li) => [li.dataset.id, li.classList.contains('pending'), li.textContent]);
try {
  const context = await browser.newContext({ viewport: PHONE });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('net::ERR_INTERNET_DISCONNECTED')) errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}/walk`);
  await page.screenshot({ path: `${out}/walk-join-phone.png` });
  // No code yet: the page asks for it, and sends nothing.
  await page.click('#join-btn');
  await page.waitForFunction(() => document.getElementById('join-error').textContent === 'Skriv koden du har fått.', null, { timeout: 5000 })
    .catch(async () => fail(`joining with no code says "${await page.textContent('#join-error')}"`));
  // Enter in the code field (a phone keyboard's "Go") joins.
  await page.fill('#code', code.toLowerCase());
  await page.press('#code', 'Enter');
  await page.waitForSelector('#app:not([hidden])', { timeout: 30000 });
  await page.waitForFunction(() => document.activeElement?.id === 'walk-name', null, { timeout: 10000 })
    .catch(() => fail('after joining, the keyboard is not at the walk\'s name'));
  await page.waitForFunction(() => window.trygg?.map?.loaded(), null, { timeout: 30000 });
  // The service worker has the app cached and controls the page.
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller, null, { timeout: 10000 });
  // The map's controls speak Swedish.
  const zoomIn = await page.getAttribute('.maplibregl-ctrl-zoom-in', 'aria-label');
  if (zoomIn !== 'Zooma in') fail(`the zoom button is labelled "${zoomIn}"`);

  await context.setOffline(true);
  for (const [dx, category] of [[-40, 'lighting'], [40, 'vegetation']]) {
    if (dx < 0) {
      // By keyboard: focus the map, pan with an arrow key, Enter takes the centre.
      await page.focus('#map canvas');
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => document.getElementById('where-status').textContent.includes('Plats vald'));
    } else {
      // The first finding is queued, and the map has stopped after the
      // keyboard's pan, before the tap (a tap on a moving map only stops it).
      await page.waitForFunction(() => document.getElementById('outbox').textContent.startsWith('1 '), null, { timeout: 10000 });
      await page.waitForFunction(() => !window.trygg.map.isMoving(), null, { timeout: 10000 });
      const box = await page.locator('#map canvas').boundingBox();
      await page.mouse.click(box.x + box.width / 2 + dx, box.y + box.height / 2);
    }
    await page.waitForSelector('.maplibregl-marker');
    // Map and Save both on screen at once: no scrolling between them.
    const scrolled = await page.evaluate(() => scrollY);
    if (scrolled !== 0) fail(`the page scrolled (${scrolled}px) to choose a place`);
    if (!(await page.evaluate(onScreen, '#save'))) fail(`"Spara" is off screen after choosing a place at 390×844: ${JSON.stringify(await page.$eval('#save', (e) => e.getBoundingClientRect()))}`);
    if (!(await page.evaluate(onScreen, '#categories'))) fail('the categories are off screen after choosing a place');
    if (dx < 0) await page.screenshot({ path: `${out}/walk-place-chosen-phone.png` });
    await page.check(`input[value=${category}]`, { force: true });
    // A double tap (the second finding) must save once.
    if (dx > 0) await page.dblclick('#save');
    else await page.click('#save');
    // Observed times must differ for a stable newest-first order.
    await page.waitForTimeout(20);
  }
  await page.waitForFunction(() => document.getElementById('outbox').textContent.startsWith('2 '), null, { timeout: 10000 })
    .catch(async () => fail(`two findings saved offline, the outbox says "${await page.textContent('#outbox')}"`));
  // Queued findings are listed, newest first, marked as waiting.
  await page.waitForFunction(() => document.querySelectorAll('#findings li.pending').length === 2, null, { timeout: 5000 })
    .catch(() => fail('the two queued findings are not listed as waiting'));
  let items = await page.evaluate(listed);
  if (!items[0]?.[2].includes('Skymmande buskage') || !items[1]?.[2].includes('Belysning')) fail(`offline list not newest first: ${JSON.stringify(items)}`);
  if (!items.every(([, , text]) => text.includes('Väntar på att skickas'))) fail(`queued findings not marked as waiting: ${JSON.stringify(items)}`);
  await page.screenshot({ path: `${out}/walk-offline-phone.png`, fullPage: true });

  // A reload without a connection still opens the app, queue and all.
  await page.reload();
  await page.waitForSelector('#app:not([hidden])', { timeout: 15000 });
  await page.waitForFunction(() => document.querySelectorAll('#findings li.pending').length === 2, null, { timeout: 10000 })
    .catch(() => fail('after an offline reload the queued findings are not listed'));
  if (!(await page.textContent('#outbox')).startsWith('2 ')) fail(`after an offline reload the outbox says "${await page.textContent('#outbox')}"`);
  // Findings sent before the reload are not kept on the phone: the list says they come back.
  if (!(await page.isVisible('#findings-offline'))) fail('after an offline reload the list does not say that sent findings come back online');
  await page.waitForFunction(() => window.trygg?.map?.loaded(), null, { timeout: 30000 })
    .catch(() => fail('after an offline reload the map does not load'));
  await page.screenshot({ path: `${out}/walk-offline-reloaded-phone.png`, fullPage: true });

  await context.setOffline(false);
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await page.waitForFunction(() => document.getElementById('outbox').textContent === 'Allt är skickat', null, { timeout: 15000 });
  // Sent: the same two, no longer waiting, no duplicates, newest first.
  await page.waitForFunction(() => document.querySelectorAll('#findings li').length === 2 && !document.querySelector('#findings li.pending'), null, { timeout: 10000 });
  await page.waitForSelector('#findings-offline', { state: 'hidden', timeout: 10000 })
    .catch(() => fail('online, the list still says that sent findings come back online'));
  items = await page.evaluate(listed);
  if (new Set(items.map(([id]) => id)).size !== 2) fail(`duplicates in the list: ${JSON.stringify(items)}`);
  if (!items[0][2].includes('Skymmande buskage') || !items[1][2].includes('Belysning')) fail(`sent list not newest first: ${JSON.stringify(items)}`);
  await page.screenshot({ path: `${out}/walk-sent-phone.png`, fullPage: true });

  // Wide screen: map beside the form, Save in view.
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.waitForTimeout(300);
  if (!(await page.evaluate(onScreen, '#save'))) fail('"Spara" is off screen at 1280×800');
  await page.screenshot({ path: `${out}/walk-desktop.png` });
  if (errors.length) fail(`console errors: ${errors.join(' | ')}`);
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
