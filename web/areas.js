// Area pages: /areas lists every area with its count for the period;
// /areas/{id} shows the area's hexagons and figures.
import * as maplibregl from '/vendor/maplibre-gl/maplibre-gl.mjs';
import { categoryBars, monthBars } from '/static/charts.js';
import { RESIDENT, pageLanguage } from '/static/i18n.js';
import { showPlan } from '/static/action-plan.js';
import { session, setupSignin } from '/static/signin.js';

const KINDS = ['insecurity', 'walk_finding', 'place_observation'];
const i18n = pageLanguage(RESIDENT);
/** An area page message, or one from another section (`kind.insecurity`). */
const t = (key, vars) => i18n.t(key.includes('.') ? key : `areas.${key}`, vars);
const id = decodeURIComponent(location.pathname.split('/')[2] || '');
let areas = null;
let config = null;
let map = null;
// Staff sign in here or on the planner map (signin.js), once per browser tab.
const authorized = (init = {}) => ({ ...init, headers: { ...init.headers, authorization: `Bearer ${session?.token}` } });

/** The period as the form shows it (`to` inclusive, "till och med"). */
function chosenPeriod() {
  const p = new URLSearchParams();
  for (const k of ['from', 'to']) {
    const v = document.getElementById(k).value;
    if (v) p.set(k, v);
  }
  return p;
}

/** The period as the API takes it: its end is exclusive, so the day after. */
function period() {
  const p = chosenPeriod();
  if (p.has('to')) {
    const [y, m, d] = p.get('to').split('-').map(Number);
    const next = new Date(Date.UTC(y, m - 1, d + 1));
    p.set('to', next.toISOString().slice(0, 10));
  }
  return p;
}

/**
 * The period lives in the address (and the list's links carry it), so that
 * it survives signing in and a page can be shared.
 */
function savePeriod() {
  const q = chosenPeriod().toString();
  history.replaceState(null, '', `${location.pathname}${q ? `?${q}` : ''}`);
  for (const a of document.querySelectorAll('#list a.card')) a.search = q;
}

async function summary(areaId) {
  const r = await fetch(`/api/v1/areas/${encodeURIComponent(areaId)}/summary?${period()}`);
  return r.ok ? r.json() : null;
}

/** Counts the list's redraws: an answer for a period since changed is dropped. */
let listDrawn = 0;

async function showList() {
  const drawing = (listDrawn += 1);
  const list = document.getElementById('list');
  const cards = await Promise.all(areas.features.map(async (f) => {
    const s = await summary(f.properties.id);
    const a = document.createElement('a');
    a.className = 'card';
    a.href = `/areas/${encodeURIComponent(f.properties.id)}`;
    a.search = chosenPeriod().toString();
    const h = document.createElement('h2');
    h.textContent = f.properties.name;
    h.lang = 'sv';
    const big = document.createElement('p');
    big.className = 'big';
    big.textContent = s?.count != null ? i18n.number(s.count) : i18n.lessThan(config.k_anonymity);
    const note = document.createElement('p');
    note.className = 'note';
    note.textContent = t('observations');
    a.append(h, big, note);
    return a;
  }));
  if (drawing !== listDrawn) return;
  list.replaceChildren(...cards);
  document.getElementById('municipal-plan').hidden = false;
  await plan('municipality', document.getElementById('municipal-actions'));
}

function bounds(geometry) {
  const pts = geometry.type === 'Polygon' ? geometry.coordinates.flat() : geometry.coordinates.flat(2);
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  return [[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]];
}

async function showDetail() {
  const feature = areas.features.find((f) => f.properties.id === id);
  document.getElementById('list').hidden = true;
  if (!feature) {
    // No figures to show: say so, and lead back to the list.
    document.querySelector('.period').hidden = true;
    const missing = document.getElementById('missing');
    missing.hidden = false;
    const text = document.getElementById('missing-text');
    text.replaceChildren();
    const [before, after] = t('unknownArea').split('{id}');
    text.append(before, el('bdi', null, id), after ?? '');
    return;
  }
  document.getElementById('detail').hidden = false;
  const name = document.getElementById('area-name');
  name.lang = 'sv';
  name.textContent = feature.properties.name;
  const q = period();
  q.set('area', id);
  q.set('res', '10');
  if (!map) {
    const sources = {
      hex: { type: 'vector', url: `/tiles/hexagons.json?${q}` },
      outline: { type: 'geojson', data: feature },
    };
    const layers = [{ id: 'background', type: 'background', paint: { 'background-color': '#e9ecef' } }];
    if (config.basemap?.tiles) {
      sources.base = { type: 'raster', tiles: [config.basemap.tiles], tileSize: 256, attribution: config.basemap.attribution };
      layers.push({ id: 'base', type: 'raster', source: 'base', paint: { 'raster-saturation': -0.7 } });
    }
    layers.push(
      { id: 'hex-fill', type: 'fill', source: 'hex', 'source-layer': 'hexagons', paint: { 'fill-color': ['interpolate', ['linear'], ['get', 'count'], 5, '#ffe08a', 25, '#fb8c3c', 100, '#d7301f', 400, '#67000d'], 'fill-opacity': 0.75 } },
      { id: 'outline', type: 'line', source: 'outline', paint: { 'line-color': '#1d3557', 'line-width': 2.5 } },
    );
    map = new maplibregl.Map({ container: 'map', style: { version: 8, sources, layers }, bounds: bounds(feature.geometry), fitBoundsOptions: { padding: 30 }, attributionControl: false });
    i18n.placeMapControls(map, maplibregl);
    window.trygg = { map };
  } else {
    map.getSource('hex').setUrl(`/tiles/hexagons.json?${q}`);
  }
  const s = await summary(id);
  document.getElementById('total').textContent = s?.count != null ? i18n.number(s.count) : i18n.lessThan(config.k_anonymity);
  const kinds = document.getElementById('kinds');
  kinds.replaceChildren(...(s?.by_kind ? KINDS.flatMap((k) => {
    const dt = document.createElement('dt');
    dt.textContent = t(`kind.${k}`);
    const dd = document.createElement('dd');
    dd.textContent = s.by_kind[k] != null ? i18n.number(s.by_kind[k]) : i18n.lessThan(config.k_anonymity);
    return [dt, dd];
  }) : []));
  categoryBars(document.getElementById('categories'), s?.by_category, i18n, config.k_anonymity, 8, t('noCategories'));
  monthBars(document.getElementById('months'), s?.by_month, i18n, config.k_anonymity);
  await plan(id, document.getElementById('actions'));
  await showAnalyses();
}

