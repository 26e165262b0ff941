// aanbieder/instellingen.js: the rules of the provider's own pools. Reads the pools
// (GET /v1/pools, then GET /v1/pools/{id} for the version in its ETag) and writes the rules with
// PATCH /v1/pools/{id} and If-Match, so a colleague's change in the meantime is reported, never
// overwritten unseen. The server checks every value; its refusals are shown in Dutch next to
// the fields (common/form.js, with the texts below). The practice rules (kennismaking, arrival
// days, blocks, times, companion places, free cancellation) go in the same PATCH.
import { api, ApiError } from '/common/api.js';
import { clearErrors, formValues, missingFields, showErrors, whileBusy } from '/common/form.js';
import { AANBIEDER_MENU, initPage } from '/common/layout.js';
import { addFieldTexts, fieldMessage } from '/common/problems.js';
import { fundingText } from '/common/status.js';
import { NOT_PROVIDER, WEEKDAYS } from './texts.js';

const $ = (id) => document.getElementById(id);
const FUNDINGS = ['wmo', 'wlz', 'zvw', 'pgb', 'private'];
const NUMBERS = ['min_nights', 'max_nights', 'lead_days', 'horizon_days', 'companion_places'];
const SHORT_DAYS = ['ma', 'di', 'wo', 'do', 'vr', 'za', 'zo'];     // ISO weekday 1..7 at index 0..6
const form = $('regels');
const state = { pools: [], etag: null };

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
  companion_places: { invalid: 'Vul bij plaatsen voor een mantelzorger een getal in van 0 tot en met 50.' },
  free_cancel_days: { invalid: 'Vul bij kosteloos annuleren een getal in van 0 tot en met 365, of laat het leeg.' },
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

async function loadPool(id) {
  const resp = await api('GET', '/v1/pools/' + encodeURIComponent(id), null, { raw: true });
  const pool = await resp.json();
  state.etag = resp.headers.get('ETag') || '"' + pool.version + '"';
  clearErrors(form);
  fill(pool);
  document.body.dataset.groep = pool.id;
  return pool;
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
  try {
    state.pools = (await api('GET', '/v1/pools?limit=200')).pools || [];
    const select = $('groep');
    select.replaceChildren(...state.pools.map((p) => {
      const o = document.createElement('option');
      o.value = p.id;
      o.textContent = p.name;
      return o;
    }));
    if (!state.pools.length) {
      say('Uw organisatie heeft nog geen groepen bedden.');
      document.body.dataset.instellingen = 'klaar';
      return;
    }
    await loadPool(select.value);
  } catch (e) {
    fail(e);
    return;
  }
  $('instellingen-inhoud').hidden = false;
  $('groep').addEventListener('change', async () => {
    say('');
    try { await loadPool($('groep').value); } catch (e) { fail(e); }
  });
  form.addEventListener('submit', save);
  document.body.dataset.instellingen = 'klaar';
}

start();
