// aanbieder/instellingen.js: the rules of the provider's own pools and the facilities and
// exclusions of its locations. Reads them (GET /v1/pools, /v1/locations, then the one chosen
// for the version in its ETag) and writes with PATCH and If-Match, so a colleague's change in
// the meantime is reported, never overwritten unseen. The server checks every value; its
// refusals are shown in Dutch next to the fields (common/form.js, with the texts below). The
// practice rules (kennismaking, arrival days, blocks, times, companion places, free
// cancellation) go in the pool's PATCH. A link with ?groep= or ?locatie= opens one directly;
// an id the server does not answer for this provider (another provider's, or gone) is said to
// be not found, and nothing is shown of it.
import { api, ApiError } from '/common/api.js';
import { clearErrors, formValues, missingFields, showErrors, whileBusy } from '/common/form.js';
import { AANBIEDER_MENU, initPage } from '/common/layout.js';
import { addFieldTexts, fieldMessage } from '/common/problems.js';
import { fundingText } from '/common/status.js';
import { EXCLUSIONS, FACILITIES, NOT_PROVIDER, WEEKDAYS, tokenText } from './texts.js';
import { el } from '/common/dom.js';

const $ = (id) => document.getElementById(id);
const FUNDINGS = ['wmo', 'wlz', 'zvw', 'pgb', 'private'];
const NUMBERS = ['min_nights', 'max_nights', 'lead_days', 'horizon_days', 'companion_places',
  'series_share_max_percent'];
const SHORT_DAYS = ['ma', 'di', 'wo', 'do', 'vr', 'za', 'zo'];     // ISO weekday 1..7 at index 0..6
const form = $('regels');
const locForm = $('locatie-form');
const state = { pools: [], etag: null, locations: [], location: null, locEtag: null };

addFieldTexts({
  min_nights: { invalid: 'Vul bij het kleinste aantal nachten een getal in van 1 tot 365.' },
  max_nights: {
    'must be at least min_nights': 'Het grootste aantal nachten moet minstens zo groot zijn als het kleinste aantal.',
    invalid: 'Vul bij het grootste aantal nachten een getal in van 1 tot 365.'
  },
  lead_days: {
    'must be less than horizon_days': 'Het aantal dagen van tevoren moet kleiner zijn dan hoe ver vooruit er geboekt kan worden.',
    invalid: 'Vul bij dagen van tevoren een getal in van 0 tot 365.'
  },
  horizon_days: { invalid: 'Vul bij hoe ver vooruit een getal in van 1 tot 1095 dagen.' },
  booking_mode: { required: 'Kies een manier van boeken.', invalid: 'Kies een manier van boeken.' },
  funding: { required: 'Kies minstens één manier van betalen.', invalid: 'Kies minstens één manier van betalen.' },
  facilities: {
    'must have at most': 'Kies hoogstens 32 dingen die de locatie biedt.',
    invalid: 'Schrijf wat de locatie biedt in gewone woorden, zonder leestekens.'
  },
  exclusions: {
    'must have at most': 'Noem hoogstens 32 groepen die u niet kunt opvangen.',
    invalid: 'Schrijf wie u niet kunt opvangen in gewone woorden, zonder leestekens.'
  },
  companion_places: { invalid: 'Vul bij plaatsen voor een mantelzorger een getal in van 0 tot en met 50.' },
  free_cancel_days: { invalid: 'Vul bij kosteloos annuleren een getal in van 0 tot en met 365, of laat het leeg.' },
  series_share_max_percent: { invalid: 'Vul bij logeerreeksen een percentage in van 0 tot en met 100.' },
  arrival_weekdays: { invalid: 'Kies de dagen waarop een gast kan aankomen.' },
  blocks: {
    'no block arrives': 'Geen enkel blok begint op een dag waarop gasten mogen aankomen. Laat een blok op zo\'n dag beginnen, of zet meer aankomstdagen aan.',
    invalid: 'Schrijf de blokken als ma-wo, wo-vr of ma 10, gescheiden door komma\'s (hoogstens 14 blokken van 1 tot 28 nachten).'
  },
  check_in_window: { invalid: 'Schrijf de tijd van aankomst als 14:00-17:00, de eerste tijd voor de tweede.' },
  check_out_window: { invalid: 'Schrijf de tijd van vertrek als 10:00-12:00, de eerste tijd voor de tweede.' },
  wmo_municipalities: {
    'is required when funding includes wmo': 'Vul de gemeenten in waarmee u een Wmo-contract heeft, of zet Wmo uit.',
    'must be empty unless funding includes wmo': 'Laat de gemeenten leeg als u geen Wmo aanbiedt.',
    'must contain CBS codes': 'Vul gemeentecodes in zoals GM0106, gescheiden door komma\'s.',
    invalid: 'Vul gemeentecodes in die bestaan, zoals GM0106, gescheiden door komma\'s.'
  }
});

