// common/problems.js: the one table that turns the API's problem types and field errors into
// plain Dutch (B1) sentences. api.js uses it for every error; pages add texts for their own
// fields with addFieldTexts() rather than writing their own tables.

export const NETWORK_MESSAGE =
  'Er is geen verbinding met de server. Controleer uw internet en probeer het opnieuw.';

// Keyed by the last segment of the problem type URI (see docs/openapi.yaml, Problem).
const BY_TYPE = {
  'bad-request': 'Er ging iets mis met uw verzoek. Laad de pagina opnieuw en probeer het nog eens.',
  'unauthorized': 'U bent niet (meer) ingelogd. Log opnieuw in.',
  'bad-credentials': 'Het e-mailadres of het wachtwoord klopt niet.',
  'forbidden': 'U mag dit niet doen met dit account.',
  'csrf-failed': 'Uw sessie is niet meer geldig voor deze pagina. Laad de pagina opnieuw.',
  'second-factor-required': 'Bevestig eerst met uw tweede stap (code of toegangssleutel) dat u het bent.',
  'step-up-required': 'Dit is een gevoelige handeling. Bevestig opnieuw met uw tweede stap.',
  'passkey-refused': 'De toegangssleutel werd niet geaccepteerd. Probeer het opnieuw, of log in met uw wachtwoord.',
  'not-found': 'Dit hebben we niet gevonden. Misschien is het al verwijderd.',
  'method-not-allowed': 'Dit kan hier niet.',
  'not-acceptable': 'Dit kan hier niet.',
  'conflict': 'Dit bestaat al of is net veranderd. Laad de pagina opnieuw.',
  'no-beds': 'Er is net geen plek meer vrij op deze data.',
  'invalid-transition': 'Dit kan niet meer: de logeerplek is ondertussen veranderd.',
  'idempotency-in-progress': 'Uw vorige verzoek is nog bezig. Wacht even en probeer het opnieuw.',
  'idempotency-key-reused': 'Er ging iets mis met uw verzoek. Laad de pagina opnieuw.',
  'request-timeout': 'Het duurde te lang. Probeer het opnieuw.',
  'precondition-failed': 'De gegevens zijn net veranderd. Laad de pagina opnieuw.',
  'precondition-required': 'De gegevens zijn net veranderd. Laad de pagina opnieuw.',
  'payload-too-large': 'U heeft te veel tekst ingevuld. Maak het korter.',
  'uri-too-long': 'Uw zoekvraag is te lang. Maak het korter.',
  'header-fields-too-large': 'Er ging iets mis met uw verzoek. Laad de pagina opnieuw.',
  'unsupported-media-type': 'Er ging iets mis met uw verzoek. Laad de pagina opnieuw.',
  'validation': 'Niet alles is goed ingevuld. Kijk de velden hieronder na.',
  'rate-limited': 'U heeft het te vaak geprobeerd. Wacht een paar minuten en probeer het opnieuw.',
  'intake-required': 'Deze logeerplek wil eerst kennismaken met uw naaste. Vraag eerst een kennismaking aan.',
  'allowance-required': 'Voor deze betaling is eerst een toekenning (indicatie) nodig. Vul die in bij Mijn naaste, of kies een andere betaling.',
  'allowance-exceeded': 'Er zijn niet genoeg nachten over in uw toekenning. Kies minder nachten of een andere betaling.',
  'no-companion-place': 'Er is op deze data geen plek meer vrij om zelf mee te logeren. Vraag aan zonder mee te logeren, of kies andere data.',
  'internal': 'Er ging iets mis bij ons. Probeer het later opnieuw.',
  'not-implemented': 'Er ging iets mis met uw verzoek. Laad de pagina opnieuw.',
  'unavailable': 'De dienst is even niet bereikbaar. Probeer het over een paar minuten opnieuw.',
  'http-version-not-supported': 'Er ging iets mis met uw verzoek. Laad de pagina opnieuw.'
};

// When the type is unknown (or missing), the status decides.
const BY_STATUS = {
  400: BY_TYPE['bad-request'], 401: BY_TYPE.unauthorized, 403: BY_TYPE.forbidden,
  404: BY_TYPE['not-found'], 409: BY_TYPE.conflict, 422: BY_TYPE.validation,
  429: BY_TYPE['rate-limited'], 503: BY_TYPE.unavailable
};
const FALLBACK = 'Er ging iets mis. Probeer het later opnieuw.';

export function problemType(problem) {
  const t = problem && typeof problem.type === 'string' ? problem.type : '';
  return t.slice(t.lastIndexOf('/') + 1);
}

