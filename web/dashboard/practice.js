// dashboard/practice.js: the figures of logeerzorg as practised (the guarantee, intakes, the
// time to a first stay, nights against allowances, late cancellations) from GET
// /v1/reports/{guarantee,intakes,first-stay,allowance-use,cancellations}, each over the
// report's own default period. Tables always; a bar chart beside a table where a picture helps
// to compare groups. Reads only; the numbers are the API's.
import { el } from '/common/dom.js';
import { fundingText, formatDateShort } from '/common/status.js';
import { table, row, fmt, pct, stackedBars, percentBars } from './draw.js';

const $ = (id) => document.getElementById(id);

function period(report) {
  return 'Van ' + formatDateShort(report.from) + ' tot ' + formatDateShort(report.to);
}

// "2026-Q4" -> "4e kwartaal 2026"; "2026-03" -> "maart 2026"
function quarterText(q) {
  const m = /^(\d{4})-Q([1-4])$/.exec(q || '');
  return m ? `${m[2]}e kwartaal ${m[1]}` : q;
}
function monthText(ym) {
  if (!/^\d{4}-\d{2}$/.test(ym || '')) return ym;
  return new Intl.DateTimeFormat('nl-NL', { month: 'long', year: 'numeric', timeZone: 'UTC' })
    .format(new Date(ym + '-15T12:00:00Z'));
}

function chartOrNone(target, bars, draw) {
  target.replaceChildren(bars.length ? draw() : el('p', { class: 'hint' }, 'Nog geen gegevens in deze periode.'));
}

const GUARANTEE_COLS = [
  ['guaranteed', 'Gegarandeerd'], ['placed_before_deadline', 'Op tijd geplaatst'],
  ['escalated', 'Geëscaleerd'], ['escalations_open', 'Escalatie nog open'],
  ['resolved_placed', 'Alsnog geplaatst'], ['resolved_offered_alternative', 'Iets anders aangeboden'],
  ['resolved_not_possible', 'Niet gelukt'], ['closed', 'Vervallen'], ['withdrawn', 'Ingetrokken'],
  ['pending', 'Nog niet beoordeeld'], ['met', 'Garantie gehaald']
];

function renderGuarantee(r) {
  const cells = (x) => [...GUARANTEE_COLS.map(([k]) => x[k]), pct(x.share_met_pct)];
  const rows = r.rows.map((x) => row(quarterText(x.quarter), [municipalityCell(x), ...cells(x)],
    { 'data-municipality': x.municipality.code }));
  $('guarantee-table').replaceChildren(table(period(r) + ' (uiterste datum)',
    ['Kwartaal', 'Gemeente', ...GUARANTEE_COLS.map((c) => c[1]), 'Gehaald (%)'], rows,
    { foot: row('Regio Drenthe', ['', ...cells(r.total)], { class: 'total' }) }));
  const bars = r.rows.map((x) => ({
    label: `${x.municipality.name}, ${quarterText(x.quarter)}`,
    parts: { met: x.met, open: x.escalations_open + x.pending, alt: x.resolved_offered_alternative,
      no: x.resolved_not_possible }
  }));
  chartOrNone($('guarantee-chart'), bars, () => stackedBars('guarantee-title guarantee-desc', bars, [
    ['met', 'Gehaald', '#1e6b3a'], ['alt', 'Iets anders', '#b0640c'],
    ['no', 'Niet gelukt', '#9b1c1c'], ['open', 'Nog open', '#6b7785']]));
}

function municipalityCell(x) {
  return document.createTextNode(x.municipality.name);
}

const INTAKE_COLS = [
  ['asked', 'Gevraagd'], ['scheduled', 'Gepland'], ['decided', 'Besloten'], ['welcome', 'Welkom'],
  ['trial_first', 'Eerst proefverblijf'], ['not_suitable', 'Past niet'], ['cancelled', 'Geannuleerd'],
  ['open', 'Nog open']
];

function renderIntakes(r) {
  const rows = r.rows.map((x) => row(monthText(x.month),
    [document.createTextNode(x.location.name), document.createTextNode(x.provider.name),
      ...INTAKE_COLS.map(([k]) => x[k])], { 'data-location-id': x.location.id }));
  $('intakes-table').replaceChildren(table(period(r) + ' (gevraagd)',
    ['Maand', 'Locatie', 'Aanbieder', ...INTAKE_COLS.map((c) => c[1])], rows,
    { foot: row('Regio Drenthe', ['', '', ...INTAKE_COLS.map(([k]) => r.total[k])], { class: 'total' }) }));
  const reasons = r.total.not_suitable_reasons || [];
  $('intakes-reasons').replaceChildren(reasons.length
    ? el('ul', { class: 'reasons' }, ...reasons.map((x) => el('li', {}, `${x.reason} (${x.count}×)`)))
    : el('p', { class: 'hint' }, 'Geen enkele kennismaking eindigde met "past niet".'));
  const byLocation = new Map();
  for (const x of r.rows) {
    const b = byLocation.get(x.location.id) || { label: x.location.name, parts: { welcome: 0, trial: 0, no: 0, open: 0 } };
    b.parts.welcome += x.welcome; b.parts.trial += x.trial_first; b.parts.no += x.not_suitable; b.parts.open += x.open;
    byLocation.set(x.location.id, b);
  }
  const bars = [...byLocation.values()];
  chartOrNone($('intakes-chart'), bars, () => stackedBars('intakes-title intakes-desc', bars, [
    ['welcome', 'Welkom', '#1e6b3a'], ['trial', 'Eerst proef', '#0b4f8a'],
    ['no', 'Past niet', '#9b1c1c'], ['open', 'Nog open', '#6b7785']]));
}

