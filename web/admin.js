// Admin: walks and their join codes, area uploads, API tokens.
import { STAFF, pageLanguage } from '/static/i18n.js';

const i18n = pageLanguage(STAFF);
const t = (key, vars) => i18n.t(`admin.${key}`, vars);
let token = sessionStorage.getItem('trygg.admin');
/** Area names by id, for the walks' table. */
let areaNames = new Map();

async function api(path, options = {}) {
  const r = await fetch(path, {
    ...options,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(options.headers || {}) },
  });
  const body = await r.json().catch(() => null);
  if (!r.ok) {
    const e = document.getElementById('error');
    e.textContent = i18n.problem(body, r.status);
    e.hidden = false;
    throw new Error(e.textContent);
  }
  document.getElementById('error').hidden = true;
  return body;
}

/** The walk app with the join code filled in (walk.js reads `?code=`). */
const joinLink = (code) => `${location.origin}/walk?code=${encodeURIComponent(code)}`;

/** Table cells, each labelled with its column's heading for the phone layout. */
function cellsFor(table, n) {
  const heads = [...table.querySelectorAll('thead th')].map((th) => th.textContent);
  return Array.from({ length: n }, (_, i) => {
    const td = document.createElement('td');
    td.dataset.label = heads[i] || '';
    return td;
  });
}

/** Copies a walk's link; where the clipboard is not allowed, selects it to copy by hand. */
async function copyLink(link, status) {
  try {
    await navigator.clipboard.writeText(link.href);
    status.textContent = t('copied');
  } catch {
    getSelection().selectAllChildren(link);
    status.textContent = t('copyFailed');
  }
}

/** Asks before closing a walk: participants can save nothing after. */
function confirmClose(walk) {
  const dialog = document.getElementById('close-dialog');
  document.getElementById('close-text').textContent = t('confirmClose', { name: walk.name });
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'close'), { once: true }));
}

async function loadWalks() {
  const walks = await api('/api/v1/walks');
  const table = document.getElementById('walk-rows').closest('table');
  document.getElementById('walk-rows').replaceChildren(...walks.map((w) => {
    const tr = document.createElement('tr');
    const cells = cellsFor(table, 5);
    cells[0].textContent = w.name;
    cells[1].textContent = i18n.date(`${w.date}T12:00:00`);
    cells[2].textContent = w.area ? areaNames.get(w.area) || w.area : t('noArea');
    if (w.area) cells[2].lang = 'sv';
    const code = document.createElement('code');
    code.textContent = w.join_code;
    cells[3].append(code);
    if (w.open) {
      // The link participants open to join, ready to send or copy.
      const link = document.createElement('a');
      link.className = 'join-link';
      link.href = joinLink(w.join_code);
      link.textContent = link.href;
      const copy = document.createElement('button');
      copy.type = 'button';
      copy.className = 'secondary copy';
      copy.textContent = t('copyLink');
      copy.setAttribute('aria-label', `${t('copyLink')}: ${w.name}`);
      const status = document.createElement('span');
      status.className = 'copy-status';
      status.setAttribute('role', 'status');
      copy.addEventListener('click', () => copyLink(link, status));
      const box = document.createElement('div');
      box.className = 'join';
      box.append(link, copy, status);
      cells[3].append(box);
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'secondary';
      b.textContent = t('close');
      b.setAttribute('aria-label', `${t('close')}: ${w.name}`);
      b.addEventListener('click', async () => {
        if (!(await confirmClose(w))) return;
        await api(`/api/v1/walks/${w.id}/close`, { method: 'POST' });
        loadWalks();
      });
      cells[4].append(b);
    } else {
      cells[4].textContent = t('closed');
    }
    tr.append(...cells);
    return tr;
  }));
}

