// End-to-end test of the resident report page in headless Chromium, by
// mouse at phone and desktop size, and by keyboard only.
// Usage: node tests/report.mjs BASE_URL OUTPUT_DIR
import { fail, launchBrowser } from './browser.mjs';

const [base, out] = process.argv.slice(2);
const browser = await launchBrowser();
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
    // The place asked for is chosen: the message about it goes.
    if (await page.isVisible('#error')) fail(`the message "${await page.textContent('#error')}" stays once a place is chosen (${name})`);
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
    // Reports reach back a month: the picker says so, and an older time is
    // explained before anything is sent; a time to come is too.
    const [min, max] = await page.$eval('#when', (e) => [e.min, e.max]);
    const daysBack = (Date.parse(max) - Date.parse(min)) / 86400000;
    if (Math.round(daysBack) !== 31) fail(`"När" reaches back ${daysBack} days (${min} to ${max}) (${name})`);
    for (const [at, says] of [['2020-01-01T12:00', 'Tiden ligger för långt tillbaka. Välj en senare tid.'], ['2099-01-01T12:00', 'Tiden ligger i framtiden. Välj en tid som redan har varit.']]) {
      await page.fill('#when', at);
      await page.click('#send');
      await page.waitForFunction((s) => document.getElementById('error').textContent === s, says, { timeout: 5000 })
        .catch(async () => fail(`"När" ${at} says "${await page.textContent('#error')}" (${name})`));
    }
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
  // Keyboard only (no mouse, no GPS), at phone size: Tab to the map, pan
  // with the arrow keys, Enter chooses the centre, then the form by Tab,
  // Space and typing, and Enter sends.
  {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${base}/report`);
    await page.waitForSelector('#categories input', { timeout: 30000 });
    await page.waitForFunction(() => window.trygg?.map?.loaded(), null, { timeout: 30000 });
    // The map's controls speak Swedish.
    const zoomIn = await page.getAttribute('.maplibregl-ctrl-zoom-in', 'aria-label');
    if (zoomIn !== 'Zooma in') fail(`the zoom button is labelled "${zoomIn}"`);
    /** Presses Tab until `test` holds for the focused element. */
    const tabTo = async (what, test) => {
      for (let i = 0; i < 40; i += 1) {
        await page.keyboard.press('Tab');
        if (await page.evaluate(test)) return;
      }
      throw new Error(`Tab never reaches ${what}`);
    };
    await tabTo('the map', () => document.activeElement?.closest('#map') && document.activeElement.tagName === 'CANVAS');
    const before = await page.evaluate(() => window.trygg.map.getCenter().toArray());
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.maplibregl-marker', { timeout: 5000 });
    const chosen = await page.evaluate(() => window.trygg.map.getCenter().toArray());
    if (chosen[0] <= before[0] || chosen[1] <= before[1]) fail(`the arrow keys did not pan the map: ${before} → ${chosen}`);
    if ((await page.textContent('#where-status')) !== 'Plats vald') fail('no "Plats vald" after Enter on the map');
    await page.screenshot({ path: `${out}/report-keyboard-place.png` });
    await tabTo('the time', () => document.activeElement?.id === 'when');
    await tabTo('a category', () => document.activeElement?.name === 'category');
    await page.keyboard.press('Space');
    await page.keyboard.press('ArrowDown');
    const category = await page.evaluate(() => document.querySelector('input[name=category]:checked')?.value);
    if (!category) fail('Space and the arrow keys choose no category');
    await tabTo('the comment', () => document.activeElement?.id === 'comment');
    await page.keyboard.type('Mörkt, valt med tangentbordet');
    await tabTo('the send button', () => document.activeElement?.id === 'send');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#thanks:not([hidden])', { timeout: 10000 }).catch(async () => {
      await page.screenshot({ path: `${out}/report-keyboard-failed.png`, fullPage: true });
      throw new Error(`no thanks after a keyboard-only report; the page says: ${await page.textContent('#error')}`);
    });
    // The keyboard goes on from the thanks, not from the top of the page.
    if (!(await page.evaluate(() => document.activeElement?.closest('#thanks')))) fail('after sending, the keyboard is not at the thanks');
    await page.screenshot({ path: `${out}/report-keyboard-sent.png` });
    if (errors.length) fail(`console errors (keyboard): ${errors.join(' | ')}`);
  }
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
