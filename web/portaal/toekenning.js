// portaal/toekenning.js: the person's toekenningen on the Mijn naaste page: the allowances of
// nights per funding route (GET /v1/allowances) with what this week and this year still
// allow, and a form to enter one (POST /v1/allowances). The API refuses a reference that
// looks like a citizen service number; problems.js says why at the field.
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
  return el('li', { class: 'card plek', 'data-allowance': a.id },
    el('h3', {}, title),
    el('p', {}, `Toegekend: ${limits.join(' en ')}. Geldt van ${formatDateShort(a.valid_from)} tot en met ${formatDateShort(a.valid_to)}.`),
    usage.length ? el('ul', { class: 'data' }, ...usage) : null,
    a.reference ? el('p', { class: 'muted' }, 'Kenmerk: ' + a.reference) : null);
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

let key = newIdempotencyKey();
form.addEventListener('input', () => {
  key = newIdempotencyKey(); // other values: another allowance
  document.getElementById('toekenning-klaar').hidden = true;
});

function whole(v) { return /^\d{1,3}$/.test(v) ? Number(v) : null; }

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  const v = formValues(form);
  const missing = missingFields(form);
  if (v.funding === 'wmo' && !v.municipality) missing.municipality = 'Kies de gemeente die de Wmo-toekenning gaf.';
  if (!v.nights_per_week && !v.nights_per_year)
    missing.nights_per_week = 'Vul in hoeveel nachten per week of per jaar zijn toegekend. Allebei mag ook.';
  if (v.nights_per_week && whole(v.nights_per_week) === null) missing.nights_per_week = 'Vul een aantal nachten per week in van 0 tot 7.';
  if (v.nights_per_year && whole(v.nights_per_year) === null) missing.nights_per_year = 'Vul een aantal nachten per jaar in van 0 tot 366.';
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
  const done = document.getElementById('toekenning-klaar');
  done.replaceChildren(el('p', {}, 'De toekenning is opgeslagen.'));
  if (back) done.append(el('p', {}, el('a', { href: back }, 'Terug naar uw aanvraag')));
  done.hidden = false;
  done.focus();
});