/** Staff who may make and read stored analyses. */
const isStaff = ['analyst', 'admin'].includes(session?.role);

/** Staff's stored områdesanalyser: each export fetched with the session token. */
async function showAnalyses() {
  const section = document.getElementById('analyses');
  if (!isStaff) return;
  fillPeriods();
  const r = await fetch(`/api/v1/areas/${encodeURIComponent(id)}/analyses`, authorized());
  if (!r.ok) return;
  const { analyses } = await r.json();
  section.hidden = false;
  const list = document.getElementById('analysis-list');
  if (!analyses.length) {
    list.replaceChildren(el('li', 'note', t('noAnalyses')));
    return;
  }
  list.replaceChildren(...analyses.map((a) => {
    const li = el('li');
    const made = i18n.date(a.created_at, { dateStyle: 'medium', timeStyle: 'short' });
    li.append(el('bdi', null, a.period), ` · ${i18n.number(a.total ?? 0)} ${t('observations')} · ${t('createdAt', { time: made })} · `);
    for (const [format, label] of [['html', t('report')], ['csv', 'CSV'], ['geojson', 'GeoJSON']]) {
      const b = el('button', 'link', label);
      b.type = 'button';
      b.addEventListener('click', () => (format === 'html'
        // The report at an address of its own; the new window starts with
        // a copy of this tab's session.
        ? window.open(`/analyses/${encodeURIComponent(a.id)}`, '_blank')
        : openExport(a.links[format], `${id}-${a.period}.${format}`)));
      li.append(b, ' ');
    }
    return li;
  }));
}

/**
 * Links cannot carry the bearer token: fetch the export with it, then save
 * it as a file.
 */
async function openExport(href, filename) {
  const r = await fetch(href, authorized());
  if (!r.ok) return;
  const url = URL.createObjectURL(await r.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/**
 * The periods an analysis can be made of, as the API names them, newest
 * first: the last eight complete quarters, twelve months and three years.
 */
function completePeriods(now = new Date()) {
  const y = now.getFullYear();
  const m = now.getMonth(); // 0-based: the current, incomplete month
  const quarters = [];
  for (let q = Math.floor(m / 3) - 1, year = y; quarters.length < 8; q -= 1) {
    if (q < 0) { q = 3; year -= 1; }
    quarters.push(`${year}-Q${q + 1}`);
  }
  const months = [];
  for (let i = 1; i <= 12; i += 1) {
    const d = new Date(y, m - i, 1);
    months.push(`${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`);
  }
  return { quarters, months, years: [y - 1, y - 2, y - 3].map(String) };
}

/** The period chooser, kept on the chosen period when redrawn. */
function fillPeriods() {
  const select = document.getElementById('analysis-period');
  const chosen = select.value;
  const periods = completePeriods();
  select.replaceChildren(...['quarters', 'months', 'years'].map((group) => {
    const g = document.createElement('optgroup');
    g.label = t(group);
    g.append(...periods[group].map((p) => new Option(p, p)));
    return g;
  }));
  if (chosen) select.value = chosen;
}

document.getElementById('analyse-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const button = document.getElementById('analyse-now');
  const status = document.getElementById('analysis-status');
  // One analysis per click: the button waits for the answer.
  if (button.disabled) return;
  button.disabled = true;
  status.textContent = '';
  try {
    const r = await fetch(`/api/v1/areas/${encodeURIComponent(id)}/analyses`, authorized({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ period: document.getElementById('analysis-period').value }),
    }));
    status.textContent = t(r.status === 201 ? 'analysisStored' : r.status === 200 ? 'analysisUnchanged' : 'analysisFailed');
    if (r.ok) await showAnalyses();
  } catch {
    status.textContent = t('analysisFailed');
  } finally {
    button.disabled = false;
  }
});

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text != null) e.textContent = text;
  return e;
}

/** The actions of the area shown, or of no area on the list page. */
function plan(area, container) {
  return showPlan({ container, area, session, i18n, k: config.k_anonymity });
}

async function main() {
  [config, areas] = await Promise.all([
    fetch('/ui-config.json').then((r) => r.json()),
    fetch('/api/v1/areas').then((r) => r.json()),
  ]);
  i18n.chooser();
  const render = () => (id ? showDetail() : showList());
  const start = new URLSearchParams(location.search);
  for (const k of ['from', 'to']) {
    document.getElementById(k).value = start.get(k) || '';
    document.getElementById(k).addEventListener('change', () => {
      savePeriod();
      render();
    });
  }
  i18n.onChange(() => {
    if (map) i18n.placeMapControls(map, maplibregl);
    render();
  });
  await render();
  document.body.dataset.ready = 'true';
}

setupSignin(i18n);
main();
