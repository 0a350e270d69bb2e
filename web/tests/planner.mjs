// End-to-end test of the planner map in headless Chromium.
// Usage: node tests/planner.mjs BASE_URL OUTPUT_DIR ANALYST_USER ANALYST_PASSWORD
// Exits non-zero, with the reason on stderr, when a check fails.
import { fail, launchBrowser } from './browser.mjs';

const [base, out, analyst, password] = process.argv.slice(2);
const browser = await launchBrowser();


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

async function open(viewport, path = '/') {
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${base}${path}`);
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
  // The legend is the hot-spot view's alone.
  const legends = await page.evaluate(() => ['legend-items', 'legend-hot', 'legend-trend', 'legend-gap']
    .filter((id) => document.getElementById(id).getClientRects().length > 0));
  if (legends.join() !== 'legend-hot') fail(`the hot-spot view's legend shows ${legends.join(', ')}`);
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

  // The category list follows the chosen kinds and never repeats a label:
  // codes that read the same (litter, littering) are told apart by kind.
  {
    const { page, errors } = await open({ width: 1280, height: 800 });
    await page.waitForFunction(() => document.querySelectorAll('#category option').length > 1, null, { timeout: 30000 });
    const taxonomy = await page.evaluate(() => fetch('/api/v1/taxonomy').then((r) => r.json()));
    const options = () => page.$$eval('#category option', (os) => os.slice(1).map((o) => ({ label: o.textContent, code: o.value })));
    const checkList = async (kinds) => {
      const list = await options();
      const labels = list.map((o) => o.label);
      const repeated = labels.filter((l, i) => labels.indexOf(l) !== i);
      if (repeated.length) fail(`category list for ${kinds} repeats ${repeated}`);
      const allowed = [...new Set(kinds.flatMap((k) => taxonomy[k].map((c) => c.code)))];
      const codes = list.map((o) => o.code);
      if (JSON.stringify([...codes].sort()) !== JSON.stringify([...allowed].sort())) fail(`category list for ${kinds} offers ${codes}, want ${allowed}`);
      return list;
    };
    const all = await checkList(['insecurity', 'walk_finding', 'place_observation']);
    const litter = all.filter((o) => o.label.startsWith('Nedskräpning'));
    if (litter.length !== 2 || !litter.some((o) => o.label.includes('Platssamverkan'))) fail(`litter options are ${JSON.stringify(litter)}`);
    await page.uncheck('input[name=kind][value=insecurity]');
    await page.uncheck('input[name=kind][value=walk_finding]');
    const place = await checkList(['place_observation']);
    if (!place.some((o) => o.label === 'Nedskräpning')) fail('with one kind, littering is not plainly Nedskräpning');
    // A chosen category stays chosen where the new kinds still have it.
    await page.selectOption('#category', 'littering');
    await page.check('input[name=kind][value=insecurity]');
    await checkList(['insecurity', 'place_observation']);
    const kept = await page.$eval('#category', (s) => s.value);
    if (kept !== 'littering') fail(`the littering choice became ${kept} when a kind was added`);

    // The filters and the view are in the address; "till och med" sends the day after.
    await page.fill('#from', '2026-01-01');
    await page.fill('#to', '2026-06-30');
    await page.dispatchEvent('#to', 'change');
    await page.selectOption('#hours', '18-6');
    await page.check('input[name=view][value=hotspots]');
    const toLabel = await page.textContent('label:has(#to) span');
    if (toLabel !== 'Till och med') fail(`the end date is labelled ${toLabel}`);
    const address = new URL(page.url());
    const want = { kind: 'insecurity,place_observation', category: 'littering', from: '2026-01-01', to: '2026-06-30', hours: '18-6', view: 'hotspots' };
    for (const [k, v] of Object.entries(want)) if (address.searchParams.get(k) !== v) fail(`address ${k}=${address.searchParams.get(k)}, want ${v}`);
    if (!/^[\d.]+\/[\d.]+\/[\d.]+$/.test(address.searchParams.get('at') || '')) fail(`address has no map view: ${address}`);
    const tiles = await page.evaluate(() => new URL(window.trygg.map.getSource('hex').url, location.href).searchParams.get('to'));
    if (tiles !== '2026-07-01') fail(`the tiles are asked to=${tiles} for an end date of 2026-06-30 (inclusive)`);

    // The address opens the same view in another tab.
    const shared = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await shared.goto(page.url());
    await shared.waitForFunction(() => window.trygg?.map?.loaded(), null, { timeout: 30000 });
    const restored = await shared.evaluate(() => ({
      kinds: [...document.querySelectorAll('input[name=kind]:checked')].map((i) => i.value).join(','),
      category: document.getElementById('category').value,
      from: document.getElementById('from').value,
      to: document.getElementById('to').value,
      hours: document.getElementById('hours').value,
      view: document.querySelector('input[name=view]:checked').value,
      hot: window.trygg.map.getLayoutProperty('hot-fill', 'visibility'),
    }));
    const expected = { kinds: want.kind, category: want.category, from: want.from, to: want.to, hours: want.hours, view: 'hotspots', hot: 'visible' };
    if (JSON.stringify(restored) !== JSON.stringify(expected)) fail(`a shared address restored ${JSON.stringify(restored)}, want ${JSON.stringify(expected)}`);
    await shared.screenshot({ path: `${out}/planner-shared-address.png` });
    await shared.close();

    // Choosing an area zooms the map to it.
    await page.check('input[name=view][value=count]');
    const hovsjo = await page.evaluate(async () => {
      const { features } = await fetch('/api/v1/areas').then((r) => r.json());
      const f = features.find((a) => a.properties.id === 'hovsjo');
      const pts = f.geometry.type === 'Polygon' ? f.geometry.coordinates.flat() : f.geometry.coordinates.flat(2);
      return { w: Math.min(...pts.map((p) => p[0])), e: Math.max(...pts.map((p) => p[0])), s: Math.min(...pts.map((p) => p[1])), n: Math.max(...pts.map((p) => p[1])) };
    });
    const zoomBefore = await page.evaluate(() => window.trygg.map.getZoom());
    await page.selectOption('#area', 'hovsjo');
    await page.waitForFunction(() => !window.trygg.map.isMoving(), null, { timeout: 10000 });
    await page.waitForTimeout(300);
    await page.waitForFunction(() => !window.trygg.map.isMoving(), null, { timeout: 10000 });
    const view = await page.evaluate(() => {
      const m = window.trygg.map;
      const b = m.getBounds();
      return { zoom: m.getZoom(), w: b.getWest(), e: b.getEast(), s: b.getSouth(), n: b.getNorth() };
    });
    if (!(view.zoom > zoomBefore + 1)) fail(`choosing Hovsjö did not zoom in (${zoomBefore} -> ${view.zoom})`);
    if (!(view.w <= hovsjo.w && view.e >= hovsjo.e && view.s <= hovsjo.s && view.n >= hovsjo.n)) fail(`Hovsjö is not all in view: ${JSON.stringify(view)} vs ${JSON.stringify(hovsjo)}`);
    if (new URL(page.url()).searchParams.get('area') !== 'hovsjo') fail('the address lacks the chosen area');
    await page.screenshot({ path: `${out}/planner-area-hovsjo.png` });
    if (errors.length) fail(`console errors with the address's state: ${errors.join(' | ')}`);
    await page.close();
  }

  // The cell panel: categories largest first, month bars labelled in the
  // page's language (the busiest cell, so that its figures are shown).
  for (const lang of ['sv', 'en']) {
    const { page, errors } = await open({ width: 390, height: 844 }, `/?lang=${lang}`);
    await page.waitForFunction(() => window.trygg.map.queryRenderedFeatures({ layers: ['hex-fill'] }).length > 0, null, { timeout: 30000 });
    await rendered(page);
    const busiest = await page.evaluate(() => {
      const m = window.trygg.map;
      const f = m.queryRenderedFeatures({ layers: ['hex-fill'] }).reduce((a, b) => (b.properties.count > a.properties.count ? b : a));
      m.jumpTo({ center: f.geometry.type === 'Polygon' ? f.geometry.coordinates[0][0] : f.geometry.coordinates[0][0][0] });
      return f.properties.cell;
    });
    await rendered(page);
    const target = await page.evaluate((cell) => {
      const m = window.trygg.map;
      const f = m.queryRenderedFeatures({ layers: ['hex-fill'] }).find((x) => x.properties.cell === cell);
      const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
      const lon = ring.slice(0, -1).reduce((s, p) => s + p[0], 0) / (ring.length - 1);
      const lat = ring.slice(0, -1).reduce((s, p) => s + p[1], 0) / (ring.length - 1);
      return m.project([lon, lat]);
    }, busiest);
    const mapBox = await page.locator('#map').boundingBox();
    await page.mouse.click(mapBox.x + target.x, mapBox.y + target.y);
    await page.waitForSelector('#cell-months .m', { timeout: 10000 });
    const cats = await page.$$eval('#cell-categories li', (lis) => lis.map((li) => li.querySelector('.n')?.textContent || ''));
    const counts = cats.map((c) => Number(c.replace(/[^\d]/g, '')));
    if (cats.length < 2) fail(`the busiest cell shows ${cats.length} categories`);
    if (counts.some((c, i) => i > 0 && c > counts[i - 1])) fail(`category bars are not largest first: ${cats}`);
    const months = await page.$$eval('#cell-months .m', (ms) => ms.map((m) => m.querySelector('.l').textContent));
    const firstMonth = await page.evaluate((cell) => fetch(`/api/v1/cells/${cell}`).then((r) => r.json()).then((d) => d.by_month[0].month), busiest);
    const [y, m] = firstMonth.split('-').map(Number);
    const name = new Intl.DateTimeFormat(lang === 'sv' ? 'sv-SE' : 'en-GB', { month: 'short', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, 1));
    if (months[0] !== `${name}\n${y}`) fail(`${lang}: the first month bar is labelled ${JSON.stringify(months[0])}, want ${name} ${y}`);
    if (months.filter(Boolean).length < Math.min(months.length, 6)) fail(`${lang}: only ${months.filter(Boolean).length} of ${months.length} month bars are labelled`);
    await page.locator('#cell-id').scrollIntoViewIfNeeded();
    await page.locator('#cell').screenshot({ path: `${out}/planner-cell-panel-${lang}.png` });
    await page.screenshot({ path: `${out}/planner-cell-phone-${lang}.png` });
    if (errors.length) fail(`console errors in the cell panel (${lang}): ${errors.join(' | ')}`);
    await page.close();
  }

  // Signing in keeps the filters and the map view (the address carries them).
  {
    const { page, errors } = await open({ width: 1280, height: 800 });
    const state = '?kind=insecurity&hours=18-6&from=2026-02-01&to=2026-03-31&area=ronna&view=hotspots&at=14.00/59.18000/17.60000';
    await page.goto(`${base}/${state}`);
    await page.waitForFunction(() => window.trygg?.map?.loaded(), null, { timeout: 30000 });
    const before = new URL(page.url()).searchParams;
    await page.click('#signin');
    await page.fill('#signin-user', analyst);
    await page.fill('#signin-password', password);
    await Promise.all([page.waitForNavigation(), page.click('#signin-form button[type=submit]')]);
    await page.waitForFunction(() => window.trygg?.map?.getSource('points'), null, { timeout: 30000 });
    const after = new URL(page.url()).searchParams;
    for (const k of ['kind', 'hours', 'from', 'to', 'area', 'view', 'at']) {
      if (after.get(k) !== before.get(k)) fail(`signing in changed ${k}: ${before.get(k)} -> ${after.get(k)}`);
    }
    const form = await page.evaluate(() => ({
      kinds: [...document.querySelectorAll('input[name=kind]:checked')].map((i) => i.value).join(','),
      hours: document.getElementById('hours').value,
      from: document.getElementById('from').value,
      to: document.getElementById('to').value,
      area: document.getElementById('area').value,
      view: document.querySelector('input[name=view]:checked').value,
      zoom: Math.round(window.trygg.map.getZoom()),
    }));
    const want = { kinds: 'insecurity', hours: '18-6', from: '2026-02-01', to: '2026-03-31', area: 'ronna', view: 'hotspots', zoom: 14 };
    if (JSON.stringify(form) !== JSON.stringify(want)) fail(`after signing in the page shows ${JSON.stringify(form)}, want ${JSON.stringify(want)}`);
    await page.screenshot({ path: `${out}/planner-signed-in-kept.png` });
    if (errors.length) fail(`console errors signing in with filters: ${errors.join(' | ')}`);
    await page.close();
  }

  // An analyst signs in and sees individual observations, clustered, when zoomed in.
  const signed = await open({ width: 1280, height: 800 });
  await signed.page.click('#signin');
  await signed.page.fill('#signin-user', analyst);
  await signed.page.fill('#signin-password', password);
  await Promise.all([signed.page.waitForNavigation(), signed.page.click('#signin-form button[type=submit]')]);
  await signed.page.waitForFunction(() => window.trygg?.map?.getSource('points'), null, { timeout: 30000 });
  // Exact counts: the public's rounding note gives way to the analyst's.
  if (await signed.page.isVisible('#privacy-note')) fail('an analyst is told that counts are rounded');
  if (!(await signed.page.textContent('#role-note')).startsWith('Som analytiker')) fail(`an analyst's note says "${await signed.page.textContent('#role-note')}"`);
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
    return { x: pt.x, y: pt.y, kind: f.properties.kind };
  });
  const mapBox = await signed.page.locator('#map').boundingBox();
  await signed.page.mouse.click(mapBox.x + point.x, mapBox.y + point.y);
  await signed.page.waitForSelector('.point-popup h3', { timeout: 5000 });
  if (await signed.page.isVisible('#cell')) fail('a click on a point also opened the cell panel');
  // A resident is never asked for a severity, so none is shown for theirs.
  const popup = await signed.page.textContent('.point-popup');
  if ((point.kind === 'insecurity') === popup.includes('Allvarlighet')) fail(`a ${point.kind} point's popup: ${popup}`);
  await signed.page.screenshot({ path: `${out}/planner-analyst-point.png` });
  if ((await signed.page.textContent('#signin')) !== 'Analytiker – logga ut') fail('the header does not show the analyst session');
  if (signed.errors.length) fail(`console errors for the analyst: ${signed.errors.join(' | ')}`);
  console.log(JSON.stringify({ all, night }));
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