export function problemMessage(problem, status) {
  return BY_TYPE[problemType(problem)] || BY_STATUS[status] ||
    (status >= 500 ? BY_TYPE.internal : FALLBACK);
}

// Field texts: { field: { required, invalid, <english-message-start>: text } }. The API's
// own messages are English and technical; 'required' answers "is required", a key that the
// English message starts with answers that message, 'invalid' answers everything else. A
// text may be a function of the English message, for a sentence that repeats a value in it.
const FIELD_TEXTS = {
  email: {
    required: 'Vul uw e-mailadres in.',
    invalid: 'Vul een geldig e-mailadres in, zoals naam@voorbeeld.nl.'
  },
  password: {
    required: 'Vul uw wachtwoord in.',
    'must be at least': 'Kies een wachtwoord van minstens 12 tekens.',
    invalid: 'Kies een ander wachtwoord: dit wachtwoord is te bekend of te kort.'
  },
  current_password: {
    required: 'Vul uw huidige wachtwoord in.',
    'is not your current': 'Dit is niet uw huidige wachtwoord. Probeer het opnieuw.',
    invalid: 'Vul uw huidige wachtwoord in.'
  },
  new_password: {
    required: 'Kies een nieuw wachtwoord.',
    'must be at least': 'Kies een wachtwoord van minstens 12 tekens.',
    'must differ': 'Kies een ander wachtwoord dan uw huidige.',
    invalid: 'Kies een ander wachtwoord: dit wachtwoord is te bekend of te kort.'
  },
  municipality: {
    required: 'Kies uw gemeente.',
    'is required for wmo': 'Kies de gemeente die de Wmo-toekenning gaf.',
    invalid: 'Kies een gemeente uit de lijst.'
  },
  display_name: { invalid: 'Vul een naam in van hoogstens 200 tekens.' },
  check_in: { required: 'Kies een aankomstdatum.', invalid: 'Vul een bestaande datum in.' },
  check_out: { required: 'Kies een vertrekdatum.', invalid: 'Vul een bestaande datum in.' },
  nights: { required: 'Vul het aantal nachten in.', invalid: 'Vul een aantal nachten in.' },
  funding: { required: 'Kies hoe de logeerzorg betaald wordt.', invalid: 'Kies een betaling uit de lijst.' },
  care_profile: { required: 'Kies het soort zorg.', invalid: 'Kies een soort zorg uit de lijst.' },
  'guest.alias': { required: 'Vul een roepnaam of initialen in.', invalid: 'Vul een roepnaam of initialen in van hoogstens 200 tekens.' },
  'guest.birth_year': { required: 'Vul het geboortejaar in.', invalid: 'Vul een geboortejaar in van vier cijfers.' },
  'guest.care_profile': { required: 'Kies het soort zorg.', invalid: 'Kies een soort zorg uit de lijst.' },
  // A kennismaking (POST /v1/intakes).
  moments: { required: 'Schrijf op wanneer het u uitkomt.', invalid: 'Schrijf het korter op: hoogstens 500 tekens.' },
  location_id: { invalid: 'Deze logeerplek kennen we niet. Zoek de logeerplek opnieuw.' },
  // A toekenning (POST /v1/allowances). The API's own sentences start as the keys say.
  nights_per_week: {
    'give nights_per_week': 'Vul in hoeveel nachten per week of per jaar zijn toegekend. Allebei mag ook.',
    invalid: 'Vul een aantal nachten per week in van 0 tot 7.'
  },
  nights_per_year: { invalid: 'Vul een aantal nachten per jaar in van 0 tot 366.' },
  valid_from: { required: 'Vul in vanaf wanneer de toekenning geldt.', invalid: 'Vul een bestaande datum in.' },
  valid_to: {
    required: 'Vul in tot wanneer de toekenning geldt.',
    'must not be before': 'De einddatum ligt vóór de begindatum. Kijk de data na.',
    'an allowance is at most': 'Een toekenning duurt hoogstens 10 jaar. Kijk de einddatum na.',
    invalid: 'Vul een bestaande datum in.'
  },
  // A webhook endpoint (POST/PATCH /v1/webhook-endpoints). The API's own sentences start as
  // the keys say.
  url: {
    required: 'Vul het internetadres van uw systeem in.',
    'must not point at this machine or a private network':
      'Dit adres is van een intern netwerk of van deze computer. Daar sturen wij om veiligheidsredenen niets heen. Vul het adres in dat vanaf internet bereikbaar is.',
    'must use http or https': 'Het adres moet beginnen met https://.',
    'must not carry a user name or password': 'Zet geen gebruikersnaam of wachtwoord in het adres.',
    invalid: 'Vul een volledig internetadres in, zoals https://planning.uworganisatie.nl/logeerzorg.'
  },
  event_types: { required: 'Kies minstens één gebeurtenis.', invalid: 'Kies minstens één gebeurtenis uit de lijst.' },
  description: { invalid: 'Maak de omschrijving korter: hoogstens 500 tekens.' },
  // Staying along and transport (POST /v1/stays, PATCH /v1/stays/{id}). The API names the
  // pool's window in Dutch after the colon ("... window: aankomst tussen 14:00 en 17:00"), so
  // the sentence can say which times fit.
  companion: {
    'this pool has no place': 'Bij deze logeerplek kunt u niet zelf mee logeren.',
    invalid: 'Kies of u zelf mee logeert.'
  },
  'arrival.by': { required: 'Kies wie uw naaste brengt.', invalid: 'Kies wie uw naaste brengt.' },
  'arrival.time': {
    'must lie inside': (m) => `Deze tijd past niet: ${windowWords(m)}. Kies een tijd daartussen.`,
    invalid: 'Vul een tijd in, zoals 15:30.'
  },
  'arrival.note': {
    'must not hold a citizen service number': 'Dit lijkt op een burgerservicenummer (BSN). Schrijf alleen praktische afspraken op.',
    invalid: 'Schrijf het korter op: hoogstens 300 tekens.'
  },
  'departure.by': { required: 'Kies wie uw naaste ophaalt.', invalid: 'Kies wie uw naaste ophaalt.' },
  'departure.time': {
    'must lie inside': (m) => `Deze tijd past niet: ${windowWords(m)}. Kies een tijd daartussen.`,
    invalid: 'Vul een tijd in, zoals 10:30.'
  },
  'departure.note': {
    'must not hold a citizen service number': 'Dit lijkt op een burgerservicenummer (BSN). Schrijf alleen praktische afspraken op.',
    invalid: 'Schrijf het korter op: hoogstens 300 tekens.'
  },
  // A code of the two-step sign-in (common/tweestaps.js): from the app or a recovery code.
  code: {
    required: 'Vul de code in.',
    'must be the 6 digits': 'Vul de 6 cijfers in die de app nu laat zien.',
    'was already used': 'Deze code is net al gebruikt. Wacht tot de app een nieuwe code laat zien en vul die in.',
    'is wrong': 'Deze code klopt niet. Kijk goed of u de nieuwste code invult, of probeer een herstelcode.',
    invalid: 'Deze code klopt niet.'
  },
  reference: {
    'must not be a citizen service number':
      'Dit lijkt op een burgerservicenummer (BSN). Dat vullen we nooit in, om uw privacy te beschermen. Vul het nummer van de beschikking in, zoals WMO-2026-0042.',
    invalid: 'Vul een kenmerk in van hoogstens 100 tekens.'
  }
};

