// The pages' languages. Every string lives in a message file per language,
// web/messages/<code>.json (plain JSON that a translator edits), loaded
// here before any page script runs. README.md, "Languages", says how to
// add a language.

/** Languages of the resident pages (/walk, /areas); /report adds lättläst. */
export const RESIDENT = ['sv', 'en', 'fi', 'ar'];
/** /report: the resident languages and easy-to-read Swedish. */
export const REPORT = ['sv', 'sv-lattlast', 'en', 'fi', 'ar'];
/** Staff pages (the planner map, /admin). */
export const STAFF = ['sv', 'en'];

/** Every message file, by language code. */
const messages = Object.fromEntries(await Promise.all(
  [...new Set([...REPORT, ...RESIDENT, ...STAFF])].map(async (code) => {
    const r = await fetch(`/static/messages/${code}.json`);
    return [code, r.ok ? await r.json() : {}];
  }),
));

const STORE = 'trygg.lang';
const DEFAULT = 'sv';

/** The language a variant falls back to (`sv-lattlast` → `sv`). */
const base = (code) => code.split('-')[0];

/**
 * The page's language handling: `languages` are the codes the page offers,
 * Swedish first. The language is `?lang=` in the address, else the one
 * chosen before (on any page), else Swedish.
 */
export function pageLanguage(languages) {
  const wanted = new URLSearchParams(location.search).get('lang');
  if (wanted && languages.includes(wanted)) localStorage.setItem(STORE, wanted);
  const stored = wanted && languages.includes(wanted) ? wanted : localStorage.getItem(STORE);
  let lang = DEFAULT;
  if (stored && languages.includes(stored)) lang = stored;
  else if (stored && languages.includes(base(stored))) lang = base(stored);
  const listeners = [];

  const info = () => messages[lang].language;
  const chain = () => [...new Set([lang, base(lang), DEFAULT])];

  /** The message `section.name`, with `{name}` placeholders filled from `vars`. */
  function t(key, vars) {
    const dot = key.indexOf('.');
    const [section, name] = [key.slice(0, dot), key.slice(dot + 1)];
    let text = key;
    for (const code of chain()) {
      const v = messages[code]?.[section]?.[name];
      if (v) {
        text = v;
        break;
      }
    }
    return vars ? text.replace(/\{(\w+)\}/g, (m, v) => (v in vars ? String(vars[v]) : m)) : text;
  }

  const i18n = {
    get lang() { return lang; },
    get locale() { return info().locale; },
    get dir() { return info().dir; },
    t,

    /** A taxonomy category's label: the message files by code, else the server's sv or en label. */
    category(code, server) {
      for (const c of chain()) {
        const v = messages[c]?.categories?.[code];
        if (v) return v;
      }
      const label = server?.label || server;
      if (label && typeof label === 'object') return (base(lang) === 'sv' ? label.sv : label.en) || label.sv || code;
      return code;
    },

    /** A count, e.g. 7450 or 12 345 (groups from five digits). */
    number(n, options = {}) {
      return new Intl.NumberFormat(i18n.locale, { useGrouping: 'min2', ...options }).format(n);
    },
    /** `< k` for a count withheld for privacy. */
    lessThan(k) {
      return `< ${i18n.number(k)}`;
    },
    /** A date or time (`Date`, timestamp or ISO string). */
    date(value, options = { dateStyle: 'medium' }) {
      return new Intl.DateTimeFormat(i18n.locale, options).format(new Date(value));
    },
    /** A calendar month named like `2026-05`. */
    month(ym) {
      const [y, m] = ym.split('-').map(Number);
      if (!y || !m) return ym;
      return new Intl.DateTimeFormat(i18n.locale, { month: 'short', year: 'numeric', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, 1));
    },

    /**
     * A server problem (RFC 9457 JSON) as a message in the page's language:
     * by problem type and, for validation, by field. The server's own
     * English text is never shown. `overrides` maps a problem type or an
     * HTTP status to a message key where the page knows better.
     */
    problem(p, status, overrides = {}) {
      const type = String(p?.type || '').replace(/^.*\/problems\//, '');
      const code = p?.status || status;
      const key = overrides[type] || overrides[code] || problemKey(type, code, p);
      if (Array.isArray(key)) return key.map((k) => t(k)).join(' ');
      return t(key, { status: code ?? '?' });
    },

    /** Fills the page: `data-i18n` (text), `data-i18n-aria-label`, `<html lang dir>`. */
    apply() {
      const root = document.documentElement;
      root.lang = i18n.locale.split('-u-')[0];
      root.dir = i18n.dir;
      for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
      for (const el of document.querySelectorAll('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
      const chooser = document.getElementById('lang');
      if (chooser?.tagName === 'SELECT') {
        chooser.value = lang;
        chooser.setAttribute('aria-label', t('common.language'));
      } else if (chooser) {
        const other = languages.find((c) => c !== lang);
        chooser.textContent = messages[other].language.name;
        chooser.lang = messages[other].language.locale.split('-u-')[0];
        chooser.title = `${t('common.language')}: ${messages[other].language.name}`;
      }
    },

    /** Switches to `code`, remembers it and tells the page. */
    set(code) {
      if (!languages.includes(code) || code === lang) return;
      lang = code;
      localStorage.setItem(STORE, code);
      i18n.apply();
      for (const f of listeners) f(code);
    },
    onChange(f) {
      listeners.push(f);
    },

    /**
     * Wires the language chooser `#lang`: a <select> lists the page's
     * languages, each named in itself; a button (two languages) switches
     * to the other one.
     */
    chooser() {
      const el = document.getElementById('lang');
      if (el.tagName === 'SELECT') {
        el.replaceChildren(...languages.map((code) => {
          const o = new Option(messages[code].language.name, code);
          o.lang = messages[code].language.locale.split('-u-')[0];
          return o;
        }));
        el.value = lang;
        el.addEventListener('change', () => i18n.set(el.value));
      } else {
        el.addEventListener('click', () => i18n.set(languages.find((c) => c !== lang)));
      }
      i18n.apply();
    },

    /**
     * MapLibre's own labels (its `locale` option) in the page's language.
     * The keys are MapLibre's; any page with a map can pass this.
     */
    mapLocale() {
      return {
        'NavigationControl.ZoomIn': t('map.zoomIn'),
        'NavigationControl.ZoomOut': t('map.zoomOut'),
        'NavigationControl.ResetBearing': t('map.resetBearing'),
        'AttributionControl.ToggleAttribution': t('map.toggleAttribution'),
        'AttributionControl.MapFeedback': t('map.mapFeedback'),
        'Map.Title': t('common.map'),
        'Marker.Title': t('map.marker'),
      };
    },

    /**
     * Map controls on the reading side's far corner: right to left puts the
     * zoom buttons top left and the attribution bottom left. The map must
     * be made with `attributionControl: false`.
     */
    placeMapControls(map, maplibregl) {
      for (const c of controls.get(map) || []) map.removeControl(c);
      // MapLibre reads its labels when a control is added and has no public
      // setter: refresh its table so the controls added below (and after a
      // change of language) speak the page's language.
      if (map._locale) Object.assign(map._locale, i18n.mapLocale());
      map.getCanvas().setAttribute('aria-label', t('common.map'));
      const rtl = i18n.dir === 'rtl';
      const nav = new maplibregl.NavigationControl({ showCompass: false });
      const attribution = new maplibregl.AttributionControl({ compact: true });
      map.addControl(nav, rtl ? 'top-left' : 'top-right');
      map.addControl(attribution, rtl ? 'bottom-left' : 'bottom-right');
      controls.set(map, [nav, attribution]);
    },
  };
  return i18n;
}

const controls = new WeakMap();

/** The message key(s) for a problem. */
function problemKey(type, status, p) {
  switch (type) {
    case 'validation': {
      const keys = [...new Set((p?.errors || []).map(fieldKey))];
      return keys.length ? keys : 'errors.invalid';
    }
    // 409 covers both a closed walk and an id stored with other content;
    // only the detail tells them apart.
    case 'conflict': return /walk .* is closed/.test(p?.detail || '') ? 'errors.walkClosed' : 'errors.conflict';
    case 'rate-limited': return 'errors.rateLimited';
    case 'unauthorized': return 'errors.unauthorized';
    case 'forbidden': return 'errors.forbidden';
    case 'not-found': return 'errors.notFound';
    case 'body-too-large': return 'errors.tooLarge';
    case 'unavailable': return 'errors.unavailable';
    case 'internal': return 'errors.internal';
    case 'bad-request':
    case 'invalid-json':
    case 'invalid-query':
    case 'unsupported-media-type': return 'errors.badRequest';
    default: break;
  }
  const byStatus = {
    400: 'errors.badRequest', 401: 'errors.unauthorized', 403: 'errors.forbidden', 404: 'errors.notFound',
    409: 'errors.conflict', 413: 'errors.tooLarge', 422: 'errors.invalid', 429: 'errors.rateLimited',
    500: 'errors.internal', 502: 'errors.unavailable', 503: 'errors.unavailable', 504: 'errors.unavailable',
  };
  return byStatus[status] || 'errors.unknown';
}

/** A validation error's message key, by the field at fault. */
function fieldKey({ field, reason }) {
  switch (field) {
    case 'observed_at': return /in the future/.test(reason || '') ? 'errors.observedAtFuture'
      : /days ago/.test(reason || '') ? 'errors.observedAtTooOld' : 'errors.observedAtInvalid';
    case 'geometry': return 'errors.outsideRegion';
    case 'category': return 'errors.category';
    case 'description': return 'errors.descriptionTooLong';
    case 'severity': return 'errors.severity';
    case 'walk': return 'errors.walkUnknown';
    default: return 'errors.invalid';
  }
}
