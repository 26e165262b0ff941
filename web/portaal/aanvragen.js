// portaal/aanvragen.js: one request, start to end. POST /v1/stays with the person (guest_id)
// and an Idempotency-Key per attempt (a retry of the same attempt sends the same key, so a
// lost answer never books twice). An instant place comes back held: a countdown to
// hold_expires_at, then POST .../confirm. An approval place comes back requested: "aanvraag
// verstuurd". A lost race (409 no-beds) is told in words, with the earliest other dates and
// the waiting list as the next steps. A request beyond the person's toekenning (allowance)
// says what is left and offers another way to pay or entering the toekenning; a place that
// wants a kennismaking first links to asking for one. Where the place offers a companion
// place the caregiver may stay along, and who brings and collects the guest (inside the
// place's windows, shown in words) goes with the request; refusals show at those fields.
import { api, ApiError, newIdempotencyKey } from '/common/api.js';
import { clearErrors, missingFields, showErrors, whileBusy } from '/common/form.js';
import { initPage } from '/common/layout.js';
import { addFieldTexts } from '/common/problems.js';
import { formatDateShort, formatDateTime, fundingText, nightsText, stayStatusText } from '/common/status.js';
import {
  ACCESS, el, fillSelect, intakeLink, loadMunicipalities, loadPerson, loadPlace, municipalityName,
  rangeText
} from './plek.js';
import { transportFieldset, transportText, transportValue, windowWords } from './vervoer.js';

addFieldTexts({
  guest_id: { invalid: 'Deze logeerplek past niet bij de zorg die uw naaste nodig heeft.' },
  check_in: { 'this pool takes no arrivals': 'Op deze dag kunt u hier niet aankomen. Kies andere data.',
    'this pool needs': 'Deze logeerplek wil dat u eerder aanvraagt. Kies een latere datum.',
    'is in the past': 'Deze datum is al voorbij.' },
  check_out: { 'this pool takes stays of': 'Zo lang of zo kort kan het hier niet. Kies een ander aantal nachten.',
    'the stay must be one block': 'Hier logeert u in vaste blokken. Kies andere data.',
    'this pool takes bookings up to': 'Zo ver vooruit kan het hier nog niet.',
    'the intake allows a shorter trial stay': 'Uw naaste logeert hier eerst op proef, voor minder nachten. Kies minder nachten.' },
  funding: { 'this pool has no Wmo contract': 'Uw gemeente heeft geen afspraak met deze logeerplek. Kies een andere betaling.',
    'this pool does not accept': 'Deze logeerplek neemt deze betaling niet aan. Kies een andere.' }
});

const FUNDINGS = ['wmo', 'wlz', 'zvw', 'pgb', 'private'];
const params = new URLSearchParams(location.search);
const choice = { pool: params.get('pool'), checkIn: params.get('in'), checkOut: params.get('uit') };
const form = document.getElementById('aanvragen');

await initPage({ requireLogin: true });
const [person, place] = await Promise.all([loadPerson(),
  loadPlace(choice.pool, choice.checkIn, choice.checkOut), loadMunicipalities()]);

