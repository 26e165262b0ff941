// aanbieder/koppelingen.js: the "Koppelingen en berichten" page. Owns the provider's webhook
// endpoints as the page shows them: the list (GET /v1/webhook-endpoints, which the server
// limits to the caller's own provider), adding one, a new secret, switching off and on (PATCH
// with If-Match, so a colleague's change is reported, not overwritten), deleting after a
// confirmation, and each endpoint's delivery log with redelivery (20 a page, older and newer,
// one state or all: GET .../deliveries?limit&offset&state). A secret is only ever in the
// answer that made it: the page shows it once and keeps it nowhere. The email choices are
// common/meldingen.js's.
import { api, ApiError, newIdempotencyKey } from '/common/api.js';
import { el } from '/common/dom.js';
import { clearErrors, copyField, formValues, missingFields, showErrors, whileBusy } from '/common/form.js';
import { AANBIEDER_MENU, initPage } from '/common/layout.js';
import { showNotificationPreferences } from '/common/meldingen.js';
import { formatDateTime } from '/common/status.js';
import { NOT_PROVIDER } from './texts.js';
import { DELIVERY_STATE, EVENT_TYPES, deliveryErrorText, endpointStateText } from './koppelingen-texts.js';

const $ = (id) => document.getElementById(id);
const form = $('webhook-form');
const state = { endpoints: [], open: new Set(), createKey: null,
  log: new Map() };          // endpoint id -> { offset, only }: the page of its log shown
const LOG_PAGE = 20;

function fail(e) {
  const f = $('fout');
  f.textContent = e instanceof ApiError ? e.message : 'Er ging iets mis. Laad de pagina opnieuw.';
  f.hidden = false;
  f.scrollIntoView({ block: 'nearest' });
  if (!(e instanceof ApiError)) throw e;
}

function say(text) {
  const m = $('webhook-melding');
  m.textContent = text;
  m.hidden = !text;
  if (text) m.focus();
}

// ---- the secret, shown once ----------------------------------------------------------------

function showSecret(endpoint, rotated) {
  $('geheim-waarde').value = endpoint.secret;
  $('geheim-adres').textContent = endpoint.url;
  $('geheim-gekopieerd').textContent = '';
  const rot = $('geheim-rotatie');
  rot.hidden = !rotated;
  rot.textContent = rotated
    ? 'Uw systeem hoeft niet meteen over te stappen. Tot ' +
      formatDateTime(endpoint.previous_secret_expires_at) + ' zetten wij in ieder bericht twee ' +
      'handtekeningen: één met de nieuwe en één met de oude sleutel. Daarna alleen nog met de ' +
      'nieuwe. Zet de nieuwe sleutel vóór die tijd in uw systeem.'
    : '';
  $('geheim').hidden = false;
  $('geheim').focus();
}

function hideSecret() {
  $('geheim-waarde').value = '';
  $('geheim').hidden = true;
  $('webhook-lijst').focus();
}

// ---- the list -------------------------------------------------------------------------------

async function load() {
  const got = await api('GET', '/v1/webhook-endpoints?limit=100');
  state.endpoints = got.webhook_endpoints || [];
  drawList();
  const logs = state.endpoints.filter((e) => state.open.has(e.id));
  await Promise.all(logs.map((e) => loadDeliveries(e)));
  document.body.dataset.webhooks = String(Number(document.body.dataset.webhooks || 0) + 1);
}

function button(text, attrs, onClick) {
  const b = el('button', { type: 'button', class: 'button--secondary button--small', ...attrs }, text);
  b.addEventListener('click', () => onClick(b));
  return b;
}

