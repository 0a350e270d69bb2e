// The action plan on the area pages: each action with its indicators and
// whether they are on track; for analysts and admins also creating,
// editing and removing actions, and entering the values of indicators that
// are not counted from observations (SSPF, controls of payments, …).
import { monthBars } from '/static/charts.js';

const FOCUS = ['young_people_and_crime', 'less_violence', 'safe_neighbourhoods', 'criminal_economy', 'cooperation'];
const STATUS = ['planned', 'ongoing', 'completed', 'paused'];
const KINDS = ['insecurity', 'walk_finding', 'place_observation'];
const PERIODS = ['quarter', 'month', 'year'];
let hintCount = 0;

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text != null) e.textContent = text;
  return e;
}

/** The municipality's own text: Swedish, laid out in its own direction. */
function content(e) {
  e.lang = 'sv';
  e.dir = 'auto';
  return e;
}

function button(text, className = 'link') {
  const b = el('button', className, text);
  b.type = 'button';
  return b;
}

/** A label around a control, with the control's text above it. */
function field(label, control) {
  const l = el('label', 'field');
  l.append(el('span', null, label), control);
  return l;
}

function input(type, value = '', attrs = {}) {
  const i = document.createElement(type === 'textarea' ? 'textarea' : 'input');
  if (type !== 'textarea') i.type = type;
  i.value = value ?? '';
  Object.assign(i, attrs);
  return i;
}

function select(options, value) {
  const s = document.createElement('select');
  s.append(...options.map(([v, label]) => new Option(label, v)));
  if (value != null) s.value = value;
  return s;
}

