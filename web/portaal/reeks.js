// portaal/reeks.js: a series request, start to end. The caregiver chooses a rhythm or lists
// dates; "Bekijk de data" asks POST /v1/series/preview, which checks everything a booking
// would and shows the dates with the places free now; "Vraag de reeks aan" sends
// POST /v1/series with one Idempotency-Key per shown preview (a retry after a lost answer
// never books twice). Held dates are confirmed together here; refused dates are said in
// words. The series then shows as one item on Mijn logeerplekken.
import { api, ApiError, newIdempotencyKey } from '/common/api.js';
import { clearErrors, missingFields, showErrors, whileBusy } from '/common/form.js';
import { initPage } from '/common/layout.js';
import { formatDateTime, fundingText, nightsBetween } from '/common/status.js';
import {
  el, fillSelect, loadMunicipalities, loadPerson, loadPlace, municipalityName, rangeText
} from './plek.js';
import { everyText, notHeldText, rhythmText } from './reeks-tekst.js';

const FUNDINGS = ['wmo', 'wlz', 'zvw', 'pgb', 'private'];
const params = new URLSearchParams(location.search);
const choice = { pool: params.get('pool'), checkIn: params.get('in'), checkOut: params.get('uit') };
const form = document.getElementById('reeks');
const preview = document.getElementById('voorbeeld');

await initPage({ requireLogin: true });
const [person, place] = await Promise.all([loadPerson(),
  loadPlace(choice.pool, choice.checkIn, choice.checkOut), loadMunicipalities()]);

function describeChoice() {
  const rows = [];
  if (place) {
    rows.push(['Logeerplek', `${place.location.name}, ${municipalityName(place.location.municipality)}`]);
    rows.push(['Aanbieder', place.provider.name]);
  }
  if (person) rows.push(['Voor', person.alias]);
  document.getElementById('keuze-gegevens').replaceChildren(
    ...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
}

function fail(nodes) {
  const box = document.getElementById('mislukt');
  box.replaceChildren(...nodes);
  box.hidden = false;
  box.focus();
}

// ---- the form ----
let listed = 0;
function addDate(value = '') {
  const id = `arrival-${listed}`;
  const field = el('div', { class: 'field' },
    el('label', { class: 'field__label', for: id }, `Aankomst ${listed + 1}`),
    el('input', { class: 'textbox textbox--short', type: 'date', id, name: `arrivals[${listed}]`, value }));
  document.getElementById('lijst-data').append(field);
  listed++;
  return field.querySelector('input');
}

function showWay() {
  const byRule = form.manier.value === 'ritme';
  document.getElementById('ritme').hidden = !byRule;
  document.getElementById('lijst').hidden = byRule;
}

describeChoice();
if (!choice.pool) {
  fail([el('p', {}, 'Er is geen logeerplek gekozen. Zoek eerst een logeerplek.'),
    el('p', {}, el('a', { href: '/zoeken.html' }, 'Zoek een logeerplek'))]);
} else if (!person) {
  document.getElementById('naar-persoon').href = '/persoon.html?terug=' +
    encodeURIComponent(location.pathname + location.search);
  document.getElementById('geen-persoon').hidden = false;
} else {
  fillSelect(form.funding, FUNDINGS.map((f) => [f, fundingText(f)]), person.funding);
  fillSelect(form.querySelector('#every_weeks'),
    [1, 2, 3, 4, 6, 8].map((w) => [String(w), everyText(w).replace(/^e/, 'E')]), '4');
  if (choice.checkIn) form.querySelector('#first_check_in').value = choice.checkIn;
  form.nights.value = choice.checkIn && choice.checkOut ? nightsBetween(choice.checkIn, choice.checkOut) : 2;
  addDate(choice.checkIn || '');
  addDate();
  addDate();
  form.querySelectorAll('input[name="manier"]').forEach((r) => r.addEventListener('change', showWay));
  document.getElementById('nog-een').addEventListener('click', () => addDate().focus());
  form.hidden = false;
}

// The request body from the form; missing holds the empty required fields.
function body(missing) {
  const b = { pool_id: choice.pool, mode: form.mode.value, funding: form.funding.value,
    nights: Number(form.nights.value), guest_id: person.id };
  if (form.manier.value === 'ritme') {
    const first = form.querySelector('#first_check_in').value;
    if (!first) missing['rule.first_check_in'] = 'Kies de eerste aankomst.';
    b.rule = { first_check_in: first, every_weeks: Number(form.querySelector('#every_weeks').value) };
    const count = form.querySelector('#count').value.trim();
    if (count) b.rule.count = Number(count);
  } else {
    b.arrivals = [...form.querySelectorAll('#lijst-data input')].map((i) => i.value).filter(Boolean);
    if (!b.arrivals.length) missing['arrivals[0]'] = 'Vul minstens één datum in.';
  }
  return b;
}

let asked = null;     // the body the preview showed
let key = null;       // its Idempotency-Key, kept for retries of the same request

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  document.getElementById('mislukt').hidden = true;
  const missing = missingFields(form);
  const b = body(missing);
  if (Object.keys(missing).length) return showErrors(form, { fields: missing });
  let shown;
  try {
    shown = await whileBusy(form, () => api('POST', '/v1/series/preview', b));
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return showErrors(form, e, 'Deze reeks past niet');
  }
  asked = b;
  key = newIdempotencyKey();
  document.getElementById('voorbeeld-lijst').replaceChildren(...shown.occurrences.map((o) =>
    el('li', {}, rangeText(o.check_in, o.check_out) + ': ',
      el('strong', {}, o.free > 0 ? `nu ${o.free} ${o.free === 1 ? 'plek' : 'plekken'} vrij` : 'nu vol'))));
  form.hidden = true;
  preview.hidden = false;
  document.getElementById('voorbeeld-titel').focus();
});

