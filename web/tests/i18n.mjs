// Every page in every language it offers, in headless Chromium: the page is
// filled from the message files (no key shown raw), <html lang dir> follow
// the language (Arabic right to left, map controls mirrored and labelled
// in the language), and a
// screenshot of each at 1280×800 and 390×844 lands in OUTPUT_DIR as
// lang-<code>-<page>-<width>.png. Also a Finnish safety walk (joined with
// JOIN_CODE; an admin closes it at the end, and the page says so in Finnish)
// and an Arabic report end to end (a server error shown in Arabic, then a
// report sent).
// Usage: node tests/i18n.mjs BASE_URL OUTPUT_DIR JOIN_CODE ADMIN_USER ADMIN_PASSWORD
import { readFileSync } from 'node:fs';
import { fail, launchBrowser } from './browser.mjs';

const [base, out, code, adminUser, adminPassword] = process.argv.slice(2);
const messages = Object.fromEntries(['sv', 'en', 'fi', 'ar', 'sv-lattlast'].map((c) => [
  c, JSON.parse(readFileSync(new URL(`../messages/${c}.json`, import.meta.url), 'utf8')),
]));
const browser = await launchBrowser();

const RESIDENT = ['sv', 'en', 'fi', 'ar'];
const mapReady = () => window.trygg?.map?.loaded() && window.trygg.map.areTilesLoaded();
// name, path, languages, what to wait for.
const PAGES = [
  ['report', '/report', ['sv', 'sv-lattlast', 'en', 'fi', 'ar'], async (p) => {
    await p.waitForSelector('#categories input', { timeout: 30000 });
    await p.waitForFunction(mapReady, null, { timeout: 30000 });
  }],
  ['walk', '/walk', RESIDENT, (p) => p.waitForSelector('#lang option', { state: 'attached', timeout: 30000 })],
  ['walk-app', '/walk', RESIDENT, async (p) => {
    await p.waitForSelector('#app:not([hidden]) #categories input', { timeout: 30000 });
    await p.waitForFunction(mapReady, null, { timeout: 30000 });
  }],
  ['areas', '/areas', RESIDENT, (p) => p.waitForSelector('body[data-ready=true]', { timeout: 30000 })],
  ['area-hovsjo', '/areas/hovsjo', RESIDENT, async (p) => {
    await p.waitForSelector('body[data-ready=true]', { timeout: 30000 });
    await p.waitForFunction(mapReady, null, { timeout: 30000 });
  }],
  ['planner', '/', ['sv', 'en'], async (p) => {
    await p.waitForFunction(mapReady, null, { timeout: 30000 });
  }],
  ['admin', '/admin', ['sv', 'en'], (p) => p.waitForSelector('body[data-ready=true]', { timeout: 30000 })],
];

async function open(viewport, init) {
  const context = await browser.newContext({ viewport });
  if (init) await context.addInitScript(init.fn, init.arg);
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  return { context, page, errors };
}

/** The page shows no message key raw and no empty message. */
async function checkFilled(page, where) {
  const raw = await page.evaluate(() => [...document.querySelectorAll('[data-i18n]')]
    .filter((el) => !el.textContent.trim() || el.textContent === el.dataset.i18n)
    .map((el) => el.dataset.i18n));
  if (raw.length) fail(`${where}: messages missing: ${raw.join(', ')}`);
}

/** <html lang dir> and the map controls' corner follow the language. */
async function checkDirection(page, lang, where) {
  const want = messages[lang].language;
  const got = await page.evaluate(() => ({
    lang: document.documentElement.lang,
    dir: document.documentElement.dir,
    zoomLeft: !!document.querySelector('.maplibregl-ctrl-top-left .maplibregl-ctrl-zoom-in'),
    zoomRight: !!document.querySelector('.maplibregl-ctrl-top-right .maplibregl-ctrl-zoom-in'),
    hasMap: !!window.trygg?.map,
    zoomLabel: document.querySelector('.maplibregl-ctrl-zoom-in')?.getAttribute('aria-label'),
  }));
  if (got.lang !== want.locale.split('-u-')[0]) fail(`${where}: <html lang> is ${got.lang}`);
  if (got.dir !== want.dir) fail(`${where}: <html dir> is ${got.dir}`);
  if (got.hasMap && (want.dir === 'rtl' ? !got.zoomLeft : !got.zoomRight)) fail(`${where}: the zoom buttons are on the wrong side`);
  // MapLibre's own labels in the page's language (a variant may fall back to its base).
  const zoomIn = messages[lang].map?.zoomIn || messages.sv.map.zoomIn;
  if (got.hasMap && got.zoomLabel !== zoomIn) fail(`${where}: the zoom button is labelled "${got.zoomLabel}", not "${zoomIn}"`);
}

