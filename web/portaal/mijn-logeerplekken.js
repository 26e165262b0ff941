// portaal/mijn-logeerplekken.js: the caregiver's stays (GET /v1/stays), newest first, each
// with its status in words (common/status.js). A waitlist entry that was offered a place is a
// held stay that still carries its waitlist window: it is shown first, with its expiry, and is
// accepted with confirm or declined with cancel. Cancelling asks once more before it acts.
// Each stay says whether the caregiver stays along and who brings and collects the guest;
// until check-in that is changed here (PATCH /v1/stays/{id} with If-Match), inside the place's
// windows.
// A series (logeerreeks) is one item with its dates: confirmed together, or the rest of it
// cancelled together (POST /v1/series/{id}/confirm, /cancel-rest); its dates are not repeated
// in the list of single stays.
import { api, ApiError } from '/common/api.js';
import { clearErrors, showErrors, whileBusy } from '/common/form.js';
import { initPage } from '/common/layout.js';
import { formatDateShort, formatDateTime, stayStatusText } from '/common/status.js';
import { isOffer } from './aanbod.js';
import { el, loadMunicipalities, municipalityName, rangeText } from './plek.js';
import { transportFieldset, transportText, transportValue } from './vervoer.js';
import { notHeldText, rhythmText } from './reeks-tekst.js';

// What the caregiver may still do, per status.
const CAN_CANCEL = new Set(['held', 'requested', 'confirmed', 'waitlisted']);
const IN_CALENDAR = new Set(['held', 'requested', 'confirmed', 'checked_in']);
// Who brings and collects may change until check-in (PATCH /v1/stays/{id}).
const CAN_CHANGE_TRANSPORT = new Set(['waitlisted', 'held', 'requested', 'confirmed']);

// Extra words per status, where the status alone says too little.
const EXPLAIN = {
  requested: 'De aanbieder kijkt of het past.',
  waitlisted: 'U staat op de wachtlijst. Komt er een plek vrij, dan bieden wij die u aan.',
  held: 'Bevestig de plek voor de tijd om is.',
  declined: 'De aanbieder kon deze aanvraag niet aannemen.',
  expired: 'De tijd om te bevestigen was om.'
};

await initPage({ requireLogin: true });
await loadMunicipalities();
const note = document.getElementById('melding');

function where(s) {
  if (!s.location) return 'Nog geen vaste plek';
  return `${s.location.name}, ${municipalityName(s.location.municipality)}`;
}

function when(s) {
  if (s.check_in && s.check_out) return rangeText(s.check_in, s.check_out);
  if (s.waitlist) return `ergens tussen ${formatDateShort(s.waitlist.earliest_check_in)} en ${formatDateShort(s.waitlist.latest_check_out)}`;
  return '';
}

function say(text, ok = true) {
  note.className = ok ? 'alert alert--ok' : 'alert alert--error';
  note.textContent = text;
  note.hidden = false;
}

async function act(s, action, doneText) {
  try {
    await api('POST', `/v1/stays/${s.id}/${action}`);
    say(doneText);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    say(e.message, false);
  }
  await load();
  note.tabIndex = -1;
  note.focus();
}

// Cancel in two steps: the first click asks, the second does it.
function cancelControl(s) {
  const box = el('div', { class: 'annuleren' });
  const ask = el('button', { type: 'button', class: 'button--secondary' }, 'Annuleren',
    el('span', { class: 'visually-hidden' }, ': ' + where(s) + ', ' + when(s)));
  box.append(ask);
  ask.addEventListener('click', () => {
    const yes = el('button', { type: 'button' }, 'Ja, annuleer');
    const no = el('button', { type: 'button', class: 'button--secondary' }, 'Nee, laat staan');
    const question = el('div', { class: 'alert', role: 'group', 'aria-label': 'Annuleren bevestigen' },
      el('p', { tabindex: '-1' }, `Weet u zeker dat u ${s.status === 'waitlisted' ? 'van de wachtlijst wilt' : 'deze logeerplek wilt annuleren'}? ` +
        'Dit kunt u niet terugdraaien.'),
      el('p', { class: 'button-group' }, yes, no));
    box.replaceChildren(question);
    question.querySelector('p').focus();
    no.addEventListener('click', () => { box.replaceChildren(ask); ask.focus(); });
    yes.addEventListener('click', () => {
      yes.disabled = no.disabled = true;
      act(s, 'cancel', 'De logeerplek is geannuleerd.');
    });
  });
  return box;
}

// Companion and transport in words; only for stays that are or were going ahead.
function arrangement(s) {
  if (!CAN_CHANGE_TRANSPORT.has(s.status) && s.status !== 'checked_in' && s.status !== 'completed') return [];
  return [
    s.companion ? el('p', {}, 'U blijft zelf ook logeren.') : null,
    el('p', { class: 'vervoer-brengen' }, 'Brengen: ' + transportText(s.arrival, 'arrival') + '.'),
    el('p', { class: 'vervoer-ophalen' }, 'Ophalen: ' + transportText(s.departure, 'departure') + '.')];
}

