// portaal/nieuw-wachtwoord.js: sets a new password with the token from the reset link. The
// server ends every session of the account; the page then sends the visitor to the sign-in
// page that belongs to their account (portal, bed board or dashboard).
import { api, ApiError } from '/common/api.js';
import { el } from '/common/dom.js';
import { clearErrors, formValues, missingFields, showErrors, whileBusy } from '/common/form.js';
import { initPage } from '/common/layout.js';
import { forgetToken, showLinkProblem, tokenFromHash, tokenState } from './link.js';

const form = document.getElementById('nieuw');
const problem = document.getElementById('link-fout');
const done = document.getElementById('gelukt');
const AGAIN = { href: '/wachtwoord-vergeten.html', text: 'Vraag een nieuwe link aan' };

await initPage();
const token = tokenFromHash();
forgetToken();
if (!token) {
  form.hidden = true;
  showLinkProblem(problem, 'unknown', AGAIN);
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  const missing = missingFields(form);
  const v = formValues(form);
  if (v.password && v.password.length < 12 && !missing.password)
    missing.password = 'Kies een wachtwoord van minstens 12 tekens.';
  if (!missing.password && !missing.password2 && v.password !== v.password2)
    missing.password2 = 'De twee wachtwoorden zijn niet hetzelfde. Vul ze opnieuw in.';
  if (Object.keys(missing).length) return showErrors(form, { fields: missing });
  let answer;
  try {
    answer = await whileBusy(form, () => api('POST', '/v1/password-resets/complete',
      { token, password: v.password }));
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    const state = tokenState(e);
    if (state) {
      form.hidden = true;
      return showLinkProblem(problem, state, AGAIN);
    }
    return showErrors(form, e, 'Het opslaan is niet gelukt');
  }
  form.hidden = true;
  done.replaceChildren(
    el('p', {}, 'Uw nieuwe wachtwoord is opgeslagen. U bent overal uitgelogd.'),
    el('p', {}, el('a', { href: answer.sign_in, id: 'naar-inloggen' }, 'Log in met uw nieuwe wachtwoord')));
  done.hidden = false;
  done.focus();
});
