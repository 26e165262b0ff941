// aanbieder/bord.js: the provider's bed board. Reads the provider's own pools and their nights
// (GET /v1/pools, GET /v1/pools/{id}/capacity), writes counts with the conditional PUT
// (If-Match with the version the planner saw, so a colleague's change is never overwritten
// unseen), confirms counts (POST .../capacity/confirm) and acts on requests and stays
// (POST /v1/stays/{id}/{action}; a series' waiting dates together with
// POST /v1/series/{id}/{action}); kennismaking.js runs the intakes section. The server scopes every list to the planner's provider; the
// page shows nothing it did not get from those lists.
import { api, ApiError } from '/common/api.js';
import { clearErrors, missingFields, showErrors, whileBusy } from '/common/form.js';
import { AANBIEDER_MENU, initPage, loginUrl } from '/common/layout.js';
import {
  addDays, careProfileText, dayOf, formatDate, formatDateTime, fundingText, nightsText,
  stayStatusText, today
} from '/common/status.js';
import {
  ACTIONS, COMPANION, DAYS, IMPORT_CODES, KIND, MOVEMENT, NOT_PROVIDER, NO_TRANSPORT, bedsText, detailText,
  freeText, needsText, staleText, transportText
} from './texts.js';
import { el } from '/common/dom.js';
import { initIntakes } from './kennismaking.js';

const WEEKS = 4;
const MAX_RANGES = 50;                  // PUT capacity takes at most 50 ranges
const $ = (id) => document.getElementById(id);

const state = {
  pools: [],                            // the provider's pools (GET /v1/pools)
  locations: new Map(),                 // location id -> name
  caps: new Map(),                      // pool id -> { version, nights: Map date -> night }
  start: null,                          // the Monday of the first week shown
  loads: 0
};


function weekday(ymd) { return dayOf(ymd).getUTCDay(); }
function mondayOf(ymd) { return addDays(ymd, -((weekday(ymd) + 6) % 7)); }
const shortFmt = new Intl.DateTimeFormat('nl-NL', { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' });
function shortDay(ymd) { return shortFmt.format(dayOf(ymd)); }
function weekNumber(ymd) {
  const thursday = (x) => { const d = dayOf(x); d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7) + 3); return d; };
  const t = thursday(ymd);
  const first = thursday(t.getUTCFullYear() + '-01-04');
  return 1 + Math.round((t - first) / 604800000);
}

function poolLabel(p) {
  const loc = state.locations.get(p.location_id);
  return loc ? loc + ' – ' + p.name : p.name;
}
function guestName(g) {
  return g && g.alias ? g.alias : 'de gast';
}

function say(text) {
  const m = $('melding');
  m.textContent = text;
  m.hidden = !text;
}
function fail(e) {
  if (e instanceof ApiError && e.status === 401) {
    location.assign(loginUrl());
    return;
  }
  const f = $('fout');
  f.textContent = e instanceof ApiError ? e.message : 'Er ging iets mis. Laad de pagina opnieuw.';
  f.hidden = false;
}

// ---- loading ------------------------------------------------------------------------------

async function loadPools() {
  const [locs, pools, providers] = await Promise.all([
    api('GET', '/v1/locations?limit=200'),
    api('GET', '/v1/pools?limit=200'),
    api('GET', '/v1/providers?limit=1')
  ]);
  state.locations = new Map((locs.locations || []).map((l) => [l.id, l.name]));
  state.pools = (pools.pools || []).filter((p) => p.active)
    .sort((a, b) => poolLabel(a).localeCompare(poolLabel(b), 'nl'));
  const provider = (providers.providers || [])[0];
  $('aanbieder-naam').textContent = provider ? '– ' + provider.name : '';
}

async function loadNights() {
  const from = state.start, to = addDays(state.start, 7 * WEEKS);
  const bodies = await Promise.all(state.pools.map((p) =>
    api('GET', `/v1/pools/${p.id}/capacity?from=${from}&to=${to}`)));
  state.caps = new Map(bodies.map((b) => [b.pool_id, {
    version: b.version, nights: new Map(b.nights.map((n) => [n.date, n]))
  }]));
}

// The furthest night any pool can be booked for: paging stops there.
function lastNight() {
  const days = Math.max(0, ...state.pools.map((p) => p.horizon_days || 0));
  return addDays(today(), Math.min(days, 1095));
}

async function refreshBoard(keepFocus) {
  await loadNights();
  renderBoard(keepFocus);
  renderStale();
  document.body.dataset.bord = 'klaar';
  document.body.dataset.laadteller = String(++state.loads);
}