// "Brengen en ophalen wijzigen": the button opens a small form in the card; saving sends
// both arrangements (an emptied one is cleared with null), a refusal shows at its field.
function transportControl(s) {
  const box = el('div', { class: 'vervoer-wijzigen' });
  const open = el('button', { type: 'button', class: 'button--secondary' }, 'Brengen en ophalen wijzigen',
    el('span', { class: 'visually-hidden' }, ': ' + where(s) + ', ' + when(s)));
  box.append(open);
  open.addEventListener('click', () => {
    const prefix = `s${s.id}-`;
    const form = el('form', { id: `vervoer-${s.id}`, novalidate: true, 'aria-labelledby': `${prefix}titel` },
      el('h4', { id: `${prefix}titel`, tabindex: '-1' }, 'Brengen en ophalen wijzigen'),
      transportFieldset('arrival', s.check_in_window, prefix, s.arrival),
      transportFieldset('departure', s.check_out_window, prefix, s.departure),
      el('p', { class: 'button-group' },
        el('button', { type: 'submit' }, 'Opslaan'),
        el('button', { type: 'button', class: 'button--secondary', 'data-terug': '' }, 'Niet wijzigen')));
    box.replaceChildren(form);
    form.querySelector('h4').focus();
    form.querySelector('[data-terug]').addEventListener('click', () => { box.replaceChildren(open); open.focus(); });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const missing = {};
      const body = { arrival: transportValue(form, 'arrival', missing),
        departure: transportValue(form, 'departure', missing) };
      if (Object.keys(missing).length) return showErrors(form, { fields: missing });
      // If-Match with the version this form was opened on: a change to the stay made meanwhile
      // (in another window, or the place's answer) is shown, never overwritten.
      let text = 'Brengen en ophalen zijn gewijzigd.', good = true;
      try {
        await whileBusy(form, () => api('PATCH', `/v1/stays/${s.id}`, body,
          { headers: { 'If-Match': `"${s.version}"` } }));
      } catch (e) {
        if (!(e instanceof ApiError)) throw e;
        if (e.status !== 412) return showErrors(form, e, 'Het wijzigen is niet gelukt');
        text = 'Brengen en ophalen zijn intussen ergens anders gewijzigd, bijvoorbeeld in een ' +
          'ander venster. Hieronder staat hoe het nu is. Wijzig het opnieuw als dat nog nodig is.';
        good = false;
      }
      await load();
      say(text, good);
      note.tabIndex = -1;
      note.focus();
    });
  });
  return box;
}

function stayItem(s) {
  const actions = el('p', { class: 'button-group' });
  if (s.status === 'held' && !isOffer(s)) {
    const confirm = el('button', { type: 'button' }, 'Bevestig');
    confirm.addEventListener('click', () => act(s, 'confirm', 'De logeerplek is bevestigd.'));
    actions.append(confirm);
  }
  if (IN_CALENDAR.has(s.status) && s.check_in)
    actions.append(el('a', { class: 'button button--secondary', href: `/v1/stays/${s.id}/calendar.ics`, download: '' },
      'Zet in agenda', el('span', { class: 'visually-hidden' }, ': ' + where(s))));
  const item = el('li', { class: 'card plek' },
    el('h3', {}, where(s)),
    el('p', {}, when(s)),
    el('p', {}, 'Status: ', el('strong', { class: 'status status--' + s.status }, stayStatusText(s.status)),
      EXPLAIN[s.status] ? '. ' + EXPLAIN[s.status] : '.'),
    s.decline_reason ? el('p', {}, 'Reden: ' + s.decline_reason) : null,
    s.status === 'cancelled' && s.cancel_reason ? el('p', { class: 'muted' }, 'Reden: ' + s.cancel_reason) : null,
    s.status === 'held' && s.hold_expires_at ? el('p', {}, 'Bevestig vóór ' + formatDateTime(s.hold_expires_at) + '.') : null,
    ...arrangement(s));
  if (actions.childNodes.length) item.append(actions);
  if (CAN_CHANGE_TRANSPORT.has(s.status) && !isOffer(s)) item.append(transportControl(s));
  if (CAN_CANCEL.has(s.status) && !isOffer(s)) item.append(cancelControl(s));
  return item;
}