/** `2026-Q4`, `2026-12` or `2026`: the period of `kind` containing `date`, moved by `n`. */
export function periodOf(kind, date = new Date(), n = 0) {
  const y = date.getFullYear();
  if (kind === 'year') return String(y + n);
  if (kind === 'month') {
    const d = new Date(y, date.getMonth() + n, 1);
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}`;
  }
  const q = y * 4 + Math.floor(date.getMonth() / 3) + n;
  return `${Math.floor(q / 4)}-Q${(q % 4) + 1}`;
}

/** A slug for a new action's id, from its title. */
function slug(text) {
  return text.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
}

/**
 * Shows the actions of `area` (an area id, or `municipality` for those of
 * no area) in `container`. `session` is the signed-in user, if any.
 */
export async function showPlan({ container, area, session, i18n, k }) {
  const t = (key, vars) => i18n.t(`plan.${key}`, vars);
  // Editing is for staff, whose pages speak Swedish and English.
  const te = (key, vars) => i18n.t(`planEdit.${key}`, vars);
  const a = (key) => i18n.t(`areas.${key}`);
  const staff = ['analyst', 'admin'].includes(session?.role);
  const authorized = (init = {}) => ({ ...init, headers: { ...init.headers, authorization: `Bearer ${session?.token}` } });
  const kOr = (v) => (v != null ? i18n.number(v) : i18n.lessThan(k));
  let taxonomy = null;

  async function load() {
    const r = await fetch(`/api/v1/actions?area=${encodeURIComponent(area)}`, staff ? authorized() : {});
    return r.ok ? (await r.json()).actions : [];
  }

  async function render() {
    const actions = await load();
    const cards = actions.map(card);
    if (!actions.length) cards.push(el('p', 'note', a(area === 'municipality' ? 'noMunicipalActions' : 'noActions')));
    if (staff) {
      const add = button(te('newAction'), 'primary-small');
      add.addEventListener('click', () => edit(null));
      cards.push(add);
    }
    container.replaceChildren(...cards);
  }

  function card(action) {
    const box = el('article', 'action');
    box.dataset.action = action.id;
    const tags = el('p', 'tags');
    tags.append(el('span', null, i18n.t(`focus.${action.focus}`)), el('span', null, i18n.t(`actionStatus.${action.status}`)));
    const dl = el('dl');
    for (const [key, v] of [['purpose', action.purpose], ['goal', action.goal], ['responsible', action.responsible]]) {
      dl.append(el('dt', null, a(key)), content(el('dd', null, v)));
    }
    box.append(tags, content(el('h3', null, action.title)), dl);
    action.figures.forEach((f, i) => box.append(indicatorView(action, action.indicators[i], f)));
    if (staff) {
      const tools = el('p', 'tools');
      const change = button(te('edit'));
      change.addEventListener('click', () => edit(action));
      const remove = button(te('remove'));
      remove.addEventListener('click', () => removeAction(action, remove));
      tools.append(change, ' · ', remove);
      box.append(tools);
    }
    return box;
  }

  /** One indicator: its latest value against baseline and target, with a bar per period. */
  function indicatorView(action, ind, f) {
    const manual = f.source === 'manual';
    const shown = manual ? (v) => (v == null ? '–' : i18n.number(v)) : kOr;
    const box = el('div', 'indicator');
    box.append(content(el('p', null, f.name)));
    const line = el('p');
    line.append(el('span', 'value', shown(f.value)), ' (', el('bdi', null, f.period), ')');
    const verdict = manual ? f.on_track : (f.value != null ? f.on_track : null);
    if (verdict != null) line.append(el('span', `badge ${verdict ? 'ok' : 'behind'}`, a(verdict ? 'onTrack' : 'behind')));
    else if (manual) line.append(el('span', 'badge unknown', t(f.baseline == null ? 'noBaselineValue' : 'noValueYet')));
    const target = f.target == null ? (manual ? '–' : kOr(null)) : i18n.number(f.target, { maximumFractionDigits: 1 });
    const change = i18n.number(f.target_change_percent / 100, { style: 'percent', signDisplay: 'exceptZero', maximumFractionDigits: 1 });
    const meta = el('p', 'note');
    meta.append(`${a('baseline')} `, el('bdi', null, f.baseline_period), `: ${shown(f.baseline)} · ${a('target')}: `, el('bdi', null, `${target} (${change})`));
    meta.append(` · ${t(manual ? 'sourceManual' : 'sourceCounted')}`);
    box.append(line, meta);
    const bars = el('div', 'months');
    monthBars(bars, f.series.map((s) => ({ month: s.period, count: s.value ?? 0 })), i18n, manual ? 0 : k);
    box.append(bars);
    if (manual && staff) box.append(valuesEditor(action, ind, f));
    return box;
  }

  /** Entering a manual indicator's value for a period, and the values entered. */
  function valuesEditor(action, ind, f) {
    const details = el('details', 'entered');
    details.append(el('summary', null, te('enterValues')));
    const form = el('form', 'enter-value');
    const periods = [];
    for (let n = 0; n > -12; n -= 1) periods.push(periodOf(ind.period, new Date(), n));
    const period = select(periods.map((p) => [p, p]), periods[1]);
    const value = input('number', '', { step: 'any', required: true });
    const note = input('text', '', { maxLength: 1000 });
    const save = el('button', null, te('saveValue'));
    save.type = 'submit';
    const status = el('p', 'note');
    status.setAttribute('role', 'status');
    form.append(field(te('period'), period), field(te('value'), value), field(te('note'), note), save);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (save.disabled) return;
      save.disabled = true;
      try {
        const r = await fetch(valuePath(action, ind, period.value), authorized({
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ value: Number(value.value), note: note.value }),
        }));
        if (r.ok) {
          await render();
          return;
        }
        status.textContent = i18n.problem(await r.json().catch(() => null), r.status);
      } catch {
        status.textContent = i18n.t('errors.network');
      } finally {
        save.disabled = false;
      }
    });
    const list = el('ul', 'entered-list');
    for (const s of [...f.series].reverse().filter((p) => p.value != null)) {
      const li = el('li');
      const when = i18n.date(s.entered_at, { dateStyle: 'medium', timeStyle: 'short' });
      li.append(el('bdi', null, s.period), `: ${i18n.number(s.value)} · `, te('enteredBy', { who: s.entered_by, when }));
      if (s.note) li.append(' · ', content(el('span', null, s.note)));
      const remove = button(te('remove'));
      remove.setAttribute('aria-label', te('removeValue', { period: s.period }));
      remove.addEventListener('click', async () => {
        if (!window.confirm(te('confirmRemoveValue', { period: s.period }))) return;
        const r = await fetch(valuePath(action, ind, s.period), authorized({ method: 'DELETE' }));
        if (r.ok) await render();
      });
      li.append(' ', remove);
      list.append(li);
    }
    details.append(form, status, list);
    return details;
  }

  const valuePath = (action, ind, period) => `/api/v1/actions/${encodeURIComponent(action.id)}/indicators/${encodeURIComponent(ind.id)}/values/${encodeURIComponent(period)}`;

  async function removeAction(action, trigger) {
    if (!window.confirm(te('confirmRemove', { title: action.title }))) return;
    trigger.disabled = true;
    const r = await fetch(`/api/v1/actions/${encodeURIComponent(action.id)}`, authorized({ method: 'DELETE' }));
    if (r.ok || r.status === 404) await render();
    else trigger.disabled = false;
  }

  /** The editor for a new action (`action` null) or an existing one. */
  async function edit(action) {
    if (!taxonomy) taxonomy = await fetch('/api/v1/taxonomy').then((r) => r.json());
    const dialog = el('dialog', 'action-editor');
    dialog.setAttribute('aria-labelledby', 'action-editor-title');
    const form = el('form');
    form.noValidate = false;
    const heading = el('h2', null, t(action ? 'editAction' : 'newAction'));
    heading.id = 'action-editor-title';
    const v = action ?? { focus: 'safe_neighbourhoods', status: 'planned', start: new Date().toISOString().slice(0, 10), indicators: [] };
    const title = input('text', v.title, { required: true, maxLength: 4000 });
    const focus = select(FOCUS.map((f) => [f, i18n.t(`focus.${f}`)]), v.focus);
    const status = select(STATUS.map((s) => [s, i18n.t(`actionStatus.${s}`)]), v.status);
    const purpose = input('textarea', v.purpose, { required: true, rows: 2 });
    const goal = input('textarea', v.goal, { required: true, rows: 2 });
    const description = input('textarea', v.description, { rows: 3 });
    const responsible = input('text', v.responsible, { required: true });
    const start = input('date', v.start, { required: true });
    const end = input('date', v.end ?? '');
    for (const c of [title, purpose, goal, description, responsible]) content(c);
    const indicators = el('div', 'indicator-editors');
    const addIndicator = button(te('addIndicator'));
    addIndicator.addEventListener('click', () => indicators.append(indicatorEditor({ source: 'counted', period: 'quarter', target_change_percent: -10 })));
    (v.indicators ?? []).forEach((ind) => indicators.append(indicatorEditor(ind)));
    const errors = el('div', 'form-errors');
    errors.setAttribute('role', 'alert');
    const save = el('button', null, te('save'));
    save.type = 'submit';
    const cancel = button(te('cancel'), 'secondary');
    cancel.addEventListener('click', () => dialog.close());
    const row = (...children) => { const d = el('div', 'row'); d.append(...children); return d; };
    form.append(
      heading,
      field(te('title'), title),
      row(field(te('focus'), focus), field(te('status'), status)),
      field(a('purpose'), purpose),
      field(a('goal'), goal),
      field(te('description'), description),
      field(a('responsible'), responsible),
      row(field(te('start'), start), field(te('end'), end)),
      el('h3', null, te('indicators')),
      indicators,
      addIndicator,
      errors,
      row(save, cancel),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (save.disabled) return;
      const id = action?.id || slug(title.value);
      const body = {
        ...(action ? { places: action.places } : {}),
        area: area === 'municipality' ? null : area,
        focus: focus.value,
        status: status.value,
        title: title.value.trim(),
        purpose: purpose.value.trim(),
        goal: goal.value.trim(),
        description: description.value.trim(),
        responsible: responsible.value.trim(),
        start: start.value,
        end: end.value || null,
        indicators: [...indicators.children].map((x) => x.read()),
      };
      if (!id) {
        errors.textContent = te('titleNeeded');
        return;
      }
      // One save per click: a double tap must not store twice.
      save.disabled = true;
      try {
        const taken = !action && (await fetch('/api/v1/actions').then((r) => r.json())).actions.some((x) => x.id === id);
        if (taken) {
          errors.textContent = te('idTaken');
          return;
        }
        const r = await fetch(`/api/v1/actions/${encodeURIComponent(id)}`, authorized({
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        }));
        if (r.ok) {
          dialog.close();
          await render();
          return;
        }
        const p = await r.json().catch(() => null);
        errors.replaceChildren(el('p', null, i18n.problem(p, r.status)));
        if (p?.errors?.length) {
          const ul = el('ul');
          ul.append(...p.errors.map((x) => el('li', null, fieldName(x.field))));
          errors.append(ul);
        }
      } catch {
        errors.textContent = i18n.t('errors.network');
      } finally {
        save.disabled = false;
      }
    });
    dialog.append(form);
    dialog.addEventListener('close', () => dialog.remove());
    document.body.append(dialog);
    dialog.showModal();
    title.focus();
  }

  /** A field the server named in a validation problem, in words. */
  function fieldName(name) {
    const m = /^indicators\[(\d+)\]\.(\w+)$/.exec(name);
    if (m) return `${te('indicator')} ${Number(m[1]) + 1}: ${te(m[2] === 'target_change_percent' ? 'targetChange' : m[2])}`;
    const own = { purpose: a('purpose'), goal: a('goal'), responsible: a('responsible') }[name];
    return own ?? te(name.replace(/\[\d+\]$/, ''));
  }

  /** One indicator's fields; the fieldset's `read()` gives the indicator. */
  function indicatorEditor(ind) {
    const box = el('fieldset', 'indicator-editor');
    const legend = el('legend', null, te('indicator'));
    const name = content(input('text', ind.name, { required: true }));
    const source = select([['counted', t('sourceCounted')], ['manual', t('sourceManual')]], ind.source ?? 'counted');
    const period = select(PERIODS.map((p) => [p, te(`period_${p}`)]), ind.period);
    const baseline = input('text', ind.baseline ?? periodOf(ind.period ?? 'quarter', new Date(), -1), { required: true, pattern: '\\d{4}(-(Q[1-4]|0[1-9]|1[0-2]))?' });
    const hint = el('span', 'hint', te('baselineHint'));
    hint.id = `baseline-hint-${(hintCount += 1)}`;
    baseline.setAttribute('aria-describedby', hint.id);
    const change = input('number', ind.target_change_percent ?? 0, { required: true, step: 'any', min: -100 });
    const kinds = el('fieldset', 'kinds');
    kinds.append(el('legend', null, te('kinds')));
    const kindBoxes = KINDS.map((kind) => {
      const c = input('checkbox', kind);
      c.checked = (ind.kinds ?? []).includes(kind);
      const l = el('label', 'check');
      l.append(c, ` ${i18n.t(`kind.${kind}`)}`);
      kinds.append(l);
      return c;
    });
    const categories = document.createElement('select');
    categories.multiple = true;
    categories.size = 6;
    // The indicator's own categories are chosen at first; later, what is chosen.
    let first = ind.categories ?? [];
    const fillCategories = () => {
      const chosen = new Set([...categories.selectedOptions].map((o) => o.value).concat(first));
      first = [];
      const wanted = kindBoxes.filter((c) => c.checked).map((c) => c.value);
      categories.replaceChildren(...(wanted.length ? wanted : KINDS).map((kind) => {
        const g = document.createElement('optgroup');
        g.label = i18n.t(`kind.${kind}`);
        g.append(...(taxonomy[kind] ?? []).map((c) => {
          const o = new Option(i18n.category(c.code, c), c.code);
          o.selected = chosen.has(c.code);
          return o;
        }));
        return g;
      }));
    };
    fillCategories();
    kindBoxes.forEach((c) => c.addEventListener('change', fillCategories));
    const counted = el('div', 'counted');
    counted.append(kinds, field(te('categories'), categories));
    const showSource = () => { counted.hidden = source.value === 'manual'; };
    source.addEventListener('change', showSource);
    showSource();
    period.addEventListener('change', () => { baseline.value = periodOf(period.value, new Date(), -1); });
    const remove = button(te('removeIndicator'));
    remove.addEventListener('click', () => box.remove());
    const baselineField = field(te('baseline'), baseline);
    baselineField.append(hint);
    box.append(legend, field(te('name'), name), field(te('source'), source), counted, field(te('period'), period), baselineField, field(te('targetChange'), change), remove);
    box.read = () => {
      const manual = source.value === 'manual';
      return {
        ...(ind.id ? { id: ind.id } : {}),
        name: name.value.trim(),
        source: source.value,
        kinds: manual ? [] : kindBoxes.filter((c) => c.checked).map((c) => c.value),
        categories: manual ? [] : [...categories.selectedOptions].map((o) => o.value),
        ...(ind.area && !manual ? { area: ind.area } : {}),
        period: period.value,
        baseline: baseline.value.trim().toUpperCase(),
        target_change_percent: Number(change.value),
      };
    };
    return box;
  }

  await render();
}
