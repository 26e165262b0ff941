// aanbieder/sleutels.js: the "API-sleutels" page. Owns the provider's API keys as the page
// shows them: the list (GET /v1/api-keys, which the server limits to the caller's own
// provider) with what each may do, until when, who made it and when it was last used; making
// one (POST, the key shown once and kept nowhere); and withdrawing one after a confirmation
// (DELETE), both only for the organisation's beheerders (provider_admin). Making and
// withdrawing are sensitive: common/api.js asks for a fresh second factor
// when the server wants one.
import { api, ApiError, newIdempotencyKey } from '/common/api.js';
import { el } from '/common/dom.js';
import { clearErrors, copyField, formValues, missingFields, showErrors, whileBusy } from '/common/form.js';
import { AANBIEDER_MENU, initPage } from '/common/layout.js';
import { formatDateTime } from '/common/status.js';
import { NOT_PROVIDER } from './texts.js';

// What each right means, in the words of a planner (docs/openapi.yaml lists the routes).
const SCOPES = {
  'capacity:read': { short: 'Vrije bedden lezen', explain: 'Het systeem mag uw locaties, groepen en het aantal bedden per nacht opvragen.' },
  'capacity:write': { short: 'Vrije bedden doorgeven', explain: 'Het systeem mag het aantal bedden per nacht veranderen, bevestigen en een bestand inlezen.' },
  'stays:read': { short: 'Aanvragen en verblijven lezen', explain: 'Het systeem mag de aanvragen, verblijven en de aankomsten en vertrekken opvragen.' },
  'stays:write': { short: 'Aanvragen afhandelen', explain: 'Het systeem mag aanvragen accepteren of afwijzen en verblijven veranderen.' }
};

const $ = (id) => document.getElementById(id);
const form = $('sleutel-form');
const state = { keys: [], createKey: null, mayManage: false };

function fail(e) {
  const f = $('fout');
  f.textContent = e instanceof ApiError ? e.message : 'Er ging iets mis. Laad de pagina opnieuw.';
  f.hidden = false;
  f.scrollIntoView({ block: 'nearest' });
  if (!(e instanceof ApiError)) throw e;
}

function say(text) {
  const m = $('sleutel-melding');
  m.textContent = text;
  m.hidden = !text;
  if (text) m.focus();
}

function scopeText(scope) { return (SCOPES[scope] || { short: scope }).short; }

// ---- the key, shown once --------------------------------------------------------------------

function showKey(made) {
  $('geheim-waarde').value = made.key;
  $('geheim-naam').textContent = made.name;
  $('geheim-gekopieerd').textContent = '';
  $('geheim').hidden = false;
  $('geheim').focus();
}

function hideKey() {
  $('geheim-waarde').value = '';
  $('geheim').hidden = true;
  $('sleutel-lijst').focus();
}

// ---- the list ---------------------------------------------------------------------------------

function keyState(k) {
  if (k.revoked_at) return { code: 'ingetrokken', text: 'Ingetrokken op ' + formatDateTime(k.revoked_at) };
  if (new Date(k.expires_at) <= new Date()) return { code: 'verlopen', text: 'Verlopen op ' + formatDateTime(k.expires_at) };
  return { code: 'actief', text: 'Werkt tot ' + formatDateTime(k.expires_at) };
}

function drawKey(k) {
  const title = `sleutel-${k.id}-kop`;
  const s = keyState(k);
  const card = el('article', { class: 'card sleutel', id: `sleutel-${k.id}`, 'aria-labelledby': title, 'data-state': s.code },
    el('h3', { id: title }, k.name),
    el('dl', { class: 'sessies__gegevens' },
      el('dt', {}, 'Begint met'), el('dd', {}, el('code', {}, k.prefix + '…')),
      el('dt', {}, 'Mag'), el('dd', {}, k.scopes.map(scopeText).join(', ')),
      el('dt', {}, 'Stand'), el('dd', { class: 'sleutel__stand' }, s.text),
      el('dt', {}, 'Gemaakt'), el('dd', {}, formatDateTime(k.created_at)),
      el('dt', {}, 'Laatst gebruikt'), el('dd', { class: 'sleutel__gebruikt' },
        k.last_used_at ? formatDateTime(k.last_used_at) : 'Nog nooit')));
  if (s.code === 'actief' && state.mayManage) {
    const b = el('button', { type: 'button', class: 'button--secondary button--small', 'data-actie': 'intrekken',
      'aria-label': `Intrekken: ${k.name}` }, 'Intrekken');
    b.addEventListener('click', () => askRevoke(k, card));
    card.append(el('div', { class: 'button-group' }, b));
  }
  return card;
}

