// Small charts for a breakdown from /api/v1/cells/{cell} or
// /api/v1/areas/{id}/summary: category bars and a bar per month. Values
// withheld for privacy (null) are shown as "< k". Labels, numbers and
// months come out in the page's language (`i18n` from i18n.js).

/** Fills `list` (an <ol class="bars">) with the `limit` largest categories. */
export function categoryBars(list, categories, i18n, k, limit, empty) {
  const shown = (categories || []).slice(0, limit);
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
    name.textContent = i18n.category(c.code, c);
    const n = document.createElement('span');
    n.className = 'n';
    n.textContent = c.count != null ? i18n.number(c.count) : i18n.lessThan(k);
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.hidden = c.count == null;
    bar.style.width = `${Math.round(((c.count ?? 0) / max) * 100)}%`;
    li.append(name, n, bar);
    return li;
  }));
}

/** Fills `chart` (a <div class="months">) with one bar per month. */
export function monthBars(chart, months, i18n, k) {
  const all = months || [];
  const max = Math.max(1, ...all.map((m) => m.count || 0));
  const text = (m) => `${i18n.month(m.month)}: ${m.count != null ? i18n.number(m.count) : i18n.lessThan(k)}`;
  chart.setAttribute('aria-label', all.map(text).join(', '));
  chart.replaceChildren(...all.map((m) => {
    const b = document.createElement('span');
    b.style.height = `${Math.max(2, Math.round(((m.count ?? 0) / max) * 48))}px`;
    b.title = text(m);
    return b;
  }));
}