function say(text) {
  const m = $('melding');
  m.textContent = text;
  m.hidden = !text;
}

function fail(e) {
  const f = $('fout');
  f.textContent = e instanceof ApiError ? e.message : 'Er ging iets mis. Laad de pagina opnieuw.';
  f.hidden = false;
  if (!(e instanceof ApiError)) throw e;
}

function fundingChoices() {
  $('funding-keuzes').replaceChildren(...FUNDINGS.map((f) => {
    const wrap = document.createElement('div');
    wrap.className = 'checkbox';
    const input = document.createElement('input');
    Object.assign(input, { type: 'checkbox', id: 'funding-' + f, name: 'funding', value: f });
    const label = document.createElement('label');
    label.htmlFor = input.id;
    label.textContent = fundingText(f);
    wrap.append(input, label);
    return wrap;
  }));
}

function weekdayChoices() {
  $('weekdagen').replaceChildren(...WEEKDAYS.map((name, i) => {
    const wrap = document.createElement('div');
    wrap.className = 'checkbox';
    const input = document.createElement('input');
    Object.assign(input, { type: 'checkbox', id: 'arrival_weekdays-' + (i + 1), name: 'arrival_weekdays', value: String(i + 1) });
    const label = document.createElement('label');
    label.htmlFor = input.id;
    label.textContent = name;
    wrap.append(input, label);
    return wrap;
  }));
}

// A block as the planner reads it: "ma-wo" up to a week, "ma 10" beyond.
function blockText(b) {
  const day = SHORT_DAYS[b.arrive - 1];
  return b.nights <= 7 ? day + '-' + SHORT_DAYS[(b.arrive - 1 + b.nights) % 7] : day + ' ' + b.nights;
}

// "ma-wo, vr 10" -> [{arrive 1, nights 2}, {arrive 5, nights 10}]; null when a part is not a block.
function parseBlocks(text) {
  const out = [];
  for (const part of text.toLowerCase().split(/\s*[,;]\s*/).filter(Boolean)) {
    let m = /^([a-z]{2})\s*-\s*([a-z]{2})$/.exec(part);
    if (m && SHORT_DAYS.includes(m[1]) && SHORT_DAYS.includes(m[2])) {
      const from = SHORT_DAYS.indexOf(m[1]), to = SHORT_DAYS.indexOf(m[2]);
      out.push({ arrive: from + 1, nights: ((to - from + 7) % 7) || 7 });
      continue;
    }
    m = /^([a-z]{2})\s+(\d{1,2})$/.exec(part);
    if (m && SHORT_DAYS.includes(m[1])) {
      out.push({ arrive: SHORT_DAYS.indexOf(m[1]) + 1, nights: Number(m[2]) });
      continue;
    }
    return null;
  }
  return out;
}

// "14.00 - 17.00" -> "14:00-17:00" (the API's shape), "" -> null; anything else as typed.
function windowValue(text) {
  const t = text.trim();
  if (!t) return null;
  const m = /^(\d{1,2})[:.](\d{2})\s*-\s*(\d{1,2})[:.](\d{2})$/.exec(t);
  return m ? m[1].padStart(2, '0') + ':' + m[2] + '-' + m[3].padStart(2, '0') + ':' + m[4] : t;
}

