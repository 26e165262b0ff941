// portaal/inloggen.js: the login form. On success the browser holds the cookie session and
// goes back to where the visitor came from (?terug=), else to the start page; by way of the
// second step (or its set-up) when the answer asks for one (common/tweestaps.js).
import { login, ApiError } from '/common/api.js';
import { clearErrors, formValues, missingFields, showErrors, whileBusy } from '/common/form.js';
import { initPage, returnPath } from '/common/layout.js';
import { afterPassword } from '/common/tweestaps.js';

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