// The Dutch window the API puts after the colon ("aankomst tussen 14:00 en 17:00"), or a
// general phrase when the message has none.
function windowWords(english) {
  const m = /: ((?:aankomst|vertrek) tussen \d\d:\d\d en \d\d:\d\d)/.exec(english);
  return m ? m[1] + ' uur' : 'de logeerplek heeft vaste tijden';
}

const GENERIC_REQUIRED = 'Vul dit veld in.';
const GENERIC_INVALID = 'Dit is niet goed ingevuld.';

// Pages add texts for their own fields; later additions win.
export function addFieldTexts(texts) {
  for (const [field, t] of Object.entries(texts)) FIELD_TEXTS[field] = { ...(FIELD_TEXTS[field] || {}), ...t };
}

export function fieldMessage(field, english) {
  const t = FIELD_TEXTS[field] || {};
  const msg = typeof english === 'string' ? english : '';
  if (msg === 'is required') return t.required || GENERIC_REQUIRED;
  for (const [start, text] of Object.entries(t))
    if (start !== 'required' && start !== 'invalid' && msg.startsWith(start))
      return typeof text === 'function' ? text(msg) : text;
  return t.invalid || GENERIC_INVALID;
}

// problem.errors [{field, message}] -> { field: Dutch sentence } (first message per field).
export function fieldMessages(problem) {
  const out = {};
  const list = problem && Array.isArray(problem.errors) ? problem.errors : [];
  for (const e of list) {
    if (!e || typeof e.field !== 'string' || out[e.field]) continue;
    out[e.field] = fieldMessage(e.field, e.message);
  }
  return out;
}