// ---- the board ------------------------------------------------------------------------------

function renderStale() {
  const list = $('verouderd');
  const stale = state.pools.filter((p) => p.stale);
  list.replaceChildren(...stale.map((p) => {
    const days = Math.floor((Date.now() - new Date(p.as_of)) / 86400000);
    return el('li', {}, el('strong', {}, poolLabel(p) + ': '),
      staleText(days).replace(/^Verouderd: n/, 'n') + ' (laatst op ' + formatDateTime(p.as_of) + ').');
  }));
  list.hidden = stale.length === 0;
}

function cell(pool, date) {
  const night = state.caps.get(pool.id).nights.get(date);
  const content = [el('span', { class: 'cel__vrij' }, freeText(night)),
    el('span', { class: 'cel__detail' }, detailText(night))];
  const cls = 'cel' + (night.capacity > 0 && night.free === 0 ? ' cel--vol' : '');
  if (date < today())
    return el('td', { class: 'voorbij' }, el('span', { class: cls }, ...content));
  return el('td', {}, el('button', {
    type: 'button', class: cls, tabindex: '-1', 'data-pool': pool.id, 'data-date': date
  }, ...content));
}

function weekTable(kind, pools, monday) {
  const days = [...Array(7).keys()].map((i) => addDays(monday, i));
  const capId = `week-${kind}-${monday}`;
  const head = el('tr', {}, el('th', { scope: 'col' }, 'Groep'),
    ...days.map((d) => el('th', { scope: 'col', class: d === today() ? 'vandaag' : null },
      el('abbr', { title: formatDate(d) }, shortDay(d)), d === today() ? el('span', { class: 'visually-hidden' }, ' (vandaag)') : null)));
  const rows = pools.map((p) => {
    const days2 = p.stale ? Math.floor((Date.now() - new Date(p.as_of)) / 86400000) : 0;
    const th = el('th', { scope: 'row' }, el('span', { class: 'groep__naam' }, p.name),
      el('span', { class: 'groep__locatie' }, state.locations.get(p.location_id) || ''),
      p.stale ? el('strong', { class: 'groep__verouderd' }, staleText(days2)) : null);
    return el('tr', {}, th, ...days.map((d) => cell(p, d)));
  });
  const table = el('table', { class: 'bord-tabel', 'aria-describedby': 'bord-uitleg' },
    el('caption', { id: capId }, `Week ${weekNumber(monday)}: ${formatDate(days[0])} tot en met ${formatDate(days[6])}`),
    el('thead', {}, head), el('tbody', {}, ...rows));
  const first = table.querySelector('button.cel');
  if (first) first.tabIndex = 0;
  return el('div', { class: 'table-scroll' }, table);
}

function renderBoard(keepFocus) {
  const focused = keepFocus && document.activeElement && document.activeElement.dataset
    ? document.activeElement.dataset : null;
  const groups = $('groepen');
  groups.replaceChildren();
  for (const kind of ['planned', 'crisis']) {
    const pools = state.pools.filter((p) => p.kind === kind);
    const id = 'soort-' + kind;
    const section = el('section', { class: 'soort soort--' + kind, 'aria-labelledby': id },
      el('h3', { id }, KIND[kind].title), el('p', { class: 'muted' }, KIND[kind].intro));
    if (!pools.length) section.append(el('p', {}, 'U heeft geen ' + KIND[kind].title.toLowerCase() + '.'));
    for (let w = 0; w < WEEKS; w++) section.append(weekTable(kind, pools, addDays(state.start, 7 * w)));
    groups.append(section);
  }
  $('periode').textContent = 'Van ' + formatDate(state.start) + ' tot en met ' +
    formatDate(addDays(state.start, 7 * WEEKS - 1));
  $('eerder').disabled = state.start <= mondayOf(today());
  $('later').disabled = addDays(state.start, 7 * WEEKS) > lastNight();
  if (focused && focused.pool) {
    const b = groups.querySelector(`button.cel[data-pool="${focused.pool}"][data-date="${focused.date}"]`);
    if (b) moveFocus(b);
  }
}

// Arrow keys move between the nights of one table (roving tabindex: one tab stop per table);
// Home and End go to the first and last night of the row.
function moveFocus(target) {
  const table = target.closest('table');
  table.querySelectorAll('button.cel').forEach((b) => { b.tabIndex = -1; });
  target.tabIndex = 0;
  target.focus();
}

