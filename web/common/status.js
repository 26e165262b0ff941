// common/status.js: the one table from the API's stay statuses (StayStatus in
// docs/openapi.yaml) to Dutch words, and Dutch date formatting. Pages show statuses and dates
// only through these functions.

const STAY_STATUS = {
  waitlisted: 'in de wacht',
  held: 'vastgehouden',
  requested: 'aangevraagd',
  confirmed: 'bevestigd',
  declined: 'afgewezen',
  checked_in: 'aangekomen',
  completed: 'afgerond',
  cancelled: 'geannuleerd',
  expired: 'verlopen',
  no_show: 'niet gekomen'
};

export function stayStatusText(status) {
  return STAY_STATUS[status] || status;
}

export const STAY_STATUSES = Object.keys(STAY_STATUS);

const FUNDING = {
  wmo: 'Wmo (via de gemeente)', wlz: 'Wlz', zvw: 'Zorgverzekeringswet', pgb: 'pgb',
  private: 'zelf betalen'
};
export function fundingText(f) { return FUNDING[f] || f; }

const CARE_PROFILE = {
  somatic: 'lichamelijke zorg', dementia: 'dementie', disability: 'beperking',
  psychiatric: 'psychische zorg', youth: 'jeugd'
};
export function careProfileText(p) { return CARE_PROFILE[p] || p; }

const TZ = 'Europe/Amsterdam';

// A date 'YYYY-MM-DD' read as that calendar day (noon UTC never crosses a day boundary).
export function dayOf(ymd) { return new Date(ymd + 'T12:00:00Z'); }

// 'donderdag 4 december 2026'
export function formatDate(ymd) {
  if (!ymd) return '';
  return new Intl.DateTimeFormat('nl-NL', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(dayOf(ymd));
}

// '4 dec. 2026'
export function formatDateShort(ymd) {
  if (!ymd) return '';
  return new Intl.DateTimeFormat('nl-NL', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }).format(dayOf(ymd));
}

// An RFC 3339 instant in Dutch time: '4 december 2026 om 09:30'
export function formatDateTime(instant) {
  if (!instant) return '';
  const d = new Date(instant);
  const day = new Intl.DateTimeFormat('nl-NL', { day: 'numeric', month: 'long', year: 'numeric', timeZone: TZ }).format(d);
  const time = new Intl.DateTimeFormat('nl-NL', { hour: '2-digit', minute: '2-digit', timeZone: TZ }).format(d);
  return day + ' om ' + time;
}

// '1 nacht', '3 nachten'
export function nightsText(n) { return n + (n === 1 ? ' nacht' : ' nachten'); }

// Nights between two dates 'YYYY-MM-DD' (check_out exclusive).
export function nightsBetween(checkIn, checkOut) {
  return Math.round((dayOf(checkOut) - dayOf(checkIn)) / 86400000);
}

// Today in the Netherlands as 'YYYY-MM-DD' (en-CA formats that way).
export function today() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: TZ }).format(new Date());
}

export function addDays(ymd, n) {
  const d = dayOf(ymd);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}
