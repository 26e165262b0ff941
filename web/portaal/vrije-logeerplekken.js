// portaal/vrije-logeerplekken.js: draws the open figures (GET /v1/open/availability, no login):
// per municipality a heading, a bar chart of the coming weeks (grafiek.js) and a table with
// the same numbers for screen readers and anyone who prefers one, and locations shown apart
// where their provider chose so. Sets body data-geladen="true" when drawn, for tests.
import { api, ApiError } from '/common/api.js';
import { el } from '/common/dom.js';
import { initPage } from '/common/layout.js';
import { careProfileText, formatDate, formatDateShort } from '/common/status.js';
import { weekBars } from './grafiek.js';

const nf = new Intl.NumberFormat('nl-NL');

// '2026-W49' -> 'wk 49' under a bar, 'week 49' in a table.
const weekNumber = (label) => String(Number(label.slice(6)));

function weekTable(caption, id, weeks, starts, withProfiles) {
  const profiles = withProfiles
    ? [...new Set(weeks.flatMap((w) => Object.keys(w.care_profiles || {})))].sort() : [];
  const head = el('tr', {}, el('th', { scope: 'col' }, 'Week'),
    el('th', { scope: 'col' }, 'Vrije logeernachten'), el('th', { scope: 'col' }, 'Logeernachten in totaal'),
    ...profiles.map((p) => el('th', { scope: 'col' }, 'Vrij voor ' + careProfileText(p).toLowerCase())));
  const rows = weeks.map((w, i) => el('tr', {},
    el('th', { scope: 'row' }, `Week ${weekNumber(w.week)} (vanaf ${formatDateShort(starts[i])})`),
    el('td', {}, nf.format(w.free_nights)), el('td', {}, nf.format(w.bed_nights)),
    ...profiles.map((p) => el('td', {}, nf.format((w.care_profiles[p] || { free_nights: 0 }).free_nights)))));
  return el('div', { class: 'table-scroll', id },
    el('table', {}, el('caption', {}, caption), el('thead', {}, head), el('tbody', {}, ...rows)));
}

function municipalityPart(m, starts) {
  const id = 'gemeente-' + m.code;
  const offered = m.weeks.some((w) => w.bed_nights > 0);
  const free = m.weeks.reduce((n, w) => n + w.free_nights, 0);
  const part = el('section', { class: 'card open-gemeente', id, 'aria-labelledby': id + '-titel' },
    el('h2', { id: id + '-titel' }, m.name));
  if (!offered) {
    part.append(el('p', {}, 'In deze gemeente zijn de komende weken geen logeerplekken om te plannen.'));
    return part;
  }
  part.append(el('p', {}, `De komende ${m.weeks.length} weken samen: ${nf.format(free)} vrije logeernachten.`));
  const bars = m.weeks.map((w) => ({ label: 'wk ' + weekNumber(w.week), free: w.free_nights, beds: w.bed_nights }));
  part.append(el('figure', { class: 'grafiek-figuur' },
    weekBars(bars, `Staafdiagram: vrije logeernachten per week in ${m.name}. De cijfers staan ook in de tabel hieronder.`),
    el('figcaption', { class: 'muted' }, 'Donker: vrij. Licht: totaal. Het getal boven de staaf is het aantal vrije logeernachten.')));
  part.append(el('details', { class: 'open-tabel' },
    el('summary', {}, `Bekijk de cijfers van ${m.name} als tabel`),
    weekTable(`Logeernachten per week in ${m.name}`, id + '-tabel', m.weeks, starts, true)));
  for (const loc of m.locations) {
    part.append(el('h3', {}, loc.name),
      weekTable(`Logeernachten per week in ${loc.name}`, id + '-' + loc.id, loc.weeks, starts, false));
  }
  return part;
}

await initPage();
try {
  const data = await api('GET', '/v1/open/availability');
  const starts = data.weeks.map((w) => w.start);
  document.getElementById('peildatum').textContent = `Stand van ${formatDate(data.as_of)}. ` +
    'De eerste week telt vanaf vandaag.';
  document.getElementById('gemeenten').replaceChildren(...data.municipalities.map((m) => municipalityPart(m, starts)));
} catch (e) {
  if (!(e instanceof ApiError)) throw e;
  const box = el('p', { class: 'alert alert--error' }, e.message);
  document.getElementById('melding').replaceChildren(box);
}
document.body.dataset.geladen = 'true';
