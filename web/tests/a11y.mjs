// Automated accessibility rules (axe-core: WCAG 2.0/2.1 A and AA) on every
// page in every language it offers (Arabic right to left included), at
// desktop and phone size, in headless Chromium.
// Usage: node tests/a11y.mjs BASE_URL OUTPUT_DIR
// axe is injected past the pages' Content-Security-Policy (it is a test
// tool, not part of the pages).
import { readFileSync } from 'node:fs';
import { launchBrowser } from './browser.mjs';

const [base] = process.argv.slice(2);
const axe = readFileSync(new URL('../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');
const browser = await launchBrowser();
// Each page with the languages it offers (Swedish, the default, first).
const RESIDENT = ['sv', 'en', 'fi', 'ar'];
const PAGES = [
  ['/', ['sv', 'en']],
  ['/report', ['sv', 'sv-lattlast', 'en', 'fi', 'ar']],
  ['/walk', RESIDENT],
  ['/areas', RESIDENT],
  ['/areas/hovsjo', RESIDENT],
  ['/admin', ['sv', 'en']],
];
let checked = 0;
try {
  for (const viewport of [{ width: 1280, height: 900 }, { width: 360, height: 740 }]) {
    for (const [path, languages] of PAGES) for (const lang of languages) {
      const context = await browser.newContext({ viewport, bypassCSP: true });
      const page = await context.newPage();
      await page.goto(lang === 'sv' ? `${base}${path}` : `${base}${path}?lang=${lang}`);
      // Let the page's script fill in its strings and controls.
      await page.waitForFunction(() => document.getElementById('lang')?.textContent, null, { timeout: 30000 });
      await page.waitForTimeout(500);
      await page.addScriptTag({ content: axe });
      const violations = await page.evaluate(async () => (await window.axe.run(document, {
        runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'],
      })).violations.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')})`));
      if (violations.length) {
        console.error(`FAIL: ${path} (${lang}) at ${viewport.width}px:\n  ${violations.join('\n  ')}`);
        process.exitCode = 1;
      }
      checked += 1;
      await context.close();
    }
  }
  console.log(JSON.stringify({ pages_checked: checked }));
} catch (e) {
  console.error(`FAIL: ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