function offerItem(s) {
  const accept = el('button', { type: 'button' }, 'Ja, ik neem deze plek');
  const decline = el('button', { type: 'button', class: 'button--secondary' }, 'Nee, dank u');
  accept.addEventListener('click', () => { accept.disabled = decline.disabled = true; act(s, 'confirm', 'U heeft de plek aangenomen. De logeerplek is bevestigd.'); });
  decline.addEventListener('click', () => { accept.disabled = decline.disabled = true; act(s, 'cancel', 'U heeft de plek afgeslagen.'); });
  return el('li', { class: 'card plek plek--aanbod' },
    el('h3', {}, where(s)),
    el('p', {}, el('strong', {}, when(s))),
    el('p', {}, 'Er kwam een plek vrij voor uw wachtlijst-aanvraag. Wilt u deze plek?'),
    el('p', {}, 'Dit aanbod geldt tot ', el('strong', {}, formatDateTime(s.hold_expires_at)), '.'),
    el('p', { class: 'button-group' }, accept, decline));
}

// Whole-series actions: the list first, then the note, so that what it says is already true
// on the page when it is read out.
async function actSeries(series, action, doneText) {
  let text = doneText, good = true;
  try {
    await api('POST', `/v1/series/${series.id}/${action}`);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    text = e.message;
    good = false;
  }
  await load();
  say(text, good);
  note.tabIndex = -1;
  note.focus();
}

// "Annuleer de rest" in two steps, like a single stay's cancel.
function cancelRestControl(series, label) {
  const box = el('div', { class: 'annuleren' });
  const ask = el('button', { type: 'button', class: 'button--secondary' }, 'Annuleer de rest van de reeks',
    el('span', { class: 'visually-hidden' }, ': ' + label));
  box.append(ask);
  ask.addEventListener('click', () => {
    const yes = el('button', { type: 'button' }, 'Ja, annuleer de rest');
    const no = el('button', { type: 'button', class: 'button--secondary' }, 'Nee, laat staan');
    const question = el('div', { class: 'alert', role: 'group', 'aria-label': 'Annuleren bevestigen' },
      el('p', { tabindex: '-1' }, 'Weet u zeker dat u alle komende keren van deze reeks wilt annuleren? ' +
        'Dit kunt u niet terugdraaien.'),
      el('p', { class: 'button-group' }, yes, no));
    box.replaceChildren(question);
    question.querySelector('p').focus();
    no.addEventListener('click', () => { box.replaceChildren(ask); ask.focus(); });
    yes.addEventListener('click', () => {
      yes.disabled = no.disabled = true;
      actSeries(series, 'cancel-rest', 'De rest van de reeks is geannuleerd.');
    });
  });
  return box;
}

function seriesItem(series, byId) {
  const first = series.occurrences.map((o) => byId.get(o.id)).find(Boolean) || {};
  const label = 'logeerreeks bij ' + where(first);
  const held = series.occurrences.filter((o) => o.status === 'held');
  const future = series.occurrences.filter((o) => ['held', 'requested', 'confirmed'].includes(o.status));
  const item = el('li', { class: 'card plek reeks' },
    el('h3', {}, 'Logeerreeks bij ' + where(first)),
    el('p', {}, rhythmText(series) + '.'),
    el('ol', { class: 'data' }, ...series.occurrences.map((o) =>
      el('li', {}, rangeText(o.check_in, o.check_out) + ': ',
        el('strong', { class: 'status status--' + o.status }, stayStatusText(o.status))))));
  if (series.not_held.length)
    item.append(el('p', {}, 'Niet gelukt:'),
      el('ul', {}, ...series.not_held.map((b) => el('li', {}, notHeldText(b)))));
  if (held.length) {
    item.append(el('p', {}, 'Bevestig vóór ' + formatDateTime(held[0].hold_expires_at) + '.'));
    const confirm = el('button', { type: 'button' }, 'Bevestig de reeks',
      el('span', { class: 'visually-hidden' }, ': ' + label));
    confirm.addEventListener('click', () => actSeries(series, 'confirm', 'De reeks is bevestigd.'));
    item.append(el('p', { class: 'button-group' }, confirm));
  }
  if (future.length) item.append(cancelRestControl(series, label));
  return item;
}

async function load() {
  const [{ stays }, { series }] = await Promise.all([api('GET', '/v1/stays?limit=100'),
    api('GET', '/v1/series?limit=100')]);
  const byId = new Map(stays.map((s) => [s.id, s]));
  document.getElementById('reeksen').hidden = !series.length;
  document.getElementById('reeksen-lijst').replaceChildren(...series.map((r) => seriesItem(r, byId)));
  // A series' dates show in its own item, not again one by one.
  const single = stays.filter((s) => !s.series_id);
  const offers = single.filter(isOffer);
  document.getElementById('aanbod').hidden = !offers.length;
  document.getElementById('aanbod-lijst').replaceChildren(...offers.map(offerItem));
  const rest = single.filter((s) => !isOffer(s));
  document.getElementById('leeg').hidden = stays.length > 0;
  document.getElementById('lijst').replaceChildren(...rest.map(stayItem));
}

await load();
