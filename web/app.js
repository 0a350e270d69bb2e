// Planner map: hexagon counts from Trygg's vector tiles over a base map,
// with filters, a legend and a panel for the clicked cell.
import * as maplibregl from '/vendor/maplibre-gl/maplibre-gl.mjs';
import { categoryBars, monthBars } from '/static/charts.js';
import { STAFF, pageLanguage } from '/static/i18n.js';
import { session, setupSignin } from '/static/signin.js';

const KINDS = ['insecurity', 'walk_finding', 'place_observation'];
// Count classes and colours (light yellow to dark red; readable on grey).
const CLASSES = [5, 10, 25, 50, 100, 250, 500];
const COLOURS = ['#ffe08a', '#fdbb5c', '#fb8c3c', '#f05a2a', '#d7301f', '#a50f15', '#67000d'];

const i18n = pageLanguage(STAFF);
let taxonomy = null;
// With an analyst's session (signin.js) tiles carry exact counts and
// individual points are shown when zoomed in.
/** Zoom from which analysts see individual observations. */
const POINTS_FROM_ZOOM = 14;
/** A planner message, or one from another section (`kind.insecurity`). */
const t = (key) => i18n.t(key.includes('.') ? key : `planner.${key}`);

function applyStrings() {
  // Analysts see exact counts: the public's rounding is not theirs.
  const note = document.getElementById('role-note');
  const roleNote = { admin: 'adminNote', analyst: 'analystNote' }[session?.role];
  note.hidden = !roleNote;
  note.textContent = roleNote ? t(roleNote) : '';
  document.getElementById('privacy-note').hidden = session?.role === 'analyst';
  fillCategories();
  drawLegend();
}

const checkedKinds = () => [...document.querySelectorAll('input[name=kind]:checked')].map((i) => i.value);

/**
 * The categories of the chosen kinds (all kinds when none is chosen), each
 * label once. Codes that read the same (litter in reports and walks,
 * littering in place-based cooperation) are told apart by their kinds: the
 * public API takes one category at a time, so they cannot be one option.
 */
function fillCategories(current = document.getElementById('category').value) {
  const select = document.getElementById('category');
  select.length = 1;
  if (!taxonomy) return;
  const chosen = checkedKinds();
  const byCode = new Map();
  for (const kind of chosen.length ? chosen : KINDS) {
    for (const c of taxonomy[kind]) {
      const entry = byCode.get(c.code) || { code: c.code, label: i18n.category(c.code, c), kinds: [] };
      entry.kinds.push(kind);
      byCode.set(c.code, entry);
    }
  }
  const entries = [...byCode.values()];
  const shared = (e) => entries.filter((x) => x.label === e.label).length > 1;
  for (const e of entries) {
    const label = shared(e) ? `${e.label} – ${e.kinds.map((k) => t(`kind.${k}`)).join(', ')}` : e.label;
    select.add(new Option(label, e.code));
  }
  select.value = current;
  if (select.selectedIndex < 0) select.value = '';
}

const HOT = [[3, '#b2182b', 'hot3'], [2, '#ef8a62', 'hot2'], [1, '#fddbc7', 'hot1'], [-1, '#67a9cf', 'cold1']];
// Emerging-hot-spot categories in five groups a planner can act on.
const TREND = [
  ['rising', '#b2182b', ['new_hot_spot', 'consecutive_hot_spot', 'intensifying_hot_spot']],
  ['persistent', '#ef6548', ['persistent_hot_spot']],
  ['fading', '#fdbb84', ['diminishing_hot_spot', 'historical_hot_spot']],
  ['sporadic', '#9e9ac8', ['sporadic_hot_spot', 'oscillating_hot_spot']],
  ['cold', '#4393c3', ['new_cold_spot', 'consecutive_cold_spot', 'intensifying_cold_spot', 'persistent_cold_spot',
    'diminishing_cold_spot', 'sporadic_cold_spot', 'oscillating_cold_spot', 'historical_cold_spot']],
];
const GAP = [['more_insecurity', '#7b3294'], ['more_incidents', '#1b7837'], ['balanced', '#bdbdbd']];

function swatchList(id, entries) {
  document.getElementById(id).replaceChildren(...entries.map(([key, colour]) => {
    const li = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = colour;
    li.append(swatch, document.createTextNode(t(key)));
    return li;
  }));
}

function drawHotLegend() {
  document.getElementById('legend-hot').replaceChildren(...HOT.map(([, colour, key]) => {
    const li = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = colour;
    li.append(swatch, document.createTextNode(t(key)));
    return li;
  }));
}