function drawEndpoint(ep) {
  const n = state.endpoints.indexOf(ep) + 1;
  const title = `webhook-${ep.id}-kop`;
  const card = el('article', { class: 'card webhook', id: `webhook-${ep.id}`, 'aria-labelledby': title, 'data-url': ep.url },
    el('h4', { id: title }, ep.description ? `${ep.description}` : `Webhook ${n}`),
    el('p', { class: 'webhook__adres' }, 'Adres: ', el('span', { class: 'breek' }, ep.url)),
    el('p', { class: 'webhook__stand', 'data-enabled': String(ep.enabled) }, ...endpointStateText(ep, formatDateTime)),
    el('p', {}, 'Berichten over: ' + ep.event_types.map((t) => (EVENT_TYPES[t] || { short: t }).short).join(', ') + '.'));
  const name = ep.description || ep.url;
  const actions = el('div', { class: 'button-group' },
    button(ep.enabled ? 'Uitzetten' : 'Aanzetten', { 'aria-label': `${ep.enabled ? 'Uitzetten' : 'Aanzetten'}: ${name}`, 'data-actie': 'aan-uit' },
      (b) => toggle(ep, b)),
    button('Nieuwe geheime sleutel', { 'aria-label': `Nieuwe geheime sleutel: ${name}`, 'data-actie': 'sleutel' },
      (b) => rotate(ep, b)),
    button(state.open.has(ep.id) ? 'Verberg verzonden berichten' : 'Toon verzonden berichten',
      { 'aria-expanded': String(state.open.has(ep.id)), 'aria-controls': `log-${ep.id}`, 'data-actie': 'log' },
      () => toggleLog(ep)),
    button('Verwijderen', { 'aria-label': `Verwijderen: ${name}`, 'data-actie': 'verwijderen' },
      () => askDelete(ep, card)));
  card.append(actions, el('div', { id: `log-${ep.id}`, class: 'webhook__log', hidden: !state.open.has(ep.id) }));
  return card;
}

function drawList() {
  const list = $('webhook-lijst');
  list.tabIndex = -1;
  list.replaceChildren(...(state.endpoints.length
    ? state.endpoints.map(drawEndpoint)
    : [el('p', { id: 'geen-webhooks' }, 'Uw organisatie heeft nog geen webhooks. Voeg er hieronder een toe.')]));
}

// ---- actions on one endpoint ----------------------------------------------------------------

async function withButton(b, work) {
  b.disabled = true;
  $('fout').hidden = true;
  try {
    await work();
  } catch (e) {
    b.disabled = false;
    // A colleague changed or removed the endpoint meanwhile: show the list as it is now, so
    // the next click acts on what the person sees.
    if (e instanceof ApiError && (e.status === 412 || e.status === 404)) await load().catch(() => {});
    fail(e);
  }
}

function ifMatch(ep) { return { headers: { 'If-Match': `"${ep.version}"` } }; }

function toggle(ep, b) {
  return withButton(b, async () => {
    await api('PATCH', `/v1/webhook-endpoints/${ep.id}`, { enabled: !ep.enabled }, ifMatch(ep));
    await load();
    say(ep.enabled ? `De webhook naar ${ep.url} staat nu uit. Berichten worden bewaard tot u hem weer aanzet.`
      : `De webhook naar ${ep.url} staat weer aan. Bewaarde berichten worden nu verstuurd.`);
  });
}

function rotate(ep, b) {
  return withButton(b, async () => {
    const got = await api('POST', `/v1/webhook-endpoints/${ep.id}/rotate-secret`, null, ifMatch(ep));
    await load();
    showSecret(got, true);
  });
}

function askDelete(ep, card) {
  if (card.querySelector('.bevestig')) return;
  const q = `bevestig-${ep.id}`;
  const box = el('div', { class: 'bevestig alert alert--error', role: 'group', 'aria-labelledby': q, tabindex: '-1' },
    el('p', { id: q }, `Weet u zeker dat u de webhook naar ${ep.url} wilt verwijderen? Uw systeem krijgt dan geen berichten meer. ` +
      'Berichten die nog wachten, worden niet meer verstuurd.'));
  const yes = button('Ja, verwijderen', { class: 'button--small', 'data-actie': 'ja-verwijderen' }, (b) => withButton(b, async () => {
    await api('DELETE', `/v1/webhook-endpoints/${ep.id}`);
    state.open.delete(ep.id);
    await load();
    say(`De webhook naar ${ep.url} is verwijderd.`);
  }));
  const no = button('Nee, laten staan', { 'data-actie': 'nee' }, () => {
    box.remove();
    card.querySelector('[data-actie="verwijderen"]').focus();
  });
  box.append(el('div', { class: 'button-group' }, yes, no));
  card.append(box);
  box.focus();
}

