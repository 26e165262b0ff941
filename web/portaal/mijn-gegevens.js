// portaal/mijn-gegevens.js: the caregiver's own data: the account (GET /v1/me), the
// download (GET /v1/me/export, a plain link: the cookie session goes with it) and the
// erasure (DELETE /v1/me) after a ticked box and one more question.
import { api, ApiError } from '/common/api.js';
import { clearErrors, missingFields, showErrors, whileBusy } from '/common/form.js';
import { initPage } from '/common/layout.js';
import { el, loadMunicipalities, municipalityName } from './plek.js';

const user = await initPage({ requireLogin: true });
await loadMunicipalities();
const rows = [['E-mailadres', user.email]];
if (user.display_name) rows.push(['Naam', user.display_name]);
if (user.municipality) rows.push(['Gemeente', municipalityName(user.municipality)]);
document.getElementById('account').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));

const form = document.getElementById('wissen');
let asked = false;
form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  const missing = missingFields(form);
  if (Object.keys(missing).length) return showErrors(form, { fields: missing });
  const button = form.querySelector('button[type="submit"]');
  if (!asked) {
    // One more question before anything is gone.
    asked = true;
    button.textContent = 'Ja, verwijder alles definitief';
    const q = el('p', { class: 'alert alert--error', id: 'nog-een-keer', tabindex: '-1' },
      'Weet u het zeker? Klik nog een keer om alles definitief te verwijderen.');
    form.prepend(q);
    q.focus();
    return;
  }
  try {
    await whileBusy(form, () => api('DELETE', '/v1/me'));
    location.assign('/?verwijderd=1');
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    showErrors(form, e, 'Het verwijderen is niet gelukt');
  }
});