function onGridKey(ev) {
  const btn = ev.target.closest('button.cel');
  if (!btn) return;
  const td = btn.closest('td'), tr = td.parentElement;
  const rows = [...tr.parentElement.rows];
  const r = rows.indexOf(tr), c = td.cellIndex;
  const steps = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
  let target = null;
  if (steps[ev.key]) {
    const [dr, dc] = steps[ev.key];
    for (let rr = r + dr, cc = c + dc; rr >= 0 && rr < rows.length && cc >= 1 && cc < tr.cells.length; rr += dr, cc += dc) {
      target = rows[rr].cells[cc].querySelector('button.cel');
      if (target) break;
    }
  } else if (ev.key === 'Home' || ev.key === 'End') {
    const all = [...tr.querySelectorAll('button.cel')];
    target = ev.key === 'Home' ? all[0] : all[all.length - 1];
  } else {
    return;
  }
  ev.preventDefault();
  if (target) moveFocus(target);
}

// Choosing a night fills the quick edit with that night and puts the cursor on the beds.
function onGridClick(ev) {
  const btn = ev.target.closest('button.cel');
  if (!btn) return;
  moveFocus(btn);
  const night = state.caps.get(btn.dataset.pool).nights.get(btn.dataset.date);
  const form = $('wijzig-form');
  form.elements.pool.value = btn.dataset.pool;
  form.elements.van.value = btn.dataset.date;
  form.elements.tm.value = btn.dataset.date;
  form.elements.dagen.value = 'alle';
  form.elements.bedden.value = String(night.capacity);
  form.elements.bedden.focus();
  form.elements.bedden.select();
}

// ---- quick edit -------------------------------------------------------------------------------

function fillPoolSelect() {
  const select = $('pool');
  select.replaceChildren(el('option', { value: '' }, 'Kies een groep'));
  for (const kind of ['planned', 'crisis']) {
    const pools = state.pools.filter((p) => p.kind === kind);
    if (pools.length) select.append(el('optgroup', { label: KIND[kind].title },
      ...pools.map((p) => el('option', { value: p.id }, poolLabel(p)))));
  }
  const min = today(), max = addDays(lastNight(), 1);
  for (const name of ['van', 'tm']) {
    $(name).min = min;
    $(name).max = max;
  }
}

// The nights from van to tm (inclusive) that the chosen days keep, as PUT ranges.
function rangesFor(van, tm, dagen, beds) {
  const keep = DAYS[dagen] || DAYS.alle;
  const ranges = [], nights = [];
  let open = null;
  for (let d = van; d <= tm; d = addDays(d, 1)) {
    if (keep(weekday(d))) {
      nights.push(d);
      if (!open) open = { from: d, to: addDays(d, 1), beds };
      else open.to = addDays(d, 1);
    } else if (open) {
      ranges.push(open);
      open = null;
    }
  }
  if (open) ranges.push(open);
  return { ranges, nights };
}

function checkEdit(v) {
  const fields = {};
  const beds = Number(v.bedden);
  if (v.van && v.van < today()) fields.van = 'De eerste nacht ligt in het verleden. Kies vandaag of later.';
  if (v.van && v.tm && v.tm < v.van) fields.tm = 'De laatste nacht moet op of na de eerste nacht liggen.';
  if (v.tm && v.tm > addDays(lastNight(), 1)) fields.tm = 'Zo ver vooruit kan niemand boeken. Kies een eerdere datum.';
  if (v.bedden !== '' && (!Number.isInteger(beds) || beds < 0 || beds > 500))
    fields.bedden = 'Vul een heel aantal bedden in, van 0 tot en met 500.';
  return fields;
}

function result(kind, ...children) {
  const box = $('wijzig-resultaat');
  const alert = el('div', { class: 'alert' + (kind ? ' alert--' + kind : ''), role: kind === 'error' ? 'alert' : 'status' }, ...children);
  box.replaceChildren(alert);
  box.focus();
}

// What the nights of pool look like in a fresh read, for the nights asked.
async function freshNights(poolId, nights) {
  const body = await api('GET', `/v1/pools/${poolId}/capacity?from=${nights[0]}&to=${addDays(nights[nights.length - 1], 1)}`);
  return new Map(body.nights.map((n) => [n.date, n]));
}

