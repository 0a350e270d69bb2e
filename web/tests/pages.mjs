// Area pages and the admin page in headless Chromium.
// Usage: node tests/pages.mjs BASE_URL OUTPUT_DIR ADMIN_USER ADMIN_PASSWORD ANALYST_USER ANALYST_PASSWORD
import { chromium } from 'playwright-core';

const [base, out, user, password, analystUser, analystPassword] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking'],
});
function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exitCode = 1;
}
async function open(path, viewport) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}${path}`);
  return { page, errors };
}
// Repeated message keys are caught by tests/messages.mjs (the strings moved
// from i18n.js to web/messages/*.json).
try {
  for (const [name, viewport] of [['desktop', { width: 1280, height: 900 }], ['phone', { width: 360, height: 740 }]]) {
    const list = await open('/areas', viewport);
    await list.page.waitForSelector('body[data-ready=true]', { timeout: 30000 });
    const cards = await list.page.$$eval('.card', (cs) => cs.map((c) => c.querySelector('h2').textContent));
    if (!cards.includes('Hovsjö')) fail(`area list lacks Hovsjö: ${cards}`);
    await list.page.screenshot({ path: `${out}/areas-${name}.png`, fullPage: true });

    // Every page's links to the others are there on a phone too.
    for (const path of ['/', '/areas', '/report', '/walk', '/admin']) {
      const p = await open(path, viewport);
      for (const href of ['/', '/areas', '/report', '/walk']) {
        if (!(await p.page.locator(`nav.nav a[href="${href}"]`).isVisible())) fail(`${path} (${name}): no visible link to ${href}`);
      }
      await p.page.close();
    }

    const one = await open('/areas/hovsjo', viewport);
    await one.page.waitForSelector('body[data-ready=true]', { timeout: 30000 });
    await one.page.waitForFunction(() => window.trygg?.map?.loaded() && window.trygg.map.areTilesLoaded(), null, { timeout: 30000 });
    const total = Number(await one.page.textContent('#total'));
    if (!(total > 0)) fail(`Hovsjö total is ${total}`);
    await one.page.waitForSelector('.action h3', { timeout: 10000 });
    const actions = await one.page.$$eval('.action h3', (hs) => hs.map((h) => h.textContent));
    if (!actions.includes('Bättre belysning på gångstråken i Hovsjö')) fail(`Hovsjö's action plan lacks the lighting action: ${actions}`);
    const indicators = await one.page.$$eval('.indicator .value', (vs) => vs.length);
    if (indicators < 2) fail(`Hovsjö shows ${indicators} indicator values`);
    await one.page.screenshot({ path: `${out}/area-hovsjo-${name}.png`, fullPage: true });
    for (const p of [list, one]) if (p.errors.length) fail(`console errors: ${p.errors.join(' | ')}`);
  }

  // An analyst (signed in on the planner map, same tab) sees the area's
  // stored analyses, makes one and opens its report.
  {
    const { page, errors } = await open('/areas', { width: 1280, height: 900 });
    await page.evaluate(async ([u, p]) => {
      const r = await fetch('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: u, password: p }) });
      const { token, role } = await r.json();
      sessionStorage.setItem('trygg.session', JSON.stringify({ token, role }));
    }, [analystUser, analystPassword]);
    await page.goto(`${base}/areas/hovsjo`);
    await page.waitForSelector('#analyses:not([hidden])', { timeout: 30000 });
    await page.click('#analyse-now');
    await page.waitForSelector('#analysis-list li button', { timeout: 30000 });
    const [report] = await Promise.all([page.waitForEvent('popup'), page.click('#analysis-list li button')]);
    await report.waitForSelector('h1', { timeout: 10000 });
    const heading = await report.textContent('h1');
    if (heading !== 'Hovsjö') fail(`the report's heading is ${heading}`);
    await page.screenshot({ path: `${out}/area-hovsjo-analyst.png`, fullPage: true });
    // A month of their choosing, asked for with a double tap: one stored,
    // shown with when it was made; asking again stores no copy and says so.
    const entries = () => page.$$eval('#analysis-list li', (lis) => lis.map((li) => li.textContent));
    const before = (await entries()).length;
    const month = await page.$eval('#analysis-period optgroup:nth-of-type(2) option:nth-of-type(2)', (o) => o.value);
    await page.selectOption('#analysis-period', month);
    await page.dblclick('#analyse-now');
    await page.waitForFunction((n) => document.querySelectorAll('#analysis-list li').length > n, before, { timeout: 30000 });
    await page.waitForFunction(() => !document.getElementById('analyse-now').disabled, null, { timeout: 30000 });
    await page.waitForTimeout(500);
    const after = await entries();
    if (after.length !== before + 1) fail(`a double tap stored ${after.length - before} analyses`);
    if (!after.some((e) => e.includes(month) && e.includes('skapad'))) fail(`no entry for ${month} with its creation time: ${after}`);
    await page.click('#analyse-now');
    await page.waitForFunction(() => /ingen kopia/.test(document.getElementById('analysis-status').textContent), null, { timeout: 30000 });
    if ((await entries()).length !== after.length) fail('asking again stored a copy');
    await page.screenshot({ path: `${out}/area-hovsjo-analyses.png`, fullPage: true });
    if (errors.length) fail(`console errors for the analyst: ${errors.join(' | ')}`);
    // Anonymous visitors see no such section.
    const anon = await open('/areas/hovsjo', { width: 1280, height: 900 });
    await anon.page.waitForSelector('body[data-ready=true]', { timeout: 30000 });
    await anon.page.waitForSelector('.action h3', { timeout: 10000 });
    if (!(await anon.page.$eval('#analyses', (s) => s.hidden))) fail('stored analyses shown to an anonymous visitor');
  }

  // An admin signed in on the planner map is told why no points show, and
  // sees the stored analyses an analyst sees.
  {
    const { page, errors } = await open('/', { width: 1280, height: 900 });
    await page.evaluate(async ([u, p]) => {
      const r = await fetch('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: u, password: p }) });
      const { token, role } = await r.json();
      sessionStorage.setItem('trygg.session', JSON.stringify({ token, role }));
    }, [user, password]);
    await page.reload();
    await page.waitForSelector('#role-note:not([hidden])', { timeout: 30000 });
    const signin = await page.textContent('#signin');
    if (!signin.includes('Administratör')) fail(`the admin's sign-in button says ${signin}`);
    await page.goto(`${base}/areas/hovsjo`);
    await page.waitForSelector('#analyses:not([hidden])', { timeout: 30000 });
    await page.waitForSelector('#analysis-list li button', { timeout: 30000 });
    if (errors.length) fail(`console errors for the admin: ${errors.join(' | ')}`);
    await page.close();
  }

  const admin = await open('/admin', { width: 1280, height: 900 });
  await admin.page.fill('#username', user);
  await admin.page.fill('#password', password);
  await admin.page.click('#login button[type=submit]');
  await admin.page.waitForSelector('body[data-ready=true]', { timeout: 10000 });
  await admin.page.fill('#walk-name', 'Trygghetsvandring Ronna');
  await admin.page.selectOption('#walk-area', 'ronna');
  await admin.page.fill('#walk-date', '2026-12-03');
  await admin.page.click('#new-walk button[type=submit]');
  await admin.page.waitForFunction(() => [...document.querySelectorAll('#walk-rows td')].some((td) => td.textContent === 'Trygghetsvandring Ronna'), null, { timeout: 10000 });
  const code = await admin.page.textContent('#walk-rows code');
  if (!/^[A-Z0-9]{6}$/.test(code)) fail(`join code looks wrong: ${code}`);
  await admin.page.selectOption('#token-role', 'partner');
  await admin.page.fill('#token-org', 'Securitas');
  await admin.page.click('#token-form button[type=submit]');
  await admin.page.waitForSelector('#token-out:not([hidden])', { timeout: 10000 });
  // The new token is listed and can be revoked.
  await admin.page.waitForFunction(() => [...document.querySelectorAll('#token-rows td')].some((td) => td.textContent === 'Securitas'), null, { timeout: 10000 });
  const row = admin.page.locator('#token-rows tr', { hasText: 'Securitas' });
  await row.locator('button').click();
  await admin.page.waitForFunction(() => [...document.querySelectorAll('#token-rows tr')].some((tr) => tr.textContent.includes('Securitas') && !tr.querySelector('button')), null, { timeout: 10000 });
  await admin.page.screenshot({ path: `${out}/admin-desktop.png`, fullPage: true });
  if (admin.errors.length) fail(`console errors: ${admin.errors.join(' | ')}`);
  console.log(JSON.stringify({ code }));
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
