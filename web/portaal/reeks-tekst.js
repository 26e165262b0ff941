// portaal/reeks-tekst.js: a series (logeerreeks) in words, shared by the request page and Mijn
// logeerplekken: its rhythm ("elke 4 weken, 6 keer"), why a date could not be held, and the
// Dutch texts for the series' field errors. No page logic here.
import { addFieldTexts } from '/common/problems.js';
import { formatDateShort, nightsText } from '/common/status.js';

// Why an occurrence was not held (SeriesNotHeld.reason in docs/openapi.yaml).
const NOT_HELD = {
  no_beds: 'geen plek vrij',
  series_share: 'de plekken voor reeksen zijn op deze data al bezet',
  no_companion_place: 'geen plek om zelf mee te logeren',
  allowance_exceeded: 'niet genoeg nachten over in de toekenning'
};
export function notHeldText(b) {
  return `${formatDateShort(b.check_in)}: ${NOT_HELD[b.reason] || 'kan niet'}`;
}

export function everyText(weeks) {
  return weeks === 1 ? 'elke week' : `elke ${weeks} weken`;
}

// 'Elke 4 weken, 6 keer, 2 nachten' or 'Op 3 zelf gekozen data, 2 nachten'
export function rhythmText(series) {
  const n = (series.occurrences || []).length + (series.not_held || []).length;
  const times = `${n} keer`;
  const what = series.rule ? `${everyText(series.rule.every_weeks)}, ${times}`
    : `op ${n} zelf gekozen data`;
  return what.charAt(0).toUpperCase() + what.slice(1) + ', ' + nightsText(series.nights) + ' per keer';
}

addFieldTexts({
  'rule.first_check_in': {
    'this pool takes no arrivals': 'Op deze dag kunt u hier niet aankomen. Kies een andere eerste aankomst.',
    'this pool takes bookings up to': 'Zo ver vooruit kan het hier nog niet.',
    'the stay arriving': (m) => /too soon/.test(m) ? 'De eerste keer is te snel. Kies een latere datum.'
      : /in the past/.test(m) ? 'Deze datum is al voorbij.' : 'Deze datum kan hier niet.',
    required: 'Kies de eerste aankomst.'
  },
  'rule.count': {
    'this pool takes bookings up to': 'Zo vaak kan niet: deze plek boekt niet zo ver vooruit. Kies minder keren.',
    'a series holds at most': 'Een reeks is hoogstens 104 keer.'
  },
  'rule.until': { 'this pool takes bookings up to': 'Zo ver vooruit kan het hier nog niet.' },
  'rule.every_weeks': { 'the stay arriving': 'De keren overlappen. Kies minder nachten of een ruimer ritme.' },
  arrivals: { 'the stay arriving': 'Twee data overlappen. Kies data verder uit elkaar.',
    'must list': 'Vul minstens één datum in.' },
  nights: { 'this pool takes stays of': 'Zo lang of zo kort kan het hier niet. Kies een ander aantal nachten.',
    'the stay arriving': 'Zo past het niet in de vaste blokken van deze plek. Kies een ander aantal nachten.' },
  funding: { 'this pool has no Wmo contract': 'Uw gemeente heeft geen afspraak met deze logeerplek. Kies een andere betaling.',
    'this pool does not accept': 'Deze logeerplek neemt deze betaling niet aan. Kies een andere.' }
});
// Each listed date's own errors ("arrivals[2]").
for (let i = 0; i < 104; i++) {
  addFieldTexts({ [`arrivals[${i}]`]: {
    'this pool takes no arrivals': 'Op deze dag kunt u hier niet aankomen.',
    'the stay arriving': (m) => /too soon/.test(m) ? 'Deze datum is te snel.'
      : /too far/.test(m) ? 'Zo ver vooruit kan het hier nog niet.'
        : /in the past/.test(m) ? 'Deze datum is al voorbij.' : 'Deze datum kan hier niet.',
    'must be a date': 'Vul een datum in.'
  } });
}