function drawList() {
  const list = $('sleutel-lijst');
  list.tabIndex = -1;
  const active = state.keys.filter((k) => keyState(k).code === 'actief');
  const old = state.keys.filter((k) => keyState(k).code !== 'actief');
  const parts = active.length ? active.map(drawKey)
    : [el('p', { id: 'geen-sleutels' }, 'Uw organisatie heeft geen werkende API-sleutels. Maak er hieronder een.')];
  if (old.length) {
    parts.push(el('details', { class: 'sleutels-oud' },
      el('summary', {}, `Ingetrokken en verlopen sleutels (${old.length})`), ...old.map(drawKey)));
  }
  list.replaceChildren(...parts);
}

async function load() {
  const got = await api('GET', '/v1/api-keys?limit=100&include_revoked=true');
  state.keys = got.api_keys || [];
  drawList();
  document.body.dataset.sleutels = String(Number(document.body.dataset.sleutels || 0) + 1);
}

function askRevoke(k, card) {
  if (card.querySelector('.bevestig')) return;
  const q = `bevestig-${k.id}`;
  const box = el('div', { class: 'bevestig alert alert--error', role: 'group', 'aria-labelledby': q, tabindex: '-1' },
    el('p', { id: q }, `Weet u zeker dat u de sleutel "${k.name}" wilt intrekken? Het systeem dat hem gebruikt, ` +
      'kan dan meteen niets meer doen. Dit kunt u niet ongedaan maken.'));
  const yes = el('button', { type: 'button', class: 'button--small', 'data-actie': 'ja-intrekken' }, 'Ja, intrekken');
  const no = el('button', { type: 'button', class: 'button--secondary button--small', 'data-actie': 'nee' }, 'Nee, laten werken');
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    $('fout').hidden = true;
    try {
      await api('DELETE', `/v1/api-keys/${k.id}`);
      await load();
      say(`De sleutel "${k.name}" is ingetrokken. Hij werkt niet meer.`);
    } catch (e) {
      yes.disabled = false;
      if (e instanceof ApiError && e.status === 404) await load().catch(() => {});
      fail(e);
    }
  });
  no.addEventListener('click', () => {
    box.remove();
    card.querySelector('[data-actie="intrekken"]').focus();
  });
  box.append(el('div', { class: 'button-group' }, yes, no));
  card.append(box);
  box.focus();
}

// ---- making a key -----------------------------------------------------------------------------

function drawScopeChoices() {
  $('rechten').replaceChildren(...Object.entries(SCOPES).map(([scope, t]) => {
    const id = 'recht-' + scope.replace(':', '-');
    return el('div', { class: 'checkbox' },
      el('input', { type: 'checkbox', id, name: 'scopes', value: scope, 'aria-describedby': id + '-uitleg',
        required: true, 'data-required': 'Kies minstens één recht.' }),
      el('label', { for: id }, el('strong', {}, t.short), el('span', { class: 'field__hint', id: id + '-uitleg' }, ' ' + t.explain)));
  }));
}

async function makeKey(ev) {
  ev.preventDefault();
  clearErrors(form);
  const missing = missingFields(form);
  if (Object.keys(missing).length) return showErrors(form, { fields: missing }, 'Vul eerst alles in');
  const v = formValues(form);
  const body = {
    name: v.name,
    scopes: [...form.querySelectorAll('[name="scopes"]:checked')].map((i) => i.value),
    expires_in_days: Number(v.expires_in_days)
  };
  // One key per filled-in form: a retried click gets the same API key, never a second one.
  state.createKey = state.createKey || newIdempotencyKey();
  try {
    const made = await whileBusy(form, () => api('POST', '/v1/api-keys', body, { idempotencyKey: state.createKey }));
    state.createKey = null;
    form.reset();
    await load();
    if (made.key) showKey(made);
    else say('Deze sleutel bestond al. Hij is toen al getoond.');
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 422) state.createKey = null;
    showErrors(form, e, 'De sleutel is niet gemaakt');
  }
}

async function start() {
  const user = await initPage({ requireLogin: true, menu: AANBIEDER_MENU, home: '/aanbieder/' });
  if (user.role !== 'provider') {
    $('fout').textContent = NOT_PROVIDER;
    $('fout').hidden = false;
    return;
  }
  // Making and withdrawing keys is for the organisation's beheerders; others see the list.
  state.mayManage = Boolean(user.provider_admin);
  if (!state.mayManage) {
    form.replaceWith(el('p', { class: 'alert', id: 'geen-beheerder' },
      'Alleen een beheerder van uw organisatie kan API-sleutels maken of intrekken. ' +
      'Vraag dat aan uw beheerder, of vraag de beheerder van Logeerzorg Drenthe om u dat recht te geven.'));
  }
  drawScopeChoices();
  form.addEventListener('submit', makeKey);
  form.addEventListener('input', () => { state.createKey = null; });
  $('geheim-kopieer').addEventListener('click', () => copyField($('geheim-waarde'), $('geheim-gekopieerd')));
  $('geheim-klaar').addEventListener('click', hideKey);
  $('sleutels-inhoud').hidden = false;
  await load().catch(fail);
  document.body.dataset.geladen = 'true';
}

start();