async function explainConflict(poolId, nights, beds, before) {
  const fresh = await freshNights(poolId, nights);
  const changed = nights.filter((d) => before.get(d) !== undefined && fresh.get(d).capacity !== before.get(d));
  const parts = [];
  if (changed.length) {
    const values = [...new Set(changed.map((d) => fresh.get(d).capacity))];
    if (values.length === 1) {
      parts.push(el('p', { id: 'gewijzigd-door-ander' }, 'In de tussentijd heeft iemand anders dit veranderd in ' +
        bedsText(values[0]) + (changed.length < nights.length || changed.length > 1
          ? ' (' + changed.map(shortDay).join(', ') + ').' : '.')));
    } else {
      parts.push(el('p', { id: 'gewijzigd-door-ander' }, 'In de tussentijd heeft iemand anders dit veranderd:'),
        el('ul', {}, ...changed.map((d) => el('li', {}, formatDate(d) + ': ' + bedsText(fresh.get(d).capacity)))));
    }
  } else {
    parts.push(el('p', { id: 'gewijzigd-door-ander' }, 'In de tussentijd heeft iemand anders iets anders aan deze groep veranderd. ' +
      'De nachten die u koos zijn niet veranderd.'));
  }
  parts.push(el('p', {}, 'Uw wijziging naar ' + bedsText(beds) + ' is niet opgeslagen. ' +
    'Wilt u het toch? Klik dan opnieuw op Opslaan.'));
  result('error', el('h3', {}, 'Niet opgeslagen'), ...parts);
}

async function explainBelowReserved(poolId, problem, beds) {
  const nights = Array.isArray(problem && problem.nights) ? problem.nights : [];
  const parts = [el('h3', {}, 'Niet opgeslagen'),
    el('p', {}, 'U kunt niet minder bedden opgeven dan er al bezet zijn. Op deze nachten zijn meer dan ' +
      bedsText(beds) + ' geboekt of vastgehouden:'),
    el('ul', { id: 'bezette-nachten' }, ...nights.map((n) => el('li', {}, formatDate(n.date) + ': ' +
      n.booked + ' geboekt, ' + n.held + ' vastgehouden')))];
  try {
    const dates = new Set(nights.map((n) => n.date));
    const body = await api('GET', `/v1/stays?pool_id=${poolId}&limit=200`);
    const using = (body.stays || []).filter((s) => ['held', 'requested', 'confirmed', 'checked_in'].includes(s.status) &&
      [...dates].some((d) => s.check_in <= d && d < s.check_out));
    if (using.length)
      parts.push(el('p', {}, 'Deze logeerplekken gebruiken die nachten:'),
        el('ul', { id: 'bezette-logeerplekken' }, ...using.map((s) => el('li', {}, guestName(s.guest) +
          ', ' + formatDate(s.check_in) + ' tot ' + formatDate(s.check_out) + ' (' + stayStatusText(s.status) + ')'))));
  } catch (e) {
    // The nights alone already say why; the names are a help.
  }
  parts.push(el('p', {}, 'Er is niets veranderd.'));
  result('error', ...parts);
}

async function onEdit(ev) {
  ev.preventDefault();
  const form = ev.target;
  clearErrors(form);
  $('wijzig-resultaat').replaceChildren();
  const v = {
    pool: form.elements.pool.value, van: form.elements.van.value, tm: form.elements.tm.value,
    dagen: form.elements.dagen.value, bedden: form.elements.bedden.value.trim()
  };
  const fields = { ...missingFields(form), ...checkEdit(v) };
  if (Object.keys(fields).length) {
    showErrors(form, { fields, status: 422 });
    return;
  }
  const beds = Number(v.bedden);
  const { ranges, nights } = rangesFor(v.van, v.tm, v.dagen, beds);
  if (!nights.length) {
    showErrors(form, { fields: { dagen: 'In deze periode vallen geen nachten van de gekozen dagen.' }, status: 422 });
    return;
  }
  if (ranges.length > MAX_RANGES) {
    showErrors(form, { fields: { tm: 'Kies een kortere periode: dit zijn te veel losse stukken tegelijk.' }, status: 422 });
    return;
  }
  const cap = state.caps.get(v.pool);
  const before = new Map(nights.filter((d) => cap.nights.has(d)).map((d) => [d, cap.nights.get(d).capacity]));
  // Nights outside the board's weeks: the version alone guards them, read them now.
  if (before.size < nights.length) {
    const fresh = await freshNights(v.pool, nights).catch(() => new Map());
    for (const d of nights) if (!before.has(d) && fresh.has(d)) before.set(d, fresh.get(d).capacity);
  }
  try {
    const body = await whileBusy(form, () => api('PUT', `/v1/pools/${v.pool}/capacity`, { ranges },
      { headers: { 'If-Match': '"' + cap.version + '"' } }));
    cap.version = body.version;
    const pool = state.pools.find((p) => p.id === v.pool);
    result('ok', el('p', { id: 'opgeslagen' }, 'Opgeslagen: ' + poolLabel(pool) + ', ' + nightsText(nights.length) +
      ' van ' + formatDate(v.van) + ' tot en met ' + formatDate(v.tm) + ': ' + bedsText(beds) + '.'));
    pool.stale = false;
    pool.as_of = body.as_of;
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 401) return fail(e);
    if (e.status === 412) await explainConflict(v.pool, nights, beds, before);
    else if (e.status === 409 && e.problem && Array.isArray(e.problem.nights)) await explainBelowReserved(v.pool, e.problem, beds);
    else showErrors(form, e);
  }
  await refreshBoard(false).catch(fail);
}

