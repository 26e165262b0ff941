// aanbieder/delen.js: per location of the staff member's provider, the choice to show the
// location apart in the open figures (GET/PATCH /v1/locations/{id}/open-data) and its calendar
// link (common/agenda.js). Sets body data-delen="klaar" when a location is drawn, for tests.
import { initCalendarLink } from '/common/agenda.js';
import { api, ApiError } from '/common/api.js';
import { el } from '/common/dom.js';
import { showErrors, whileBusy } from '/common/form.js';
import { AANBIEDER_MENU, initPage } from '/common/layout.js';

const $ = (id) => document.getElementById(id);
const form = $('open-form');

function fail(e) {
  if (!(e instanceof ApiError)) throw e;
  const box = $('fout');
  box.textContent = e.message;
  box.hidden = false;
  box.focus();
}

function note(text) {
  const p = el('p', { class: 'alert alert--ok', role: 'status', tabindex: '-1' }, text);
  $('open-melding').replaceChildren(p);
  p.focus();
}

async function show(id) {
  document.body.dataset.delen = 'laden';
  $('open-melding').replaceChildren();
  const setting = await api('GET', `/v1/locations/${encodeURIComponent(id)}/open-data`);
  form.elements.publish_location.checked = setting.publish_location;
  await initCalendarLink($('agenda'), `/v1/locations/${encodeURIComponent(id)}/calendar-feed`,
    'de logeergasten van deze locatie: wie wanneer komt en weer gaat');
  document.body.dataset.delen = 'klaar';
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const publish = form.elements.publish_location.checked;
  try {
    await whileBusy(form, () => api('PATCH', `/v1/locations/${encodeURIComponent($('locatie').value)}/open-data`,
      { publish_location: publish }));
    note(publish ? 'Bewaard. De open cijfers laten deze locatie nu apart zien.'
      : 'Bewaard. De locatie telt nu alleen mee in het totaal van de gemeente.');
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    showErrors(form, e, 'De keuze is niet bewaard');
  }
});

const user = await initPage({ requireLogin: true, menu: AANBIEDER_MENU, home: '/aanbieder/' });
if (user.role !== 'provider') {
  fail(new ApiError(403, null, 'Deze pagina is voor medewerkers van een zorgaanbieder.', {}));
} else {
  try {
    const locations = (await api('GET', '/v1/locations?limit=200')).locations || [];
    const select = $('locatie');
    select.replaceChildren(...locations.map((l) => el('option', { value: l.id }, l.name)));
    const wanted = new URLSearchParams(location.search).get('locatie');
    if (wanted && locations.some((l) => l.id === wanted)) select.value = wanted;
    $('delen-inhoud').hidden = false;
    if (locations.length) await show(select.value);
    else fail(new ApiError(404, null, 'Uw organisatie heeft nog geen locaties.', {}));
    select.addEventListener('change', () => { show(select.value).catch(fail); });
  } catch (e) {
    fail(e);
  }
}
