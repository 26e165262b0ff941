// portaal/zoeken.js: the search. A fixed date asks GET /v1/availability; when that finds
// nothing, or for a flexible period, GET /v1/availability/earliest gives the first dates that
// do fit per logeerplek, each a link to request it. Where the asked dates are full, one click
// puts the person on the waiting list for them. The form's state lives in the address, so
// the back button and a shared link show the same search.
import { api, ApiError, newIdempotencyKey } from '/common/api.js';
import { clearErrors, missingFields, showErrors, whileBusy } from '/common/form.js';
import { initPage, loginUrl } from '/common/layout.js';
import { addFieldTexts } from '/common/problems.js';
import { addDays, careProfileText, fundingText, nightsText, today } from '/common/status.js';
import {
  ACCESS, el, facilityText, fillSelect, intakeIsOpen, intakeLetsBook, intakeLink, intakeState,
  intakesByLocation, loadMunicipalities, loadPerson, municipalityName, needsQuery, rangeText,
  rememberPlace
} from './plek.js';

addFieldTexts({
  from: { required: 'Kies de eerste dag van de periode.', invalid: 'Vul een bestaande datum in.' },
  until: { required: 'Kies de laatste dag van de periode.', invalid: 'Kies een dag na de eerste dag.' },
  lat: { invalid: 'Kies een plaats uit de lijst.' },
  radius_km: { invalid: 'Kies een afstand uit de lijst.' }
});

const CARE_PROFILES = ['dementia', 'somatic', 'disability', 'psychiatric', 'youth'];
const FUNDINGS = ['wmo', 'wlz', 'zvw', 'pgb', 'private'];
const FIELDS = ['wanneer', 'check_in', 'from', 'until', 'nights', 'gebied', 'municipality',
  'plaats', 'radius_km', 'care_profile', 'funding'];

const form = document.getElementById('zoeken');
const user = await initPage();
const [municipalities, person] = await Promise.all([
  loadMunicipalities(),
  user ? loadPerson().catch(() => null) : Promise.resolve(null)
]);

// The person's kennismakingen per location: a place that asks for one first says here whether
// it was asked, done (so the person can book) or refused. The search index knows pools, not
// people, so the page adds this itself.
async function loadIntakes() {
  if (!person) return new Map();
  try {
    const body = await api('GET', '/v1/intakes?limit=100&guest_id=' + encodeURIComponent(person.id));
    return intakesByLocation(body.intakes);
  } catch (e) {
    return new Map(); // the search works without it; the request page says what is missing
  }
}
const intakes = await loadIntakes();

fillSelect(form.municipality, municipalities.map((m) => [m.code, m.name]));
fillSelect(form.plaats, municipalities.map((m) => [m.code, m.name]),
  (user && user.municipality) || 'GM0106');
fillSelect(form.care_profile, CARE_PROFILES.map((p) => [p, careProfileText(p)]));
fillSelect(form.funding, FUNDINGS.map((f) => [f, fundingText(f)]));

// Start values: the address, else the person, else sensible defaults.
const start = new URLSearchParams(location.search);
form.check_in.value = addDays(today(), 14);
form.from.value = addDays(today(), 7);
form.until.value = addDays(today(), 60);
if (person) {
  form.care_profile.value = person.care_profile;
  if (person.funding) form.funding.value = person.funding;
  if (person.municipality) form.municipality.value = person.municipality;
  const note = document.getElementById('persoon-melding');
  // An alias such as "mevr. B." ends in its own full stop; do not add a second one.
  const alias = person.alias.endsWith('.') ? person.alias : `${person.alias}.`;
  note.textContent = `U zoekt een plek voor: ${alias} We houden rekening met wat u over deze persoon vertelde.`;
  note.hidden = false;
}
for (const name of FIELDS) {
  if (!start.has(name)) continue;
  const input = form.elements[name];
  if (input instanceof RadioNodeList) {
    for (const r of input) r.checked = r.value === start.get(name);
  } else if (input) {
    input.value = start.get(name);
  }
}
form.check_in.min = form.from.min = form.until.min = today();