document.getElementById('aanpassen').addEventListener('click', () => {
  preview.hidden = true;
  form.hidden = false;
  form.querySelector('input[name="manier"]:checked').focus();
});

function heldNodes(series) {
  const held = series.occurrences.filter((o) => o.status === 'held');
  const requested = series.occurrences.filter((o) => o.status === 'requested');
  const out = [el('p', {}, el('strong', {}, 'De reeks is aangevraagd: ' + rhythmText(series) + '.'))];
  if (held.length) {
    out.push(el('p', {}, `We houden ${held.length} ${held.length === 1 ? 'logeerplek' : 'logeerplekken'} voor u vast tot ${formatDateTime(held[0].hold_expires_at)}. Bevestig de reeks voor die tijd.`));
    const confirm = el('button', { type: 'button', id: 'bevestig-reeks' }, 'Bevestig de reeks');
    confirm.addEventListener('click', async () => {
      confirm.disabled = true;
      try {
        await api('POST', `/v1/series/${series.id}/confirm`);
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        return fail([el('p', {}, e.message)]);
      }
      done([el('p', {}, el('strong', {}, 'De reeks is bevestigd.')),
        el('p', {}, el('a', { href: '/mijn-logeerplekken.html' }, 'Bekijk uw logeerplekken'))]);
    });
    out.push(el('p', { class: 'button-group' }, confirm));
  }
  if (requested.length) out.push(el('p', {}, 'De aanbieder kijkt of het past. U hoort het van ons.'));
  if (series.not_held.length)
    out.push(el('p', {}, 'Deze data konden niet:'),
      el('ul', {}, ...series.not_held.map((b) => el('li', {}, notHeldText(b)))));
  out.push(el('p', {}, el('a', { href: '/mijn-logeerplekken.html' }, 'Naar Mijn logeerplekken')));
  return out;
}

function done(nodes) {
  const box = document.getElementById('klaar');
  box.replaceChildren(...nodes);
  box.hidden = false;
  box.focus();
}

document.getElementById('verstuur').addEventListener('click', async (ev) => {
  const button = ev.currentTarget;
  button.disabled = true;
  let series;
  try {
    series = await api('POST', '/v1/series', asked, { idempotencyKey: key });
  } catch (e) {
    button.disabled = false;
    if (!(e instanceof ApiError)) throw e;
    const blocked = (e.problem && e.problem.blocked) || [];
    return fail([el('p', {}, blocked.length
      ? 'De reeks is niet aangevraagd: niet alle data kunnen. Er is niets vastgehouden.' : e.message),
    ...(blocked.length ? [el('ul', {}, ...blocked.map((b) => el('li', {}, notHeldText(b))))] : []),
    el('p', {}, 'Kies andere data, of kies "Dan vraag ik de data aan die wel kunnen".')]);
  }
  preview.hidden = true;
  document.getElementById('mislukt').hidden = true;
  done(heldNodes(series));
});
