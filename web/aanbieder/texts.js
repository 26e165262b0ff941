// aanbieder/texts.js: the bed board's own Dutch words (B1), next to the page that shows them.
// Stay statuses, funding and care profiles come from /common/status.js, error sentences from
// /common/problems.js.

export const KIND = {
  planned: {
    title: 'Planbare logeerbedden',
    intro: 'Bedden die mantelzorgers zelf van tevoren boeken.'
  },
  crisis: {
    title: 'Crisisbedden',
    intro: 'Bedden voor spoed. Alleen verwijzers (zoals de huisarts) boeken deze bedden.'
  }
};

export const DAYS = {
  alle: () => true,
  werkdagen: (weekday) => weekday >= 1 && weekday <= 5,
  weekend: (weekday) => weekday === 0 || weekday === 6
};

export const MOVEMENT = { arrival: 'Aankomst', departure: 'Vertrek' };

export const NOT_PROVIDER =
  'Deze pagina is voor medewerkers van een zorgaanbieder. Log in met het account van uw organisatie.';

export function bedsText(n) { return n + (n === 1 ? ' bed' : ' bedden'); }

// One cell of the board: what is free first, then the figures behind it.
export function freeText(night) {
  if (night.capacity === 0) return 'geen bedden';
  return night.free === 0 ? 'vol' : night.free + ' vrij';
}
export function detailText(night) {
  return bedsText(night.capacity) + ', ' + night.booked + ' geboekt, ' + night.held + ' vastgehouden';
}

export function staleText(days) {
  return 'Verouderd: niet bevestigd sinds ' + days + (days === 1 ? ' dag' : ' dagen');
}

// The actions on a stay: the question asked before it happens (none can be undone).
export const ACTIONS = {
  decline: {
    title: 'Aanvraag afwijzen', yes: 'Ja, afwijzen', reason: true,
    text: (g) => 'U wijst de aanvraag voor ' + g + ' af. Dit kunt u niet terugdraaien.',
    done: (g) => 'De aanvraag voor ' + g + ' is afgewezen. De mantelzorger krijgt uw reden te zien.'
  },
  accept: {
    done: (g) => 'De aanvraag voor ' + g + ' is geaccepteerd.'
  },
  // A whole series (logeerreeks): every date that still waits for an answer at once.
  'reeks-accept': {
    done: (g) => 'Alle wachtende data van de reeks voor ' + g + ' zijn geaccepteerd.'
  },
  'reeks-decline': {
    title: 'Hele reeks afwijzen', yes: 'Ja, de hele reeks afwijzen', reason: true,
    text: (g) => 'U wijst alle wachtende data van de reeks voor ' + g + ' af. Dit kunt u niet terugdraaien.',
    done: (g) => 'De reeks voor ' + g + ' is afgewezen. De mantelzorger krijgt uw reden te zien.'
  },
  'check-in': {
    title: 'Aangekomen', yes: 'Ja, is aangekomen', reason: false,
    text: (g) => 'Is ' + g + ' aangekomen? Dit kunt u niet terugdraaien.',
    done: (g) => g + ' is aangekomen.'
  },
  'check-out': {
    title: 'Vertrokken', yes: 'Ja, is vertrokken', reason: false,
    text: (g) => 'Is ' + g + ' vertrokken? Dit kunt u niet terugdraaien.',
    done: (g) => g + ' is vertrokken. Het logeren is afgerond.'
  },
  'no-show': {
    title: 'Niet gekomen', yes: 'Ja, niet gekomen', reason: false,
    text: (g) => 'Is ' + g + ' niet gekomen? Het bed komt dan weer vrij. Dit kunt u niet terugdraaien.',
    done: (g) => 'Genoteerd: ' + g + ' is niet gekomen.'
  },
  cancel: {
    title: 'Logeren annuleren', yes: 'Ja, annuleren', reason: true,
    text: (g) => 'U annuleert het logeren van ' + g + '. Dit kunt u niet terugdraaien.',
    done: (g) => 'Het logeren van ' + g + ' is geannuleerd. De mantelzorger krijgt uw reden te zien.'
  }
};

// Needs are free tokens (facilities the guest needs, risks a location may exclude); the known
// ones in words, any other as given.
const NEEDS = {
  wheelchair: 'rolstoel', hoist: 'tillift', night_care: 'zorg in de nacht',
  sensory_room: 'snoezelruimte', dementia: 'dementie', garden: 'tuin', animals: 'dieren',
  partner_can_stay: 'partner blijft mee', psychiatric_care: 'psychische zorg',
  wandering_risk: 'kan weglopen', aggression: 'kan agressief zijn'
};
export function needsText(list) {
  return list.map((n) => NEEDS[n] || n.replace(/_/g, ' ')).join(', ');
}