// ---- alles klopt nog ----------------------------------------------------------------------------

async function onConfirmAll() {
  const button = $('alles-klopt');
  const out = $('klopt-resultaat');
  button.disabled = true;
  out.textContent = '';
  try {
    const bodies = await Promise.all(state.pools.map((p) => api('POST', `/v1/pools/${p.id}/capacity/confirm`)));
    for (const b of bodies) {
      const p = state.pools.find((x) => x.id === b.pool_id);
      if (p) { p.stale = false; p.as_of = b.as_of; }
    }
    out.textContent = 'Bedankt. U heeft de aantallen van ' + bodies.length +
      (bodies.length === 1 ? ' groep' : ' groepen') + ' bevestigd op ' + formatDateTime(new Date().toISOString()) + '.';
    await refreshBoard(false);
  } catch (e) {
    fail(e);
  } finally {
    button.disabled = false;
  }
}

// ---- requests and stays -------------------------------------------------------------------------

function guestCell(g) {
  if (!g) return el('td', {}, '–');
  const needs = (g.needs || []).length ? 'Let op: ' + needsText(g.needs) : null;
  return el('td', {}, el('strong', {}, g.alias || 'onbekend'),
    el('span', { class: 'regel' }, g.birth_year ? 'geboren in ' + g.birth_year : ''),
    el('span', { class: 'regel' }, careProfileText(g.care_profile)),
    needs ? el('span', { class: 'regel' }, needs) : null);
}

function poolName(id, fallback) {
  const p = state.pools.find((x) => x.id === id);
  return p ? poolLabel(p) : fallback || '';
}

function actionButton(action, label, stay, secondary) {
  return el('button', {
    type: 'button', class: 'button--small' + (secondary ? ' button--secondary' : ''),
    'data-actie': action, 'data-stay': stay.id, 'data-gast': guestName(stay.guest)
  }, label, el('span', { class: 'visually-hidden' }, ': ' + guestName(stay.guest)));
}

function requestRow(s) {
  return el('tr', { 'data-stay': s.id }, guestCell(s.guest),
    el('td', {}, poolName(s.pool_id)),
    el('td', {}, formatDate(s.check_in) + ' tot ' + formatDate(s.check_out),
      el('span', { class: 'regel' }, nightsText(s.nights) + (s.companion ? ', met mantelzorger erbij' : ''))),
    el('td', {}, fundingText(s.funding)),
    el('td', { class: 'acties' }, actionButton('accept', 'Accepteren', s),
      actionButton('decline', 'Afwijzen', s, true)));
}