function renderFirstStay(r) {
  const cols = [['guests', 'Gasten'], ['with_first_stay', 'Met een eerste verblijf'],
    ['still_waiting', 'Nog zonder verblijf'], ['days_median', 'Dagen (mediaan)'], ['days_p90', 'Dagen (9 op de 10 binnen)']];
  const rows = r.rows.map((x) => row(quarterText(x.quarter), [municipalityCell(x), ...cols.map(([k]) => x[k])],
    { 'data-municipality': x.municipality.code }));
  $('firststay-table').replaceChildren(table(period(r) + ' (eerste vraag)',
    ['Kwartaal', 'Gemeente', ...cols.map((c) => c[1])], rows,
    { foot: row('Regio Drenthe', ['', ...cols.map(([k]) => r.total[k])], { class: 'total' }) }));
}

function renderAllowances(r) {
  const cols = [['allowances', 'Indicaties'], ['granted_nights', 'Toegekend per jaar'],
    ['held_nights', 'Vastgehouden'], ['confirmed_nights', 'Bevestigd'], ['completed_nights', 'Gelogeerd'],
    ['used_nights', 'Samen']];
  const label = (x) => `${fundingText(x.funding)}, ${x.municipality.name}`;
  const rows = r.years.map((x) => row(fundingText(x.funding), [document.createTextNode(x.municipality.name),
    ...cols.map(([k]) => x[k]), pct(x.used_pct), x.refused_no_allowance, x.refused_exceeded],
  { 'data-funding': x.funding, 'data-municipality': x.municipality.code }));
  $('allowance-table').replaceChildren(table('Kalenderjaar ' + r.year,
    ['Route', 'Gemeente', ...cols.map((c) => c[1]), 'Gebruikt van toegekend', 'Geweigerd: geen indicatie', 'Geweigerd: op'],
    rows));
  const bars = r.years.map((x) => ({ label: label(x), value: x.used_pct }));
  chartOrNone($('allowance-chart'), bars, () => percentBars('allowance-title allowance-desc', bars));
  const months = r.months.map((x) => row(monthText(x.month), [document.createTextNode(fundingText(x.funding)),
    document.createTextNode(x.municipality.name), x.held_nights, x.confirmed_nights, x.completed_nights,
    x.used_nights, x.refused_no_allowance, x.refused_exceeded]));
  $('allowance-months').replaceChildren(table('Per maand, kalenderjaar ' + r.year,
    ['Maand', 'Route', 'Gemeente', 'Vastgehouden', 'Bevestigd', 'Gelogeerd', 'Samen', 'Geweigerd: geen indicatie', 'Geweigerd: op'],
    months));
}

function renderCancellations(r) {
  const cols = [['cancellations', 'Geannuleerd'], ['by_requester', 'Door de aanvrager'],
    ['by_provider', 'Door de aanbieder'], ['late', 'Te laat geannuleerd'], ['no_shows', 'Niet gekomen'],
    ['nights_released', 'Nachten vrijgekomen']];
  const rows = r.rows.map((x) => row(monthText(x.month), [document.createTextNode(x.provider.name),
    document.createTextNode(x.pool.name),
    document.createTextNode(x.pool.free_cancel_days === null ? 'altijd' : `tot ${x.pool.free_cancel_days} dagen ervoor`),
    ...cols.map(([k]) => x[k])], { 'data-pool-id': x.pool.id, class: x.late > 0 ? 'late' : null }));
  $('cancel-table').replaceChildren(table(period(r),
    ['Maand', 'Aanbieder', 'Pool', 'Gratis annuleren', ...cols.map((c) => c[1])], rows,
    { foot: row('Regio Drenthe', ['', '', '', ...cols.map(([k]) => r.total[k])], { class: 'total' }) }));
  $('cancel-late').textContent = fmt(r.total.late);
}

// Reads all five reports; get is the dashboard's GET (a 401 shows the login).
export async function loadPractice(get) {
  const [guarantee, intakes, firstStay, allowances, cancellations] = await Promise.all([
    get('/v1/reports/guarantee'), get('/v1/reports/intakes'), get('/v1/reports/first-stay'),
    get('/v1/reports/allowance-use'), get('/v1/reports/cancellations')]);
  return { guarantee, intakes, firstStay, allowances, cancellations };
}

// Draws what loadPractice read.
export function renderPractice({ guarantee, intakes, firstStay, allowances, cancellations }) {
  renderGuarantee(guarantee);
  renderIntakes(intakes);
  renderFirstStay(firstStay);
  renderAllowances(allowances);
  renderCancellations(cancellations);
}
