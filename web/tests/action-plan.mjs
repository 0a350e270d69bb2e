// The action plan in the browser: an analyst makes an action with a
// manual indicator on an area page (double-clicking Save), enters its
// values, sees whether it is on track, edits the action and removes a
// value; a resident sees the result without the editing controls.
// Usage: node tests/action-plan.mjs BASE_URL OUTPUT_DIR ANALYST_USER ANALYST_PASSWORD
import { readFileSync } from 'node:fs';
import { fail, launchBrowser } from './browser.mjs';

const [base, out, user, password] = process.argv.slice(2);
const axe = readFileSync(new URL('../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
const browser = await launchBrowser();
/** The quarter `n` quarters from today's, e.g. 2026-Q4. */
function quarter(n) {
  const d = new Date();
  const q = d.getFullYear() * 4 + Math.floor(d.getMonth() / 3) + n;
  return `${Math.floor(q / 4)}-Q${(q % 4) + 1}`;
}
async function axeViolations(page) {
  await page.addScriptTag({ content: axe });
  return page.evaluate(async () => (await window.axe.run(document, {
    runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'],
  })).violations.map((v) => `${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')})`));
}

try {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, bypassCSP: true });
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', (d) => d.accept());
  await page.goto(`${base}/areas`);
  await page.evaluate(async ([u, p]) => {
    const r = await fetch('/api/v1/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: u, password: p }) });
    const { token, role } = await r.json();
    sessionStorage.setItem('trygg.session', JSON.stringify({ token, role }));
  }, [user, password]);
  await page.goto(`${base}/areas/hovsjo`);
  await page.waitForSelector('body[data-ready=true]', { timeout: 30000 });

  // A new action, from the keyboard where a user would type.
  await page.getByRole('button', { name: 'Ny åtgärd' }).click();
  const dialog = page.locator('dialog.action-editor');
  await dialog.waitFor();
  if (!(await dialog.getByLabel('Rubrik').evaluate((e) => e === document.activeElement))) fail('the editor does not start in its first field');
  await page.keyboard.type('Stöd till unga i Hovsjö');
  await dialog.getByLabel('Syfte').fill('Färre unga dras in i kriminalitet');
  await dialog.getByLabel('Målsättning').fill('Fler unga får stöd i tid');
  await dialog.getByLabel('Ansvarig').fill('Socialtjänsten');
  await dialog.getByRole('button', { name: 'Lägg till indikator' }).click();
  await dialog.getByLabel('Vad som mäts').fill('Unga med SSPF-insats');
  await dialog.getByRole('combobox', { name: /^Värden/ }).selectOption('manual');
  if (await dialog.getByText('Typer som räknas').isVisible()) fail('a manual indicator still offers kinds to count');
  await dialog.getByLabel('Målförändring').fill('20');
  const baseline = await dialog.getByLabel('Utgångsläge').inputValue();
  if (baseline !== quarter(-1)) fail(`baseline defaults to ${baseline}, not the last quarter ${quarter(-1)}`);
  await page.screenshot({ path: `${out}/action-editor-phone.png`, fullPage: false });
  const violations = await axeViolations(page);
  if (violations.length) fail(`the editor has accessibility violations:\n  ${violations.join('\n  ')}`);
  // A double tap on Save stores one action.
  const puts = [];
  page.on('request', (r) => { if (r.method() === 'PUT' && r.url().includes('/api/v1/actions/')) puts.push(r.url()); });
  await dialog.getByRole('button', { name: 'Spara åtgärden' }).dblclick();
  await dialog.waitFor({ state: 'detached', timeout: 10000 });
  const card = page.locator('article.action', { hasText: 'Stöd till unga i Hovsjö' });
  await card.waitFor({ timeout: 10000 });
  if (puts.length !== 1) fail(`Save sent ${puts.length} requests`);
  const id = await card.getAttribute('data-action');
  if (id !== 'stod-till-unga-i-hovsjo') fail(`the new action's id is ${id}`);
  if (!(await card.getByText('Utgångsvärde saknas').isVisible())) fail('an indicator without values does not say its baseline is missing');

  // Values: the baseline quarter, then this quarter.
  const enter = async (period, value) => {
    const c = page.locator(`article[data-action="${id}"]`);
    const details = c.locator('details.entered');
    if (!(await details.evaluate((d) => d.open))) await details.locator('summary').click();
    await c.getByRole('combobox', { name: /^Period/ }).selectOption(period);
    await c.getByRole('spinbutton', { name: /^Värde/ }).fill(String(value));
    await c.getByLabel('Källa eller kommentar').fill('Från socialtjänsten');
    await c.getByRole('button', { name: 'Spara värdet' }).click();
    await page.waitForFunction(([sel, p]) => document.querySelector(sel)?.textContent.includes(`${p}:`), [`article[data-action="${id}"] .entered-list`, period], { timeout: 10000 });
  };
  await enter(quarter(-1), 10);
  await enter(quarter(0), 13);
  const text = await page.locator(`article[data-action="${id}"] .indicator`).textContent();
  if (!text.includes('I fas')) fail(`13 against a target of 12 is not shown on track: ${text}`);
  if (!text.includes('inmatat av')) fail('entered values do not say who entered them');
  await page.screenshot({ path: `${out}/action-values-phone.png`, fullPage: true });

  // Editing keeps the values.
  await page.locator(`article[data-action="${id}"]`).getByRole('button', { name: 'Ändra' }).click();
  await dialog.getByLabel('Rubrik').fill('Stöd till unga i hela Hovsjö');
  await dialog.getByRole('button', { name: 'Spara åtgärden' }).click();
  await dialog.waitFor({ state: 'detached', timeout: 10000 });
  const edited = page.locator(`article[data-action="${id}"]`);
  await edited.getByText('Stöd till unga i hela Hovsjö').waitFor({ timeout: 10000 });
  if (!(await edited.textContent()).includes('I fas')) fail('editing the action lost its values');

  // Escape closes the editor without saving.
  await edited.getByRole('button', { name: 'Ändra' }).click();
  await dialog.getByLabel('Rubrik').fill('Sparas inte');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached', timeout: 5000 });
  if (await page.getByText('Sparas inte').count()) fail('Escape saved the editor');

  // Removing this quarter's value: back to no verdict.
  await edited.locator('details.entered').evaluate((d) => { d.open = true; });
  await edited.getByRole('button', { name: `Ta bort värdet för ${quarter(0)}` }).click();
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.includes('Inget nytt värde ännu'), `article[data-action="${id}"] .indicator`, { timeout: 10000 });

  // A resident sees the plan, not the editing.
  const resident = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await resident.goto(`${base}/areas/hovsjo`);
  await resident.waitForSelector('body[data-ready=true]', { timeout: 30000 });
  const publicCard = resident.locator(`article[data-action="${id}"]`);
  if (!(await publicCard.count())) fail('a resident does not see the new action');
  if (await resident.getByRole('button', { name: 'Ny åtgärd' }).count()) fail('a resident is offered "Ny åtgärd"');
  if (await publicCard.locator('details.entered').count()) fail('a resident is offered value entry');
  // The municipality-wide actions are on the list page.
  await resident.goto(`${base}/areas`);
  await resident.waitForSelector('body[data-ready=true]', { timeout: 30000 });
  if (!(await resident.locator('#municipal-actions article.action').count())) fail('the list page shows no municipality-wide actions');
  await resident.screenshot({ path: `${out}/areas-municipal-plan-desktop.png`, fullPage: true });

  if (errors.length) fail(`console errors: ${errors.join(' | ')}`);
  console.log(JSON.stringify({ action: id, puts: puts.length }));
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
