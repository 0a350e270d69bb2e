// End-to-end test of the planner map in headless Chromium.
// Usage: node tests/planner.mjs BASE_URL OUTPUT_DIR ANALYST_USER ANALYST_PASSWORD
// Exits non-zero, with the reason on stderr, when a check fails.
import { chromium } from 'playwright-core';

const [base, out, analyst, password] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking'],
});

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exitCode = 1;
}

async function rendered(page) {
  await page.waitForFunction(() => {
    const m = window.trygg?.map;
    return m && m.loaded() && m.areTilesLoaded() && !m.isMoving();
  }, null, { timeout: 30000 });
  // One more frame so that the last tiles are drawn.
  await page.evaluate(() => new Promise((r) => {
    const m = window.trygg.map;
    m.once('idle', r);
    m.triggerRepaint();
  }));
  return page.evaluate(() => {
    const fs = window.trygg.map.queryRenderedFeatures({ layers: ['hex-fill'] });
    const cells = new Map(fs.map((f) => [f.properties.cell, f.properties.count]));
    return { cells: cells.size, total: [...cells.values()].reduce((a, b) => a + b, 0) };
  });
}

async function open(viewport) {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}/`);
  await page.waitForFunction(() => window.trygg?.map, null, { timeout: 30000 });
  return { page, errors };
}

try {
  const { page, errors } = await open({ width: 1280, height: 800 });
  // The map's 'idle' event may have fired already; poll until hexagons are drawn.
  await page.waitForFunction(() => window.trygg.map.queryRenderedFeatures({ layers: ['hex-fill'] }).length > 0, null, { timeout: 30000 });
  const all = await rendered(page);
  if (all.cells === 0) fail('no hexagons rendered');
  await page.screenshot({ path: `${out}/planner-desktop.png` });

  await page.selectOption('#hours', '22-6');
  await page.uncheck('input[value=place_observation]');
  await page.waitForFunction((before) => {
    const fs = window.trygg.map.queryRenderedFeatures({ layers: ['hex-fill'] });
    const total = fs.reduce((a, f) => a + f.properties.count, 0);
    return fs.length > 0 && total !== before;
  }, all.total, { timeout: 30000 });
  const night = await rendered(page);
  if (night.total >= all.total) fail(`filtering to night reports did not lower the counts (${all.total} -> ${night.total})`);

  // Click the cell under the centre of the map and read the panel.
  const box = await page.locator('#map').boundingBox();
  const feature = await page.evaluate(() => {
    const m = window.trygg.map;
    const fs = m.queryRenderedFeatures({ layers: ['hex-fill'] });
    const f = fs[Math.floor(fs.length / 2)];
    const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
    const lon = ring.slice(0, -1).reduce((s, p) => s + p[0], 0) / (ring.length - 1);
    const lat = ring.slice(0, -1).reduce((s, p) => s + p[1], 0) / (ring.length - 1);
    const pt = m.project([lon, lat]);
    return { x: pt.x, y: pt.y, count: f.properties.count };
  });
  await page.mouse.click(box.x + feature.x, box.y + feature.y);
  await page.waitForSelector('#cell:not([hidden])', { timeout: 5000 });
  await page.waitForSelector('#cell-categories li', { timeout: 5000 });
  const shown = await page.textContent('#cell-count');
  if (Number(shown) !== feature.count) fail(`cell panel shows ${shown}, the tile says ${feature.count}`);
  await page.screenshot({ path: `${out}/planner-cell.png` });

  // The hot-spot view draws significant clusters.
  await page.check('input[name=view][value=hotspots]');
  await page.waitForFunction(() => {
    const m = window.trygg.map;
    return m.querySourceFeatures('hot').some((f) => f.properties.bin === 3);
  }, null, { timeout: 30000 });
  await page.screenshot({ path: `${out}/planner-hotspots.png` });
  // Changing a filter keeps the hot-spot view: the count layer stays off.
  await page.locator('#filters input[name=kind]').first().uncheck();
  await page.locator('#filters input[name=kind]').first().check();
  const countShown = await page.evaluate(() => window.trygg.map.getLayoutProperty('hex-fill', 'visibility'));
  if (countShown !== 'none') fail(`the count layer is ${countShown} under the hot-spot view after a filter change`);

  // The trend and gap views draw the analysis tiles' categories.
  for (const [view, prop] of [['trend', 'trend'], ['gap', 'gap']]) {
    await page.check(`input[name=view][value=${view}]`);
    await page.waitForFunction(([layer, key]) => {
      const m = window.trygg.map;
      return m.getLayer(layer) && m.queryRenderedFeatures({ layers: [layer] }).some((f) => typeof f.properties[key] === 'string');
    }, [`${view}-fill`, prop], { timeout: 60000 });
    await page.screenshot({ path: `${out}/planner-${view}.png` });
  }
  await page.check('input[name=view][value=count]');

  await page.click('#lang');
  const title = await page.textContent('.sub');
  if (title !== 'Insecurity map') fail(`language switch: title is ${title}`);
  if (errors.length) fail(`console errors: ${errors.join(' | ')}`);

  const phone = await open({ width: 360, height: 740 });
  await phone.page.waitForFunction(() => window.trygg.map.queryRenderedFeatures({ layers: ['hex-fill'] }).length > 0, null, { timeout: 30000 });
  await phone.page.screenshot({ path: `${out}/planner-phone.png` });
  if (phone.errors.length) fail(`console errors on the phone: ${phone.errors.join(' | ')}`);

  // An analyst signs in and sees individual observations, clustered, when zoomed in.
  const signed = await open({ width: 1280, height: 800 });
  await signed.page.click('#signin');
  await signed.page.fill('#signin-user', analyst);
  await signed.page.fill('#signin-password', password);
  await Promise.all([signed.page.waitForNavigation(), signed.page.click('#signin-form button[type=submit]')]);
  await signed.page.waitForFunction(() => window.trygg?.map?.getSource('points'), null, { timeout: 30000 });
  await signed.page.evaluate(() => window.trygg.map.jumpTo({ center: [17.6267, 59.1917], zoom: 15 }));
  await signed.page.waitForFunction(() => window.trygg.map.queryRenderedFeatures({ layers: ['clusters'] }).length > 0, null, { timeout: 30000 });
  await signed.page.screenshot({ path: `${out}/planner-analyst-clusters.png` });
  await signed.page.evaluate(() => window.trygg.map.jumpTo({ center: [17.6267, 59.1917], zoom: 17.5 }));
  await signed.page.waitForFunction(() => window.trygg.map.queryRenderedFeatures({ layers: ['point'] }).length > 0, null, { timeout: 30000 });
  const point = await signed.page.evaluate(() => {
    const m = window.trygg.map;
    // The point nearest the middle, clear of the panels.
    const c = m.project(m.getCenter());
    const fs = m.queryRenderedFeatures({ layers: ['point'] });
    const d = (f) => { const p = m.project(f.geometry.coordinates); return (p.x - c.x) ** 2 + (p.y - c.y) ** 2; };
    const f = fs.reduce((a, b) => (d(b) < d(a) ? b : a));
    const pt = m.project(f.geometry.coordinates);
    return { x: pt.x, y: pt.y };
  });
  const mapBox = await signed.page.locator('#map').boundingBox();
  await signed.page.mouse.click(mapBox.x + point.x, mapBox.y + point.y);
  await signed.page.waitForSelector('.point-popup h3', { timeout: 5000 });
  if (await signed.page.isVisible('#cell')) fail('a click on a point also opened the cell panel');
  await signed.page.screenshot({ path: `${out}/planner-analyst-point.png` });
  if ((await signed.page.textContent('#signin')) !== 'Analytiker – logga ut') fail('the header does not show the analyst session');
  if (signed.errors.length) fail(`console errors for the analyst: ${signed.errors.join(' | ')}`);
  console.log(JSON.stringify({ all, night }));
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
