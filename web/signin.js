// Staff sign-in (analysts and administrators), shared by the planner map and
// the area pages: a button in the header opens the page's #signin-dialog.
// The session is kept for this browser tab. Signing in or out reloads the
// page; each page keeps its state in its address, so nothing is lost.

/** The tab's session `{ token, role }`, or null. */
export const session = JSON.parse(sessionStorage.getItem('trygg.session') || 'null');

/** Wires the header's #signin button and the dialog, in the page's language. */
export function setupSignin(i18n) {
  const t = (key) => i18n.t(`signin.${key}`);
  const button = document.getElementById('signin');
  const dialog = document.getElementById('signin-dialog');
  const error = document.getElementById('signin-error');
  const label = () => {
    button.textContent = t(!session ? 'open' : session.role === 'admin' ? 'signedInAdmin' : 'signedIn');
  };
  label();
  i18n.onChange(label);
  button.addEventListener('click', () => {
    if (session) {
      sessionStorage.removeItem('trygg.session');
      location.reload();
    } else {
      error.hidden = true;
      dialog.showModal();
    }
  });
  document.getElementById('signin-cancel').addEventListener('click', () => dialog.close());
  document.getElementById('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const r = await fetch('/api/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        username: document.getElementById('signin-user').value,
        password: document.getElementById('signin-password').value,
      }),
    }).catch(() => null);
    if (!r?.ok) {
      error.textContent = t(r?.status === 429 ? 'tooMany' : r?.status === 401 ? 'failed' : 'unavailable');
      error.hidden = false;
      return;
    }
    const { token, role } = await r.json();
    sessionStorage.setItem('trygg.session', JSON.stringify({ token, role }));
    location.reload();
  });
}