function showParts() {
  const flex = form.wanneer.value === 'flex';
  document.getElementById('vast').hidden = flex;
  document.getElementById('flex').hidden = !flex;
  const near = form.gebied.value === 'afstand';
  document.getElementById('gemeente').hidden = near;
  document.getElementById('afstand').hidden = !near;
}
form.addEventListener('change', showParts);
showParts();

// The search's filters, shared by both questions.
function filters(v) {
  const q = new URLSearchParams({ nights: v.nights });
  if (v.gebied === 'afstand') {
    const m = municipalities.find((x) => x.code === v.plaats) || municipalities[0];
    q.set('lat', m.lat);
    q.set('lon', m.lon);
    q.set('radius_km', v.radius_km);
  } else if (v.municipality) {
    q.set('municipality', v.municipality);
  }
  if (v.care_profile) q.set('care_profile', v.care_profile);
  if (v.funding) q.set('funding', v.funding);
  if (person) {
    const n = needsQuery(person.needs);
    if (n.needs) q.set('needs', n.needs);
    if (n.facilities) q.set('facilities', n.facilities);
  }
  return q;
}

function values() {
  const v = {};
  for (const name of FIELDS) v[name] = String(form.elements[name].value || '').trim();
  return v;
}

// The way to request a stay: for a visitor, logging in comes first and leads back here.
function requestLink(r, checkIn, checkOut, v) {
  const q = new URLSearchParams({ pool: r.pool_id, in: checkIn, uit: checkOut });
  if (v.funding) q.set('betaling', v.funding);
  const target = '/aanvragen.html?' + q;
  return user ? target : '/inloggen.html?terug=' + encodeURIComponent(target);
}

// How the person gets in at a place that wants a kennismaking first: what was agreed, or the
// way to ask for one.
function intakeInfo(r) {
  const i = intakes.get(r.location.id);
  if (i && intakeLetsBook(i)) {
    const state = intakeState(i);
    return el('p', { class: 'plek__toegang' }, el('strong', {}, 'Kennismaking gedaan: u kunt hier aanvragen. '),
      i.outcome === 'trial_first' ? state.text : (r.booking_mode === 'approval' ? ACCESS.approval.hint : ''));
  }
  const more = el('a', { href: user ? intakeLink(r.location.id) : loginUrl() },
    i ? 'Bekijk de kennismaking' : 'Vraag een kennismaking aan',
    el('span', { class: 'visually-hidden' }, ' bij ' + r.location.name));
  const what = !i ? ACCESS.intake_first.hint + ' '
    : intakeIsOpen(i) ? `U heeft een kennismaking aangevraagd (${intakeState(i).label}). `
      : 'Na de kennismaking past deze plek niet bij uw naaste. ';
  return el('p', { class: 'plek__toegang' }, el('strong', {}, ACCESS.intake_first.text + '. '), what, more);
}

function placeInfo(r) {
  const access = ACCESS[r.access] || ACCESS.direct;
  const where = municipalityName(r.location.municipality) +
    (r.distance_km !== undefined ? `, ${String(r.distance_km).replace('.', ',')} km hier vandaan` : '');
  const facilities = (r.location.facilities || []).map(facilityText);
  return [
    el('h3', {}, r.location.name),
    el('p', { class: 'plek__waar' }, where, el('br'), el('span', { class: 'muted' }, `${r.pool_name} van ${r.provider.name}`)),
    facilities.length ? el('p', {}, 'Wat er is: ' + facilities.join(', ') + '.') : null,
    r.companion_places > 0 ? el('p', { class: 'plek__mee' }, 'U kunt hier zelf ook blijven logeren.') : null,
    r.access === 'intake_first' ? intakeInfo(r)
      : el('p', { class: 'plek__toegang' }, el('strong', {}, access.text + '. '), access.hint)
  ];
}

