// portaal/inloggen.js: the login form, and the sign-in with a passkey alone. On success the
// browser holds the cookie session and goes back to where the visitor came from (?terug=),
// else to the start page; by way of the second step (or its set-up) when the answer asks for
// one (common/tweestaps.js). A passkey is both steps at once.
import { login, ApiError } from '/common/api.js';
import { clearErrors, formValues, missingFields, showErrors, whileBusy } from '/common/form.js';
import { initPage, returnPath } from '/common/layout.js';
import { afterPassword } from '/common/tweestaps.js';
import { passkeysSupported, signInWithPasskey } from '/common/toegangssleutels.js';

const form = document.getElementById('inloggen');

const user = await initPage();
if (user) {
  const note = document.getElementById('al-ingelogd');
  note.textContent = 'U bent al ingelogd als ' + (user.display_name || user.email) + '.';
  note.hidden = false;
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  const missing = missingFields(form);
  if (Object.keys(missing).length) {
    showErrors(form, { fields: missing });
    return;
  }
  const v = formValues(form);
  let answer;
  try {
    answer = await whileBusy(form, () => login(v.email, v.password));
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    // A wrong password belongs to both fields; the summary says it once.
    showErrors(form, e.status === 422 ? e : { message: e.message, status: e.status, fields: {} });
    if (e.status === 401) form.elements.password.value = '';
    return;
  }
  location.assign(afterPassword(answer, returnPath('/')));
});

// A passkey signs in alone: it is both steps at once.
const passkeyButton = document.getElementById('sleutel-inloggen');
const passkeyBox = document.getElementById('sleutel-melding');
document.getElementById('met-sleutel').hidden = !passkeysSupported();
passkeyButton.addEventListener('click', async () => {
  passkeyButton.disabled = true;
  try {
    await signInWithPasskey();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    passkeyBox.className = 'alert alert--error';
    passkeyBox.textContent = e.message;
    passkeyBox.hidden = false;
    passkeyBox.focus();
    return;
  } finally {
    passkeyButton.disabled = false;
  }
  location.assign(returnPath('/'));
});
