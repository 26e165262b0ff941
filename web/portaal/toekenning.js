// portaal/toekenning.js: the person's toekenningen on the Mijn naaste page: the allowances of
// nights per funding route (GET /v1/allowances) with what this week and this year still
// allow, a form to enter one (POST /v1/allowances) and, on each, a form to change it or end
// it early (PATCH /v1/allowances/{id} with If-Match: a change made meanwhile elsewhere is
// shown, not overwritten). The API refuses a reference that looks like a citizen service
// number, and a change that the stays already planned do not fit; the page says why.
import { api, ApiError, newIdempotencyKey } from '/common/api.js';
import { clearErrors, formValues, missingFields, showErrors, whileBusy } from '/common/form.js';
import { returnPath } from '/common/layout.js';
import { formatDateShort, fundingText, nightsText } from '/common/status.js';
import { el, fillSelect, municipalityName } from './plek.js';

// The funding routes whose nights the engine counts against an allowance (docs/openapi.yaml).
export const ALLOWANCE_FUNDINGS = ['wmo', 'wlz', 'pgb'];

const section = document.getElementById('toekenningen');
const form = document.getElementById('toekenning');
let guest = null;

// 'deze week (vanaf 30 nov. 2026): 1 van 3 nachten gebruikt, nog 2 over.'
function usageText(label, u) {
  return `${label} (vanaf ${formatDateShort(u.period_start)}): ${u.used} van ${nightsText(u.max)} gebruikt, ` +
    (u.remaining ? `nog ${u.remaining} over.` : 'er zijn geen nachten meer over.');
}

function card(a) {
  const limits = [];
  if (a.nights_per_week !== null) limits.push(`${nightsText(a.nights_per_week)} per week`);
  if (a.nights_per_year !== null) limits.push(`${nightsText(a.nights_per_year)} per jaar`);
  const title = fundingText(a.funding) + (a.municipality ? `, gemeente ${municipalityName(a.municipality)}` : '');
  const usage = [];
  if (a.usage.week) usage.push(el('li', {}, usageText('Deze week', a.usage.week)));
  if (a.usage.year) usage.push(el('li', {}, usageText('Dit jaar', a.usage.year)));
  const titleId = 'toekenning-' + a.id;
  const change = el('button', { type: 'button', class: 'button--secondary', 'aria-expanded': 'false' },
    'Wijzigen of beëindigen');
  const item = el('li', { class: 'card plek', 'data-allowance': a.id },
    el('h3', { id: titleId }, title),
    el('p', {}, `Toegekend: ${limits.join(' en ')}. Geldt van ${formatDateShort(a.valid_from)} tot en met ${formatDateShort(a.valid_to)}.`),
    usage.length ? el('ul', { class: 'data' }, ...usage) : null,
    a.reference ? el('p', { class: 'muted' }, 'Kenmerk: ' + a.reference) : null,
    el('div', { class: 'button-group' }, change));
  change.addEventListener('click', () => toggleChange(a, item, change, titleId));
  return item;
}

async function showList() {
  const body = await api('GET', '/v1/allowances?limit=100&guest_id=' + encodeURIComponent(guest.id));
  document.getElementById('geen-toekenning').hidden = body.allowances.length > 0;
  document.getElementById('toekenning-lijst').replaceChildren(...body.allowances.map(card));
}

function showMunicipality() {
  document.getElementById('toekenning-gemeente').hidden = form.funding.value !== 'wmo';
}

// Shows the section for a saved person. Called again after the person is first saved.
export async function showAllowances(person, municipalities) {
  const first = guest === null;
  guest = person;
  if (first) {
    fillSelect(form.funding, ALLOWANCE_FUNDINGS.map((f) => [f, fundingText(f)]));
    fillSelect(form.municipality, municipalities.map((m) => [m.code, m.name]), person.municipality);
    form.addEventListener('change', showMunicipality);
    showMunicipality();
  }
  section.hidden = false;
  try {
    await showList();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    document.getElementById('geen-toekenning').textContent = e.message;
    document.getElementById('geen-toekenning').hidden = false;
  }
  if (first && location.hash === '#toekenningen') document.getElementById('toekenningen-titel').focus();
}

// Says in the status line under the list what just happened; ok = false for news that is not
// a success (a change made meanwhile elsewhere).
function tell(text, ok = true) {
  const done = document.getElementById('toekenning-klaar');
  done.className = ok ? 'alert alert--ok' : 'alert';
  done.replaceChildren(el('p', {}, text));
  done.hidden = false;
  done.focus();
  return done;
}

function whole(v) { return /^\d{1,3}$/.test(v) ? Number(v) : null; }

// The limits as both forms check them before anything is sent: { field: message }.
function limitProblems(v) {
  const out = {};
  if (!v.nights_per_week && !v.nights_per_year)
    out.nights_per_week = 'Vul in hoeveel nachten per week of per jaar zijn toegekend. Allebei mag ook.';
  if (v.nights_per_week && (whole(v.nights_per_week) === null || whole(v.nights_per_week) > 7))
    out.nights_per_week = 'Vul een aantal nachten per week in van 0 tot 7.';
  if (v.nights_per_year && (whole(v.nights_per_year) === null || whole(v.nights_per_year) > 366))
    out.nights_per_year = 'Vul een aantal nachten per jaar in van 0 tot 366.';
  return out;
}

// ---- changing a toekenning ----