function drawLegend() {
  drawHotLegend();
  swatchList('legend-trend', TREND.map(([key, colour]) => [`trend.${key}`, colour]));
  swatchList('legend-gap', GAP.map(([key, colour]) => [`gap.${key}`, colour]));
  const ol = document.getElementById('legend-items');
  ol.replaceChildren(...CLASSES.map((from, i) => {
    const li = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = COLOURS[i];
    const to = CLASSES[i + 1];
    li.append(swatch, document.createTextNode(to ? `${i18n.number(from)}–${i18n.number(to - 1)}` : `${i18n.number(from)}+`));
    return li;
  }));
}

const FIELDS = ['category', 'from', 'to', 'hours', 'area'];

/** The filters as the API takes them. */
function query() {
  const p = new URLSearchParams();
  const kinds = checkedKinds();
  if (kinds.length > 0 && kinds.length < KINDS.length) p.set('kind', kinds.join(','));
  for (const id of FIELDS) {
    const v = document.getElementById(id).value;
    if (v) p.set(id, v);
  }
  // The page's end date is inclusive ("till och med"); the API's is exclusive.
  if (p.has('to')) p.set('to', dayAfter(p.get('to')));
  return p;
}

/** The count tiles for the chosen filters. */
const hexUrl = () => {
  const q = query().toString();
  return `/tiles/hexagons.json${q ? `?${q}` : ''}`;
};

