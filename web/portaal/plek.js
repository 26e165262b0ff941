// portaal/plek.js: what the portal's own pages say about a logeerplek and a person, in Dutch
// (B1): facilities and needs, how you get in (the API's `access`), a kennismaking's state,
// date ranges, the person cared for (the first registered guest) and the region's
// municipalities. Shared by the
// portal's pages only; what every audience shares lives in /common.
import { api } from '/common/api.js';
import { formatDateShort, formatDateTime, nightsText, nightsBetween } from '/common/status.js';
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

// A kennismaking (the API's Intake) in words: a short label and a sentence. The provider's
// notes and reason are shown beside it by the page, as the provider wrote them.
export function intakeState(i) {
  if (i.status === 'cancelled')
    return { label: 'geannuleerd', text: i.cancelled_by_role === 'provider'
      ? 'De logeerplek heeft de kennismaking afgezegd.' : 'U heeft de kennismaking afgezegd.' };
  if (i.status === 'requested')
    return { label: 'aangevraagd', text: 'De logeerplek neemt contact met u op om een datum af te spreken.' };
  if (i.status === 'scheduled')
    return { label: 'datum afgesproken', text: `De kennismaking is op ${formatDateTime(i.scheduled_at)}.` };
  if (i.lapsed)
    return { label: 'verlopen', text: 'Het is te lang geleden dat uw naaste hier logeerde. Vraag opnieuw een kennismaking aan.' };
  if (i.outcome === 'welcome')
    return { label: 'welkom', text: 'Uw naaste is welkom. U kunt hier een logeerplek aanvragen.' };
  if (i.outcome === 'trial_first')
    return { label: `eerst een proefverblijf van ${nightsText(i.trial_max_nights)}`,
      text: `Uw naaste logeert eerst een keer op proef, hoogstens ${nightsText(i.trial_max_nights)}. Dat proefverblijf kunt u nu aanvragen.` };
  return { label: 'niet passend', text: 'De logeerplek past niet bij wat uw naaste nodig heeft.' };
}

export function intakeIsOpen(i) { return i.status === 'requested' || i.status === 'scheduled'; }
export function intakeLetsBook(i) {
  return i.status === 'decided' && !i.lapsed && (i.outcome === 'welcome' || i.outcome === 'trial_first');
}

// Per location id, the one kennismaking that counts now (intakes newest first): one that
// lets the guest book, else an open one, else a refusal that still holds.
export function intakesByLocation(intakes) {
  const rank = (i) => intakeLetsBook(i) ? 3 : intakeIsOpen(i) ? 2
    : (i.status === 'decided' && !i.lapsed) ? 1 : 0;
  const out = new Map();
  for (const i of intakes) {
    const have = out.get(i.location_id);
    if (rank(i) > 0 && (!have || rank(i) > rank(have))) out.set(i.location_id, i);
  }
  return out;
}

// The link that asks for a kennismaking at a location (the page reads its name from this tab).
export function intakeLink(locationId) {
  return '/kennismaking.html?locatie=' + encodeURIComponent(locationId);
}

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

// Keeps what the request pages show about a place (a search result; no personal data) for
// this tab, so that the next page need not ask again.
export function rememberPlace(r) {
  const keep = { pool_id: r.pool_id, pool_name: r.pool_name, access: r.access, location: r.location,
    provider: r.provider, check_in_window: r.check_in_window, check_out_window: r.check_out_window,
    companion_places: r.companion_places };
  sessionStorage.setItem('logeer.plek.' + r.pool_id, JSON.stringify(keep));
  sessionStorage.setItem('logeer.locatie.' + r.location.id, JSON.stringify(r.location));
  return keep;
}

// The place a request page is about: as the search left it in this tab, or, for a link opened
// elsewhere (a new tab, a bookmark, a link someone sent), asked of the search for that pool
// alone (pool_id): on the asked dates, else on its earliest dates. null when the place is not
// one the caregiver may book or has no room at all.
export async function loadPlace(poolId, checkIn, checkOut) {
  const kept = JSON.parse(sessionStorage.getItem('logeer.plek.' + poolId) || 'null');
  if (kept || !poolId) return kept;
  const nights = checkIn && checkOut ? nightsBetween(checkIn, checkOut) : 1;
  const one = new URLSearchParams({ pool_id: poolId, nights: String(nights > 0 ? nights : 1) });
  try {
    let found = [];
    if (checkIn && nights > 0) {
      const q = new URLSearchParams(one);
      q.set('check_in', checkIn);
      found = (await api('GET', '/v1/availability?' + q)).results;
    }
    if (!found.length) found = (await api('GET', '/v1/availability/earliest?' + one)).results;
    return found.length ? rememberPlace(found[0]) : null;
  } catch (e) {
    return null; /* the page still works without the description */
  }
}

// Options for a <select>: [[value, text], ...].
export function fillSelect(select, options, chosen) {
  for (const [value, text] of options) {
    const o = new Option(text, value);
    if (value === chosen) o.selected = true;
    select.append(o);
  }
}

