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
// Bumped whenever `known` changes here (a finding sent, changed or
// removed), so that a list fetched before the change does not undo it.
let changes = 0;
// Whether the server's list has arrived since the page opened, and whether
// the last try to fetch it failed: until then, offline, the list holds only
// what waits in the outbox.
let listed = false;
let unreachable = false;

function applyStrings() {
  fillCategories();
  if (session) showClosed();
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
  box.replaceChildren(...categoryChoices('category', chosen));
}

/** The category chips (radios named `name`), as the form and the editor show them. */
function categoryChoices(name, chosen) {
  return taxonomy.walk_finding.map((c) => {
    const l = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = name;
    input.value = c.code;
    input.checked = c.code === chosen;
    const icon = document.createElement('span');
    icon.className = 'icon';
    icon.setAttribute('aria-hidden', 'true');
    icon.textContent = ICONS[c.icon] || '📍';
    l.append(input, icon, document.createTextNode(i18n.category(c.code, c)));
    return l;
  });
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
      unreachable = false;
      if (r.ok || r.status === 409 || r.status === 422) {
        // Stored (201), stored before (200), or refused for good: done either way.
        if (r.ok) {
          known.set(item.id, { ...item.feature, properties: { ...item.feature.properties, status: 'open', own: true } });
          changes += 1;
        }
        await outbox.remove(item.id);
        if (!r.ok) {
          const p = await r.json().catch(() => ({}));
          // A closed walk is said once, by the form in its place.
          if (isWalkClosed(p)) walkClosed();
          else showError(i18n.problem(p, r.status));
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
  if (!session) return;
  if (!navigator.onLine) {
    unreachable = true;
    await renderFindings();
    return;
  }
  const before = changes;
  // The walk too: closed by its leader, it takes no more findings.
  const [r, w] = await Promise.all([
    fetch('/api/v1/observations?limit=1000', { headers: auth() }).catch(() => null),
    fetch(`/api/v1/walks/${encodeURIComponent(session.walk.id)}`, { headers: auth() }).catch(() => null),
  ]);
  if (w?.ok && (await w.json().catch(() => ({}))).open === false && session.walk.open !== false) walkClosed();
  if (unreachable !== !r) {
    unreachable = !r;
    await renderFindings();
  }
  if (!r?.ok) return;
  const fc = await r.json();
  if (before !== changes) return; // changed meanwhile: the next listing has it
  known = new Map(fc.features.map((f) => [f.id, f]));
  listed = true;
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
  // The list is redrawn often (every listing): keep the keyboard's place.
  const focused = list.contains(document.activeElement) ? document.activeElement : null;
  const refocus = focused && [focused.closest('li')?.dataset.id, focused.dataset.action];
  const editable = session.walk.open !== false && navigator.onLine;
  document.getElementById('findings-offline').hidden = listed || !unreachable;
  list.replaceChildren(...all.map(({ f, pending }) => {
    const li = document.createElement('li');
    li.dataset.id = f.id;
    if (pending) li.className = 'pending';
    const what = document.createElement('span');
    what.className = 'what';
    what.textContent = `${describe(f)} `;
    const s = document.createElement('span');
    s.className = 'state';
    s.textContent = pending ? t('pending') : f.properties.status ? i18n.t(`finding.${f.properties.status}`) : '';
    what.append(s);
    li.append(what);
    // Only the participant's own findings, once on the server, while the
    // walk is open and there is a connection to change them over.
    if (!pending && f.properties.own === true && editable) {
      const actions = document.createElement('span');
      actions.className = 'actions';
      actions.append(
        findingButton(f, 'edit', () => editFinding(f.id)),
        findingButton(f, 'remove', () => removeFinding(f.id)),
      );
      li.append(actions);
    }
    return li;
  }));
  if (refocus) {
    const again = list.querySelector(`li[data-id="${CSS.escape(refocus[0] ?? '')}"] [data-action="${refocus[1]}"]`);
    (again || document.getElementById('findings-heading')).focus();
  }
  map?.getSource('findings')?.setData({
    type: 'FeatureCollection',
    features: all.map(({ f, pending }) => ({ ...f, properties: { ...f.properties, pending } })),
  });
}

/** A finding in words: its category and time, e.g. "Belysning · 21:40". */
function describe(f) {
  const when = i18n.date(f.properties.observed_at, { hour: '2-digit', minute: '2-digit' });
  return `${label(f.properties.category)} · ${when}`;
}

/** "Ändra" or "Ta bort" on a finding, named for a screen reader with which one. */
function findingButton(f, action, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = `secondary ${action}`;
  b.dataset.action = action;
  b.textContent = t(action);
  b.setAttribute('aria-label', t(`${action}Label`, { finding: describe(f) }));
  b.addEventListener('click', onClick);
  return b;
}

/** Says what just happened to the list (a change saved, a finding removed). */
function listStatus(msg) {
  document.getElementById('findings-status').textContent = msg;
}

/**
 * A refused change or removal in the page's language. A 409 is either the
 * walk closed (then nothing can be changed any more) or, for a removal,
 * the participant's removals used up.
 */
function changeProblem(p, status) {
  if (status === 409 || p?.status === 409) {
    if (isWalkClosed(p)) {
      walkClosed();
      return t('closedNoChanges');
    }
    if (/removed \d+/.test(p?.detail || '')) return t('removeLimit');
  }
  return i18n.problem(p, status, { 'not-found': 'walk.findingGone', 404: 'walk.findingGone' });
}

const isWalkClosed = (p) => p?.status === 409 && /walk .* is closed/.test(p?.detail || '');

/** The walk has been closed: remember it, and offer no more findings or changes. */
function walkClosed() {
  session.walk.open = false;
  localStorage.setItem('trygg.walk', JSON.stringify(session));
  showClosed();
  renderFindings();
}

/** A closed walk's form says so, in place of taking findings nobody can save. */
function showClosed() {
  const closed = session.walk.open === false;
  const notice = document.getElementById('closed');
  notice.textContent = closed ? i18n.t('errors.walkClosed') : '';
  notice.hidden = !closed;
  for (const f of document.querySelectorAll('.sheet fieldset, .sheet textarea, #save, #locate')) f.disabled = closed;
  if (closed) {
    showError('');
    marker?.remove();
    point = null;
    document.getElementById('where-status').textContent = '';
  }
}

/**
 * A small modal dialog, labelled by its heading; removed when closed, the
 * keyboard back on the finding's `action` button (`[id, action]`).
 */
function modal(className, title, [id, action] = []) {
  const dialog = document.createElement('dialog');
  dialog.className = `walk-dialog ${className}`;
  const heading = document.createElement('h2');
  heading.id = `${className}-title`;
  heading.textContent = title;
  dialog.setAttribute('aria-labelledby', heading.id);
  dialog.addEventListener('close', () => {
    dialog.remove();
    // The button that opened it may have been drawn again (the list is
    // redrawn on every listing) or be gone (the finding removed, the walk
    // closed): its successor, or else the list's heading.
    if (!document.activeElement || document.activeElement === document.body) {
      const again = id && document.querySelector(`#findings li[data-id="${CSS.escape(id)}"] [data-action="${action}"]`);
      (again || document.getElementById('findings-heading')).focus();
    }
  });
  return [dialog, heading];
}

/** Sends one change or removal; the problem message, or null when done. */
async function send(method, id, body) {
  let r;
  try {
    r = await fetch(`/api/v1/observations/${encodeURIComponent(id)}`, {
      method,
      headers: { ...auth(), ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    return { error: i18n.t('errors.network'), retry: true };
  }
  if (r.ok) return { feature: r.status === 204 ? null : await r.json().catch(() => null) };
  const p = await r.json().catch(() => ({}));
  if (r.status === 404) {
    // Gone already (removed by the organiser, or on another phone).
    known.delete(id);
    changes += 1;
    renderFindings();
  }
  // Busy or unreachable: worth another try. Otherwise the answer stands.
  return { error: changeProblem(p, r.status), retry: r.status === 429 || r.status >= 500 };
}

/** A dialog's line for a refusal, hidden until there is one. */
function alertLine() {
  const p = document.createElement('p');
  p.className = 'error';
  p.setAttribute('role', 'alert');
  p.hidden = true;
  return p;
}

function dialogButton(type, className, label) {
  const b = document.createElement('button');
  b.type = type;
  b.className = className;
  b.textContent = label;
  return b;
}

function buttonRow(...buttons) {
  const row = document.createElement('div');
  row.className = 'dialog-buttons';
  row.append(...buttons);
  return row;
}

/** The editor of one of the participant's findings: category, severity, comment. */
function editFinding(id) {
  const f = known.get(id);
  if (!f) return;
  const [dialog, heading] = modal('finding-editor', t('editTitle'), [id, 'edit']);
  const form = document.createElement('form');
  const what = document.createElement('fieldset');
  const whatLegend = document.createElement('legend');
  whatLegend.textContent = t('whatSee');
  const tiles = document.createElement('div');
  tiles.className = 'tiles';
  tiles.append(...categoryChoices('edit-category', f.properties.category));
  what.append(whatLegend, tiles);
  const sev = document.createElement('fieldset');
  const sevLegend = document.createElement('legend');
  sevLegend.textContent = t('severity');
  const segmented = document.createElement('div');
  segmented.className = 'segmented';
  for (const n of [1, 2, 3]) {
    const l = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = 'edit-severity';
    input.value = String(n);
    input.checked = n === f.properties.severity;
    const span = document.createElement('span');
    span.textContent = t(`sev${n}`);
    l.append(input, span);
    segmented.append(l);
  }
  sev.append(sevLegend, segmented);
  const field = document.createElement('label');
  field.className = 'field';
  const fieldText = document.createElement('span');
  fieldText.textContent = t('comment');
  const comment = document.createElement('textarea');
  comment.rows = 2;
  comment.maxLength = 2000;
  comment.value = f.properties.description || '';
  comment.dir = 'auto'; // the participant's words, whatever the page's language
  field.append(fieldText, comment);
  const error = alertLine();
  const save = dialogButton('submit', 'primary', t('saveChanges'));
  const cancel = dialogButton('button', 'secondary', t('cancel'));
  cancel.addEventListener('click', () => dialog.close());
  form.append(heading, what, sev, field, error, buttonRow(save, cancel));
  dialog.append(form);
  let busy = false;
  // Escape while the change is on its way would hide its outcome.
  dialog.addEventListener('cancel', (e) => { if (busy) e.preventDefault(); });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    // A double tap must send the change once.
    if (busy) return;
    const category = form.querySelector('input[name=edit-category]:checked')?.value;
    const severity = Number(form.querySelector('input[name=edit-severity]:checked')?.value);
    const description = comment.value.trim();
    const body = {};
    if (category && category !== f.properties.category) body.category = category;
    if (severity && severity !== f.properties.severity) body.severity = severity;
    // A blank comment clears it.
    if (description !== (f.properties.description || '')) body.description = description;
    if (!Object.keys(body).length) {
      dialog.close();
      return;
    }
    busy = true;
    save.disabled = true;
    error.hidden = true;
    try {
      const { feature, error: msg } = await send('PATCH', id, body);
      if (msg) {
        error.textContent = msg;
        error.hidden = false;
        // Gone, or the walk closed: nothing to save any more.
        if (!known.has(id) || session.walk.open === false) {
          save.hidden = true;
          cancel.focus();
        }
        return;
      }
      known.set(id, feature?.properties ? feature : { ...f, properties: { ...f.properties, ...body } });
      changes += 1;
      busy = false;
      dialog.close();
      await renderFindings();
      listStatus(t('changed', { finding: describe(known.get(id)) }));
      document.querySelector(`#findings li[data-id="${CSS.escape(id)}"] [data-action=edit]`)?.focus();
    } finally {
      busy = false;
      save.disabled = false;
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  (form.querySelector('input[name=edit-category]:checked') || form.querySelector('input')).focus();
}

/** Asks, then removes one of the participant's findings. */
function removeFinding(id) {
  const f = known.get(id);
  if (!f) return;
  const [dialog, heading] = modal('finding-remove', t('removeTitle'), [id, 'remove']);
  const text = document.createElement('p');
  text.id = 'finding-remove-text';
  text.textContent = t('confirmRemove', { finding: describe(f) });
  dialog.setAttribute('aria-describedby', text.id);
  const error = alertLine();
  const yes = dialogButton('button', 'danger', t('remove'));
  const no = dialogButton('button', 'secondary', t('cancel'));
  no.addEventListener('click', () => dialog.close());
  dialog.append(heading, text, error, buttonRow(yes, no));
  let busy = false;
  dialog.addEventListener('cancel', (e) => { if (busy) e.preventDefault(); });
  yes.addEventListener('click', async () => {
    if (busy) return;
    busy = true;
    yes.disabled = true;
    error.hidden = true;
    try {
      const { error: msg, retry } = await send('DELETE', id);
      if (msg) {
        error.textContent = msg;
        error.hidden = false;
        if (!retry) {
          yes.hidden = true;
          no.focus();
        }
        return;
      }
      // The next item (or the heading) keeps the keyboard in the list.
      const li = document.querySelector(`#findings li[data-id="${CSS.escape(id)}"]`);
      const next = li?.nextElementSibling?.dataset.id || li?.previousElementSibling?.dataset.id;
      known.delete(id);
      changes += 1;
      busy = false;
      dialog.close();
      await renderFindings();
      listStatus(t('removed', { finding: describe(f) }));
      const target = next && document.querySelector(`#findings li[data-id="${CSS.escape(next)}"] button`);
      (target || document.getElementById('findings-heading')).focus();
    } finally {
      busy = false;
      yes.disabled = false;
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  no.focus();
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
  if (session.walk.open === false) return;
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
    // The base map's credit takes the bottom line: the buttons sit above it.
    document.querySelector('.map-wrap').classList.add('credited');
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
  showClosed();
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
  const joinButton = document.getElementById('join-btn');
  joinButton.addEventListener('click', async () => {
    // A double tap must not join twice.
    if (joinButton.disabled) return;
    const err = document.getElementById('join-error');
    err.hidden = true;
    const code = document.getElementById('code').value;
    if (!code.trim()) {
      err.textContent = t('needCode');
      err.hidden = false;
      document.getElementById('code').focus();
      return;
    }
    joinButton.disabled = true;
    const r = await fetch('/api/v1/walks/join', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    }).catch(() => null).finally(() => { joinButton.disabled = false; });
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
    await startWalk(config);
    // The keyboard goes on from the walk's name, not from the top of the page.
    document.getElementById('walk-name').focus();
  });
  // Enter in the code field (a phone keyboard's "Go") joins, too.
  document.getElementById('code').addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || e.isComposing) return;
    e.preventDefault();
    joinButton.click();
  });
  // The button waits in the page, disabled, until it does something.
  joinButton.disabled = false;
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
      save.disabled = session.walk.open === false;
      // A disabled button loses the focus: give it back, for the next finding.
      if (!save.disabled && document.activeElement === document.body) save.focus();
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
  // Changes need the server: offered only while online.
  window.addEventListener('offline', () => renderFindings());
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