function fill(pool) {
  for (const k of NUMBERS) form.elements[k].value = String(pool[k]);
  form.elements.intake_required.checked = !!pool.intake_required;
  for (const c of form.querySelectorAll('input[name="arrival_weekdays"]'))
    c.checked = (pool.arrival_weekdays || []).includes(Number(c.value));
  form.elements.blocks.value = (pool.blocks || []).map(blockText).join(', ');
  form.elements.check_in_window.value = pool.check_in_window || '';
  form.elements.check_out_window.value = pool.check_out_window || '';
  form.elements.free_cancel_days.value = pool.free_cancel_days === null || pool.free_cancel_days === undefined
    ? '' : String(pool.free_cancel_days);
  for (const r of form.querySelectorAll('input[name="booking_mode"]')) r.checked = r.value === pool.booking_mode;
  for (const c of form.querySelectorAll('input[name="funding"]')) c.checked = pool.funding.includes(c.value);
  form.elements.wmo_municipalities.value = (pool.wmo_municipalities || []).join(', ');
}

// Arrow keys on a select fire a change per step, so several reads may be under way: only the
// last one asked fills the form, whatever order the answers come in.
const loads = { pool: 0, location: 0 };

async function loadPool(id) {
  const mine = ++loads.pool;
  const resp = await api('GET', '/v1/pools/' + encodeURIComponent(id), null, { raw: true });
  const pool = await resp.json();
  if (mine !== loads.pool) return null;
  state.etag = resp.headers.get('ETag') || '"' + pool.version + '"';
  clearErrors(form);
  fill(pool);
  $('groep-fout').hidden = true;
  form.hidden = false;
  document.body.dataset.groep = pool.id;
  return pool;
}

// A link named a pool or location this planner may not see (another provider's, or one that
// is gone): the server answers 404 either way, and the page says so without showing anything
// of it. The form stays hidden until the planner picks one of their own.
const NOT_FOUND = {
  groep: 'Deze groep bedden is niet gevonden. Misschien hoort hij bij een andere organisatie, ' +
    'of is de link oud. U heeft geen toegang tot groepen van andere organisaties. Kies hierboven een van uw eigen groepen.',
  locatie: 'Deze locatie is niet gevonden. Misschien hoort zij bij een andere organisatie, ' +
    'of is de link oud. U heeft geen toegang tot locaties van andere organisaties. Kies hierboven een van uw eigen locaties.'
};
function notFound(kind, select, hide) {
  const box = $(kind + '-fout');
  box.textContent = NOT_FOUND[kind];
  box.hidden = false;
  hide.hidden = true;
  if (!select.querySelector('option[value=""]'))
    select.prepend(el('option', { value: '' }, kind === 'groep' ? 'Kies een groep' : 'Kies een locatie'));
  select.value = '';
  document.body.dataset[kind] = 'niet-gevonden';
}

// Opens the pool a link names, or the first own pool; a 404 becomes the sentence above.
async function openPool(id) {
  try {
    await loadPool(id);
    $('groep').value = id;
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
    notFound('groep', $('groep'), form);
  }
}

// A whole number as a number; anything else as typed, for the server to refuse in words.
function number(v) { return /^\d{1,6}$/.test(v) ? Number(v) : v; }

function body() {
  const v = formValues(form);
  const out = {};
  for (const k of NUMBERS) out[k] = number(v[k]);
  if (v.booking_mode) out.booking_mode = v.booking_mode;
  out.funding = [...form.querySelectorAll('input[name="funding"]:checked')].map((c) => c.value);
  out.wmo_municipalities = (v.wmo_municipalities || '').split(/[\s,;]+/).filter(Boolean).map((c) => c.toUpperCase());
  out.intake_required = form.elements.intake_required.checked;
  out.arrival_weekdays = [...form.querySelectorAll('input[name="arrival_weekdays"]:checked')].map((c) => Number(c.value));
  out.blocks = parseBlocks(v.blocks || '');
  out.check_in_window = windowValue(v.check_in_window || '');
  out.check_out_window = windowValue(v.check_out_window || '');
  out.free_cancel_days = v.free_cancel_days ? number(v.free_cancel_days) : null;
  return out;
}

