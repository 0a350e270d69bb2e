// Resident report: where, when and why a place feels unsafe. No account;
// the report carries a client-generated id so a retry never duplicates it.
import * as maplibregl from '/vendor/maplibre-gl/maplibre-gl.mjs';
import { REPORT, pageLanguage } from '/static/i18n.js';

const i18n = pageLanguage(REPORT);
const t = (key, vars) => i18n.t(`report.${key}`, vars);
let taxonomy = null;
let point = null;
let reportId = crypto.randomUUID();
// How many days back a report may be dated (from the server), or null.
let reachBackDays = null;

function fillCategories() {
  const box = document.getElementById('categories');
  const chosen = box.querySelector('input:checked')?.value;
  if (!taxonomy) return;
  box.replaceChildren(...taxonomy.insecurity.map((c) => {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = 'category';
    input.value = c.code;
    input.checked = c.code === chosen;
    label.append(input, document.createTextNode(i18n.category(c.code, c)));
    return label;
  }));
}

/** A time as a datetime-local value, `days` days before now. */
function localNow(days = 0) {
  const d = new Date(Date.now() - days * 86400000);
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
  return d.toISOString().slice(0, 16);
}

/** The "När" field: now, and no later than now nor earlier than the server takes. */
function resetWhen() {
  const when = document.getElementById('when');
  when.value = localNow();
  when.max = localNow();
  if (reachBackDays) when.min = localNow(reachBackDays);
}

async function main() {
  const [config, tax] = await Promise.all([
    fetch('/ui-config.json').then((r) => r.json()),
    fetch('/api/v1/taxonomy').then((r) => r.json()),
  ]);
  taxonomy = tax;
  reachBackDays = config.report_reach_back_days ?? null;
  i18n.chooser();
  fillCategories();
  resetWhen();

  // District outlines help orientation, also without a base map.
  const sources = { areas: { type: 'vector', url: '/tiles/areas.json' } };
  const layers = [{ id: 'background', type: 'background', paint: { 'background-color': '#e9ecef' } }];
  if (config.basemap?.tiles) {
    sources.base = { type: 'raster', tiles: [config.basemap.tiles], tileSize: 256, attribution: config.basemap.attribution };
    layers.push({ id: 'base', type: 'raster', source: 'base' });
  }
  layers.push({ id: 'areas', type: 'line', source: 'areas', 'source-layer': 'areas', paint: { 'line-color': '#1d3557', 'line-width': 1.5, 'line-dasharray': [3, 2] } });
  const map = new maplibregl.Map({
    container: 'map',
    style: { version: 8, sources, layers },
    center: config.center,
    zoom: 13,
    attributionControl: false,
    locale: i18n.mapLocale(),
  });
  i18n.placeMapControls(map, maplibregl);
  const marker = new maplibregl.Marker({ color: '#d7301f' });
  window.trygg = { map };

  const form = document.getElementById('report');
  const error = document.getElementById('error');
  // The message shown, as a function so that a change of language redraws it.
  let shown = null;
  const showError = (message) => {
    shown = message;
    error.textContent = message ? message() : '';
    error.hidden = !message;
  };
  // Whatever the message was about, the resident has just changed it.
  form.addEventListener('input', () => showError(null));

  const status = document.getElementById('where-status');
  const place = (lngLat) => {
    showError(null);
    point = [Number(lngLat.lng.toFixed(6)), Number(lngLat.lat.toFixed(6))];
    marker.setLngLat(point).addTo(map);
    marker.getElement().setAttribute('aria-label', i18n.t('map.marker'));
    status.textContent = t('placeChosen');
  };
  map.on('click', (e) => place(e.lngLat));
  // Without a mouse or GPS: the arrow keys pan the map (MapLibre), and Enter
  // or the centre button chooses the place under the cross, once at rest.
  const placeAtCentre = () => {
    if (map.isMoving()) map.once('moveend', () => place(map.getCenter()));
    else place(map.getCenter());
  };
  map.getCanvas().setAttribute('aria-describedby', 'map-hint');
  map.getCanvas().addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    placeAtCentre();
  });
  document.getElementById('centre').addEventListener('click', placeAtCentre);
  document.getElementById('locate').addEventListener('click', () => {
    if (!navigator.geolocation) {
      status.textContent = t('noPosition');
      return;
    }
    status.textContent = t('locating');
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        place({ lng: pos.coords.longitude, lat: pos.coords.latitude });
        map.flyTo({ center: point, zoom: 16 });
      },
      () => { status.textContent = t('noPosition'); },
      { enableHighAccuracy: true, timeout: 15000 },
    );
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    showError(null);
    const category = form.querySelector('input[name=category]:checked')?.value;
    const when = new Date(document.getElementById('when').value);
    const problem = !point ? 'needPlace'
      : !category ? 'needWhy'
        : Number.isNaN(when.getTime()) ? 'needWhen'
          : when > new Date(Date.now() + 600000) ? 'whenFuture'
            : reachBackDays && when < new Date(Date.now() - reachBackDays * 86400000) ? 'whenTooOld' : null;
    if (problem) {
      const key = { whenFuture: 'errors.observedAtFuture', whenTooOld: 'errors.observedAtTooOld' }[problem];
      showError(() => (key ? i18n.t(key) : t(problem)));
      return;
    }
    const send = document.getElementById('send');
    send.disabled = true;
    send.textContent = t('sending');
    const comment = document.getElementById('comment').value.trim();
    const body = {
      type: 'Feature',
      id: reportId,
      geometry: { type: 'Point', coordinates: point },
      properties: {
        kind: 'insecurity',
        category,
        observed_at: when.toISOString(),
        ...(comment ? { description: comment } : {}),
      },
    };
    try {
      const r = await fetch('/api/v1/observations', {
        method: 'POST',
        headers: { 'content-type': 'application/geo+json' },
        body: JSON.stringify(body),
      });
      if (r.ok) {
        form.hidden = true;
        document.getElementById('thanks').hidden = false;
        // The keyboard goes on from the thanks, not from the top of the page.
        document.querySelector('#thanks h2').focus();
      } else {
        const p = await r.json().catch(() => ({}));
        showError(() => i18n.problem(p, r.status));
      }
    } catch {
      showError(() => i18n.t('errors.network'));
    } finally {
      send.disabled = false;
      send.textContent = t('send');
      // A disabled button loses the focus: give it back, to send again.
      if (!form.hidden && document.activeElement === document.body) send.focus();
    }
  });
  document.getElementById('again').addEventListener('click', () => {
    reportId = crypto.randomUUID();
    form.reset();
    resetWhen();
    marker.remove();
    point = null;
    status.textContent = '';
    form.hidden = false;
    document.getElementById('thanks').hidden = true;
  });
  i18n.onChange(() => {
    fillCategories();
    i18n.placeMapControls(map, maplibregl);
    if (point) status.textContent = t('placeChosen');
    showError(shown);
  });
}

main();
