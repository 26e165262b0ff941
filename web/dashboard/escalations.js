// dashboard/escalations.js: the open escalations of the planned-stay guarantee (GET
// /v1/escalations?status=open), each with the options the engine found and a form to record
// how the coordinator resolved it (POST /v1/escalations/{id}/resolve). Shows no guest details
// beyond what the API gives (care profile, funding, dates); never decides anything itself.
import { el } from '/common/dom.js';
import { ApiError } from '/common/api.js';
import { showErrors, clearErrors, whileBusy } from '/common/form.js';
import { careProfileText, fundingText, formatDate, formatDateShort, nightsText, nightsBetween } from '/common/status.js';
import { table } from './draw.js';

const RESOLUTIONS = [
  ['placed', 'Geplaatst', 'Er is een logeerplek geregeld.'],
  ['offered_alternative', 'Iets anders aangeboden', 'Bijvoorbeeld een andere locatie, andere data of een andere lengte.'],
  ['not_possible', 'Niet gelukt', 'Er was geen passende plek te vinden.']
];
const RESOLUTION_NL = Object.fromEntries(RESOLUTIONS.map(([k, t]) => [k, t]));

const names = { pools: null, locations: {}, municipalities: {} };

// Pool, location and municipality names turn ids into words; loaded once per page.
async function loadNames(get) {
  if (names.pools) return;
  const [pools, locations, municipalities] = await Promise.all([
    get('/v1/pools?limit=200'), get('/v1/locations?limit=200'), get('/v1/municipalities')]);
  names.pools = {};
  for (const p of pools.pools || []) names.pools[p.id] = p;
  for (const l of locations.locations || []) names.locations[l.id] = l;
  for (const m of municipalities.municipalities || []) names.municipalities[m.code] = m.name;
}

function municipalityName(code) {
  return names.municipalities[code] || code || 'onbekend';
}

// "Logeerkamers, Logeerhuis De Es (Assen)"
function placeText(poolId) {
  const pool = names.pools && names.pools[poolId];
  if (!pool) return 'pool ' + String(poolId).slice(0, 8);
  const loc = names.locations[pool.location_id];
  return loc ? `${pool.name}, ${loc.name} (${municipalityName(loc.municipality)})` : pool.name;
}

function daysAgo(ymd) {
  const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Amsterdam' }).format(new Date());
  return nightsBetween(ymd, today);
}

function agoText(days) {
  if (days === 0) return 'vandaag';
  if (days > 0) return days === 1 ? 'gisteren' : days + ' dagen geleden';
  return -days === 1 ? 'morgen' : 'over ' + -days + ' dagen';
}

// One row per option: other pools, nearby dates and other lengths in the asked pool.
function optionRows(e) {
  const o = e.options || {};
  const rows = [];
  const line = (kind, where, inDate, outDate) => el('tr', { 'data-option': kind },
    el('th', { scope: 'row' }, { pool: 'Andere locatie', date: 'Andere datum', shape: 'Andere lengte' }[kind]),
    el('td', {}, where), el('td', {}, formatDateShort(inDate)), el('td', {}, formatDateShort(outDate)),
    el('td', {}, nightsText(nightsBetween(inDate, outDate))));
  for (const p of o.pools || []) {
    rows.push(line('pool', placeText(p.pool_id) + (p.in_wait_municipality ? ' – in de eigen gemeente' : ''),
      p.check_in, p.check_out));
  }
  for (const d of o.dates || []) rows.push(line('date', placeText(e.stay.pool_id), d.check_in, d.check_out));
  for (const s of o.shapes || []) rows.push(line('shape', placeText(e.stay.pool_id), s.check_in, s.check_out));
  return rows;
}

function resolveForm(e, onResolved, post) {
  const id = 'esc-' + e.id;
  const radios = RESOLUTIONS.map(([value, label, hint], i) => el('div', { class: 'choice' },
    el('input', { type: 'radio', id: `${id}-r${i}`, name: 'resolution', value, required: true,
      'data-required': 'Kies hoe de escalatie is afgehandeld.', 'aria-describedby': `${id}-r${i}-hint` }),
    el('label', { for: `${id}-r${i}` }, label),
    el('span', { class: 'choice-hint', id: `${id}-r${i}-hint` }, hint)));
  const form = el('form', { class: 'resolve', novalidate: true, 'data-escalation-id': e.id },
    el('fieldset', { class: 'field' }, el('legend', {}, 'Hoe is dit afgehandeld?'), ...radios),
    el('div', { class: 'field' },
      el('label', { for: `${id}-note` }, 'Toelichting (niet verplicht)'),
      el('p', { class: 'hint', id: `${id}-note-hint` }, 'Bijvoorbeeld wat u heeft afgesproken. Geen burgerservicenummer of medische details.'),
      el('textarea', { id: `${id}-note`, name: 'note', rows: 3, maxlength: 1000, 'aria-describedby': `${id}-note-hint` })),
    el('button', { type: 'submit' }, 'Afhandeling opslaan'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const chosen = form.querySelector('input[name="resolution"]:checked');
    if (!chosen) {
      showErrors(form, { fields: { resolution: 'Kies hoe de escalatie is afgehandeld.' } });
      return;
    }
    const note = form.querySelector('textarea').value.trim();
    const body = { resolution: chosen.value };
    if (note) body.note = note;
    try {
      const done = await whileBusy(form, () => post(`/v1/escalations/${e.id}/resolve`, body));
      onResolved(done);
    } catch (err) {
      if (err instanceof ApiError) showErrors(form, err); else throw err;
    }
  });
  return form;
}

