// Safety-walk app: join with the walk's code, mark findings on the map.
// Every finding gets an id here and waits in an IndexedDB outbox until the
// server acknowledges it, so a dropped connection never loses or doubles one.
import * as maplibregl from '/vendor/maplibre-gl/maplibre-gl.mjs';
import { RESIDENT, pageLanguage } from '/static/i18n.js';
import { outbox } from '/static/queue.js';

const ICONS = {
  bulb: '💡', tree: '🌳', eye: '👁️', path: '🚶', spray: '🎨', trash: '🗑️', wrench: '🔧',
  car: '🚗', empty: '🕳️', tunnel: '🚇', exit: '🚪', heart: '💚',
};
const i18n = pageLanguage(RESIDENT);
const t = (key, vars) => i18n.t(`walk.${key}`, vars);
let session = JSON.parse(localStorage.getItem('trygg.walk') || 'null');
let taxonomy = null;
let map = null;
let point = null;
let marker = null;
let flushing = false;
// The walk's findings as the server last listed them (plus those it has
// just acknowledged), by id. Kept in memory only: raw points and comments
// are not stored on the phone beyond the outbox.
let known = new Map();

function applyStrings() {
  fillCategories();
  showOutbox();
  renderFindings();
  loadFindings();
}

function label(code) {
  return i18n.category(code, taxonomy?.walk_finding.find((x) => x.code === code));
}

function fillCategories() {
  if (!taxonomy) return;
  const box = document.getElementById('categories');
  const chosen = box.querySelector('input:checked')?.value;
  box.replaceChildren(...taxonomy.walk_finding.map((c) => {
    const l = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = 'category';
    input.value = c.code;
    input.checked = c.code === chosen;
    const icon = document.createElement('span');
    icon.className = 'icon';
    icon.setAttribute('aria-hidden', 'true');
    icon.textContent = ICONS[c.icon] || '📍';
    l.append(input, icon, document.createTextNode(i18n.category(c.code, c)));
    return l;
  }));
}

const auth = () => ({ authorization: `Bearer ${session.token}` });

async function showOutbox() {
  const n = (await outbox.all()).length;
  document.getElementById('outbox').textContent = n ? t('waiting', { n: i18n.number(n) }) : t('allSent');
}

/** Sends every queued finding; keeps what could not be sent. */
async function flush() {
  if (flushing || !session) return;
  flushing = true;
  try {
    for (const item of await outbox.all()) {
      let r;
      try {
        r = await fetch('/api/v1/observations', {
          method: 'POST',
          headers: { 'content-type': 'application/geo+json', ...auth() },
          body: JSON.stringify(item.feature),
        });
      } catch {
        break; // offline: try again later
      }
      if (r.ok || r.status === 409 || r.status === 422) {
        // Stored (201), stored before (200), or refused for good: done either way.
        if (r.ok) known.set(item.id, { ...item.feature, properties: { ...item.feature.properties, status: 'open' } });
        await outbox.remove(item.id);
        if (!r.ok) {
          const p = await r.json().catch(() => ({}));
          showError(i18n.problem(p, r.status));
        }
      } else {
        break; // 401, 429, 5xx: keep it and retry later
      }
    }
  } finally {
    flushing = false;
    // The list and the outbox line change together; then the server's word.
    await renderFindings();
    await showOutbox();
    await loadFindings();
  }
}

function showError(msg) {
  const e = document.getElementById('error');
  e.textContent = msg;
  e.hidden = !msg;
}

async function loadFindings() {
  if (!session || !navigator.onLine) return;
  const r = await fetch('/api/v1/observations?limit=1000', { headers: auth() }).catch(() => null);
  if (!r?.ok) return;
  const fc = await r.json();
  known = new Map(fc.features.map((f) => [f.id, f]));
  await renderFindings();
}

/**
 * Lists the findings newest first: the server's, and the outbox's marked as
 * waiting. A finding is listed once by its id, as sent once the server has it.
 */