function describeChoice() {
  const rows = [];
  if (place) {
    rows.push(['Logeerplek', `${place.location.name}, ${municipalityName(place.location.municipality)}`]);
    rows.push(['Aanbieder', place.provider.name]);
    const access = ACCESS[place.access];
    if (access) rows.push(['Zo gaat het', access.hint]);
    if (place.check_in_window) rows.push(['Aankomen', windowWords(place.check_in_window)]);
    if (place.check_out_window) rows.push(['Ophalen', windowWords(place.check_out_window)]);
    if (place.companion_places > 0) rows.push(['Mee logeren', 'U kunt hier zelf ook blijven logeren']);
  }
  if (choice.checkIn && choice.checkOut) rows.push(['Data', rangeText(choice.checkIn, choice.checkOut)]);
  if (person) rows.push(['Voor', person.alias]);
  document.getElementById('keuze-gegevens').replaceChildren(
    ...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}
describeChoice();

if (!choice.pool || !choice.checkIn || !choice.checkOut) {
  fail('Er is geen logeerplek gekozen. Zoek eerst een logeerplek.', [['Zoek een logeerplek', '/zoeken.html']]);
} else if (!person) {
  document.getElementById('naar-persoon').href = '/persoon.html?terug=' +
    encodeURIComponent(location.pathname + location.search);
  document.getElementById('geen-persoon').hidden = false;
} else {
  fillSelect(form.funding, FUNDINGS.map((f) => [f, fundingText(f)]), params.get('betaling') || person.funding);
  document.getElementById('mee-logeren').hidden = !(place && place.companion_places > 0);
  document.getElementById('vervoer').replaceChildren(
    transportFieldset('arrival', place && place.check_in_window),
    transportFieldset('departure', place && place.check_out_window));
  // The same place several times (a logeerreeks) is asked on its own page.
  document.getElementById('naar-reeks').href = '/reeks.html' + location.search;
  form.hidden = false;
}

// The search that leads to other dates at the same place's municipality, from the asked day.
function otherDatesLink() {
  const nights = Math.round((new Date(choice.checkOut) - new Date(choice.checkIn)) / 86400000);
  const q = new URLSearchParams({ wanneer: 'vast', check_in: choice.checkIn, nights, gebied: 'gemeente' });
  if (place) q.set('municipality', place.location.municipality);
  if (form.funding.value) q.set('funding', form.funding.value);
  if (person) q.set('care_profile', person.care_profile);
  return '/zoeken.html?' + q;
}

function fail(text, links) {
  const box = document.getElementById('mislukt');
  box.replaceChildren(el('p', {}, text),
    ...(links || []).map(([label, href]) => el('p', {}, el('a', { href }, label))));
  box.hidden = false;
  box.focus();
}

function done(nodes) {
  const box = document.getElementById('klaar');
  box.replaceChildren(...nodes);
  box.hidden = false;
  box.focus();
}

// What was arranged besides the dates, as the answer says it.
function arrangement(stay) {
  const out = [];
  if (stay.companion) out.push(el('p', {}, 'U blijft zelf ook logeren.'));
  if (stay.arrival) out.push(el('p', {}, 'Brengen: ' + transportText(stay.arrival, 'arrival') + '.'));
  if (stay.departure) out.push(el('p', {}, 'Ophalen: ' + transportText(stay.departure, 'departure') + '.'));
  return out;
}

// ---- the hold and its countdown ----
let timer = null;
let lastSpoken = null;

function minutesLeft(ms) { return Math.max(0, Math.ceil(ms / 60000)); }

function tick(expires) {
  const ms = expires - Date.now();
  if (ms <= 0) {
    clearInterval(timer);
    document.getElementById('vastgehouden').hidden = true;
    fail('De tijd is om. De plek is weer vrijgegeven. U kunt het opnieuw proberen.',
      [['Opnieuw aanvragen', location.href], ['Andere data zoeken', otherDatesLink()]]);
    return;
  }
  const m = Math.floor(ms / 60000);
  const s = Math.floor((ms % 60000) / 1000);
  document.getElementById('klok').textContent = `${m}:${String(s).padStart(2, '0')} minuten`;
  // Screen readers hear it once a minute at most, and every 30 s in the last minute.
  const spoken = m >= 1 ? `Nog ${minutesLeft(ms)} minuten om te bevestigen.` :
    `Nog ${s < 30 ? 'minder dan een halve' : 'één'} minuut om te bevestigen.`;
  if (spoken !== lastSpoken) {
    document.getElementById('aftellen-sr').textContent = spoken;
    lastSpoken = spoken;
  }
}

function showHold(stay) {
  form.hidden = true;
  const expires = new Date(stay.hold_expires_at).getTime();
  document.getElementById('tot').textContent = formatDateTime(stay.hold_expires_at).replace(/^.* om /, '');
  document.getElementById('vastgehouden').hidden = false;
  tick(expires);
  timer = setInterval(() => tick(expires), 1000);
  document.getElementById('vastgehouden-titel').focus();

  const confirm = document.getElementById('bevestig');
  const release = document.getElementById('laat-los');
  confirm.onclick = async () => {
    confirm.disabled = release.disabled = true;
    try {
      const confirmed = await api('POST', `/v1/stays/${stay.id}/confirm`);
      clearInterval(timer);
      document.getElementById('vastgehouden').hidden = true;
      done([el('h2', {}, 'De logeerplek is bevestigd'),
        el('p', {}, `${person.alias} logeert ${rangeText(confirmed.check_in, confirmed.check_out)}.`),
        ...arrangement(confirmed),
        el('p', { class: 'button-group' },
          el('a', { class: 'button', href: `/v1/stays/${stay.id}/calendar.ics`, download: '' }, 'Zet in agenda'),
          el('a', { class: 'button button--secondary', href: '/mijn-logeerplekken.html' }, 'Naar mijn logeerplekken'))]);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      confirm.disabled = release.disabled = false;
      fail(e.status === 409 ? 'De plek is niet meer vastgehouden: de tijd was om. Probeer het opnieuw.' : e.message,
        [['Opnieuw aanvragen', location.href]]);
    }
  };
  release.onclick = async () => {
    confirm.disabled = release.disabled = true;
    try {
      await api('POST', `/v1/stays/${stay.id}/cancel`);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
    clearInterval(timer);
    document.getElementById('vastgehouden').hidden = true;
    done([el('p', {}, 'De plek is weer vrijgegeven.'), el('p', {}, el('a', { href: otherDatesLink() }, 'Verder zoeken'))]);
  };
}

// ---- a lost race and the next steps ----
function lostRace(e, body) {
  const box = document.getElementById('mislukt');
  const wait = el('button', { type: 'button', class: 'button--secondary' }, 'Zet mij op de wachtlijst voor deze data');
  const waitKey = newIdempotencyKey();
  wait.addEventListener('click', async () => {
    wait.disabled = true;
    try {
      await api('POST', '/v1/stays', { ...body, waitlist: true }, { idempotencyKey: waitKey });
      box.hidden = true;
      done([el('p', {}, 'U staat op de wachtlijst. Komt er een plek vrij, dan bieden wij die aan. U ziet dat bij ',
        el('a', { href: '/mijn-logeerplekken.html' }, 'Mijn logeerplekken'), '.')]);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      wait.disabled = false;
      fail(err.message);
    }
  });
  const nights = (e.problem && Array.isArray(e.problem.nights)) ? e.problem.nights.length : 0;
  box.replaceChildren(
    el('h2', {}, 'Net iemand anders was u voor'),
    el('p', {}, 'Iemand anders heeft de laatste plek op deze data net gekregen' +
      (nights ? ` (${nights === 1 ? 'één nacht is' : nights + ' nachten zijn'} vol).` : '.') + ' Dat is vervelend.'),
    el('p', {}, 'Wat kunt u nu doen?'),
    el('ul', {},
      el('li', {}, el('a', { href: otherDatesLink() }, 'Kijk welke andere data wel passen')),
      el('li', {}, 'Of wacht op een plek op deze data: ', wait)));
  box.hidden = false;
  box.focus();
}

// ---- beyond the toekenning, or no kennismaking yet: the ways forward ----
// 'in de week van 7 dec. 2026 nog 1 nacht', 'in 2027 geen nachten meer'
function remainingText(r) {
  const left = r.remaining ? `nog ${nightsText(r.remaining)}` : 'geen nachten meer';
  return r.period === 'week' ? `in de week van ${formatDateShort(r.period_start)} ${left}`
    : `in ${r.period_start.slice(0, 4)} ${left}`;
}

// The way to enter a toekenning on the person's page, and back here afterwards.
function allowanceLink() {
  return '/persoon.html?terug=' + encodeURIComponent(location.pathname + location.search) + '#toekenningen';
}

function beyondAllowance(e, body) {
  const p = e.problem || {};
  const route = fundingText(body.funding);
  const lines = [];
  if (e.type === 'allowance-exceeded') {
    lines.push(el('h2', {}, 'Niet genoeg nachten over in de toekenning'));
    lines.push(el('p', {}, `Deze aanvraag heeft meer nachten dan de toekenning voor ${route} nog toestaat.`));
    const rest = Array.isArray(p.remaining) ? p.remaining : [];
    if (rest.length) lines.push(el('p', { id: 'over' }, 'Wat er nog over is: ' + rest.map(remainingText).join('; ') + '.'));
  } else {
    lines.push(el('h2', {}, 'Er is nog geen toekenning'));
    lines.push(el('p', {}, `Voor betaling met ${route} is een toekenning nodig die geldt op deze data. Die staat nog niet bij uw naaste.`));
  }
  const privately = el('button', { type: 'button', id: 'zelf-betalen' }, 'Zelf betalen en opnieuw aanvragen');
  privately.addEventListener('click', () => {
    form.funding.value = 'private';
    key = newIdempotencyKey(); // another request now
    form.requestSubmit();
  });
  lines.push(el('p', {}, 'Wat kunt u nu doen?'),
    el('ul', {},
      el('li', {}, 'Kies hierboven een andere betaling en vraag opnieuw aan. Of: ', privately),
      el('li', {}, el('a', { href: allowanceLink() }, 'Vul eerst de toekenning in bij Mijn naaste')),
      el('li', {}, el('a', { href: otherDatesLink() }, 'Kies andere data'))));
  const box = document.getElementById('mislukt');
  box.replaceChildren(...lines);
  box.hidden = false;
  box.focus();
}

function intakeFirst(e) {
  const p = e.problem || {};
  const locationId = p.location_id || (place && place.location.id);
  const why = p.lapsed ? 'Uw kennismaking hier is verlopen: het is te lang geleden dat uw naaste hier logeerde.'
    : p.intake_outcome === 'not_suitable' ? 'Na de kennismaking past deze logeerplek niet bij uw naaste.'
      : 'Deze logeerplek wil eerst kennismaken met uw naaste. Daarna kunt u hier aanvragen.';
  const links = [];
  if (locationId && p.intake_outcome !== 'not_suitable')
    links.push([p.intake_id && !p.lapsed ? 'Bekijk uw kennismaking' : 'Vraag een kennismaking aan', intakeLink(locationId)]);
  links.push(['Andere logeerplekken zoeken', otherDatesLink()]);
  fail(why, links);
}

// ---- the request itself ----
let key = newIdempotencyKey();
// Another request now: a changed choice or typed time or note is another body.
form.addEventListener('change', () => { key = newIdempotencyKey(); });
form.addEventListener('input', () => { key = newIdempotencyKey(); });

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  document.getElementById('mislukt').hidden = true;
  const missing = missingFields(form);
  const arrival = transportValue(form, 'arrival', missing);
  const departure = transportValue(form, 'departure', missing);
  if (Object.keys(missing).length) return showErrors(form, { fields: missing });
  const body = { pool_id: choice.pool, check_in: choice.checkIn, check_out: choice.checkOut,
    funding: form.funding.value, guest_id: person.id };
  if (!document.getElementById('mee-logeren').hidden && form.companion.checked) body.companion = true;
  if (arrival) body.arrival = arrival;
  if (departure) body.departure = departure;
  let stay;
  try {
    stay = await whileBusy(form, () => api('POST', '/v1/stays', body, { idempotencyKey: key }));
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.type === 'no-beds') return lostRace(e, body);
    // The beds are there but the caregiver's own place is not: say so at the checkbox.
    if (e.type === 'no-companion-place')
      return showErrors(form, { fields: { companion: e.message } }, 'Geen plek om zelf mee te logeren');
    if (e.status === 422) return showErrors(form, e, 'Deze aanvraag past niet bij de logeerplek');
    if (e.type === 'conflict')
      return fail('U heeft al het hoogste aantal open aanvragen. Bevestig of annuleer er eerst een.',
        [['Naar mijn logeerplekken', '/mijn-logeerplekken.html']]);
    if (e.type === 'intake-required') return intakeFirst(e);
    if (e.type === 'allowance-required' || e.type === 'allowance-exceeded') return beyondAllowance(e, body);
    return fail(e.message);
  }
  if (stay.status === 'held') return showHold(stay);
  form.hidden = true;
  done([el('h2', {}, 'Aanvraag verstuurd'),
    el('p', {}, `De aanbieder kijkt of de plek past voor ${person.alias}. De status is nu: ${stayStatusText(stay.status)}.`),
    ...arrangement(stay),
    el('p', {}, 'U ziet het antwoord bij ', el('a', { href: '/mijn-logeerplekken.html' }, 'Mijn logeerplekken'), '.')]);
});