async function save(ev) {
  ev.preventDefault();
  say('');
  clearErrors(form);
  const missing = missingFields(form);
  if (Object.keys(missing).length) {
    showErrors(form, { fields: missing });
    return;
  }
  const id = $('groep').value;
  const patch = body();
  if (patch.blocks === null) {
    showErrors(form, { fields: { blocks: fieldMessage('blocks', '') }, status: 422 }, 'De regels zijn niet bewaard');
    return;
  }
  try {
    const resp = await whileBusy(form, () => api('PATCH', '/v1/pools/' + encodeURIComponent(id), patch,
      { raw: true, headers: { 'If-Match': state.etag } }));
    const pool = await resp.json();
    state.etag = resp.headers.get('ETag') || '"' + pool.version + '"';
    fill(pool);
    say('De regels van ' + pool.name + ' zijn bewaard.');
    $('melding').focus();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 412) {
      await loadPool(id);
      showErrors(form, { message: 'In de tussentijd heeft iemand anders deze regels veranderd. ' +
        'Hieronder staan nu de nieuwe regels. Pas ze zo nodig opnieuw aan en bewaar.', status: 412, fields: {} });
      return;
    }
    showErrors(form, e, 'De regels zijn niet bewaard');
  }
}

// ---- a location's facilities and exclusions ------------------------------------------------

// Words typed by the planner as API tokens: "Eigen badkamer" -> eigen_badkamer. A token the
// API would refuse (a digit first, punctuation, too long) is returned in bad, to be named.
function tokensOf(text) {
  const ok = [], bad = [];
  for (const part of (text || '').split(/[,;\n]+/)) {
    const word = part.trim();
    if (!word) continue;
    const token = word.toLowerCase().replace(/[\s-]+/g, '_');
    if (/^[a-z][a-z0-9_]{0,47}$/.test(token)) ok.push(token); else bad.push(word);
  }
  return { ok, bad };
}

function choices(kind, words, chosen) {
  // The known words first, then any other token the location already has, so that saving
  // never drops what a colleague or another system wrote.
  const tokens = [...Object.keys(words), ...chosen.filter((t) => !(t in words))];
  $(kind + '-keuzes').replaceChildren(...tokens.map((t) => el('div', { class: 'checkbox' },
    el('input', { type: 'checkbox', id: kind + '-' + t, name: kind, value: t, checked: chosen.includes(t) }),
    el('label', { for: kind + '-' + t }, tokenText(t, words)))));
}

function fillLocation(loc) {
  choices('facilities', FACILITIES, loc.facilities || []);
  choices('exclusions', EXCLUSIONS, loc.exclusions || []);
  locForm.elements.facilities_other.value = '';
  locForm.elements.exclusions_other.value = '';
}

async function loadLocation(id) {
  const mine = ++loads.location;
  const resp = await api('GET', '/v1/locations/' + encodeURIComponent(id), null, { raw: true });
  const loc = await resp.json();
  if (mine !== loads.location) return null;
  state.location = loc;
  state.locEtag = resp.headers.get('ETag') || '"' + loc.version + '"';
  clearErrors(locForm);
  fillLocation(loc);
  $('locatie-fout').hidden = true;
  locForm.hidden = false;
  document.body.dataset.locatie = loc.id;
  return loc;
}

async function openLocation(id) {
  try {
    await loadLocation(id);
    $('locatie').value = id;
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
    notFound('locatie', $('locatie'), locForm);
  }
}

function sayLocation(text) {
  const m = $('locatie-melding');
  m.textContent = text;
  m.hidden = !text;
  if (text) m.focus();
}

// What a colleague changed, in words: "Nu ook: tuin. Niet meer: dieren."
function changeText(before, after, words) {
  const added = after.filter((t) => !before.includes(t)).map((t) => tokenText(t, words).toLowerCase());
  const gone = before.filter((t) => !after.includes(t)).map((t) => tokenText(t, words).toLowerCase());
  return [added.length ? 'nu ook: ' + added.join(', ') : '', gone.length ? 'niet meer: ' + gone.join(', ') : '']
    .filter(Boolean).join('; ');
}