try {
  // Staff and participant sessions made once, then handed to each page.
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: adminUser, password: adminPassword }),
  });
  if (!login.ok) throw new Error(`admin sign-in: HTTP ${login.status}`);
  const adminToken = (await login.json()).token;

  // (d) A Finnish safety walk: join, mark a finding, see it listed in Finnish.
  const fi = messages.fi;
  let walkSession;
  {
    const { context, page, errors } = await open({ width: 390, height: 844 });
    await page.goto(`${base}/walk`);
    await page.waitForSelector('#lang option', { state: 'attached' });
    await page.selectOption('#lang', 'fi');
    if ((await page.textContent('#join-btn')) !== fi.walk.joinWalk) fail('walk: the join button is not in Finnish');
    // A mistyped code is explained in Finnish.
    await page.fill('#code', 'ZZZZZZ');
    await page.click('#join-btn');
    await page.waitForSelector('#join-error:not([hidden])');
    const bad = await page.textContent('#join-error');
    if (bad !== fi.walk.badCode) fail(`walk: a wrong code says "${bad}"`);
    await page.fill('#code', code);
    await page.click('#join-btn');
    await page.waitForSelector('#app:not([hidden]) #categories input', { timeout: 10000 });
    await page.waitForFunction(mapReady, null, { timeout: 30000 });
    const labels = await page.$$eval('#categories label', (ls) => ls.map((l) => l.textContent));
    if (!labels.some((l) => l.includes(fi.categories.lighting))) fail(`walk: no Finnish category labels: ${labels.join(' | ')}`);
    const canvas = page.locator('#map canvas');
    await canvas.scrollIntoViewIfNeeded();
    const box = await canvas.boundingBox();
    await canvas.click({ position: { x: box.width / 2, y: box.height / 2 } });
    await page.check('input[value=lighting]', { force: true });
    await page.click('#save');
    await page.waitForFunction((s) => document.getElementById('outbox').textContent === s, fi.walk.allSent, { timeout: 15000 });
    // Listed at once as waiting, then as sent.
    await page.waitForFunction(() => document.querySelectorAll('#findings li:not(.pending)').length >= 1, null, { timeout: 10000 });
    const item = await page.textContent('#findings li');
    if (!item.includes(fi.categories.lighting) || !item.includes(fi.finding.open)) fail(`walk: the finding reads "${item}"`);
    await page.screenshot({ path: `${out}/lang-fi-walk-finding-390.png`, fullPage: true });
    walkSession = await page.evaluate(() => localStorage.getItem('trygg.walk'));
    // The wrong code's 404 is expected.
    if (errors.some((e) => !e.includes('status of 404'))) fail(`walk (fi): console errors: ${errors.join(' | ')}`);
    await context.close();
  }

  // (a) Every page, every language, two sizes.
  let shots = 0;
  for (const [name, path, languages, ready] of PAGES) {
    for (const lang of languages) {
      for (const viewport of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
        const where = `${path} (${lang}, ${viewport.width}px${name === 'walk-app' ? ', joined' : ''})`;
        const init = name === 'admin'
          ? { fn: (t) => sessionStorage.setItem('trygg.admin', t), arg: adminToken }
          : name === 'walk-app' ? { fn: (s) => localStorage.setItem('trygg.walk', s), arg: walkSession } : null;
        const { context, page, errors } = await open(viewport, init);
        await page.goto(`${base}${path}?lang=${lang}`);
        await ready(page);
        // A map resized while loading draws its last frame after 'idle'.
        await page.evaluate(() => new Promise((r) => {
          const m = window.trygg?.map;
          if (!m) { r(); return; }
          m.resize();
          m.once('idle', r);
          m.triggerRepaint();
        }));
        await page.waitForTimeout(300);
        await checkFilled(page, where);
        await checkDirection(page, lang, where);
        const chosen = await page.$eval('#lang', (el) => (el.tagName === 'SELECT' ? el.value : null));
        if (chosen !== null && chosen !== lang) fail(`${where}: the chooser shows ${chosen}`);
        await page.screenshot({ path: `${out}/lang-${lang}-${name}-${viewport.width}.png`, fullPage: name !== 'planner' });
        shots += 1;
        if (errors.length) fail(`${where}: console errors: ${errors.join(' | ')}`);
        await context.close();
      }
    }
  }

  // Staff pages offer only Swedish and English: a resident language chosen
  // elsewhere shows them in Swedish.
  {
    const { context, page } = await open({ width: 1280, height: 800 }, { fn: () => localStorage.setItem('trygg.lang', 'ar'), arg: null });
    await page.goto(`${base}/`);
    await page.waitForFunction(() => document.querySelector('.sub').textContent, null, { timeout: 30000 });
    const title = await page.textContent('.sub');
    if (title !== messages.sv.planner.title || (await page.evaluate(() => document.documentElement.dir)) !== 'ltr') fail(`the planner map in Arabic's stead shows "${title}"`);
    await context.close();
  }

  // (c) An Arabic report, end to end: the language chosen and remembered,
  // a time in the future refused by the server with an Arabic message,
  // then the report sent.
  {
    const ar = messages.ar;
    const { context, page, errors } = await open({ width: 390, height: 844 });
    await page.goto(`${base}/report`);
    await page.waitForSelector('#lang option', { state: 'attached' });
    await page.selectOption('#lang', 'ar');
    await page.reload();
    await page.waitForSelector('#categories input', { timeout: 30000 });
    await page.waitForFunction(mapReady, null, { timeout: 30000 });
    const root = await page.evaluate(() => [document.documentElement.lang, document.documentElement.dir]);
    if (root.join() !== 'ar,rtl') fail(`report: after a reload the page is ${root}`);
    if ((await page.textContent('#send')) !== ar.report.send) fail('report: the send button is not in Arabic');
    const map = page.locator('#map canvas');
    await map.scrollIntoViewIfNeeded();
    const box = await map.boundingBox();
    await map.click({ position: { x: box.width / 2, y: box.height / 2 } });
    await page.waitForSelector('.maplibregl-marker');
    const label = await page.textContent('#categories label:has(input[value=dark_area])');
    if (label !== ar.categories.dark_area) fail(`report: the category reads "${label}"`);
    await page.check('input[value=dark_area]');
    await page.fill('#comment', 'ممر مظلم بدون إنارة');
    const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
    await page.fill('#when', local(new Date(Date.now() + 2 * 86400000)));
    await page.click('#send');
    await page.waitForSelector('#error:not([hidden])', { timeout: 10000 });
    const shown = await page.textContent('#error');
    if (shown !== ar.errors.observedAtFuture) fail(`report: the server's refusal reads "${shown}"`);
    if (/[A-Za-z]/.test(shown)) fail(`report: Latin text in the Arabic error: "${shown}"`);
    await page.screenshot({ path: `${out}/lang-ar-report-error-390.png`, fullPage: true });
    // A change of language redraws the message shown.
    await page.selectOption('#lang', 'fi');
    const redrawn = await page.textContent('#error');
    if (redrawn !== messages.fi.errors.observedAtFuture) fail(`report: in Finnish the refusal reads "${redrawn}"`);
    await page.selectOption('#lang', 'ar');
    await page.fill('#when', local(new Date(Date.now() - 3600000)));
    await page.click('#send');
    await page.waitForSelector('#thanks:not([hidden])', { timeout: 10000 });
    if ((await page.textContent('#thanks h2')) !== ar.report.thanks) fail('report: the thanks are not in Arabic');
    await page.screenshot({ path: `${out}/lang-ar-report-sent-390.png` });
    // The refused report's 422 is expected.
    if (errors.some((e) => !e.includes('status of 422'))) fail(`report (ar): console errors: ${errors.join(' | ')}`);
    await context.close();
  }
  // The walk closed by its leader while a participant's page is open: a
  // finding saved after that is refused, and the Finnish page says why in
  // Finnish and takes no more. A page opened later knows without trying.
  {
    const walkId = JSON.parse(walkSession).walk.id;
    const { context, page } = await open({ width: 390, height: 844 }, { fn: (w) => localStorage.setItem('trygg.walk', w), arg: walkSession });
    // This page does not hear of the closing from a listing (the next
    // block checks that): only the refused save tells it.
    await page.route('**/api/v1/walks/*', (route) => (route.request().method() === 'GET' ? route.abort() : route.continue()));
    await page.goto(`${base}/walk?lang=fi`);
    await page.waitForSelector('#app:not([hidden]) #categories input', { timeout: 30000 });
    await page.waitForFunction(mapReady, null, { timeout: 30000 });
    if (await page.isVisible('#closed')) fail('walk: an open walk is said to be closed');
    const closed = await fetch(`${base}/api/v1/walks/${walkId}/close`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
    if (!closed.ok) throw new Error(`closing the walk: HTTP ${closed.status}`);
    const canvas = page.locator('#map canvas');
    await canvas.scrollIntoViewIfNeeded();
    const box = await canvas.boundingBox();
    await canvas.click({ position: { x: box.width / 2 + 30, y: box.height / 2 } });
    await page.check('input[value=vegetation]', { force: true });
    await page.click('#save');
    await page.waitForSelector('#closed:not([hidden])', { timeout: 15000 })
      .catch(() => fail('walk: a refused finding does not show that the walk is closed'));
    const said = await page.textContent('#closed');
    if (said !== messages.fi.errors.walkClosed) fail(`walk: after the walk closed the page says "${said}"`);
    if (!(await page.isDisabled('#save'))) fail('walk: "Tallenna" still takes findings on a closed walk');
    if (await page.isVisible('#error')) fail('walk: the closed walk is said twice, as an error too');
    await page.screenshot({ path: `${out}/lang-fi-walk-closed-390.png`, fullPage: true });
    await context.close();
  }
  {
    const { context, page } = await open({ width: 390, height: 844 }, { fn: (w) => localStorage.setItem('trygg.walk', w), arg: walkSession });
    await page.goto(`${base}/walk?lang=fi`);
    await page.waitForSelector('#closed:not([hidden])', { timeout: 30000 })
      .catch(() => fail('walk: a page opened after the walk closed does not say so'));
    if (!(await page.isDisabled('#save'))) fail('walk: a page opened after the walk closed still offers "Tallenna"');
    await context.close();
  }
  console.log(JSON.stringify({ screenshots: shots }));
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
