// dashboard/organisatie-inloggen.js: the admin's page for single sign-on per provider. Owns the
// list of registered issuers as the page shows it (GET /v1/sso-issuers), adding one (POST with
// an Idempotency-Key, the secret sent once and cleared from the form at once), switching one
// off and on (PATCH with If-Match) and removing one after a confirmation. Only the admin may:
// the server refuses everyone else, and the page says so instead of showing a form.
import { api, ApiError, newIdempotencyKey } from '/common/api.js';
import { el } from '/common/dom.js';
import { clearErrors, formValues, missingFields, showErrors, whileBusy } from '/common/form.js';
import { initPage } from '/common/layout.js';
import { addFieldTexts } from '/common/problems.js';

const $ = (id) => document.getElementById(id);
const form = $('toevoegen');
const state = { issuers: [], providers: new Map(), createKey: null };

// The server's field messages in plain Dutch (first words of its English message).
addFieldTexts({
  issuer: { invalid: 'Vul een adres in dat met https:// begint, zonder ? of # erin.',
            must: 'Vul een adres in dat met https:// begint, zonder ? of # erin.' },
  email_domains: { 'a domain already belongs': 'Een van deze domeinen hoort al bij een ' +
                     'andere organisatie. Een domein kan maar bij één organisatie horen.',
                   invalid: 'Vul domeinen in zoals esdorp.nl, met een komma ertussen.' },
  client_secret: { invalid: 'Het clientgeheim mag hoogstens 63 tekens lang zijn.' },
  client_id: { invalid: 'Vul de client-ID in (hoogstens 255 tekens).' },
});

function fail(e) {
  const f = $('fout');
  f.textContent = e instanceof ApiError ? e.message : 'Er ging iets mis. Laad de pagina opnieuw.';
  f.hidden = false;
  f.focus();
  if (!(e instanceof ApiError)) throw e;
}

function say(text) {
  const m = $('melding');
  m.textContent = text;
  m.hidden = !text;
  if (text) m.focus();
}

function providerName(id) {
  return state.providers.get(id) || 'Onbekende zorgaanbieder';
}

// ---- the list ----------------------------------------------------------------------------------

async function toggle(issuer) {
  say('');
  try {
    await api('PATCH', '/v1/sso-issuers/' + encodeURIComponent(issuer.id),
      { enabled: !issuer.enabled }, { headers: { 'If-Match': '"' + issuer.version + '"' } });
    await load();
    say(issuer.enabled ? 'Inloggen via ' + providerName(issuer.provider_id) + ' staat nu uit.'
      : 'Inloggen via ' + providerName(issuer.provider_id) + ' staat nu aan.');
  } catch (e) {
    fail(e);
  }
}

async function remove(issuer) {
  const name = providerName(issuer.provider_id);
  if (!window.confirm('Wilt u inloggen via de organisatie voor ' + name + ' echt verwijderen? ' +
    'Medewerkers loggen daarna weer in met hun wachtwoord.')) return;
  say('');
  try {
    await api('DELETE', '/v1/sso-issuers/' + encodeURIComponent(issuer.id));
    await load();
    say('Inloggen via de organisatie voor ' + name + ' is verwijderd.');
  } catch (e) {
    fail(e);
  }
}

function row(issuer) {
  const name = providerName(issuer.provider_id);
  const onOff = el('button', { type: 'button', class: 'button--secondary button--small' },
    issuer.enabled ? 'Uitzetten' : 'Aanzetten', el('span', { class: 'visually-hidden' }, ' voor ' + name));
  onOff.addEventListener('click', () => toggle(issuer));
  const del = el('button', { type: 'button', class: 'button--secondary button--small' },
    'Verwijderen', el('span', { class: 'visually-hidden' }, ' voor ' + name));
  del.addEventListener('click', () => remove(issuer));
  return el('tr', {},
    el('th', { scope: 'row' }, name),
    el('td', { class: 'adres' }, issuer.issuer),
    el('td', {}, issuer.email_domains.join(', ')),
    el('td', {}, issuer.idp_factor ? 'Ja' : 'Nee'),
    el('td', {}, issuer.enabled ? 'Aan' : 'Uit'),
    el('td', {}, el('div', { class: 'button-group' }, onOff, del)));
}

function drawList() {
  const box = $('lijst');
  if (!state.issuers.length) {
    box.replaceChildren(el('p', {}, 'Er is nog geen organisatie aangemeld.'));
    return;
  }
  const head = el('tr', {}, ...['Zorgaanbieder', 'Inlogdienst', 'E-maildomeinen',
    'Tweede stap telt', 'Stand', 'Wijzigen'].map((t) => el('th', { scope: 'col' }, t)));
  box.replaceChildren(el('div', { class: 'table-scroll', tabindex: '0', role: 'region',
    'aria-labelledby': 'lijst-kop' },
  el('table', {}, el('thead', {}, head), el('tbody', {}, ...state.issuers.map(row)))));
}

async function load() {
  const answer = await api('GET', '/v1/sso-issuers?limit=200');
  state.issuers = answer.sso_issuers || [];
  drawList();
}

// ---- adding one --------------------------------------------------------------------------------

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors(form);
  say('');
  const missing = missingFields(form);
  if (Object.keys(missing).length) {
    showErrors(form, { fields: missing });
    return;
  }
  const v = formValues(form);
  const body = {
    provider_id: v.provider_id,
    issuer: v.issuer,
    client_id: v.client_id,
    client_secret: v.client_secret,
    email_domains: v.email_domains.split(',').map((d) => d.trim()).filter(Boolean),
    idp_factor: form.elements.idp_factor.checked,
  };
  state.createKey = state.createKey || newIdempotencyKey();
  try {
    const made = await whileBusy(form, () => api('POST', '/v1/sso-issuers', body,
      { idempotencyKey: state.createKey }));
    state.createKey = null;
    form.reset();
    await load();
    say('Medewerkers van ' + providerName(made.provider_id) + ' kunnen nu inloggen met hun ' +
      'organisatie. Het clientgeheim is versleuteld bewaard.');
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    form.elements.client_secret.value = '';
    showErrors(form, e);
  }
});

// ---- start -------------------------------------------------------------------------------------

const user = await initPage({ requireLogin: true });
$('terugkeeradres').textContent = location.origin + '/v1/sso/callback';
if (user.role !== 'admin') {
  fail(new ApiError(403, null, 'Deze pagina is alleen voor de beheerder van Logeerzorg Drenthe.', {}));
} else {
  try {
    const providers = await api('GET', '/v1/providers?limit=200');
    for (const p of providers.providers || []) state.providers.set(p.id, p.name);
    $('provider_id').replaceChildren(el('option', { value: '' }, 'Kies een zorgaanbieder'),
      ...[...state.providers].map(([id, name]) => el('option', { value: id }, name)));
    await load();
    $('inhoud').hidden = false;
  } catch (e) {
    fail(e);
  }
}
