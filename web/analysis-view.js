// A stored områdesanalys at an address of its own (/analyses/{id}), so that
// the report window can be reloaded, printed and told apart from others.
// The report needs the staff member's token, which a link cannot carry:
// this page fetches it with the session of this tab (a window opened from
// an area page starts with a copy of that tab's session) and shows it.
import { STAFF, pageLanguage } from '/static/i18n.js';

const i18n = pageLanguage(STAFF);
const t = (key) => i18n.t(`analysis.${key}`);
const status = document.getElementById('analysis-status');
const id = decodeURIComponent(location.pathname.split('/')[2] || '');
const session = JSON.parse(sessionStorage.getItem('trygg.session') || 'null');

async function show() {
  if (!session?.token) {
    status.textContent = t('signInFirst');
    return;
  }
  try {
    const r = await fetch(`/api/v1/analyses/${encodeURIComponent(id)}?f=html`, {
      headers: { authorization: `Bearer ${session.token}` },
    });
    if (!r.ok) {
      status.textContent = r.status === 404 ? t('notFound') : i18n.problem(await r.json().catch(() => null), r.status);
      return;
    }
    // The server's report, as a document of its own at this address.
    const html = await r.text();
    document.open();
    document.write(html);
    document.close();
  } catch {
    status.textContent = i18n.t('errors.network');
  }
}

i18n.apply();
document.title = t('pageTitle');
show();
