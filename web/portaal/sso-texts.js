// portaal/sso-texts.js: what the sign-in page says when single sign-on with the organisation
// went wrong. The server sends the browser back to /inloggen.html?sso=<reason> (the reasons of
// GET /v1/sso/callback in docs/openapi.yaml); this table turns a reason into plain Dutch.

const TRY_AGAIN = 'Probeer het opnieuw. Lukt het dan nog niet? Log hieronder in met uw ' +
  'e-mailadres en wachtwoord, of vraag de beheerder van Logeerzorg Drenthe om hulp.';

// Tokens that failed a check: one text, because for the person the cause is the same (we
// could not trust the answer); the code after it helps the helpdesk.
const NOT_TRUSTED = 'Wij konden niet controleren dat het antwoord van uw organisatie echt is. ' +
  'Daarom bent u niet ingelogd. ' + TRY_AGAIN;

const UNREACHABLE = 'Wij konden uw organisatie nu niet bereiken. Probeer het over een paar ' +
  'minuten opnieuw. Of log hieronder in met uw e-mailadres en wachtwoord.';

export const SSO_FAILURES = {
  state: 'Het inloggen bij uw organisatie duurde te lang, of is in een ander venster of op ' +
    'een ander apparaat begonnen. ' + TRY_AGAIN,
  idp_error: 'Uw organisatie heeft het inloggen afgebroken of niet toegestaan. ' + TRY_AGAIN,
  disabled: 'Inloggen met uw organisatie staat op dit moment uit. Log hieronder in met uw ' +
    'e-mailadres en wachtwoord.',
  discovery: UNREACHABLE,
  token_exchange: UNREACHABLE,
  unavailable: UNREACHABLE,
  malformed_token: NOT_TRUSTED,
  algorithm: NOT_TRUSTED,
  unknown_key: NOT_TRUSTED,
  signature: NOT_TRUSTED,
  issuer: NOT_TRUSTED,
  audience: NOT_TRUSTED,
  expired: 'Het antwoord van uw organisatie was te oud. Controleer of de klok van uw ' +
    'computer goed staat. ' + TRY_AGAIN,
  issued_at: NOT_TRUSTED,
  nonce: NOT_TRUSTED,
  email: 'Uw organisatie gaf geen bevestigd e-mailadres door. Daarom bent u niet ingelogd. ' +
    'Vraag uw ICT-afdeling om hulp.',
  domain: 'U logde in met een e-mailadres dat niet bij deze organisatie hoort. Log in met het ' +
    'e-mailadres van uw werk.',
  no_account: 'U bent ingelogd bij uw organisatie, maar u heeft nog geen account bij ' +
    'Logeerzorg Drenthe. Wij maken niet zelf een account voor u. Vraag uw leidinggevende of ' +
    'de beheerder om een account voor uw e-mailadres.',
  no_issuer: 'Met dit e-mailadres kunt u niet inloggen via uw organisatie. Log hieronder in ' +
    'met uw e-mailadres en wachtwoord.',
};

// The sentence for a reason; unknown reasons get the general one.
export function ssoFailureText(reason) {
  return SSO_FAILURES[reason] || NOT_TRUSTED;
}
