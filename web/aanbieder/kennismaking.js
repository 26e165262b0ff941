// aanbieder/kennismaking.js: the board's Kennismakingen section. Lists the open intakes at the
// provider's own locations (GET /v1/intakes, scoped and access-logged by the server), makes or
// moves the appointment (POST /v1/intakes/{id}/schedule) and records the outcome
// (POST /v1/intakes/{id}/decide); below them the guests who came on trial and wait for the
// outcome that follows (decided trial_first, not lapsed, with their trial stay). Shows only
// the guest data the API gives; never stores it.
import { api, ApiError } from '/common/api.js';
import { clearErrors, formValues, missingFields, showErrors, whileBusy } from '/common/form.js';
import { el } from '/common/dom.js';
import { addFieldTexts } from '/common/problems.js';
import { careProfileText, formatDateShort, formatDateTime, stayStatusText, today } from '/common/status.js';
import { INTAKE_DONE, INTAKE_FIELDS, INTAKE_STATUS, needsText } from './texts.js';

const $ = (id) => document.getElementById(id);
const OPEN = ['requested', 'scheduled'];

let ctx = null;              // { locationName(id), say(text), fail(e) } from the board
const shown = new Map();     // intake id -> the intake as last read

addFieldTexts(INTAKE_FIELDS);

function guestName(i) { return i.guest && i.guest.alias ? i.guest.alias : 'de gast'; }

function guestCell(g) {
  if (!g) return el('td', {}, '–');
  const needs = (g.needs || []).length ? 'Let op: ' + needsText(g.needs) : null;
  return el('td', {}, el('strong', {}, g.alias || 'onbekend'),
    g.birth_year ? el('span', { class: 'regel' }, 'geboren in ' + g.birth_year) : null,
    el('span', { class: 'regel' }, careProfileText(g.care_profile)),
    needs ? el('span', { class: 'regel' }, needs) : null);
}

function button(action, label, intake, secondary) {
  return el('button', {
    type: 'button', class: 'button--small' + (secondary ? ' button--secondary' : ''),
    'data-km-actie': action, 'data-intake': intake.id
  }, label, el('span', { class: 'visually-hidden' }, ': ' + guestName(intake)));
}

function row(i) {
  const when = i.scheduled_at
    ? [el('strong', {}, formatDateTime(i.scheduled_at)), i.notes ? el('span', { class: 'regel' }, i.notes) : null]
    : [INTAKE_STATUS.requested];
  const acts = [button('schedule', i.status === 'scheduled' ? 'Afspraak verzetten' : 'Afspraak maken', i, i.status === 'scheduled')];
  // The API decides only a scheduled intake: first the appointment, then the outcome.
  if (i.status === 'scheduled') acts.unshift(button('decide', 'Uitkomst vastleggen', i));
  return el('tr', { 'data-intake': i.id, 'data-status': i.status }, guestCell(i.guest),
    el('td', {}, ctx.locationName(i.location_id)),
    el('td', {}, i.moments || 'Geen voorkeur opgegeven.'),
    el('td', {}, ...when),
    el('td', { class: 'acties' }, ...acts));
}

// The calendar day of an instant in the Netherlands, as YYYY-MM-DD.
function amsterdamDay(instant) {
  return new Date(instant).toLocaleDateString('sv-SE', { timeZone: 'Europe/Amsterdam' });
}

// The trial and its stay in two cells: 'Hoogstens 2 nachten, besloten op 4 dec. 2026.' and
// the stay's dates ('7 dec. 2026 tot 9 dec. 2026') above its state ('bevestigd').
function trialCells(i) {
  const n = i.trial_max_nights;
  const limit = 'Hoogstens ' + n + (n === 1 ? ' nacht' : ' nachten') +
    (i.decided_at ? ', besloten op ' + formatDateShort(amsterdamDay(i.decided_at)) : '') + '.';
  const t = i.trial_stay;
  const stay = t
    ? [el('strong', {}, formatDateShort(t.check_in) + ' tot ' + formatDateShort(t.check_out)),
        el('span', { class: 'regel' }, stayStatusText(t.status))]
    : ['Nog geen proefverblijf aangevraagd.'];
  return [el('td', {}, limit), el('td', {}, ...stay)];
}