// ---- the delivery log -------------------------------------------------------------------------

async function toggleLog(ep) {
  if (state.open.has(ep.id)) state.open.delete(ep.id); else state.open.add(ep.id);
  const card = $(`webhook-${ep.id}`);
  const b = card.querySelector('[data-actie="log"]');
  const open = state.open.has(ep.id);
  b.textContent = open ? 'Verberg verzonden berichten' : 'Toon verzonden berichten';
  b.setAttribute('aria-expanded', String(open));
  $(`log-${ep.id}`).hidden = !open;
  if (open) await loadDeliveries(ep).catch(fail);
}

// Which messages: all, or one state (the API's ?state=).
const LOG_FILTERS = [['', 'Alle berichten'], ['failed', 'Alleen mislukte'], ['pending', 'Alleen wachtende'],
  ['sent', 'Alleen verstuurde']];

// A button of the log that reloads it in another view, and keeps the focus on itself (or on
// the log's own controls when it is gone from the new view).
function logButton(ep, text, action, change) {
  return button(text, { 'data-actie': action }, (b) => withButton(b, async () => {
    change(state.log.get(ep.id));
    await loadDeliveries(ep);
    const box = $(`log-${ep.id}`);
    (box.querySelector(`[data-actie="${action}"]`) || box.querySelector('select')).focus();
  }));
}

function logFilter(ep, view) {
  const id = `log-${ep.id}-soort`;
  const select = el('select', { id, class: 'select', 'data-actie': 'soort' },
    ...LOG_FILTERS.map(([value, text]) => el('option', { value, selected: value === view.only }, text)));
  select.addEventListener('change', () => {
    view.only = select.value;
    view.offset = 0;
    loadDeliveries(ep).then(() => $(id).focus()).catch(fail);
  });
  return el('div', { class: 'field' }, el('label', { class: 'field__label', for: id }, 'Welke berichten?'), select);
}

// "Berichten 21 tot en met 40 van 135" (of one state: "mislukte berichten ...").
function logCaption(view, rows, total) {
  const what = view.only ? `${LOG_FILTERS.find(([v]) => v === view.only)[1].replace('Alleen ', '')} berichten` : 'Berichten';
  return `${what[0].toUpperCase()}${what.slice(1)} ${view.offset + 1} tot en met ${view.offset + rows.length} van ${total}, nieuwste eerst`;
}

async function loadDeliveries(ep) {
  if (!state.log.has(ep.id)) state.log.set(ep.id, { offset: 0, only: '' });
  const view = state.log.get(ep.id);
  const query = `limit=${LOG_PAGE}&offset=${view.offset}` + (view.only ? `&state=${view.only}` : '');
  const got = await api('GET', `/v1/webhook-endpoints/${ep.id}/deliveries?${query}`);
  const box = $(`log-${ep.id}`);
  if (!box) return;
  const rows = got.deliveries || [];
  if (!rows.length && view.offset > 0) { // the page emptied meanwhile: back to the first
    view.offset = 0;
    return loadDeliveries(ep);
  }
  const head = el('thead', {}, el('tr', {}, ...['Gebeurtenis', 'Gemaakt', 'Stand', 'Pogingen', 'Wat er misging', 'Actie']
    .map((h) => el('th', { scope: 'col' }, h))));
  const body = el('tbody', {}, ...rows.map((d) => deliveryRow(ep, d)));
  const buttons = [logButton(ep, 'Ververs de berichten', 'ververs', () => {})];
  if (view.offset > 0) buttons.push(logButton(ep, 'Nieuwere berichten', 'nieuwer', (v) => { v.offset = Math.max(0, v.offset - LOG_PAGE); }));
  if (view.offset + rows.length < got.total) buttons.push(logButton(ep, 'Oudere berichten', 'ouder', (v) => { v.offset += LOG_PAGE; }));
  const none = view.only ? 'Er zijn geen berichten van deze soort.' : 'Er zijn nog geen berichten naar deze webhook gestuurd.';
  box.replaceChildren(logFilter(ep, view), rows.length
    ? el('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': `Berichten van ${ep.url}` },
      el('table', { class: 'bezorg-tabel' }, el('caption', {}, logCaption(view, rows, got.total)), head, body))
    : el('p', {}, none), el('div', { class: 'button-group' }, ...buttons));
  box.dataset.geladen = String(Number(box.dataset.geladen || 0) + 1);
}

