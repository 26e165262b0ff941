// portaal/kennismaking.js: the kennismaking (intake) steps for the caregiver. With
// ?locatie=ID it asks for one (POST /v1/intakes, the person and the moments that suit); it
// always lists the caregiver's kennismakingen (GET /v1/intakes), per person and place, with
// their state in words and the provider's notes or reason, and cancels an open one.
import { api, ApiError, newIdempotencyKey } from '/common/api.js';
import { clearErrors, formValues, missingFields, showErrors, whileBusy } from '/common/form.js';
import { initPage } from '/common/layout.js';
import { formatDateShort } from '/common/status.js';
import {
  el, intakeIsOpen, intakeLetsBook, intakeState, intakesByLocation, loadMunicipalities, loadPerson,
  municipalityName
} from './plek.js';

const locationId = new URLSearchParams(location.search).get('locatie');
const form = document.getElementById('kennismaking');
const note = document.getElementById('melding');

await initPage({ requireLogin: true });
const [person] = await Promise.all([loadPerson(), loadMunicipalities()]);
// What the search kept about the place (no personal data), for its name.
const place = locationId ? JSON.parse(sessionStorage.getItem('logeer.locatie.' + locationId) || 'null') : null;

function say(nodes, ok = true) {
  note.className = ok ? 'alert alert--ok' : 'alert alert--error';
  note.replaceChildren(...nodes);
  note.hidden = false;
  note.focus();
}

function placeName(i) {
  return i.location ? `${i.location.name}, ${municipalityName(i.location.municipality)}` : 'Een logeerplek';
}

// ---- asking for one ----
if (locationId && !person) {
  document.getElementById('naar-persoon').href = '/persoon.html?terug=' +
    encodeURIComponent(location.pathname + location.search);
  document.getElementById('geen-persoon').hidden = false;
} else if (locationId) {
  showForm();
}

// The form for this place and person.
function showForm() {
  const rows = [['Logeerplek', place ? `${place.name}, ${municipalityName(place.municipality)}` : 'de gekozen logeerplek'],
    ['Voor', person.alias]];
  document.getElementById('vraag-gegevens').replaceChildren(
    ...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  document.getElementById('vraag').hidden = false;
}

// No form when the person already has an open kennismaking or a welcome at this place: a
// line says so instead (asking twice would only get a refusal).
function hideFormWhenDone(intakes) {
  if (!locationId || !person) return;
  const i = intakesByLocation(intakes.filter((x) => x.guest_id === person.id)).get(locationId);
  if (!i || !(intakeIsOpen(i) || intakeLetsBook(i))) return;
  document.getElementById('vraag').hidden = true;
  const done = document.getElementById('al-gedaan');
  done.textContent = intakeLetsBook(i)
    ? `Bij ${placeName(i)} is de kennismaking al gedaan. U ziet hieronder wat de logeerplek zei.`
    : `U heeft bij ${placeName(i)} al een kennismaking aangevraagd. U ziet die hieronder.`;
  done.hidden = false;
}

let key = newIdempotencyKey();
form.addEventListener('input', () => { key = newIdempotencyKey(); }); // other words: another request

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  const missing = missingFields(form);
  if (Object.keys(missing).length) return showErrors(form, { fields: missing });
  const body = { guest_id: person.id, location_id: locationId, moments: formValues(form).moments };
  try {
    const intake = await whileBusy(form, () => api('POST', '/v1/intakes', body, { idempotencyKey: key }));
    document.getElementById('vraag').hidden = true;
    say([el('p', {}, `De kennismaking bij ${placeName(intake)} is aangevraagd. De logeerplek neemt contact met u op.`)]);
    await showList();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.type === 'conflict')
      return showErrors(form, { message: 'U heeft hier al een kennismaking aangevraagd. U ziet die hieronder.' },
        'De kennismaking is al aangevraagd');
    showErrors(form, e, 'Het aanvragen is niet gelukt');
  }
});

// ---- the list ----
async function cancel(intake, button) {
  button.disabled = true;
  try {
    await api('POST', `/v1/intakes/${intake.id}/cancel`);
    say([el('p', {}, `De kennismaking bij ${placeName(intake)} is geannuleerd.`)]);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    say([el('p', {}, e.type === 'conflict' ? 'Dit kan niet meer: de logeerplek heeft de kennismaking net afgerond.' : e.message)], false);
  }
  await showList();
}

function card(i) {
  const state = intakeState(i);
  const name = placeName(i);
  // An alias such as "mevr. H." ends in its own full stop; do not add a second one.
  const alias = i.guest && i.guest.alias ? i.guest.alias : 'uw naaste';
  const parts = [
    el('h3', {}, name),
    el('p', {}, `Voor ${alias}${alias.endsWith('.') ? '' : '.'} Aangevraagd op ${formatDateShort(i.created_at.slice(0, 10))}.`),
    el('p', { class: 'kennismaking__staat' }, el('strong', {}, 'Stand: ' + state.label + '. '), state.text)
  ];
  if (i.moments && intakeIsOpen(i)) parts.push(el('p', { class: 'muted' }, 'U schreef: ' + i.moments));
  if (i.notes) parts.push(el('p', {}, el('strong', {}, 'De logeerplek schrijft: '), i.notes));
  if (i.reason && i.status === 'decided') parts.push(el('p', {}, el('strong', {}, 'Reden: '), i.reason));
  if (i.cancel_reason && i.cancelled_by_role === 'provider') parts.push(el('p', {}, el('strong', {}, 'Reden: '), i.cancel_reason));
  if (intakeLetsBook(i) && i.valid_until)
    parts.push(el('p', { class: 'muted' }, `Dit geldt tot ${formatDateShort(i.valid_until)}. Logeert uw naaste hier, dan geldt het langer.`));
  const actions = el('p', { class: 'button-group' });
  if (intakeLetsBook(i) && i.location) {
    const q = new URLSearchParams({ municipality: i.location.municipality, gebied: 'gemeente' });
    actions.append(el('a', { class: 'button', href: '/zoeken.html?' + q }, 'Zoek data bij deze logeerplek',
      el('span', { class: 'visually-hidden' }, ': ' + name)));
  }
  if (intakeIsOpen(i)) {
    const button = el('button', { type: 'button', class: 'button--secondary' }, 'Kennismaking annuleren',
      el('span', { class: 'visually-hidden' }, ' bij ' + name));
    button.addEventListener('click', () => cancel(i, button));
    actions.append(button);
  }
  if (actions.childNodes.length) parts.push(actions);
  return el('li', { class: 'card plek', 'data-intake': i.id }, ...parts);
}

async function showList() {
  let intakes = [];
  try {
    intakes = (await api('GET', '/v1/intakes?limit=100')).intakes;
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    say([el('p', {}, e.message)], false);
    return;
  }
  // Per person, then per place; newest first within (the API's order).
  intakes.sort((a, b) => (a.guest.alias || '').localeCompare(b.guest.alias || '') ||
    placeNameSort(a).localeCompare(placeNameSort(b)));
  document.getElementById('leeg').hidden = intakes.length > 0;
  document.getElementById('lijst').replaceChildren(...intakes.map(card));
  return intakes;
}
function placeNameSort(i) { return i.location ? i.location.name : ''; }

hideFormWhenDone(await showList() || []);