function requestTable(caption, stays) {
  return el('div', { class: 'table-scroll' }, el('table', {},
    el('caption', { class: 'visually-hidden' }, caption),
    el('thead', {}, el('tr', {}, ...['Gast', 'Groep', 'Wanneer', 'Betaling', 'Wat doet u?'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...stays.map(requestRow))));
}

// A series (logeerreeks) is one item: its waiting dates, each with its own buttons, and two
// buttons for the whole series (POST /v1/series/{id}/accept or /decline).
function seriesBlock(seriesId, stays) {
  const guest = guestName(stays[0].guest);
  const id = 'reeks-' + seriesId;
  const whole = (action, label, secondary) => el('button', {
    type: 'button', class: secondary ? 'button--secondary' : '',
    'data-actie': action, 'data-reeks': seriesId, 'data-gast': guest
  }, label, el('span', { class: 'visually-hidden' }, ': reeks voor ' + guest));
  return el('section', { class: 'reeks', 'aria-labelledby': id, 'data-reeks': seriesId },
    el('h3', { id }, `Logeerreeks voor ${guest}: ${stays.length} ${stays.length === 1 ? 'datum wacht' : 'data wachten'} op uw antwoord`),
    requestTable('Data van de reeks voor ' + guest, stays),
    el('p', { class: 'button-group' }, whole('accept', 'Hele reeks accepteren'),
      whole('decline', 'Hele reeks afwijzen', true)));
}

async function loadRequests() {
  const body = await api('GET', '/v1/stays?status=requested&limit=200');
  const stays = (body.stays || []).sort((a, b) => a.check_in.localeCompare(b.check_in));
  const box = $('aanvragen-lijst');
  if (!stays.length) {
    box.replaceChildren(el('p', {}, 'Er wachten geen aanvragen op uw antwoord.'));
    return;
  }
  const single = stays.filter((s) => !s.series_id);
  const series = new Map();
  for (const s of stays.filter((x) => x.series_id))
    series.set(s.series_id, [...(series.get(s.series_id) || []), s]);
  box.replaceChildren(...(single.length ? [requestTable('Aanvragen', single)] : []),
    ...[...series].map(([id, list]) => seriesBlock(id, list)));
}

function movementActions(m) {
  const stay = { id: m.stay_id, guest: m.guest };
  const out = [];
  if (m.movement === 'arrival' && m.status === 'confirmed') {
    if (m.date <= today()) out.push(actionButton('check-in', 'Is aangekomen', stay), actionButton('no-show', 'Niet gekomen', stay, true));
    out.push(actionButton('cancel', 'Annuleren', stay, true));
  }
  if (m.movement === 'departure' && m.status === 'checked_in')
    out.push(actionButton('check-out', 'Is vertrokken', stay));
  return out;
}

// Who brings or collects the guest and when (or that nobody arranged it yet), the pool's
// window for this movement, and whether the caregiver stays along.
function travelCell(m) {
  const hours = m.pool && (m.movement === 'arrival' ? m.pool.check_in_window : m.pool.check_out_window);
  return el('td', { class: 'vervoer' },
    el('span', { class: 'vervoer__wie' }, transportText(m.movement, m.transport) || NO_TRANSPORT[m.movement]),
    m.transport && m.transport.note ? el('span', { class: 'vervoer__wie' }, '“' + m.transport.note + '”') : null,
    hours ? el('span', { class: 'regel' }, (m.movement === 'arrival' ? 'Aankomen tussen ' : 'Vertrekken tussen ') +
      hours.replace('-', ' en ') + ' uur') : null,
    m.companion ? el('strong', { class: 'regel mantelzorger-mee' }, COMPANION) : null);
}

async function loadMovements() {
  const body = await api('GET', `/v1/arrivals?date=${today()}&days=7&limit=500`);
  const list = body.arrivals || [];
  const box = $('av-lijst');
  if (!list.length) {
    box.replaceChildren(el('p', {}, 'De komende 7 dagen komt er niemand aan en gaat er niemand weg.'));
    return;
  }
  const days = [...new Set(list.map((m) => m.date))];
  box.replaceChildren(...days.map((d) => {
    const id = 'dag-' + d;
    const rows = list.filter((m) => m.date === d).map((m) => el('tr', { 'data-stay': m.stay_id, 'data-beweging': m.movement },
      el('td', {}, MOVEMENT[m.movement] || m.movement, m.time ? el('span', { class: 'regel' }, 'om ' + m.time) : null),
      guestCell(m.guest),
      el('td', {}, (m.location && m.location.name ? m.location.name + ' – ' : '') + (m.pool ? m.pool.name : ''),
        el('span', { class: 'regel' }, nightsText(m.nights))),
      travelCell(m),
      el('td', {}, stayStatusText(m.status)),
      el('td', { class: 'acties' }, ...movementActions(m))));
    return el('section', { 'aria-labelledby': id }, el('h3', { id }, formatDate(d) + (d === today() ? ' (vandaag)' : '')),
      el('div', { class: 'table-scroll' }, el('table', {},
        el('thead', {}, el('tr', {}, ...['Wat', 'Gast', 'Waar', 'Vervoer en mantelzorger', 'Status', 'Wat doet u?']
          .map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, ...rows))));
  }));
}

// Asks before an action that cannot be undone; resolves to { reason } or null (cancelled).
function ask(action, guest) {
  const t = ACTIONS[action];
  const dialog = $('bevestig'), form = $('bevestig-form');
  clearErrors(form);
  form.querySelectorAll('.error-summary').forEach((n) => n.remove());
  $('bevestig-titel').textContent = t.title;
  $('bevestig-tekst').textContent = t.text(guest);
  $('bevestig-ja').textContent = t.yes;
  $('reden-veld').hidden = !t.reason;
  $('reden').required = t.reason;
  $('reden').value = '';
  return new Promise((resolve) => {
    const done = (value) => {
      form.removeEventListener('submit', onSubmit);
      $('bevestig-nee').removeEventListener('click', onNo);
      dialog.removeEventListener('cancel', onNo);
      dialog.close();
      resolve(value);
    };
    const onSubmit = (ev) => {
      ev.preventDefault();
      const reason = $('reden').value.trim();
      if (t.reason && !reason) {
        showErrors(form, { fields: { reason: $('reden').dataset.required }, status: 422 });
        return;
      }
      done(t.reason ? { reason } : {});
    };
    const onNo = (ev) => { ev.preventDefault(); done(null); };
    form.addEventListener('submit', onSubmit);
    $('bevestig-nee').addEventListener('click', onNo);
    dialog.addEventListener('cancel', onNo);
    dialog.showModal();
    (t.reason ? $('reden') : $('bevestig-ja')).focus();
  });
}

async function onStayAction(ev) {
  const button = ev.target.closest('button[data-actie]');
  if (!button) return;
  const action = button.dataset.actie, guest = button.dataset.gast, id = button.dataset.stay;
  // A whole series has its own texts and route; one of its dates is an ordinary stay.
  const series = button.dataset.reeks;
  const texts = series ? 'reeks-' + action : action;
  let body = null;
  if (ACTIONS[texts].title) {
    const answer = await ask(texts, guest);
    if (!answer) {
      button.focus();
      return;
    }
    if (answer.reason) body = { reason: answer.reason };
  }
  button.disabled = true;
  let message;
  try {
    await api('POST', series ? `/v1/series/${series}/${action}` : `/v1/stays/${id}/${action}`, body);
    message = ACTIONS[texts].done(guest);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 401) return fail(e);
    message = e.message;
  }
  // The lists first, then the message: what it says is already true on the page.
  await reloadStays();
  await refreshBoard(false).catch(fail);
  say(message);
  $('melding').focus();
}

async function reloadStays() {
  await Promise.all([loadRequests(), loadMovements()]).catch(fail);
  document.body.dataset.verblijven = String(Number(document.body.dataset.verblijven || 0) + 1);
}

// ---- CSV import ----------------------------------------------------------------------------------

// The template holds the planner's own pools, so the codes are right from the start.
function templateCsv() {
  const rows = ['pool_id,first_night,last_night,beds,pool_name'];
  for (const p of state.pools) rows.push([p.id, addDays(today(), 1), addDays(today(), 7), 2, '"' + poolLabel(p).replace(/"/g, '') + '"'].join(','));
  return rows.join('\r\n') + '\r\n';
}

function importBox(kind, ...children) {
  const box = $('import-resultaat');
  box.replaceChildren(el('div', { class: 'alert' + (kind ? ' alert--' + kind : ''), role: kind === 'error' ? 'alert' : 'status' }, ...children));
  box.focus();
}

function importRows(rows) {
  return el('div', { class: 'table-scroll' }, el('table', { id: 'import-regels' },
    el('caption', { class: 'visually-hidden' }, 'Wat er verandert'),
    el('thead', {}, el('tr', {}, ...['Regel', 'Groep', 'Van', 'Tot en met', 'Bedden'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...rows.map((r) => el('tr', {}, el('td', {}, String(r.line)), el('td', {}, poolName(r.pool_id, r.pool_name)),
      el('td', {}, formatDate(r.first_night)), el('td', {}, formatDate(r.last_night)), el('td', {}, String(r.beds)))))));
}

let pendingCsv = null;      // the file's text that the preview was made of
const IMPORT_STAYS_NAMED = 20; // guests looked up for one refusal; more are named by their dates

// The import's refusal names the stays on the refused nights by id, without guest data; the
// guest's alias is read here (GET /v1/stays/{id}, which the access log records), as the quick
// edit's refusal names them. Returns id -> stay; a stay that cannot be read is left out.
async function importGuests(lines) {
  const ids = [...new Set(lines.flatMap((l) => (Array.isArray(l.stays) ? l.stays : []).map((s) => s.id)))]
    .slice(0, IMPORT_STAYS_NAMED);
  const found = await Promise.all(ids.map((id) => api('GET', '/v1/stays/' + encodeURIComponent(id)).catch(() => null)));
  return new Map(found.filter(Boolean).map((s) => [s.id, s]));
}

function importStays(line, guests) {
  const stays = Array.isArray(line.stays) ? line.stays : [];
  if (!stays.length) return null;
  return el('ul', { class: 'import-verblijven' }, ...stays.map((s) => el('li', { 'data-stay-id': s.id },
    (guests.has(s.id) ? guestName(guests.get(s.id).guest) + ', ' : 'Logeerplek ') + formatDate(s.check_in) +
    ' tot ' + formatDate(s.check_out) + ' (' + stayStatusText(s.status) + ')')));
}

async function sendImport(apply) {
  try {
    const body = await api('POST', '/v1/capacity/import', { csv: pendingCsv, apply });
    if (!apply) {
      const go = el('button', { type: 'button', id: 'inlezen-knop' }, 'Inlezen');
      go.addEventListener('click', () => { go.disabled = true; sendImport(true).catch(fail); });
      importBox(null, el('h3', {}, 'Controle: alles klopt'),
        el('p', {}, body.rows.length + (body.rows.length === 1 ? ' regel' : ' regels') + ', samen ' + nightsText(body.nights) +
          '. Er is nog niets opgeslagen.'), importRows(body.rows), el('div', { class: 'button-group' }, go));
      return;
    }
    pendingCsv = null;
    importBox('ok', el('p', { id: 'ingelezen' }, 'Ingelezen: ' + body.rows.length + (body.rows.length === 1 ? ' regel' : ' regels') +
      ', samen ' + nightsText(body.nights) + '.'));
    $('import-form').reset();
    await refreshBoard(false);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 401) return fail(e);
    const lines = e.problem && Array.isArray(e.problem.lines) ? e.problem.lines : null;
    if (!lines) return importBox('error', el('p', {}, e.message));
    const guests = await importGuests(lines);
    importBox('error', el('h3', {}, 'Niet ingelezen'),
      el('p', {}, lines.length === 1 ? 'Eén regel klopt niet:' : lines.length + ' regels kloppen niet:'),
      el('ul', { id: 'import-fouten' }, ...lines.map((l) => el('li', { 'data-regel': String(l.line) },
        'Regel ' + l.line + ': ' + (IMPORT_CODES[l.code] || 'deze regel klopt niet.') +
        (l.code === 'below_reserved' && Array.isArray(l.nights) ? ' (' + l.nights.map((n) => formatDate(n.date) + ': ' + n.booked + ' geboekt, ' + n.held + ' vastgehouden').join('; ') + ')' : ''),
        importStays(l, guests)))),
      el('p', {}, 'Er is niets opgeslagen. Verbeter het bestand en kies het opnieuw.'));
  }
}

async function onImport(ev) {
  ev.preventDefault();
  const form = ev.target;
  clearErrors(form);
  $('import-resultaat').replaceChildren();
  const missing = missingFields(form);
  if (Object.keys(missing).length) return showErrors(form, { fields: missing, status: 422 });
  const file = form.elements.bestand.files[0];
  if (file.size > 200000) return showErrors(form, { fields: { bestand: 'Het bestand is te groot. Gebruik hoogstens 500 regels per keer.' }, status: 422 });
  pendingCsv = await file.text();
  await whileBusy(form, () => sendImport(false));
}

// ---- start ------------------------------------------------------------------------------------

async function start() {
  const user = await initPage({ requireLogin: true, menu: AANBIEDER_MENU, home: '/aanbieder/' });
  if (user.role !== 'provider') {
    const f = $('fout');
    f.textContent = NOT_PROVIDER;
    f.hidden = false;
    document.body.dataset.bord = 'geen-toegang';
    return;
  }
  $('melding').tabIndex = -1;
  state.start = mondayOf(today());
  try {
    await loadPools();
    fillPoolSelect();
    $('bord-inhoud').hidden = false;
    await refreshBoard(false);
    await reloadStays();
    await initIntakes({
      locationName: (id) => state.locations.get(id) || '',
      say, fail
    });
  } catch (e) {
    fail(e);
    return;
  }
  const groups = $('groepen');
  groups.addEventListener('keydown', onGridKey);
  groups.addEventListener('click', onGridClick);
  $('eerder').addEventListener('click', () => {
    state.start = addDays(state.start, -7 * WEEKS);
    if (state.start < mondayOf(today())) state.start = mondayOf(today());
    refreshBoard(false).catch(fail);
  });
  $('later').addEventListener('click', () => {
    state.start = addDays(state.start, 7 * WEEKS);
    refreshBoard(false).catch(fail);
  });
  $('wijzig-form').addEventListener('submit', (ev) => { onEdit(ev).catch(fail); });
  $('alles-klopt').addEventListener('click', onConfirmAll);
  $('import-form').addEventListener('submit', (ev) => { onImport(ev).catch(fail); });
  $('sjabloon').addEventListener('click', () => {
    // A fresh file each time: the pools may have changed since the page loaded.
    $('sjabloon').href = URL.createObjectURL(new Blob([templateCsv()], { type: 'text/csv' }));
  });
  $('aanvragen-lijst').addEventListener('click', (ev) => { onStayAction(ev).catch(fail); });
  $('av-lijst').addEventListener('click', (ev) => { onStayAction(ev).catch(fail); });
}

start();
