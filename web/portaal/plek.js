// portaal/plek.js: what the portal's own pages say about a logeerplek and a person, in Dutch
// (B1): facilities and needs, how you get in (the API's `access`), date ranges, the person
// cared for (the first registered guest) and the region's municipalities. Shared by the
// portal's pages only; what every audience shares lives in /common.
import { api } from '/common/api.js';
import { formatDateShort, nightsText, nightsBetween } from '/common/status.js';
import { el } from '/common/dom.js';

export { el };

// Facilities a location offers (location.facilities).
export const FACILITY = {
  dementia: 'ingericht voor mensen met dementie',
  night_care: "zorg in de nacht",
  wheelchair: 'rolstoel past overal',
  hoist: 'tillift',
  garden: 'tuin',
  animals: 'dieren',
  partner_can_stay: 'partner kan mee logeren',
  sensory_room: 'snoezelruimte',
  nursing_care: 'verpleging',
  psychiatric_care: 'psychische zorg'
};
export function facilityText(f) { return FACILITY[f] || f.replace(/_/g, ' '); }

// What the person needs. Some are things a location must offer (facilities), some are things
// a location may not be able to handle (its exclusions): the search asks them differently.
export const NEEDS = [
  { token: 'night_care', text: "Heeft 's nachts zorg nodig", kind: 'facility' },
  { token: 'wheelchair', text: 'Zit in een rolstoel', kind: 'facility' },
  { token: 'hoist', text: 'Heeft een tillift nodig', kind: 'facility' },
  { token: 'wandering_risk', text: 'Loopt soms weg of raakt de weg kwijt', kind: 'exclusion' },
  { token: 'aggression', text: 'Kan boos of agressief worden', kind: 'exclusion' }
];

// The search's needs (exclusions) and facilities for a person's needs.
export function needsQuery(needs) {
  const list = needs || [];
  const of = (kind) => NEEDS.filter((n) => n.kind === kind && list.includes(n.token)).map((n) => n.token);
  return { needs: of('exclusion').join(','), facilities: of('facility').join(',') };
}

// How a caregiver gets in.
export const ACCESS = {
  direct: { text: 'Direct boeken', hint: 'U kunt deze plek meteen vastleggen.' },
  approval: { text: 'Na goedkeuring', hint: 'De aanbieder kijkt eerst of het past.' },
  intake_first: { text: 'Eerst kennismaken', hint: 'U maakt eerst kennis met de logeerplek.' }
};

// 'vr 12 dec. 2026 tot ma 15 dec. 2026 (3 nachten)'
export function rangeText(checkIn, checkOut) {
  return `${formatDateShort(checkIn)} tot ${formatDateShort(checkOut)} (${nightsText(nightsBetween(checkIn, checkOut))})`;
}

let municipalities = null;
// The region's municipalities [{code, name, lat, lon}], fetched once per page.
export async function loadMunicipalities() {
  if (!municipalities) municipalities = (await api('GET', '/v1/municipalities')).municipalities;
  return municipalities;
}
export function municipalityName(code) {
  const m = (municipalities || []).find((x) => x.code === code);
  return m ? m.name : code;
}

// The person cared for: the caregiver's first registered guest, or null.
export async function loadPerson() {
  const body = await api('GET', '/v1/guests?limit=1');
  return body.guests && body.guests.length ? body.guests[0] : null;
}

// Options for a <select>: [[value, text], ...].
export function fillSelect(select, options, chosen) {
  for (const [value, text] of options) {
    const o = new Option(text, value);
    if (value === chosen) o.selected = true;
    select.append(o);
  }
}