let renders = 0;
async function renderFindings() {
  if (!session) return;
  const mine = ++renders;
  const queued = await outbox.all();
  if (mine !== renders) return; // a later call draws a fresher list
  const waiting = queued.map((item) => item.feature).filter((f) => !known.has(f.id));
  const all = [
    ...[...known.values()].map((f) => ({ f, pending: false })),
    ...waiting.map((f) => ({ f, pending: true })),
  ].sort((a, b) => b.f.properties.observed_at.localeCompare(a.f.properties.observed_at) || String(b.f.id).localeCompare(String(a.f.id)));
  const list = document.getElementById('findings');
  list.replaceChildren(...all.map(({ f, pending }) => {
    const li = document.createElement('li');
    li.dataset.id = f.id;
    if (pending) li.className = 'pending';
    const when = i18n.date(f.properties.observed_at, { hour: '2-digit', minute: '2-digit' });
    li.textContent = `${label(f.properties.category)} · ${when} `;
    const s = document.createElement('span');
    s.className = 'state';
    s.textContent = pending ? t('pending') : f.properties.status ? i18n.t(`finding.${f.properties.status}`) : '';
    li.append(s);
    return li;
  }));
  map?.getSource('findings')?.setData({
    type: 'FeatureCollection',
    features: all.map(({ f, pending }) => ({ ...f, properties: { ...f.properties, pending } })),
  });
}

async function checkNearby() {
  const box = document.getElementById('nearby');
  box.hidden = true;
  if (!point || !navigator.onLine) return;
  const q = new URLSearchParams({ lon: point[0], lat: point[1], radius_m: 30, kind: 'walk_finding' });
  const r = await fetch(`/api/v1/observations/nearby?${q}`, { headers: auth() }).catch(() => null);
  if (!r?.ok) return;
  const fc = await r.json();
  if (!fc.features.length) return;
  const items = fc.features.slice(0, 3).map((f) => `${label(f.properties.category)} (${t('metresAway', { n: i18n.number(Math.round(f.properties.distance_m)) })})`);
  box.textContent = `${t('nearbyFound')} ${items.join(', ')}`;
  box.hidden = false;
}

function place(lngLat) {
  point = [Number(lngLat.lng.toFixed(6)), Number(lngLat.lat.toFixed(6))];
  marker.setLngLat(point).addTo(map);
  marker.getElement().setAttribute('aria-label', i18n.t('map.marker'));
  document.getElementById('where-status').textContent = `✓ ${t('placeChosen')}`;
  checkNearby();
}

/** Chooses the place under the cross, once a keyboard pan has come to rest. */
function placeAtCentre() {
  if (map.isMoving()) map.once('moveend', () => place(map.getCenter()));
  else place(map.getCenter());
}

async function startWalk(config) {
  document.getElementById('join').hidden = true;
  document.getElementById('app').hidden = false;
  document.getElementById('walk-name').textContent = session.walk.name;
  const sources = {
    findings: { type: 'geojson', data: { type: 'FeatureCollection', features: [] } },
    route: { type: 'geojson', data: session.walk.route ? { type: 'Feature', geometry: session.walk.route, properties: {} } : { type: 'FeatureCollection', features: [] } },
  };
  const layers = [{ id: 'background', type: 'background', paint: { 'background-color': '#1b2636' } }];
  if (config.basemap?.tiles) {
    sources.base = { type: 'raster', tiles: [config.basemap.tiles], tileSize: 256, attribution: config.basemap.attribution };
    layers.push({ id: 'base', type: 'raster', source: 'base', paint: { 'raster-brightness-max': 0.85 } });
  }
  layers.push(
    { id: 'route', type: 'line', source: 'route', paint: { 'line-color': '#fdbb5c', 'line-width': 4, 'line-dasharray': [2, 1] } },
    // Waiting findings hollow: not on the server yet.
    { id: 'findings', type: 'circle', source: 'findings', paint: { 'circle-radius': 7, 'circle-color': ['case', ['get', 'pending'], '#1b2636', '#f05a2a'], 'circle-stroke-color': ['case', ['get', 'pending'], '#fdbb5c', '#fff'], 'circle-stroke-width': 2 } },
  );
  const route = session.walk.route?.coordinates;
  map = new maplibregl.Map({
    container: 'map',
    style: { version: 8, sources, layers },
    center: route?.[0] || config.center,
    zoom: 16,
    attributionControl: false,
    locale: i18n.mapLocale(),
  });
  i18n.placeMapControls(map, maplibregl);
  marker = new maplibregl.Marker({ color: '#fdbb5c' });
  window.trygg = { map };
  map.on('click', (e) => place(e.lngLat));
  // Keyboard: the arrow keys pan (MapLibre), Enter takes the centre.
  map.getCanvas().setAttribute('aria-describedby', 'map-hint');
  map.getCanvas().addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    placeAtCentre();
  });
  map.on('load', () => renderFindings());
  await showOutbox();
  await renderFindings();
  flush();
}

