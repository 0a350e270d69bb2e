// Area pages and the admin page in headless Chromium.
// Usage: node tests/pages.mjs BASE_URL OUTPUT_DIR ADMIN_USER ADMIN_PASSWORD ANALYST_USER ANALYST_PASSWORD
import { fail, launchBrowser } from './browser.mjs';

const [base, out, user, password, analystUser, analystPassword] = process.argv.slice(2);
const browser = await launchBrowser();
async function open(path, viewport) {
  // The clipboard, for the admin's copy button.
  const page = await browser.newPage({ viewport, permissions: ['clipboard-read', 'clipboard-write'] });
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

  // The area pages' period: "till och med" an inclusive end (the API gets
  // the day after), kept in the address and carried by the list's links.
  {
    const { page, errors } = await open('/areas', { width: 1280, height: 900 });
    await page.waitForSelector('body[data-ready=true]', { timeout: 30000 });
    const label = await page.textContent('label:has(#to) span');
    if (label !== 'Till och med') fail(`the areas' end date is labelled ${label}`);
    await page.fill('#from', '2026-01-01');
    const asked = page.waitForRequest((r) => r.url().includes('/summary?') && r.url().includes('to='), { timeout: 10000 });
    await page.fill('#to', '2026-06-30');
    await page.dispatchEvent('#to', 'change');
    const to = new URL((await asked).url()).searchParams.get('to');
    if (to !== '2026-07-01') fail(`an end date of 2026-06-30 (inclusive) asks the API for to=${to}`);
    const address = new URL(page.url()).searchParams;
    if (address.get('from') !== '2026-01-01' || address.get('to') !== '2026-06-30') fail(`the areas' address lacks the period: ${page.url()}`);
    const link = await page.getAttribute('.card', 'href');
    if (!link.endsWith('?from=2026-01-01&to=2026-06-30')) fail(`an area card links to ${link} without the period`);
    if (errors.length) fail(`console errors with a period: ${errors.join(' | ')}`);
    await page.close();
  }

  // An area that does not exist: a plain message and a way back, no empty boxes.
  for (const [lang, viewport, says] of [['sv', { width: 1280, height: 800 }, 'Det finns inget område som heter nosuch.'], ['en', { width: 390, height: 844 }, 'There is no area called nosuch.'], ['ar', { width: 390, height: 844 }, null]]) {
    const { page, errors } = await open(`/areas/nosuch?lang=${lang}`, viewport);
    // The page is answered 404, as a link checker should see it.
    const status = await page.evaluate(() => performance.getEntriesByType('navigation')[0].responseStatus);
    if (status !== 404) fail(`/areas/nosuch is answered ${status}`);
    await page.waitForSelector('body[data-ready=true]', { timeout: 30000 });
    const text = await page.textContent('#missing-text');
    if (says ? text !== says : !text.includes('nosuch')) fail(`/areas/nosuch (${lang}) says ${text}`);
    if (!(await page.locator('#missing a[href="/areas"]').isVisible())) fail(`/areas/nosuch (${lang}) has no link back to the list`);
    for (const sel of ['#detail', '.figures', '#list', '.period']) {
      if (await page.locator(sel).isVisible()) fail(`/areas/nosuch (${lang}) shows ${sel}`);
    }
    await page.screenshot({ path: `${out}/area-nosuch-${lang}-${viewport.width}.png`, fullPage: true });
    const unexpected = errors.filter((e) => !e.includes('status of 404'));
    if (unexpected.length) fail(`console errors on /areas/nosuch: ${unexpected.join(' | ')}`);
    await page.close();
  }

  // An analyst signs in on /areas itself (the same dialog as on the planner
  // map), keeps the period, sees the area's stored analyses, makes one and
  // opens its report.
  {
    const { page, errors } = await open('/areas?to=2026-06-30', { width: 1280, height: 900 });
    await page.waitForSelector('body[data-ready=true]', { timeout: 30000 });
    if ((await page.textContent('#signin')) !== 'Personalinloggning') fail(`/areas' sign-in button says ${await page.textContent('#signin')}`);
    await page.click('#signin');
    await page.fill('#signin-user', analystUser);
    await page.fill('#signin-password', 'not the password');
    await page.click('#signin-form button[type=submit]');
    await page.waitForSelector('#signin-error:not([hidden])', { timeout: 10000 });
    await page.screenshot({ path: `${out}/areas-signin-failed.png` });
    // The browser logs the refused sign-in (401): expected here.
    errors.length = 0;
    await page.fill('#signin-password', analystPassword);
    await Promise.all([page.waitForNavigation(), page.click('#signin-form button[type=submit]')]);
    await page.waitForSelector('body[data-ready=true]', { timeout: 30000 });
    if ((await page.textContent('#signin')) !== 'Analytiker – logga ut') fail(`after signing in on /areas the button says ${await page.textContent('#signin')}`);
    if ((await page.inputValue('#to')) !== '2026-06-30') fail('signing in on /areas lost the period');
    await page.goto(`${base}/areas/hovsjo`);
    await page.waitForSelector('#analyses:not([hidden])', { timeout: 30000 });
    await page.click('#analyse-now');
    await page.waitForSelector('#analysis-list li button', { timeout: 30000 });
    const [report] = await Promise.all([page.waitForEvent('popup'), page.click('#analysis-list li button')]);
    await report.waitForSelector('h1', { timeout: 10000 });
    const heading = await report.textContent('h1');
    if (heading !== 'Hovsjö') fail(`the report's heading is ${heading}`);
    // The report has an address of its own, and a reload keeps it.
    if (!/\/analyses\/[0-9a-f-]{36}$/.test(report.url())) fail(`the report opened at ${report.url()}`);
    await report.reload();
    await report.waitForSelector('h1', { timeout: 10000 });
    if ((await report.textContent('h1')) !== 'Hovsjö') fail('the report does not survive a reload');
    await report.screenshot({ path: `${out}/analysis-report.png`, fullPage: true });
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
    // Admins read them too, and the note says so.
    const note = await page.textContent('#analyses .note');
    if (!/analytiker och administratörer/.test(note)) fail(`the stored analyses' note says: ${note}`);
    if ((await page.textContent('#signin')) !== 'Administratör – logga ut') fail('/areas does not show the admin session');
    if (errors.length) fail(`console errors for the admin: ${errors.join(' | ')}`);
    await page.close();
  }

  const admin = await open('/admin', { width: 1280, height: 900 });
  await admin.page.fill('#username', user);
  await admin.page.fill('#password', password);
  await admin.page.click('#login button[type=submit]');
  await admin.page.waitForSelector('body[data-ready=true]', { timeout: 10000 });
  // A name of its own, so that reruns and the demo's walks are told apart.
  const walkName = `Trygghetsvandring Ronna ${Date.now().toString(36)}`;
  await admin.page.fill('#walk-name', walkName);
  await admin.page.selectOption('#walk-area', 'ronna');
  await admin.page.fill('#walk-date', '2026-12-03');
  await admin.page.click('#new-walk button[type=submit]');
  await admin.page.waitForFunction((n) => [...document.querySelectorAll('#walk-rows td')].some((td) => td.textContent === n), walkName, { timeout: 10000 });
  const walkRow = admin.page.locator('#walk-rows tr', { hasText: walkName });
  const code = await walkRow.locator('code').textContent();
  if (!/^[A-Z0-9]{6}$/.test(code)) fail(`join code looks wrong: ${code}`);
  // The area by its name, not its id.
  const areaCell = await walkRow.locator('td').nth(2).textContent();
  if (areaCell !== 'Ronna') fail(`the walk's area shows as ${areaCell}`);
  // A link to the walk app with the code filled in, and a button to copy it.
  const joinHref = await walkRow.locator('a.join-link').getAttribute('href');
  if (joinHref !== `${base}/walk?code=${code}`) fail(`the walk's link is ${joinHref}`);
  await walkRow.locator('button.copy').click();
  await walkRow.locator('.copy-status', { hasText: 'Länken är kopierad.' }).waitFor({ timeout: 5000 });
  const copied = await admin.page.evaluate(() => navigator.clipboard.readText());
  if (copied !== joinHref) fail(`the copy button copied ${copied}`);
  const walkPage = await open(`/walk?code=${code}`, { width: 390, height: 844 });
  await walkPage.page.waitForFunction((c) => document.getElementById('code')?.value === c, code, { timeout: 30000 })
    .catch(() => fail('/walk?code= does not fill in the join code'));
  await walkPage.page.screenshot({ path: `${out}/walk-code-from-link.png` });
  await walkPage.page.close();
  // Closing a walk asks first, by keyboard too: Escape keeps it open.
  const closeButton = walkRow.locator('td').nth(4).locator('button');
  await closeButton.focus();
  await admin.page.keyboard.press('Enter');
  await admin.page.waitForSelector('#close-dialog[open]', { timeout: 5000 });
  const asks = await admin.page.textContent('#close-text');
  if (!asks.includes(walkName)) fail(`the close question says ${asks}`);
  await admin.page.screenshot({ path: `${out}/admin-close-confirm.png` });
  await admin.page.keyboard.press('Escape');
  await admin.page.waitForSelector('#close-dialog:not([open])', { state: 'attached', timeout: 5000 });
  await admin.page.waitForTimeout(300);
  if (!(await closeButton.isVisible())) fail('Escape on the close question closed the walk');
  await closeButton.focus();
  await admin.page.keyboard.press('Enter');
  await admin.page.waitForSelector('#close-dialog[open]', { timeout: 5000 });
  await admin.page.keyboard.press('Shift+Tab');
  await admin.page.keyboard.press('Enter');
  await admin.page.waitForFunction((n) => [...document.querySelectorAll('#walk-rows tr')].some((tr) => tr.textContent.includes(n) && tr.textContent.includes('Avslutad') && !tr.querySelector('button')), walkName, { timeout: 10000 })
    .catch(() => fail('confirming did not close the walk'));
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

  // On a 390 px phone every column of the walks' table is in view.
  {
    const phone = await open('/admin', { width: 390, height: 844 });
    await phone.page.fill('#username', user);
    await phone.page.fill('#password', password);
    await phone.page.click('#login button[type=submit]');
    await phone.page.waitForSelector('body[data-ready=true]', { timeout: 10000 });
    const cut = await phone.page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      // An open walk's row (with its link) if there is one, else any walk's.
      const rows = [...document.querySelectorAll('#walk-rows tr')];
      const row = rows.find((tr) => tr.querySelector('a.join-link')) ?? rows[0];
      if (!row) return ['no walk rows'];
      return [...row.querySelectorAll('td, code, a, button')].filter((e) => e.getBoundingClientRect().right > width + 0.5).map((e) => e.tagName + (e.textContent || '').slice(0, 20));
    });
    if (cut.length) fail(`on a phone these walk cells run past the screen: ${cut}`);
    const scrolls = await phone.page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
    if (scrolls) fail('the admin page scrolls sideways on a phone');
    await phone.page.screenshot({ path: `${out}/admin-phone.png`, fullPage: true });
    if (phone.errors.length) fail(`console errors on the phone: ${phone.errors.join(' | ')}`);
    await phone.page.close();
  }
  console.log(JSON.stringify({ code }));
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
