// portaal/inloggen.js: the login form. On success the browser holds the cookie session and
// goes back to where the visitor came from (?terug=), else to the start page; by way of the
// second step (or its set-up) when the answer asks for one (common/tweestaps.js). Also starts
// single sign-on with the organisation (a navigation to /v1/sso/start, which sends the browser
// to the organisation) and explains a failed one (?sso=<reason>, texts in sso-texts.js).
import { login, ApiError } from '/common/api.js';
import { clearErrors, formValues, missingFields, showErrors, whileBusy } from '/common/form.js';
import { initPage, returnPath } from '/common/layout.js';
import { afterPassword } from '/common/tweestaps.js';
import { ssoFailureText } from './sso-texts.js';

const form = document.getElementById('inloggen');
const organisation = document.getElementById('organisatie');

// A single sign-on that came back refused: say why, first thing on the page.
const ssoReason = new URLSearchParams(location.search).get('sso');
if (ssoReason) {
  document.getElementById('sso-fout-tekst').textContent = ssoFailureText(ssoReason);
  document.getElementById('sso-fout-code').textContent = 'Code voor de helpdesk: ' +
    ssoReason.replace(/[^a-z_]/g, '').slice(0, 40);
  const box = document.getElementById('sso-fout');
  box.hidden = false;
  document.title = 'Fout: ' + document.title;
  box.focus();
}

// The page's CSP allows no form to be posted by the browser itself, so the work email goes
// along as a plain navigation; the server answers with a redirect to the organisation.
organisation.addEventListener('submit', (ev) => {
  ev.preventDefault();
  clearErrors(organisation);
  const missing = missingFields(organisation);
  const email = formValues(organisation).werk_email || '';
  if (!missing.werk_email && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))
    missing.werk_email = 'Vul een e-mailadres in zoals naam@zorgaanbieder.nl.';
  if (Object.keys(missing).length) {
    showErrors(organisation, { fields: missing });
    return;
  }
  location.assign('/v1/sso/start?email=' + encodeURIComponent(email));
});

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
