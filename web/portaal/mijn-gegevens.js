// portaal/mijn-gegevens.js: the caregiver's own data: the account (GET /v1/me), the
// download (GET /v1/me/export: a link, taken over here so that a caregiver with a second
// factor is asked to confirm it when it is not recent, as for the erasure) and the
// erasure (DELETE /v1/me) after a ticked box and one more question; and, while the address
// is not confirmed, why that matters and a button that sends the link again. Which emails
// come is berichten.js's section; the calendar link is common/agenda.js's.
import { initCalendarLink } from '/common/agenda.js';
import { api, ApiError } from '/common/api.js';
import { clearErrors, missingFields, showErrors, whileBusy } from '/common/form.js';
import { initPage } from '/common/layout.js';
import { initNotifications } from './berichten.js';
import { el, loadMunicipalities, municipalityName } from './plek.js';

const user = await initPage({ requireLogin: true });
// Not yet confirmed: say why it matters (the link again is below), before anything is loaded.
document.getElementById('bevestigen').hidden = user.email_verified !== false;
await loadMunicipalities();
const rows = [['E-mailadres', user.email]];
if (user.email_verified !== undefined)
  rows.push(['E-mailadres bevestigd', user.email_verified ? 'Ja' : 'Nee, nog niet']);
if (user.display_name) rows.push(['Naam', user.display_name]);
if (user.municipality) rows.push(['Gemeente', municipalityName(user.municipality)]);
document.getElementById('account').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
await initNotifications();
// The calendar link shows the caregiver's own stays; other roles have none here.
if (user.role === 'caregiver') {
  document.getElementById('agenda-deel').hidden = false;
  await initCalendarLink(document.getElementById('agenda'), '/v1/me/calendar-feed', 'uw logeerplekken');
}

// The link again, for an address not yet confirmed.
const resend = document.getElementById('opnieuw');
resend.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(resend);
  try {
    await whileBusy(resend, () => api('POST', '/v1/me/email-verification'));
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return showErrors(resend, e, 'Het versturen is niet gelukt');
  }
  const note = document.getElementById('opnieuw-verstuurd');
  note.textContent = 'Wij hebben een nieuwe link gestuurd naar ' + user.email + '. De link ' +
    'werkt 30 minuten. Een oudere link werkt nu niet meer.';
  note.hidden = false;
  note.focus();
});

// The download: without script the link works as it is; with it, the step-up dialog can ask
// for a recent code (api() retries once after it) before the file is saved.
const download = document.getElementById('download');
download.addEventListener('click', async (ev) => {
  ev.preventDefault();
  const section = download.closest('section');
  clearErrors(section);
  try {
    const resp = await api('GET', '/v1/me/export', null, { raw: true });
    const url = URL.createObjectURL(await resp.blob());
    const save = el('a', { href: url, download: download.getAttribute('download'), hidden: true });
    document.body.append(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    showErrors(section, e, 'Het downloaden is niet gelukt');
  }
});

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
// Everything above is drawn: tests wait for this rather than for the frame alone.
document.body.dataset.geladen = 'true';
