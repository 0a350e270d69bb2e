// Small charts for a breakdown from /api/v1/cells/{cell} or
// /api/v1/areas/{id}/summary: category bars and a bar per month. Values
// withheld for privacy (null) are shown as "< k". Labels, numbers and
// months come out in the page's language (`i18n` from i18n.js).

/**
 * The categories by label, largest first: codes that read the same in the
 * page's language (litter and littering) are one row. A row with a part
 * withheld shows the known part as "≥ n"; wholly withheld rows come last.
 */
function byLabel(categories, i18n) {
  const rows = new Map();
  for (const c of categories || []) {
    const label = i18n.category(c.code, c);
    const row = rows.get(label) || { label, count: 0, known: 0, withheld: 0 };
    if (c.count != null) row.known += 1, row.count += c.count;
    else row.withheld += 1;
    rows.set(label, row);
  }
  const list = [...rows.values()].map((r) => ({ ...r, count: r.known ? r.count : null, partial: r.known > 0 && r.withheld > 0 }));
  return list.sort((a, b) => (b.count ?? -1) - (a.count ?? -1));
}

/** Fills `list` (an <ol class="bars">) with the `limit` largest categories. */
export function categoryBars(list, categories, i18n, k, limit, empty) {
  const shown = byLabel(categories, i18n).slice(0, limit);
  // Categories under k are left out of public answers: say so rather than
  // show an empty list.
  if (shown.length === 0 && empty) {
    const li = document.createElement('li');
    li.className = 'none';
    li.textContent = empty;
    list.replaceChildren(li);
    return;
  }
  const max = Math.max(1, ...shown.map((c) => c.count || 0));
  list.replaceChildren(...shown.map((c) => {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.textContent = c.label;
    const n = document.createElement('span');
    n.className = 'n';
    n.textContent = c.count == null ? i18n.lessThan(k) : `${c.partial ? '≥ ' : ''}${i18n.number(c.count)}`;
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.hidden = c.count == null;
    bar.style.width = `${Math.round(((c.count ?? 0) / max) * 100)}%`;
    li.append(name, n, bar);
    return li;
  }));
}

/**
 * A bar's label: a month's short name in the page's language or a quarter
 * as Q1–Q4, with the year on a second line when `showYear`.
 */
function periodLabel(period, showYear, i18n) {
  const [y, part] = period.split('-');
  const mo = Number(part);
  let text = period;
  if (/^\d{4}$/.test(y) && mo >= 1 && mo <= 12) {
    text = new Intl.DateTimeFormat(i18n.locale, { month: 'short', timeZone: 'UTC' }).format(Date.UTC(Number(y), mo - 1, 1));
  } else if (/^Q[1-4]$/.test(part || '')) {
    text = part;
  } else {
    return period;
  }
  return showYear ? `${text}\n${y}` : text;
}

/**
 * Fills `chart` (a <div class="months">) with one bar per period (month or
 * quarter), labelled underneath in the page's language, the year under the
 * first label of each year. Long series label every few bars so that the
 * labels fit; the full list is the chart's aria-label.
 */
export function monthBars(chart, months, i18n, k) {
  const all = months || [];
  const max = Math.max(1, ...all.map((m) => m.count || 0));
  const text = (m) => `${i18n.month(m.month)}: ${m.count != null ? i18n.number(m.count) : i18n.lessThan(k)}`;
  const every = Math.ceil(all.length / 12);
  let lastYear = null;
  chart.setAttribute('aria-label', all.map(text).join(', '));
  chart.replaceChildren(...all.map((m, i) => {
    const column = document.createElement('span');
    column.className = 'm';
    column.title = text(m);
    const b = document.createElement('span');
    b.className = 'b';
    b.style.height = `${Math.max(2, Math.round(((m.count ?? 0) / max) * 48))}px`;
    const label = document.createElement('span');
    label.className = 'l';
    if (i % every === 0) {
      const year = String(m.month).slice(0, 4);
      label.textContent = periodLabel(String(m.month), year !== lastYear, i18n);
      lastYear = year;
    }
    column.append(b, label);
    return column;
  }));
}