function stayCard(r, v) {
  rememberPlace(r);
  const link = el('a', { class: 'button', href: requestLink(r, r.check_in, r.check_out, v) },
    user ? 'Aanvragen' : 'Inloggen en aanvragen');
  return el('li', { class: 'card plek' }, ...placeInfo(r),
    el('p', {}, el('strong', {}, rangeText(r.check_in, r.check_out)), el('br'),
      r.free === 1 ? 'Nog 1 bed vrij.' : `Nog ${r.free} bedden vrij.`),
    el('p', { class: 'button-group' }, link));
}

function earliestCard(r, v, waitDates) {
  rememberPlace(r);
  const dates = el('ul', { class: 'data' }, ...r.dates.map((d) => el('li', {},
    el('a', { href: requestLink(r, d.check_in, d.check_out, v) },
      rangeText(d.check_in, d.check_out), el('span', { class: 'visually-hidden' }, ' aanvragen bij ' + r.location.name)))));
  const card = el('li', { class: 'card plek' }, ...placeInfo(r),
    el('p', {}, 'Deze data passen wel. Kies er een om aan te vragen:'), dates);
  if (waitDates) card.append(waitButton(r, waitDates, v));
  return card;
}

// One click onto the waiting list for the asked dates (or the period) at this place.
function waitButton(r, w, v) {
  const button = el('button', { type: 'button', class: 'button--secondary' },
    'Zet mij op de wachtlijst', el('span', { class: 'visually-hidden' }, ' bij ' + r.location.name));
  const box = el('div', { class: 'wachtlijst' }, el('p', { class: 'muted' },
    `Komt er bij ${r.location.name} een plek vrij ${w.text}? Dan bieden wij die u aan.`), button);
  if (!user) {
    button.replaceWith(el('a', { class: 'button button--secondary', href: loginUrl() }, 'Inloggen voor de wachtlijst'));
    return box;
  }
  const key = newIdempotencyKey();
  button.addEventListener('click', async () => {
    const note = document.getElementById('wachtlijst-melding');
    note.className = 'alert alert--ok';
    if (!person) {
      note.replaceChildren(el('p', {}, 'Vertel eerst over uw naaste. ',
        el('a', { href: '/persoon.html?terug=' + encodeURIComponent(location.pathname + location.search) }, 'Vul dat hier in'), '.'));
      note.hidden = false;
      return;
    }
    const body = { pool_id: r.pool_id, check_in: w.checkIn, check_out: w.checkOut,
      funding: v.funding || person.funding || 'private', guest_id: person.id, waitlist: true };
    if (w.earliest) body.waitlist_window = { earliest_check_in: w.earliest, latest_check_out: w.latest };
    button.disabled = true;
    try {
      await api('POST', '/v1/stays', body, { idempotencyKey: key });
      note.replaceChildren(el('p', {}, `U staat op de wachtlijst bij ${r.location.name}. Komt er een plek vrij, dan ziet u die bij `,
        el('a', { href: '/mijn-logeerplekken.html' }, 'Mijn logeerplekken'), '.'));
      button.textContent = 'U staat op de wachtlijst';
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      button.disabled = false;
      note.className = 'alert alert--error';
      note.replaceChildren(el('p', {}, e.message), ...Object.values(e.fields).map((t) => el('p', {}, t)));
    }
    note.hidden = false;
  });
  return box;
}

function show(title, explain, items) {
  const section = document.getElementById('resultaten');
  document.getElementById('resultaten-titel').textContent = title;
  document.getElementById('resultaten-uitleg').textContent = explain;
  document.getElementById('lijst').replaceChildren(...items);
  document.getElementById('wachtlijst-melding').hidden = true;
  section.hidden = false;
  document.getElementById('uitkomst').textContent = title;
  document.getElementById('resultaten-titel').focus();
}