function escalationItem(e, onResolved, post) {
  const s = e.stay || {};
  const w = s.waitlist || {};
  const id = 'esc-' + e.id;
  const overdue = daysAgo(e.deadline);
  const options = optionRows(e);
  return el('li', { 'data-escalation-id': e.id },
    el('article', { class: 'escalation', 'aria-labelledby': `${id}-title` },
      el('h3', { id: `${id}-title` },
        `${municipalityName(w.municipality)}: ${nightsText(w.nights)} logeren, ${careProfileText(s.care_profile)}`),
      el('dl', { class: 'facts' },
        el('dt', {}, 'Uiterste datum'), el('dd', {}, `${formatDate(e.deadline)} (${agoText(overdue)})`),
        el('dt', {}, 'Gemeente'), el('dd', {}, municipalityName(w.municipality)),
        el('dt', {}, 'Gevraagde data'), el('dd', {},
          `${nightsText(w.nights)}, aankomst vanaf ${formatDateShort(w.earliest_check_in)}, vertrek uiterlijk ${formatDateShort(w.latest_check_out)}`),
        el('dt', {}, 'Gevraagde plek'), el('dd', {}, placeText(s.pool_id)),
        el('dt', {}, 'Betaald uit'), el('dd', {}, fundingText(s.funding)),
        el('dt', {}, 'Open sinds'), el('dd', {}, agoText(daysAgo(e.opened_at.slice(0, 10))))),
      el('h4', { id: `${id}-options` }, 'Mogelijkheden die het systeem vond'),
      options.length
        ? el('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-labelledby': `${id}-options` },
          table(null, ['Soort', 'Waar', 'Aankomst', 'Vertrek', 'Nachten'], options, { className: 'text options' }))
        : el('p', { class: 'hint' }, 'Het systeem vond geen andere plek, datum of lengte die past.'),
      resolveForm(e, onResolved, post)));
}

// Items already on the page are kept as they are (a coordinator may be typing a note while
// the live stream refreshes the figures); only new escalations are added and gone ones removed.
const shown = new Map(); // escalation id -> its <li>

// Reads the open escalations (and, once, the names); get is the dashboard's GET.
export async function loadEscalations(get) {
  const [, body] = await Promise.all([loadNames(get).catch(() => {}),
    get('/v1/escalations?status=open&limit=200')]);
  return body.escalations || [];
}

// Draws the list from loadEscalations; post is the dashboard's POST (a 401 shows the login),
// onChange runs after a resolution so that the figures follow.
export function renderEscalations(list, post, onChange) {
  const status = document.getElementById('esc-status');
  const onResolved = (done) => {
    status.textContent = `Escalatie afgehandeld: ${RESOLUTION_NL[done.resolution] || done.resolution}.`;
    status.hidden = false;
    status.focus();
    onChange();
  };
  document.getElementById('esc-count').textContent = String(list.length);
  const items = list.map((e) => shown.get(e.id) || escalationItem(e, onResolved, post));
  shown.clear();
  list.forEach((e, i) => shown.set(e.id, items[i]));
  const target = document.getElementById('escalations');
  let ol = target.querySelector('ol.escalation-list');
  if (!list.length) {
    target.replaceChildren(el('p', { class: 'hint', id: 'esc-none' },
      'Er zijn geen open escalaties. Alle gegarandeerde aanvragen zijn op tijd geplaatst of al afgehandeld.'));
    return;
  }
  if (!ol) {
    ol = el('ol', { class: 'escalation-list' });
    target.replaceChildren(ol);
  }
  const same = ol.children.length === items.length && items.every((li, i) => ol.children[i] === li);
  if (same) return;
  // replaceChildren moves kept nodes without recreating them, so focus and typed text stay.
  const focused = document.activeElement;
  ol.replaceChildren(...items);
  if (focused && ol.contains(focused) && document.activeElement !== focused) focused.focus();
}