// Why a line of an imported CSV was refused (the codes of POST /v1/capacity/import).
export const IMPORT_CODES = {
  columns: 'de kolommen kloppen niet. De eerste regel moet pool_id, first_night, last_night en beds noemen.',
  unknown_pool: 'deze groep kennen we niet bij uw organisatie. Gebruik de code uit het voorbeeldbestand.',
  date: 'dit is geen bestaande datum. Schrijf datums als 2026-12-31.',
  past: 'de eerste nacht ligt in het verleden.',
  order: 'de laatste nacht ligt voor de eerste nacht.',
  too_long: 'één regel mag hoogstens 731 nachten beslaan.',
  too_far: 'zo ver vooruit kan niemand boeken.',
  beds: 'het aantal bedden moet een heel getal zijn van 0 tot en met 500.',
  overlap: 'deze nachten staan al in een andere regel voor dezelfde groep.',
  too_many: 'het bestand is te lang. Gebruik hoogstens 500 regels per keer.',
  empty: 'er staan geen regels onder de eerste regel.',
  below_reserved: 'op deze nachten zijn al meer bedden geboekt of vastgehouden.'
};

// A location's facilities and exclusions as the settings page offers them (the API's tokens;
// a token not listed here is shown as written, with spaces for _).
export const FACILITIES = {
  dementia: 'Ingericht voor mensen met dementie',
  night_care: 'Zorg in de nacht',
  nursing_care: 'Verpleging',
  wheelchair: 'Rolstoel past overal',
  hoist: 'Tillift',
  partner_can_stay: 'Partner kan mee logeren',
  garden: 'Tuin',
  animals: 'Dieren',
  sensory_room: 'Snoezelruimte',
  psychiatric_care: 'Psychische zorg'
};
export const EXCLUSIONS = {
  wandering_risk: 'Mensen die weglopen of de weg kwijtraken',
  aggression: 'Mensen die boos of agressief kunnen worden',
  day_night_rhythm: 'Mensen met een verstoord dag- en nachtritme',
  advanced_dementia: 'Mensen met vergevorderde dementie'
};
export function tokenText(token, words) {
  return words[token] || token.replace(/_/g, ' ');
}
// ---- kennismakingen (intakes) ---------------------------------------------------------------

// The outcomes of a kennismaking as the planner chooses them and as the list reports them.
export const INTAKE_OUTCOME = {
  welcome: 'Welkom',
  trial_first: 'Eerst een proefverblijf',
  not_suitable: 'Niet passend'
};

export const INTAKE_STATUS = {
  requested: 'Gevraagd, nog geen afspraak',
  scheduled: 'Afspraak gemaakt'
};

// What the planner reads after a step on a kennismaking.
export const INTAKE_DONE = {
  schedule: (g, when) => 'De kennismaking met ' + g + ' staat op ' + when + '. De mantelzorger ziet de afspraak.',
  welcome: (g) => 'Vastgelegd: ' + g + ' is welkom. De mantelzorger kan nu logeren boeken.',
  trial_first: (g, n) => 'Vastgelegd: ' + g + ' komt eerst op proef, hoogstens ' + n + (n === 1 ? ' nacht.' : ' nachten.'),
  not_suitable: (g) => 'Vastgelegd: ' + g + ' past hier niet. De mantelzorger leest uw reden.'
};

// Field errors of POST /v1/intakes/{id}/schedule and /decide, in Dutch at the field.
export const INTAKE_FIELDS = {
  at: { required: 'Kies een datum en een tijd.', invalid: 'Kies een bestaande datum en tijd.' },
  outcome: { required: 'Kies een uitkomst.', invalid: 'Kies een uitkomst.' },
  trial_max_nights: {
    required: 'Vul in hoeveel nachten het proefverblijf hoogstens duurt.',
    invalid: 'Vul bij het proefverblijf een aantal nachten in van 1 tot en met 28.'
  },
  reason: {
    'is required': 'Schrijf de reden voor de mantelzorger.',
    invalid: 'Schrijf een reden van hoogstens 1000 tekens.'
  },
  notes: { invalid: 'Schrijf een opmerking van hoogstens 1000 tekens.' }
};

// ---- aankomst en vertrek: vervoer en mantelzorger --------------------------------------------

const TRANSPORT_BY = { caregiver: 'de mantelzorger', provider: 'wij (de zorgaanbieder)', other: 'iemand anders' };

// "Brengt: de mantelzorger, om 15:30." or null when not arranged (the note goes on a line of
// its own).
export function transportText(movement, t) {
  if (!t) return null;
  const verb = movement === 'arrival' ? 'Brengt: ' : 'Haalt op: ';
  return verb + (TRANSPORT_BY[t.by] || t.by) + (t.time ? ', om ' + t.time : '') + '.';
}
export const NO_TRANSPORT = { arrival: 'Brengen: nog niet afgesproken.', departure: 'Ophalen: nog niet afgesproken.' };
export const COMPANION = 'Mantelzorger blijft logeren';

// ---- instellingen: weekdagen --------------------------------------------------------------------

export const WEEKDAYS = ['maandag', 'dinsdag', 'woensdag', 'donderdag', 'vrijdag', 'zaterdag', 'zondag'];
