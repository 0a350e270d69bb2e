// End-to-end test of changing and removing findings in the safety-walk app,
// on a 390×844 phone: a participant saves two findings; another participant
// saves one (which offers no controls to the first). The first changes one
// (category and comment, with a double tap on Save: one PATCH), leaves the
// editor with Escape (nothing sent, nothing changed), and removes the other
// after confirming (one DELETE). The list and the map follow each change.
// axe-core checks the open editor, in Swedish and in Arabic (right to left).
// Usage: node tests/walk-edit.mjs BASE_URL OUTPUT_DIR JOIN_CODE
import { readFileSync } from 'node:fs';
import { fail, launchBrowser } from './browser.mjs';

const [base, out, code] = process.argv.slice(2);
const axe = readFileSync(new URL('../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
const browser = await launchBrowser();
const PHONE = { width: 390, height: 844 };
const LIGHTING = 'Belysning saknas eller är trasig';
const VEGETATION = 'Skymmande buskage';
const POOR_VISIBILITY = 'Dålig överblick';
const OTHER_CATEGORY = 'Bristande underhåll';

/** A participant's phone, joined to the walk. Service workers are off so that the test sees (and can slow) every request. */
async function participant(lang) {
  const context = await browser.newContext({ viewport: PHONE, serviceWorkers: 'block', bypassCSP: true });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  // A slow taxonomy: a tap on "join" before the page is wired must not be lost.
  await page.route('**/api/v1/taxonomy', async (route) => {
    await new Promise((resolve) => { setTimeout(resolve, 500); });
    await route.continue();
  });
  await page.goto(lang ? `${base}/walk?lang=${lang}` : `${base}/walk`);
  await page.fill('#code', code);
  await page.click('#join-btn');
  await page.waitForSelector('#app:not([hidden])', { timeout: 30000 });
  await page.waitForFunction(() => window.trygg?.map?.loaded(), null, { timeout: 30000 });
  return { context, page, errors };
}

/** Saves a finding through the form: a tap on the map, a category, a comment. */
async function saveFinding(page, dx, category, comment) {
  await page.waitForFunction(() => !window.trygg.map.isMoving(), null, { timeout: 30000 });
  const box = await page.locator('#map canvas').boundingBox();
  await page.mouse.click(box.x + box.width / 2 + dx, box.y + box.height / 2);
  await page.waitForSelector('.maplibregl-marker');
  await page.check(`#categories input[value=${category}]`, { force: true });
  if (comment) await page.fill('#comment', comment);
  const before = await page.locator('#findings li:not(.pending)').count();
  await page.click('#save');
  await page.waitForFunction((n) => document.querySelectorAll('#findings li:not(.pending)').length > n, before, { timeout: 30000 });
  // Observed times must differ for a stable newest-first order.
  await page.waitForTimeout(30);
}

/** The list as {id, text, buttons: [accessible name, width, height]}. */
const listed = () => [...document.querySelectorAll('#findings li')].map((li) => ({
  id: li.dataset.id,
  text: li.querySelector('.what')?.textContent ?? li.textContent,
  buttons: [...li.querySelectorAll('button')].map((b) => {
    const r = b.getBoundingClientRect();
    return [b.getAttribute('aria-label') || b.textContent, Math.round(r.width), Math.round(r.height)];
  }),
}));

/** The server's word on the walk's findings, as this participant sees them. */
const serverFindings = () => fetch('/api/v1/observations?limit=1000', {
  headers: { authorization: `Bearer ${JSON.parse(localStorage.getItem('trygg.walk')).token}` },
}).then((r) => r.json()).then((fc) => Object.fromEntries(fc.features.map((f) => [f.id, f.properties])));

/** The findings the map draws, by id. */
const mapFindings = async () => Object.fromEntries((await window.trygg.map.getSource('findings').getData()).features.map((f) => [f.id, f.properties.category]));

async function axeCheck(page, what) {
  await page.addScriptTag({ content: axe });
  const violations = await page.evaluate(async () => (await window.axe.run(document, {
    runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'],
  })).violations.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')})`));
  if (violations.length) fail(`axe on ${what}:\n  ${violations.join('\n  ')}`);
}

try {
  const a = await participant();
  const { page } = a;
  // Every change the page sends, and a little delay on each, so that a
  // double tap lands while the first request is still on its way.
  const sent = [];
  page.on('request', (r) => {
    if (['PATCH', 'DELETE'].includes(r.method())) sent.push([r.method(), r.url(), r.postData()]);
  });
  await page.route('**/api/v1/observations/*', async (route) => {
    if (['PATCH', 'DELETE'].includes(route.request().method())) await new Promise((resolve) => { setTimeout(resolve, 400); });
    await route.continue();
  });

  await saveFinding(page, -40, 'lighting', 'Mörkt vid cykelbanan');
  await saveFinding(page, 40, 'vegetation');

  // Another participant on the same walk saves one.
  const b = await participant();
  await saveFinding(b.page, 0, 'maintenance');
  const otherId = (await b.page.evaluate(listed)).find((x) => x.text.includes(OTHER_CATEGORY))?.id;
  if (!otherId) fail('the second participant\'s finding is not in their own list');
  if (b.errors.length) fail(`console errors (second participant): ${b.errors.join(' | ')}`);
  await b.context.close();

  // The first participant's list picks it up (the next listing).
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await page.waitForFunction((id) => document.querySelector(`#findings li[data-id="${id}"]`), otherId, { timeout: 30000 })
    .catch(() => fail('the other participant\'s finding does not appear in the list'));
  let items = await page.evaluate(listed);
  const lighting = items.find((x) => x.text.includes(LIGHTING));
  const vegetation = items.find((x) => x.text.includes(VEGETATION));
  const other = items.find((x) => x.id === otherId);
  if (!lighting || !vegetation) throw new Error(`own findings not listed: ${JSON.stringify(items)}`);
  if (other?.buttons.length) fail(`another participant's finding offers controls: ${JSON.stringify(other)}`);
  for (const own of [lighting, vegetation]) {
    const names = own.buttons.map(([name]) => name);
    if (names.length !== 2 || !names[0].startsWith('Ändra') || !names[1].startsWith('Ta bort')) fail(`own finding's controls: ${JSON.stringify(own)}`);
    // Each control says which finding it is for, and is large enough to tap.
    if (!names.every((n) => n.includes(own.text.split(' · ')[0]))) fail(`controls do not name their finding: ${JSON.stringify(own)}`);
    for (const [name, w, h] of own.buttons) if (w < 44 || h < 44) fail(`"${name}" is ${w}×${h}px, smaller than 44×44`);
  }
  await page.locator('#findings').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${out}/walk-edit-list-phone.png`, fullPage: true });

  // Change the lighting finding: another category, the comment cleared.
  // Reached by keyboard: focus its "Ändra", Enter.
  await page.focus(`#findings li[data-id="${lighting.id}"] [data-action=edit]`);
  await page.keyboard.press('Enter');
  await page.waitForSelector('dialog.finding-editor[open]');
  const prefilled = await page.evaluate(() => ({
    category: document.querySelector('.finding-editor input[name=edit-category]:checked')?.value,
    severity: document.querySelector('.finding-editor input[name=edit-severity]:checked')?.value,
    comment: document.querySelector('.finding-editor textarea').value,
    focusInside: document.querySelector('dialog.finding-editor').contains(document.activeElement),
  }));
  if (prefilled.category !== 'lighting' || prefilled.severity !== '2' || prefilled.comment !== 'Mörkt vid cykelbanan') fail(`the editor is not prefilled: ${JSON.stringify(prefilled)}`);
  if (!prefilled.focusInside) fail('the focus is not in the open editor');
  // The editor fits the phone's width; Save is reachable in it.
  const dialogBox = await page.locator('dialog.finding-editor').boundingBox();
  if (dialogBox.x < 0 || dialogBox.x + dialogBox.width > PHONE.width) fail(`the editor is wider than the phone: ${JSON.stringify(dialogBox)}`);
  await page.screenshot({ path: `${out}/walk-edit-editor-phone.png` });
  await axeCheck(page, 'the open editor (sv)');
  await page.check('.finding-editor input[value=poor_visibility]', { force: true });
  await page.fill('.finding-editor textarea', '');
  await page.dblclick('.finding-editor button[type=submit]');
  await page.waitForSelector('dialog.finding-editor', { state: 'detached', timeout: 30000 })
    .catch(() => fail('the editor stays open after saving'));
  await page.waitForTimeout(600); // a second PATCH would have been sent by now
  const patches = sent.filter(([m]) => m === 'PATCH');
  if (patches.length !== 1) fail(`a double tap on Save sent ${patches.length} PATCH requests: ${JSON.stringify(patches)}`);
  else {
    const body = JSON.parse(patches[0][2]);
    if (body.category !== 'poor_visibility' || body.description !== '' || 'severity' in body) fail(`the PATCH sent ${patches[0][2]}`);
  }
  items = await page.evaluate(listed);
  const changed = items.find((x) => x.id === lighting.id);
  if (!changed?.text.includes(POOR_VISIBILITY)) fail(`the list does not show the new category: ${JSON.stringify(changed)}`);
  if (!(await page.textContent('#findings-status')).includes(POOR_VISIBILITY)) fail(`no word that the change is saved: "${await page.textContent('#findings-status')}"`);
  // The keyboard is back on the finding's "Ändra".
  const focused = await page.evaluate(() => [document.activeElement?.closest('li')?.dataset.id, document.activeElement?.dataset.action]);
  if (focused[0] !== lighting.id || focused[1] !== 'edit') fail(`after saving the focus is on ${JSON.stringify(focused)}`);
  let server = await page.evaluate(serverFindings);
  if (server[lighting.id]?.category !== 'poor_visibility' || server[lighting.id]?.description != null) fail(`the server has ${JSON.stringify(server[lighting.id])}`);
  if ((await page.evaluate(mapFindings))[lighting.id] !== 'poor_visibility') fail('the map still draws the old category');
  await page.screenshot({ path: `${out}/walk-edit-changed-phone.png`, fullPage: true });

  // Escape leaves the editor and changes nothing, even after edits in it.
  await page.click(`#findings li[data-id="${lighting.id}"] [data-action=edit]`);
  await page.waitForSelector('dialog.finding-editor[open]');
  await page.check('.finding-editor input[value=litter]', { force: true });
  await page.fill('.finding-editor textarea', 'inte sparat');
  // The list is drawn again behind the open editor (a listing arrives).
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await page.waitForTimeout(500);
  await page.keyboard.press('Escape');
  await page.waitForSelector('dialog.finding-editor', { state: 'detached', timeout: 15000 })
    .catch(() => fail('Escape does not close the editor'));
  const back = await page.evaluate(() => [document.activeElement?.closest('li')?.dataset.id, document.activeElement?.dataset.action]);
  if (back[0] !== lighting.id || back[1] !== 'edit') fail(`after Escape the focus is on ${JSON.stringify(back)}`);
  await page.waitForTimeout(600);
  if (sent.filter(([m]) => m === 'PATCH').length !== 1) fail('Escape in the editor sent a change');
  if (!(await page.evaluate(listed)).find((x) => x.id === lighting.id)?.text.includes(POOR_VISIBILITY)) fail('the list changed after Escape');
  // Cancel too; then a comment set on the same finding.
  await page.click(`#findings li[data-id="${lighting.id}"] [data-action=edit]`);
  await page.waitForSelector('dialog.finding-editor[open]');
  if (await page.inputValue('.finding-editor textarea') !== '') fail('the editor shows the comment typed before Escape');
  await page.fill('.finding-editor textarea', 'Buskarna skymmer lampan');
  await page.click('.finding-editor button[type=submit]');
  await page.waitForSelector('dialog.finding-editor', { state: 'detached', timeout: 30000 });
  server = await page.evaluate(serverFindings);
  if (server[lighting.id]?.description !== 'Buskarna skymmer lampan' || server[lighting.id]?.category !== 'poor_visibility') fail(`after setting the comment the server has ${JSON.stringify(server[lighting.id])}`);
  if (sent.filter(([m]) => m === 'PATCH').length !== 2) fail(`setting the comment sent ${sent.filter(([m]) => m === 'PATCH').length - 1} PATCH requests`);

  // Remove the vegetation finding: asked first; Cancel keeps it.
  const countBefore = (await page.evaluate(listed)).length;
  await page.click(`#findings li[data-id="${vegetation.id}"] [data-action=remove]`);
  await page.waitForSelector('dialog.finding-remove[open]');
  if (!(await page.textContent('dialog.finding-remove')).includes(VEGETATION)) fail('the question does not name the finding');
  await page.screenshot({ path: `${out}/walk-edit-confirm-phone.png` });
  await page.click('dialog.finding-remove button.secondary');
  await page.waitForSelector('dialog.finding-remove', { state: 'detached' });
  if (sent.some(([m]) => m === 'DELETE')) fail('Cancel on the question removed the finding');
  await page.click(`#findings li[data-id="${vegetation.id}"] [data-action=remove]`);
  await page.waitForSelector('dialog.finding-remove[open]');
  await page.dblclick('dialog.finding-remove button.danger');
  await page.waitForSelector('dialog.finding-remove', { state: 'detached', timeout: 30000 })
    .catch(() => fail('the question stays open after removing'));
  await page.waitForTimeout(600);
  const deletes = sent.filter(([m]) => m === 'DELETE');
  if (deletes.length !== 1 || !deletes[0][1].endsWith(vegetation.id)) fail(`removing sent ${JSON.stringify(deletes)}`);
  items = await page.evaluate(listed);
  if (items.some((x) => x.id === vegetation.id)) fail('the removed finding is still listed');
  if (items.length !== countBefore - 1) fail(`after removing one of ${countBefore}, ${items.length} are listed`);
  server = await page.evaluate(serverFindings);
  if (vegetation.id in server) fail('the server still lists the removed finding');
  if (vegetation.id in (await page.evaluate(mapFindings))) fail('the map still draws the removed finding');
  // The next listing agrees.
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await page.waitForTimeout(1000);
  if ((await page.evaluate(listed)).some((x) => x.id === vegetation.id)) fail('the removed finding is back after the next listing');
  await page.locator('#findings').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${out}/walk-edit-removed-phone.png`, fullPage: true });

  // Offline: no controls (a change needs the server).
  await a.context.setOffline(true);
  await page.evaluate(() => window.dispatchEvent(new Event('offline')));
  await page.waitForFunction(() => !document.querySelector('#findings button'), null, { timeout: 15000 })
    .catch(() => fail('the controls stay while offline'));
  await a.context.setOffline(false);
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await page.waitForFunction(() => document.querySelector('#findings button'), null, { timeout: 30000 })
    .catch(() => fail('the controls do not come back online'));

  // Arabic, right to left: the list and the editor.
  await page.goto(`${base}/walk?lang=ar`);
  await page.waitForSelector('#app:not([hidden])', { timeout: 30000 });
  await page.waitForSelector(`#findings li[data-id="${lighting.id}"] [data-action=edit]`, { timeout: 30000 });
  const dir = await page.evaluate(() => document.documentElement.dir);
  if (dir !== 'rtl') fail(`the Arabic page is laid out ${dir}`);
  const arName = await page.getAttribute(`#findings li[data-id="${lighting.id}"] [data-action=edit]`, 'aria-label');
  if (!arName.startsWith('تعديل')) fail(`the Arabic "change" control is named "${arName}"`);
  await page.locator('#findings').scrollIntoViewIfNeeded();
  await page.screenshot({ path: `${out}/walk-edit-list-ar-phone.png`, fullPage: true });
  await page.click(`#findings li[data-id="${lighting.id}"] [data-action=edit]`);
  await page.waitForSelector('dialog.finding-editor[open]');
  // Right to left: the first category in the top right corner, Save to the right of Cancel.
  const rtl = await page.evaluate(() => {
    const d = document.querySelector('dialog.finding-editor');
    const tiles = [...d.querySelectorAll('.tiles label')].map((l) => l.getBoundingClientRect());
    const save = d.querySelector('button[type=submit]').getBoundingClientRect();
    const cancel = d.querySelector('button.secondary').getBoundingClientRect();
    return { direction: getComputedStyle(d).direction, firstRight: tiles[0].left > tiles[1].left, saveRight: save.left > cancel.left };
  });
  if (rtl.direction !== 'rtl' || !rtl.firstRight || !rtl.saveRight) fail(`the Arabic editor is not right to left: ${JSON.stringify(rtl)}`);
  await page.screenshot({ path: `${out}/walk-edit-editor-ar-phone.png` });
  await axeCheck(page, 'the open editor (ar)');
  await page.keyboard.press('Escape');
  if (sent.filter(([m]) => m === 'PATCH').length !== 2) fail('Escape in the Arabic editor sent a change');
  if (a.errors.length) fail(`console errors: ${a.errors.join(' | ')}`);
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