function trialRow(i) {
  return el('tr', { 'data-intake': i.id, 'data-status': i.status }, guestCell(i.guest),
    el('td', {}, ctx.locationName(i.location_id)),
    ...trialCells(i),
    el('td', { class: 'acties' }, button('decide', 'Uitkomst na de proef vastleggen', i)));
}

function table(id, caption, heads, rows) {
  return el('div', { class: 'table-scroll' }, el('table', { id },
    el('caption', { class: 'visually-hidden' }, caption),
    el('thead', {}, el('tr', {}, ...heads.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, ...rows)));
}

export async function loadIntakes() {
  const [asked, planned, trials] = await Promise.all([...OPEN.map((s) => `status=${s}`),
    'status=decided&outcome=trial_first'].map((q) => api('GET', `/v1/intakes?${q}&limit=200`)));
  const intakes = [...(asked.intakes || []), ...(planned.intakes || [])]
    .sort((a, b) => (a.scheduled_at || '9').localeCompare(b.scheduled_at || '9') || a.created_at.localeCompare(b.created_at));
  // A lapsed trial is the family's to ask again, not the planner's to decide.
  const waiting = (trials.intakes || []).filter((i) => !i.lapsed)
    .sort((a, b) => ((a.trial_stay || {}).check_in || '9').localeCompare((b.trial_stay || {}).check_in || '9'));
  shown.clear();
  for (const i of [...intakes, ...waiting]) shown.set(i.id, i);
  const parts = [intakes.length
    ? table('km-tabel', 'Kennismakingen', ['Gast', 'Locatie', 'Wanneer het de mantelzorger past', 'Afspraak', 'Wat doet u?'],
      intakes.map(row))
    : el('p', {}, 'Er zijn geen kennismakingen om te plannen of af te ronden.')];
  if (waiting.length) {
    parts.push(el('h3', { id: 'km-proef-titel' }, 'Na een proefverblijf'),
      el('p', {}, 'Deze gasten komen eerst op proef. Leg na het proefverblijf vast of de gast welkom is.'),
      table('km-proef-tabel', 'Na een proefverblijf', ['Gast', 'Locatie', 'Proef', 'Proefverblijf', 'Wat doet u?'],
        waiting.map(trialRow)));
  }
  $('km-lijst').replaceChildren(...parts);
}

// ---- the two dialogs ------------------------------------------------------------------------

// Opens dialog, calls submit(form) on each send until it resolves true; resolves with whether
// something was saved. Escape and Terug close it without a change.
function runDialog(dialog, form, no, first, submit) {
  clearErrors(form);
  return new Promise((resolve) => {
    const done = (saved) => {
      form.removeEventListener('submit', onSubmit);
      no.removeEventListener('click', onNo);
      dialog.removeEventListener('cancel', onNo);
      dialog.close();
      resolve(saved);
    };
    const onSubmit = async (ev) => {
      ev.preventDefault();
      if (await submit(form)) done(true);
    };
    const onNo = (ev) => { ev.preventDefault(); done(false); };
    form.addEventListener('submit', onSubmit);
    no.addEventListener('click', onNo);
    dialog.addEventListener('cancel', onNo);
    dialog.showModal();
    first.focus();
  });
}

// "2027-03-01" and "14:30" in the browser's time zone as an RFC 3339 instant with its offset.
function instant(date, time) {
  const d = new Date(date + 'T' + time + ':00');
  if (Number.isNaN(d.getTime())) return null;
  const off = -d.getTimezoneOffset();
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  return date + 'T' + time + ':00' + (off >= 0 ? '+' : '-') + pad(off / 60) + ':' + pad(off % 60);
}

// The API's refusal, at the fields; a 409 (someone changed it meanwhile) as a sentence.
function refused(form, e, title) {
  if (!(e instanceof ApiError)) throw e;
  if (e.status === 401) { ctx.fail(e); return; }
  showErrors(form, e, title);
}

async function schedule(intake) {
  const form = $('km-afspraak-form');
  form.reset();
  $('km-datum').min = today();
  $('km-afspraak-wens').textContent = 'Kennismaking met ' + guestName(intake) + '. ' +
    (intake.moments ? 'De mantelzorger schreef wat past: ' + intake.moments : 'De mantelzorger gaf geen voorkeur op.');
  let when = '';
  const saved = await runDialog($('km-afspraak'), form, $('km-afspraak-nee'), $('km-datum'), async (f) => {
    const missing = missingFields(f);
    if (Object.keys(missing).length) { showErrors(f, { fields: missing, status: 422 }); return false; }
    const v = formValues(f);
    const at = instant(v.at, v.tijd);
    if (!at) { showErrors(f, { fields: { at: INTAKE_FIELDS.at.invalid }, status: 422 }); return false; }
    const body = { at };
    if (v.notes) body.notes = v.notes;
    try {
      const out = await whileBusy(f, () => api('POST', `/v1/intakes/${intake.id}/schedule`, body));
      when = formatDateTime(out.scheduled_at);
      return true;
    } catch (e) {
      refused(f, e, 'De afspraak is niet opgeslagen');
      return false;
    }
  });
  return saved ? INTAKE_DONE.schedule(guestName(intake), when) : null;
}

function showOutcomeFields(form) {
  const outcome = form.elements.outcome.value;
  $('km-proef-veld').hidden = outcome !== 'trial_first';
  $('km-reden-veld').hidden = outcome !== 'not_suitable';
  $('km-proef').required = outcome === 'trial_first';
  $('km-reden').required = outcome === 'not_suitable';
}

async function decide(intake) {
  const form = $('km-uitkomst-form');
  form.reset();
  showOutcomeFields(form);
  const t = intake.trial_stay;
  $('km-uitkomst-gast').textContent = intake.status === 'decided'
    ? 'Na het proefverblijf van ' + guestName(intake) +
      (t ? ' (' + formatDateShort(t.check_in) + ' tot ' + formatDateShort(t.check_out) + ')' : '') + '.'
    : 'Kennismaking met ' + guestName(intake) +
      (intake.scheduled_at ? ' op ' + formatDateTime(intake.scheduled_at) : '') + '.';
  let message = null;
  const saved = await runDialog($('km-uitkomst'), form, $('km-uitkomst-nee'), $('km-welcome'), async (f) => {
    const missing = missingFields(f);
    if (Object.keys(missing).length) { showErrors(f, { fields: missing, status: 422 }); return false; }
    const v = formValues(f);
    const body = { outcome: v.outcome };
    // A whole number as a number; anything else as typed, for the server to refuse in words.
    if (v.outcome === 'trial_first') body.trial_max_nights = /^\d{1,3}$/.test(v.trial_max_nights) ? Number(v.trial_max_nights) : v.trial_max_nights;
    if (v.outcome === 'not_suitable') body.reason = v.reason;
    if (v.notes) body.notes = v.notes;
    try {
      const out = await whileBusy(f, () => api('POST', `/v1/intakes/${intake.id}/decide`, body));
      message = INTAKE_DONE[out.outcome](guestName(intake), out.trial_max_nights);
      return true;
    } catch (e) {
      refused(f, e, 'De uitkomst is niet vastgelegd');
      return false;
    }
  });
  return saved ? message : null;
}

async function onClick(ev) {
  const b = ev.target.closest('button[data-km-actie]');
  if (!b) return;
  const intake = shown.get(b.dataset.intake);
  if (!intake) return;
  const message = b.dataset.kmActie === 'schedule' ? await schedule(intake) : await decide(intake);
  if (!message) {
    b.focus();
    return;
  }
  // The list first, then the message: what it says is already true on the page.
  await loadIntakes().catch(ctx.fail);
  document.body.dataset.kennismakingen = String(Number(document.body.dataset.kennismakingen || 0) + 1);
  ctx.say(message);
  $('melding').focus();
}

// Called once by the board after its pools and locations are read.
export async function initIntakes(context) {
  ctx = context;
  $('km-uitkomst-form').addEventListener('change', (ev) => {
    if (ev.target.name === 'outcome') showOutcomeFields(ev.currentTarget);
  });
  $('km-lijst').addEventListener('click', (ev) => { onClick(ev).catch(ctx.fail); });
  await loadIntakes();
  document.body.dataset.kennismakingen = '1';
}