// A copy of the template with ids of its own, labels and hints tied to them, filled with a.
function changeForm(a, titleId) {
  const form = document.getElementById('wijzig-sjabloon').content.firstElementChild.cloneNode(true);
  const prefix = 'wijzig-' + a.id + '-';
  form.setAttribute('aria-labelledby', titleId);
  for (const hint of form.querySelectorAll('[data-hint]')) hint.id = prefix + 'hint-' + hint.dataset.hint;
  for (const input of form.querySelectorAll('[data-id]')) {
    input.id = prefix + input.dataset.id;
    if (input.dataset.describedby) input.setAttribute('aria-describedby', prefix + 'hint-' + input.dataset.describedby);
  }
  for (const label of form.querySelectorAll('[data-for]')) label.htmlFor = prefix + label.dataset.for;
  for (const f of ['nights_per_week', 'nights_per_year', 'valid_from', 'valid_to', 'reference'])
    form.elements[f].value = a[f] === null || a[f] === undefined ? '' : String(a[f]);
  return form;
}

// What the form changes of a, as PATCH sends it: an emptied limit or reference is null.
function changesOf(a, v) {
  const out = {};
  for (const f of ['nights_per_week', 'nights_per_year']) {
    const now = v[f] === '' ? null : whole(v[f]);
    if (now !== a[f]) out[f] = now;
  }
  for (const f of ['valid_from', 'valid_to']) if (v[f] !== a[f]) out[f] = v[f];
  const reference = v.reference === '' ? null : v.reference;
  if (reference !== (a.reference || null)) out.reference = reference;
  return out;
}

// A 409: the stays already counted against it do not fit the change. The problem lists the
// periods over the new limit (below_used) or the stays outside the new dates.
function conflictSentence(e) {
  const p = e.problem || {};
  if (Array.isArray(p.periods) && p.periods.length) {
    const over = p.periods.map((x) => `${x.period === 'week' ? 'in de week' : 'in het jaar'} vanaf ` +
      `${formatDateShort(x.period_start)} ${x.used === 1 ? 'is' : 'zijn'} al ${nightsText(x.used)} gepland, ` +
      `het nieuwe aantal is ${x.max}`);
    return `Er zijn al meer nachten gepland dan het nieuwe aantal toestaat: ${over.join('; ')}. ` +
      'Annuleer of verkort eerst een logeerperiode bij Mijn logeerplekken, of houd het oude aantal.';
  }
  if (Array.isArray(p.stay_ids) && p.stay_ids.length) {
    const n = p.stay_ids.length;
    return `${n === 1 ? 'Eén logeerperiode' : n + ' logeerperiodes'} met deze toekenning ${n === 1 ? 'valt' : 'vallen'} ` +
      'buiten de nieuwe data. Annuleer die eerst bij Mijn logeerplekken, of houd de oude data.';
  }
  return e.message;
}

async function saveChange(a, form) {
  clearErrors(form);
  const v = formValues(form);
  const problems = { ...missingFields(form), ...limitProblems(v) };
  if (Object.keys(problems).length) return showErrors(form, { fields: problems });
  const patch = changesOf(a, v);
  if (!Object.keys(patch).length) {
    await showList();
    return tell('Er is niets veranderd aan de toekenning.');
  }
  try {
    await whileBusy(form, () => api('PATCH', '/v1/allowances/' + encodeURIComponent(a.id), patch,
      { headers: { 'If-Match': `"${a.version}"` } }));
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    if (e.status === 412) {
      await showList();
      return tell('De toekenning is intussen ergens anders veranderd, bijvoorbeeld in een ander ' +
        'venster. Hierboven staat hoe hij nu is. Wijzig hem opnieuw als dat nog nodig is.', false);
    }
    const error = e.status === 409 ? { message: conflictSentence(e), fields: {}, status: 409 } : e;
    return showErrors(form, error, 'De toekenning is niet gewijzigd');
  }
  await showList();
  tell('De wijziging is opgeslagen.');
}

function toggleChange(a, item, button, titleId) {
  const open = item.querySelector('form.wijzig');
  if (open) {
    open.remove();
    button.setAttribute('aria-expanded', 'false');
    button.focus();
    return;
  }
  const form = changeForm(a, titleId);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    saveChange(a, form);
  });
  form.querySelector('[data-action="annuleer"]').addEventListener('click', () => toggleChange(a, item, button, titleId));
  item.append(form);
  button.setAttribute('aria-expanded', 'true');
  form.elements.nights_per_week.focus();
}

// ---- entering a toekenning ----

let key = newIdempotencyKey();
form.addEventListener('input', () => {
  key = newIdempotencyKey(); // other values: another allowance
  document.getElementById('toekenning-klaar').hidden = true;
});

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  const v = formValues(form);
  const missing = { ...missingFields(form), ...limitProblems(v) };
  if (v.funding === 'wmo' && !v.municipality) missing.municipality = 'Kies de gemeente die de Wmo-toekenning gaf.';
  if (Object.keys(missing).length) return showErrors(form, { fields: missing });
  const body = { guest_id: guest.id, funding: v.funding, valid_from: v.valid_from, valid_to: v.valid_to };
  if (v.nights_per_week) body.nights_per_week = whole(v.nights_per_week);
  if (v.nights_per_year) body.nights_per_year = whole(v.nights_per_year);
  if (v.funding === 'wmo') body.municipality = v.municipality;
  if (v.reference) body.reference = v.reference;
  try {
    await whileBusy(form, () => api('POST', '/v1/allowances', body, { idempotencyKey: key }));
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return showErrors(form, e, 'De toekenning is niet opgeslagen');
  }
  key = newIdempotencyKey();
  form.reset();
  showMunicipality();
  await showList();
  const back = returnPath('');
  const done = tell('De toekenning is opgeslagen.');
  if (back) done.append(el('p', {}, el('a', { href: back }, 'Terug naar uw aanvraag')));
});