async function search(v) {
  const q = filters(v);
  const nights = Number(v.nights);
  if (v.wanneer === 'flex') {
    q.set('from', v.from);
    q.set('until', v.until);
    q.set('per_pool', '5');
    const found = await api('GET', '/v1/availability/earliest?' + q);
    const wait = { text: 'in deze periode', checkIn: v.from, checkOut: addDays(v.from, nights),
      earliest: v.from, latest: v.until };
    if (!found.results.length) return noneInArea(v, q, wait);
    return show(`${found.count} ${found.count === 1 ? 'logeerplek heeft' : 'logeerplekken hebben'} plek in deze periode`,
      `Voor ${nightsText(nights)}, de eerste data eerst.`, found.results.map((r) => earliestCard(r, v, null)));
  }
  const asked = new URLSearchParams(q);
  asked.set('check_in', v.check_in);
  const found = await api('GET', '/v1/availability?' + asked);
  if (found.results.length)
    return show(`${found.count} ${found.count === 1 ? 'logeerplek is' : 'logeerplekken zijn'} vrij`,
      `Van ${rangeText(v.check_in, addDays(v.check_in, nights))}.`, found.results.map((r) => stayCard(r, v)));
  // Full on the asked dates: the earliest dates that do fit, from the asked day on.
  q.set('from', v.check_in);
  q.set('per_pool', '3');
  const early = await api('GET', '/v1/availability/earliest?' + q);
  const wait = { text: 'op uw data', checkIn: v.check_in, checkOut: addDays(v.check_in, nights) };
  if (!early.results.length) return noneInArea(v, q, wait);
  return show('Op deze data is er geen plek vrij',
    'Deze logeerplekken hebben wel plek op andere data. De eerste data staan bovenaan.',
    early.results.map((r) => earliestCard(r, v, wait)));
}

// Nothing in the window: say so, and offer the waiting list at the places that would fit.
async function noneInArea(v, q, wait) {
  const later = new URLSearchParams(q);
  later.delete('until');
  later.set('from', wait.checkIn);
  later.set('per_pool', '1');
  const any = await api('GET', '/v1/availability/earliest?' + later);
  if (!any.results.length)
    return show('Er is geen logeerplek die past',
      'Kies een groter gebied of een andere soort zorg of betaling.', []);
  return show('In deze periode is er geen plek vrij',
    'U kunt op de wachtlijst. Of kies een van de latere data hieronder.',
    any.results.map((r) => earliestCard(r, v, wait)));
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  const v = values();
  const missing = missingFields(form);
  if (v.wanneer === 'vast' && !v.check_in) missing.check_in = 'Kies een aankomstdatum.';
  if (v.wanneer === 'flex') {
    if (!v.from) missing.from = 'Kies de eerste dag van de periode.';
    if (!v.until) missing.until = 'Kies de laatste dag van de periode.';
    else if (v.from && v.until <= v.from) missing.until = 'Kies een dag na de eerste dag.';
  }
  if (v.nights && !(Number(v.nights) >= 1 && Number(v.nights) <= 28)) missing.nights = 'Vul een aantal nachten in van 1 tot 28.';
  if (Object.keys(missing).length) return showErrors(form, { fields: missing });
  history.replaceState(null, '', '?' + new URLSearchParams(v));
  try {
    await whileBusy(form, () => search(v));
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 401) {
      location.assign(loginUrl());
      return;
    }
    if (e.status === 429) {
      // Visitors are limited per address (LOGEER_VISITOR_RATE); signing in lifts it.
      const wait = e.problem && e.problem.retry_after;
      return showErrors(form, new ApiError(429, e.problem, 'U heeft veel keer achter elkaar gezocht. ' +
        'Wacht ' + (wait > 1 ? wait + ' seconden' : 'een paar seconden') + ' en zoek dan opnieuw. ' +
        'Met een account kunt u zonder wachten zoeken.', {}), 'Even wachten');
    }
    showErrors(form, e, 'Het zoeken is niet gelukt');
  }
});

if (start.has('nights')) form.requestSubmit();