async function loadTokens() {
  const { tokens } = await api('/api/v1/tokens');
  const table = document.getElementById('token-rows').closest('table');
  document.getElementById('token-rows').replaceChildren(...tokens.map((tok) => {
    const tr = document.createElement('tr');
    const cells = cellsFor(table, 5);
    cells[0].textContent = tok.role;
    cells[1].textContent = tok.organisation || '';
    cells[2].textContent = tok.label || '';
    cells[3].textContent = i18n.date(tok.created_at);
    if (tok.active) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'secondary';
      b.textContent = t('revoke');
      b.setAttribute('aria-label', `${t('revoke')} ${tok.label || tok.role}`);
      b.addEventListener('click', async () => {
        await api(`/api/v1/tokens/${tok.id}`, { method: 'DELETE' });
        loadTokens();
      });
      cells[4].append(b);
    } else {
      cells[4].textContent = t('revoked');
    }
    tr.append(...cells);
    return tr;
  }));
}

async function loadAreas() {
  const areas = await fetch('/api/v1/areas').then((r) => r.json());
  const select = document.getElementById('walk-area');
  select.length = 1;
  for (const f of areas.features) select.add(new Option(f.properties.name, f.properties.id));
  areaNames = new Map(areas.features.map((f) => [f.properties.id, f.properties.name]));
}

async function enter() {
  document.getElementById('login-box').hidden = true;
  document.getElementById('admin').hidden = false;
  // The walks' table names their areas.
  await loadAreas();
  await Promise.all([loadWalks(), loadTokens()]);
  document.body.dataset.ready = 'true';
}

function slug(s) {
  return s.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 64);
}

function main() {
  i18n.chooser();
  i18n.onChange(() => {
    if (token) enter().catch(() => {});
  });
  document.getElementById('login').addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await fetch('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: document.getElementById('username').value, password: document.getElementById('password').value }),
    });
    const body = await r.json().catch(() => null);
    if (!r.ok || body.role !== 'admin') {
      const err = document.getElementById('login-error');
      err.textContent = t(r.status === 429 ? 'tooManyAttempts' : r.ok || r.status === 401 ? 'loginFailed' : 'loginUnavailable');
      err.hidden = false;
      return;
    }
    token = body.token;
    sessionStorage.setItem('trygg.admin', token);
    enter();
  });
  document.getElementById('new-walk').addEventListener('submit', async (e) => {
    e.preventDefault();
    await api('/api/v1/walks', {
      method: 'POST',
      body: JSON.stringify({
        name: document.getElementById('walk-name').value,
        area: document.getElementById('walk-area').value || null,
        date: document.getElementById('walk-date').value,
        time_of_day: document.getElementById('walk-tod').value,
      }),
    });
    e.target.reset();
    loadWalks();
  });
  document.getElementById('areas-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const file = document.getElementById('areas-file').files[0];
    if (!file) return;
    const doc = JSON.parse(await file.text());
    const features = doc.type === 'FeatureCollection' ? doc.features : [doc];
    // A collection's CRS (QGIS names SWEREF 99 TM this way) goes with each feature.
    const crs = doc.crs?.properties?.name;
    const query = crs ? `?crs=${encodeURIComponent(crs)}` : '';
    let n = 0;
    for (const f of features) {
      const id = f.properties?.id || slug(f.properties?.name || '');
      await api(`/api/v1/areas/${encodeURIComponent(id)}${query}`, { method: 'PUT', headers: { 'content-type': 'application/geo+json' }, body: JSON.stringify(f) });
      n += 1;
    }
    document.getElementById('areas-status').textContent = t('uploaded', { n: i18n.number(n) });
    await loadAreas();
    loadWalks();
  });
  document.getElementById('token-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const org = document.getElementById('token-org').value.trim();
    const label = document.getElementById('token-label').value.trim();
    const body = await api('/api/v1/tokens', {
      method: 'POST',
      body: JSON.stringify({ role: document.getElementById('token-role').value, ...(org ? { organisation: org } : {}), ...(label ? { label } : {}) }),
    });
    document.getElementById('token-secret').textContent = body.token;
    document.getElementById('token-out').hidden = false;
    loadTokens();
  });
  document.getElementById('logout').addEventListener('click', () => {
    sessionStorage.removeItem('trygg.admin');
    location.reload();
  });
  if (token) enter().catch(() => sessionStorage.removeItem('trygg.admin'));
}

main();