function locationBody() {
  const checked = (name) => [...locForm.querySelectorAll(`input[name="${name}"]:checked`)].map((c) => c.value);
  const fac = tokensOf(locForm.elements.facilities_other.value);
  const exc = tokensOf(locForm.elements.exclusions_other.value);
  const fields = {};
  const badText = (words) => 'Schrijf gewone woorden, gescheiden door komma\'s, zonder leestekens en niet met een cijfer vooraan. Dit kan niet: ' +
    words.map((w) => '"' + w + '"').join(', ') + '.';
  if (fac.bad.length) fields.facilities_other = badText(fac.bad);
  if (exc.bad.length) fields.exclusions_other = badText(exc.bad);
  const uniq = (list) => [...new Set(list)];
  return { fields, body: { facilities: uniq([...checked('facilities'), ...fac.ok]), exclusions: uniq([...checked('exclusions'), ...exc.ok]) } };
}

async function saveLocation(ev) {
  ev.preventDefault();
  sayLocation('');
  clearErrors(locForm);
  const { fields, body } = locationBody();
  if (Object.keys(fields).length) {
    showErrors(locForm, { fields, status: 422 }, 'De locatie is niet bewaard');
    return;
  }
  const id = state.location.id;
  try {
    const resp = await whileBusy(locForm, () => api('PATCH', '/v1/locations/' + encodeURIComponent(id), body,
      { raw: true, headers: { 'If-Match': state.locEtag } }));
    const loc = await resp.json();
    state.location = loc;
    state.locEtag = resp.headers.get('ETag') || '"' + loc.version + '"';
    fillLocation(loc);
    sayLocation('Wat ' + loc.name + ' biedt en wie zij niet kan opvangen, is bewaard.');
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 412) {
      const before = state.location;
      const now = await loadLocation(id);
      if (!now) return;
      const parts = [changeText(before.facilities, now.facilities, FACILITIES),
        changeText(before.exclusions, now.exclusions, EXCLUSIONS)].filter(Boolean).join('; ');
      showErrors(locForm, { message: 'In de tussentijd heeft iemand anders deze locatie veranderd' +
        (parts ? ' (' + parts + ')' : '') + '. Uw wijziging is niet bewaard. Hieronder staat nu wat er is opgeslagen. ' +
        'Pas het zo nodig opnieuw aan en bewaar.', status: 412, fields: {} }, 'De locatie is niet bewaard');
      return;
    }
    showErrors(locForm, e, 'De locatie is niet bewaard');
  }
}

async function startLocations(wanted) {
  state.locations = (await api('GET', '/v1/locations?limit=200')).locations || [];
  const select = $('locatie');
  select.replaceChildren(...state.locations.map((l) => el('option', { value: l.id }, l.name)));
  $('locatie-inhoud').hidden = false;
  if (!state.locations.length && !wanted) {
    locForm.hidden = true;
    return;
  }
  await openLocation(wanted || select.value);
  select.addEventListener('change', async () => {
    sayLocation('');
    if (!select.value) return;
    try { await loadLocation(select.value); } catch (e) { fail(e); }
  });
  locForm.addEventListener('submit', (ev) => { saveLocation(ev).catch(fail); });
}

async function start() {
  const user = await initPage({ requireLogin: true, menu: AANBIEDER_MENU, home: '/aanbieder/' });
  if (!user) return;
  if (user.role !== 'provider') {
    fail(new ApiError(403, null, NOT_PROVIDER, {}));
    document.body.dataset.instellingen = 'geen-toegang';
    return;
  }
  $('melding').tabIndex = -1;
  fundingChoices();
  weekdayChoices();
  const link = new URLSearchParams(location.search);
  const wantedPool = link.get('groep'), wantedLocation = link.get('locatie');
  try {
    state.pools = (await api('GET', '/v1/pools?limit=200')).pools || [];
    const select = $('groep');
    select.replaceChildren(...state.pools.map((p) => el('option', { value: p.id }, p.name)));
    await startLocations(wantedLocation);
    if (!state.pools.length && !wantedPool) {
      say('Uw organisatie heeft nog geen groepen bedden.');
      document.body.dataset.instellingen = 'klaar';
      return;
    }
    $('instellingen-inhoud').hidden = false;
    await openPool(wantedPool || select.value);
  } catch (e) {
    fail(e);
    return;
  }
  $('groep').addEventListener('change', async () => {
    say('');
    if (!$('groep').value) return;
    try { await loadPool($('groep').value); } catch (e) { fail(e); }
  });
  form.addEventListener('submit', save);
  document.body.dataset.instellingen = 'klaar';
}

start();