function deliveryRow(ep, d) {
  const again = d.state === 'pending' ? el('span', { class: 'muted' }, '–')
    : button('Opnieuw versturen', { 'aria-label': `Opnieuw versturen: ${(EVENT_TYPES[d.event_type] || { short: d.event_type }).short}, ${formatDateTime(d.created_at)}`, 'data-actie': 'opnieuw' },
      (b) => withButton(b, async () => {
        await api('POST', `/v1/webhook-endpoints/${ep.id}/deliveries/${d.id}/redeliver`);
        await loadDeliveries(ep);
        say('Het bericht wordt opnieuw verstuurd, met hetzelfde kenmerk. Uw systeem kan zo zien dat het een herhaling is.');
      }));
  return el('tr', { 'data-id': d.id, 'data-state': d.state },
    el('td', {}, (EVENT_TYPES[d.event_type] || { short: d.event_type }).short),
    el('td', {}, formatDateTime(d.created_at)),
    el('td', {}, (DELIVERY_STATE[d.state] || d.state) + (d.state === 'pending' && d.attempts > 0 ? ' (na een mislukte poging)' : '')),
    el('td', {}, String(d.attempts)),
    el('td', {}, deliveryErrorText(d)),
    el('td', {}, again));
}

// ---- adding an endpoint -----------------------------------------------------------------------

function drawEventChoices() {
  $('soorten').replaceChildren(...Object.entries(EVENT_TYPES).map(([type, t]) => {
    const id = 'soort-' + type.replace('.', '-');
    return el('div', { class: 'checkbox' },
      el('input', { type: 'checkbox', id, name: 'event_types', value: type, 'aria-describedby': id + '-uitleg',
        required: true, 'data-required': 'Kies minstens één gebeurtenis.' }),
      el('label', { for: id }, el('strong', {}, t.short), el('span', { class: 'field__hint', id: id + '-uitleg' }, ' ' + t.explain)));
  }));
}

async function addEndpoint(ev) {
  ev.preventDefault();
  clearErrors(form);
  const missing = missingFields(form);
  if (Object.keys(missing).length) return showErrors(form, { fields: missing }, 'Vul eerst alles in');
  const v = formValues(form);
  const body = { url: v.url, event_types: [...form.querySelectorAll('[name="event_types"]:checked')].map((i) => i.value) };
  if (v.description) body.description = v.description;
  // One key per filled-in form: a retried click gets the same endpoint, never a second one.
  state.createKey = state.createKey || newIdempotencyKey();
  try {
    const made = await whileBusy(form, () => api('POST', '/v1/webhook-endpoints', body, { idempotencyKey: state.createKey }));
    state.createKey = null;
    form.reset();
    await load();
    if (made.secret) showSecret(made, false);
    else say('Deze webhook bestond al. De sleutel is toen al getoond.');
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 422) state.createKey = null;
    showErrors(form, e, 'De webhook is niet toegevoegd');
  }
}

async function start() {
  const user = await initPage({ requireLogin: true, menu: AANBIEDER_MENU, home: '/aanbieder/' });
  if (user.role !== 'provider') {
    $('fout').textContent = NOT_PROVIDER;
    $('fout').hidden = false;
    return;
  }
  drawEventChoices();
  form.addEventListener('submit', addEndpoint);
  form.addEventListener('input', () => { state.createKey = null; });
  $('geheim-kopieer').addEventListener('click', () => copyField($('geheim-waarde'), $('geheim-gekopieerd')));
  $('geheim-klaar').addEventListener('click', hideSecret);
  $('koppelingen-inhoud').hidden = false;
  await Promise.all([showNotificationPreferences($('berichten-keuzes'), 'berichten'), load().catch(fail)]);
  document.body.dataset.geladen = 'true';
}

start();