/** A local date as YYYY-MM-DD. */
function isoDate(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

function dayAfter(iso) {
  const [y, m, d] = iso.split('-').map(Number);
  return isoDate(new Date(y, m - 1, d + 1));
}

/**
 * The page's state lives in its address, so that a view can be shared or
 * bookmarked and survives signing in: the filters as the form shows them
 * (`to` inclusive), the view and `at=zoom/lat/lon`. `kind` is left out when
 * every kind is chosen; `kind=` means none.
 */
function saveState(map) {
  const p = new URLSearchParams();
  const view = document.querySelector('input[name=view]:checked').value;
  if (view !== 'count') p.set('view', view);
  const kinds = checkedKinds();
  if (kinds.length < KINDS.length) p.set('kind', kinds.join(','));
  for (const id of FIELDS) {
    const v = document.getElementById(id).value;
    if (v) p.set(id, v);
  }
  const c = map.getCenter();
  p.set('at', `${map.getZoom().toFixed(2)}/${c.lat.toFixed(5)}/${c.lng.toFixed(5)}`);
  // `?lang=` is left out: the chooser remembers the language anyway.
  history.replaceState(null, '', `${location.pathname}?${p}`);
}

/** Sets the form from the address; returns the map view it names, if any. */
function restoreState() {
  const p = new URLSearchParams(location.search);
  const view = document.querySelector(`input[name=view][value="${CSS.escape(p.get('view') || 'count')}"]`);
  if (view) view.checked = true;
  if (p.has('kind')) {
    const kinds = p.get('kind').split(',');
    for (const i of document.querySelectorAll('input[name=kind]')) i.checked = kinds.includes(i.value);
  }
  fillCategories(p.get('category') || '');
  for (const id of ['from', 'to', 'hours', 'area']) {
    const el = document.getElementById(id);
    el.value = p.get(id) || '';
    // An unknown area or hour range in the address: the default instead.
    if (el.tagName === 'SELECT' && el.selectedIndex < 0) el.selectedIndex = 0;
  }
  const [zoom, lat, lon] = (p.get('at') || '').split('/').map(Number);
  return Number.isFinite(zoom) && Number.isFinite(lat) && Number.isFinite(lon) ? { zoom, center: [lon, lat] } : null;
}

/** An area's bounding box, [[west, south], [east, north]]. */
function bounds(geometry) {
  const pts = geometry.type === 'Polygon' ? geometry.coordinates.flat() : geometry.coordinates.flat(2);
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  return [[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]];
}

async function main() {
  const [config, tax, areas] = await Promise.all([
    fetch('/ui-config.json').then((r) => r.json()),
    fetch('/api/v1/taxonomy').then((r) => r.json()),
    fetch('/api/v1/areas').then((r) => r.json()),
  ]);
  taxonomy = tax;
  const areaSelect = document.getElementById('area');
  for (const f of areas.features) areaSelect.add(new Option(f.properties.name, f.properties.id));
  i18n.chooser();
  applyStrings();
  const at = restoreState();
  const areaFeature = (id) => areas.features.find((f) => f.properties.id === id);
  const startArea = areaFeature(document.getElementById('area').value);

  const sources = {
    hex: { type: 'vector', url: hexUrl() },
    areas: { type: 'vector', url: '/tiles/areas.json' },
    hot: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
  };
  const layers = [{ id: 'background', type: 'background', paint: { 'background-color': '#e9ecef' } }];
  if (config.basemap?.tiles) {
    sources.base = { type: 'raster', tiles: [config.basemap.tiles], tileSize: 256, attribution: config.basemap.attribution };
    layers.push({ id: 'base', type: 'raster', source: 'base', paint: { 'raster-saturation': -0.7, 'raster-opacity': 0.85 } });
  }
  const colour = ['step', ['get', 'count'], COLOURS[0]];
  CLASSES.slice(1).forEach((c, i) => colour.push(c, COLOURS[i + 1]));
  layers.push(
    { id: 'hex-fill', type: 'fill', source: 'hex', 'source-layer': 'hexagons', paint: { 'fill-color': colour, 'fill-opacity': 0.72 } },
    { id: 'hex-line', type: 'line', source: 'hex', 'source-layer': 'hexagons', paint: { 'line-color': '#ffffff', 'line-width': 0.6, 'line-opacity': 0.8 } },
    { id: 'hex-selected', type: 'line', source: 'hex', 'source-layer': 'hexagons', filter: ['==', ['get', 'cell'], ''], paint: { 'line-color': '#111', 'line-width': 2.5 } },
    {
      id: 'hot-fill', type: 'fill', source: 'hot', layout: { visibility: 'none' },
      filter: ['!=', ['get', 'bin'], 0],
      paint: {
        'fill-color': ['match', ['get', 'bin'], 3, HOT[0][1], 2, HOT[1][1], 1, HOT[2][1], HOT[3][1]],
        'fill-opacity': 0.75,
      },
    },
    { id: 'areas-line', type: 'line', source: 'areas', 'source-layer': 'areas', paint: { 'line-color': '#1d3557', 'line-width': 1.6, 'line-dasharray': [3, 2] } },
  );
  const map = new maplibregl.Map({
    container: 'map',
    style: { version: 8, sources, layers },
    // Signed-in analysts send their token with Trygg's own requests.
    transformRequest: (url) => (session && url.startsWith(location.origin)
      ? { url, headers: { authorization: `Bearer ${session.token}` } }
      : { url }),
    // The address's view, else the chosen area, else the municipality.
    center: at?.center || config.center,
    zoom: at?.zoom ?? 11.5,
    ...(!at && startArea ? { bounds: bounds(startArea.geometry), fitBoundsOptions: { padding: 40 } } : {}),
    minZoom: 8,
    maxZoom: 17,
    attributionControl: false,
  });
  i18n.placeMapControls(map, maplibregl);
  window.trygg = { map };

  // Area names as HTML labels (no glyph server needed).
  for (const f of areas.features) {
    const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0];
    const lon = ring.reduce((s, p) => s + p[0], 0) / ring.length;
    const lat = ring.reduce((s, p) => s + p[1], 0) / ring.length;
    const el = document.createElement('div');
    el.className = 'area-label';
    el.textContent = f.properties.name;
    new maplibregl.Marker({ element: el }).setLngLat([lon, lat]).addTo(map);
  }

  // Trend and gap views: the hexagon tiles with ?analysis=true, added the
  // first time one of them is chosen (the server computes them on demand).
  const trendColour = ['match', ['get', 'trend']];
  for (const [, colour, cats] of TREND) trendColour.push(cats, colour);
  trendColour.push('rgba(0,0,0,0)');
  const gapColour = ['match', ['get', 'gap']];
  for (const [key, colour] of GAP) gapColour.push(key, colour);
  gapColour.push('rgba(0,0,0,0)');
  const analysisUrl = () => {
    const q = query();
    q.set('analysis', 'true');
    return `/tiles/hexagons.json?${q}`;
  };
  function ensureAnalysisLayers() {
    if (map.getSource('hexa')) return;
    map.addSource('hexa', { type: 'vector', url: analysisUrl() });
    for (const [id, paint] of [
      ['trend-fill', { 'fill-color': trendColour, 'fill-opacity': 0.78 }],
      ['gap-fill', { 'fill-color': gapColour, 'fill-opacity': 0.72 }],
    ]) {
      map.addLayer({ id, type: 'fill', source: 'hexa', 'source-layer': 'hexagons', layout: { visibility: 'none' }, paint }, 'areas-line');
      map.on('click', id, (e) => showCell(e.features[0].properties));
    }
  }
  const view = () => document.querySelector('input[name=view]:checked').value;

  // Hot-spot view: Gi* bins for the cells at the zoom's resolution.
  const hotView = () => view() === 'hotspots';
  async function loadHot() {
    if (!hotView()) return;
    const q = query();
    const z = map.getZoom();
    q.set('res', z < 11 ? '7' : z < 12.5 ? '8' : '9');
    q.set('fdr', 'true');
    const r = await fetch(`/api/v1/hotspots?${q}`);
    if (r.ok) map.getSource('hot').setData(await r.json());
  }
  const setView = () => {
    const v = view();
    if (v === 'trend' || v === 'gap') ensureAnalysisLayers();
    const show = (id, on) => { if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none'); };
    show('hex-fill', v === 'count');
    show('hex-line', v === 'count' || v === 'trend' || v === 'gap');
    show('hot-fill', v === 'hotspots');
    show('trend-fill', v === 'trend');
    show('gap-fill', v === 'gap');
    document.getElementById('legend-items').hidden = v !== 'count';
    document.getElementById('legend-hot').hidden = v !== 'hotspots';
    document.getElementById('legend-trend').hidden = v !== 'trend';
    document.getElementById('legend-gap').hidden = v !== 'gap';
    const legend = { count: 'legend', hotspots: 'hotLegend', trend: 'trendLegend', gap: 'gapLegend' }[v];
    document.getElementById('legend-h').textContent = t(legend);
    loadHot();
  };
  // The layers the chosen view shows (and its hot spots), nothing more.
  const showLayers = () => {
    setView();
    if (checkedKinds().length === 0) {
      for (const id of ['hex-fill', 'hex-line']) map.setLayoutProperty(id, 'visibility', 'none');
    }
  };
  for (const r of document.querySelectorAll('input[name=view]')) {
    r.addEventListener('change', () => {
      showLayers();
      saveState(map);
    });
  }
  map.on('moveend', loadHot);
  map.on('moveend', () => saveState(map));
  map.once('load', () => {
    showLayers();
    saveState(map);
    if (session?.role === 'analyst') addPoints(map);
  });

  const refresh = () => {
    map.getSource('hex').setUrl(hexUrl());
    map.getSource('hexa')?.setUrl(analysisUrl());
    closeCell();
    showLayers();
    loadPoints(map);
    saveState(map);
  };
  // The category list follows the chosen kinds (before the tiles are asked for).
  for (const el of document.querySelectorAll('input[name=kind]')) el.addEventListener('change', () => fillCategories());
  for (const el of document.querySelectorAll('#filters input:not([name=view]), #filters select')) el.addEventListener('change', refresh);
  // Choosing an area shows all of it; the whole municipality goes back to the start view.
  document.getElementById('area').addEventListener('change', (e) => {
    const f = areaFeature(e.target.value);
    if (f) map.fitBounds(bounds(f.geometry), { padding: 40, maxZoom: 15 });
    else map.flyTo({ center: config.center, zoom: 11.5 });
  });
  for (const b of document.querySelectorAll('.quick button')) {
    b.addEventListener('click', () => {
      const months = Number(b.dataset.months);
      const to = new Date();
      const from = new Date(to);
      from.setMonth(from.getMonth() - months);
      document.getElementById('from').value = months ? isoDate(from) : '';
      // Up to and including today.
      document.getElementById('to').value = months ? isoDate(to) : '';
      refresh();
    });
  }
  i18n.onChange(() => {
    applyStrings();
    // The legend's heading follows the chosen view.
    setView();
  });

  const panel = document.getElementById('cell');
  function closeCell() {
    panel.hidden = true;
    map.setFilter('hex-selected', ['==', ['get', 'cell'], '']);
  }
  document.getElementById('cell-close').addEventListener('click', closeCell);
  // A click on an analyst's point or cluster is about that, not the cell under it.
  const onPoint = (e) => ['point', 'clusters'].some((l) => map.getLayer(l) && map.queryRenderedFeatures(e.point, { layers: [l] }).length);
  map.on('click', 'hex-fill', (e) => { if (!onPoint(e)) showCell(e.features[0].properties); });
  function showCell(p) {
    map.setFilter('hex-selected', ['==', ['get', 'cell'], p.cell]);
    document.getElementById('cell-count').textContent = i18n.number(p.count);
    document.getElementById('cell-id').textContent = `H3 ${p.cell}`;
    const dl = document.getElementById('cell-kinds');
    if (p.insecurity === undefined) {
      const dd = document.createElement('dd');
      dd.textContent = t('withheld');
      dl.replaceChildren(dd);
    } else {
      dl.replaceChildren(...KINDS.flatMap((k) => {
        const dt = document.createElement('dt');
        dt.textContent = t(`kind.${k}`);
        const dd = document.createElement('dd');
        dd.textContent = i18n.number(p[k]);
        return [dt, dd];
      }));
    }
    const flags = [];
    if (p.trend) flags.push(t(`trend.${TREND.find(([, , cats]) => cats.includes(p.trend))?.[0]}`));
    if (p.gap && p.gap !== 'too_few') flags.push(t(`gap.${p.gap}`));
    document.getElementById('cell-flags').textContent = flags.join(' · ');
    panel.hidden = false;
    showBreakdown(p.cell);
  }

  async function showBreakdown(cell) {
    const r = await fetch(`/api/v1/cells/${cell}?${query()}`);
    if (!r.ok) return;
    const d = await r.json();
    categoryBars(document.getElementById('cell-categories'), d.by_category, i18n, config.k_anonymity, 6, t('noCategories'));
    monthBars(document.getElementById('cell-months'), d.by_month, i18n, config.k_anonymity);
  }
  map.on('mouseenter', 'hex-fill', () => { map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', 'hex-fill', () => { map.getCanvas().style.cursor = ''; });
}

const KIND_COLOURS = { insecurity: '#7b3294', walk_finding: '#1b7837', place_observation: '#2166ac' };

/** Individual observations for analysts, clustered where dense. */
function addPoints(map) {
  map.addSource('points', {
    type: 'geojson', data: { type: 'FeatureCollection', features: [] }, cluster: true, clusterRadius: 36, clusterMaxZoom: 16,
  });
  map.addLayer({
    id: 'clusters', type: 'circle', source: 'points', filter: ['has', 'point_count'],
    paint: {
      'circle-color': '#14213d', 'circle-opacity': 0.8, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2,
      'circle-radius': ['step', ['get', 'point_count'], 12, 10, 16, 50, 22, 200, 28],
    },
  });
  map.addLayer({
    id: 'point', type: 'circle', source: 'points', filter: ['!', ['has', 'point_count']],
    paint: {
      'circle-color': ['match', ['get', 'kind'], 'insecurity', KIND_COLOURS.insecurity, 'walk_finding', KIND_COLOURS.walk_finding, KIND_COLOURS.place_observation],
      'circle-radius': 7, 'circle-stroke-color': '#fff', 'circle-stroke-width': 2,
    },
  });
  map.on('click', 'clusters', async (e) => {
    const f = e.features[0];
    const zoom = await map.getSource('points').getClusterExpansionZoom(f.properties.cluster_id);
    map.easeTo({ center: f.geometry.coordinates, zoom });
  });
  map.on('click', 'point', (e) => showPoint(map, e.features[0]));
  for (const id of ['clusters', 'point']) {
    map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
  }
  map.on('moveend', () => loadPoints(map));
  loadPoints(map);
}

/** Loads the observations in view (audited on the server) when zoomed in. */
async function loadPoints(map) {
  const source = map.getSource('points');
  if (!source) return;
  if (map.getZoom() < POINTS_FROM_ZOOM) {
    source.setData({ type: 'FeatureCollection', features: [] });
    return;
  }
  const b = map.getBounds();
  const q = query();
  q.set('bbox', [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(','));
  q.set('limit', '5000');
  const r = await fetch(`/api/v1/observations?${q}`, { headers: { authorization: `Bearer ${session.token}` } });
  if (r.ok) source.setData(await r.json());
}

function categoryLabel(code) {
  for (const kind of KINDS) {
    const c = taxonomy?.[kind]?.find((x) => x.code === code);
    if (c) return i18n.category(code, c);
  }
  return code;
}

/** A popup with one observation; every text goes in as text, never HTML. */
function showPoint(map, feature) {
  const p = feature.properties;
  const box = document.createElement('div');
  box.className = 'point-popup';
  const h = document.createElement('h3');
  h.textContent = categoryLabel(p.category);
  const line = (text) => {
    const e = document.createElement('p');
    e.textContent = text;
    return e;
  };
  box.append(h, line(t(`kind.${p.kind}`)), line(i18n.date(p.observed_at, { dateStyle: 'medium', timeStyle: 'short' })));
  // Residents are not asked for a severity (/report): theirs is the default, not their word.
  if (p.severity && p.kind !== 'insecurity') box.append(line(`${t('severityShort')}: ${i18n.number(p.severity)} / ${i18n.number(3)}`));
  if (p.description) box.append(line(p.description));
  new maplibregl.Popup({ maxWidth: '280px' }).setLngLat(feature.geometry.coordinates).setDOMContent(box).addTo(map);
}

setupSignin(i18n);
main();
