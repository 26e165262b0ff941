// aanbieder/instellingen.js: the rules of the provider's own pools. Reads the pools
// (GET /v1/pools, then GET /v1/pools/{id} for the version in its ETag) and writes the rules with
// PATCH /v1/pools/{id} and If-Match, so a colleague's change in the meantime is reported, never
// overwritten unseen. The server checks every value; its refusals are shown in Dutch next to
// the fields (common/form.js, with the texts below).
import { api, ApiError } from '/common/api.js';
import { clearErrors, formValues, missingFields, showErrors, whileBusy } from '/common/form.js';
import { AANBIEDER_MENU, initPage } from '/common/layout.js';
import { addFieldTexts } from '/common/problems.js';
import { fundingText } from '/common/status.js';
import { NOT_PROVIDER } from './texts.js';

const $ = (id) => document.getElementById(id);
const FUNDINGS = ['wmo', 'wlz', 'zvw', 'pgb', 'private'];
const NUMBERS = ['min_nights', 'max_nights', 'lead_days', 'horizon_days'];
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

function fill(pool) {
  for (const k of NUMBERS) form.elements[k].value = String(pool[k]);
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
  try {
    const resp = await whileBusy(form, () => api('PATCH', '/v1/pools/' + encodeURIComponent(id), body(),
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