async function main() {
  const [config, tax] = await Promise.all([
    fetch('/ui-config.json').then((r) => r.json()),
    fetch('/api/v1/taxonomy').then((r) => r.json()),
  ]);
  taxonomy = tax;
  i18n.chooser();
  applyStrings();
  // A link from the organiser (/walk?code=…) fills in the join code.
  const linkCode = new URLSearchParams(location.search).get('code');
  if (linkCode) document.getElementById('code').value = linkCode.trim().toUpperCase();
  i18n.onChange(() => {
    applyStrings();
    if (map) i18n.placeMapControls(map, maplibregl);
    showError('');
    document.getElementById('join-error').hidden = true;
  });
  document.getElementById('join-btn').addEventListener('click', async () => {
    const err = document.getElementById('join-error');
    err.hidden = true;
    const code = document.getElementById('code').value;
    const r = await fetch('/api/v1/walks/join', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    }).catch(() => null);
    if (!r) {
      err.textContent = i18n.t('errors.network');
      err.hidden = false;
      return;
    }
    if (!r.ok) {
      // An unknown code is the participant's typo; a closed walk says so.
      const p = await r.json().catch(() => ({}));
      err.textContent = i18n.problem(p, r.status, { 'not-found': 'walk.badCode', 404: 'walk.badCode', validation: 'walk.badCode' });
      err.hidden = false;
      return;
    }
    session = await r.json();
    localStorage.setItem('trygg.walk', JSON.stringify(session));
    startWalk(config);
  });
  document.getElementById('centre').addEventListener('click', placeAtCentre);
  document.getElementById('locate').addEventListener('click', () => {
    navigator.geolocation?.getCurrentPosition(
      (pos) => {
        place({ lng: pos.coords.longitude, lat: pos.coords.latitude });
        map.flyTo({ center: point, zoom: 17 });
      },
      () => { document.getElementById('where-status').textContent = t('noPosition'); },
      { enableHighAccuracy: true, timeout: 15000 },
    );
  });
  const save = document.getElementById('save');
  save.addEventListener('click', async () => {
    // A double tap must not save the finding twice: one save at a time.
    if (save.disabled) return;
    save.disabled = true;
    try {
      await saveFinding();
    } finally {
      save.disabled = false;
    }
  });
  async function saveFinding() {
    showError('');
    const category = document.querySelector('input[name=category]:checked')?.value;
    if (!point) return showError(t('needPlace'));
    if (!category) return showError(t('needCategory'));
    const comment = document.getElementById('comment').value.trim();
    const id = crypto.randomUUID();
    const feature = {
      type: 'Feature',
      id,
      geometry: { type: 'Point', coordinates: point },
      properties: {
        kind: 'walk_finding',
        category,
        severity: Number(document.querySelector('input[name=severity]:checked').value),
        observed_at: new Date().toISOString(),
        ...(comment ? { description: comment } : {}),
      },
    };
    await outbox.add({ id, feature });
    await renderFindings();
    document.getElementById('comment').value = '';
    for (const i of document.querySelectorAll('input[name=category]')) i.checked = false;
    marker.remove();
    point = null;
    document.getElementById('where-status').textContent = t('saved');
    document.getElementById('nearby').hidden = true;
    await showOutbox();
    flush();
  }
  document.getElementById('leave').addEventListener('click', () => {
    localStorage.removeItem('trygg.walk');
    location.reload();
  });
  window.addEventListener('online', flush);
  setInterval(flush, 15000);
  if (session && new Date(session.expires_at) > new Date()) startWalk(config);
}

/** Keeps --bar-h at the header's height, so the workspace fits the screen below it. */
function fitWorkspace() {
  const bar = document.querySelector('.bar');
  const set = () => document.documentElement.style.setProperty('--bar-h', `${bar.offsetHeight}px`);
  new ResizeObserver(set).observe(bar);
  set();
}

fitWorkspace();
// The page and what it loads are cached by a service worker, so that a
// reload without a connection still opens the app (and its outbox).
navigator.serviceWorker?.register('/walk-sw.js', { scope: '/walk' }).catch(() => {});
main();
