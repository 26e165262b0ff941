// common/toegangssleutels.js: passkeys (toegangssleutels) for every audience. The browser's
// WebAuthn calls and the /v1 passkey routes in one place: add one to one's own account, list
// and remove them (showPasskeys), sign in without a password (signInWithPasskey) and prove one
// as the second step or a step-up (provePasskey). The server checks everything; this module
// only carries bytes between navigator.credentials and the API (base64url both ways).
import { api, ApiError } from './api.js';
import { el } from './dom.js';
import { formatDateTime } from './status.js';

// Why a ceremony did not finish, in Dutch, for the browser's own refusals (the API's come as
// ApiError with their own sentence from problems.js).
const CANCELLED = 'Het gebruiken van de toegangssleutel is gestopt. Probeer het opnieuw als u wilt.';
const UNSUPPORTED = 'Deze browser kan geen toegangssleutels gebruiken. Gebruik een andere browser of log in met uw wachtwoord.';
const REFUSED_ON_ADD = 'Deze toegangssleutel kon niet worden toegevoegd. Probeer het opnieuw of kies een andere sleutel.';
const ALREADY_ADDED = 'Deze toegangssleutel staat al bij een account.';

export function passkeysSupported() {
  return typeof window.PublicKeyCredential === 'function' && Boolean(navigator.credentials);
}

function fromB64url(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function toB64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// The server's options (binary members base64url) as navigator.credentials wants them.
function descriptors(list) {
  return (list || []).map((d) => ({ type: d.type, id: fromB64url(d.id), transports: d.transports }));
}

function creationOptions(pk) {
  return {
    ...pk,
    challenge: fromB64url(pk.challenge),
    user: { ...pk.user, id: fromB64url(pk.user.id) },
    excludeCredentials: descriptors(pk.excludeCredentials)
  };
}

function requestOptions(pk) {
  const o = { ...pk, challenge: fromB64url(pk.challenge) };
  if (pk.allowCredentials) o.allowCredentials = descriptors(pk.allowCredentials);
  return o;
}

// The browser's answer in the JSON form the API reads.
function credentialJson(cred) {
  const r = cred.response;
  const response = { clientDataJSON: toB64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toB64url(r.attestationObject);
    response.transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
  } else {
    response.authenticatorData = toB64url(r.authenticatorData);
    response.signature = toB64url(r.signature);
    response.userHandle = r.userHandle ? toB64url(r.userHandle) : null;
  }
  return { id: cred.id, rawId: toB64url(cred.rawId), type: cred.type, response };
}

// A browser refusal (cancelled, timed out, no authenticator) as an ApiError-like error with a
// Dutch message, so that pages show every failure the same way.
function browserError(e) {
  if (e instanceof ApiError) return e;
  const message = e && e.name === 'NotSupportedError' ? UNSUPPORTED : CANCELLED;
  return new ApiError(0, null, message, {});
}

async function ceremony(run) {
  if (!passkeysSupported()) throw new ApiError(0, null, UNSUPPORTED, {});
  try {
    return await run();
  } catch (e) {
    throw browserError(e);
  }
}

// Adds a passkey to the signed-in person's account; resolves to the new passkey.
export function addPasskey(label) {
  return ceremony(async () => {
    const options = await api('POST', '/v1/me/passkeys/options');
    const cred = await navigator.credentials.create({ publicKey: creationOptions(options.publicKey) });
    try {
      return await api('POST', '/v1/me/passkeys', { label, credential: credentialJson(cred) });
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) throw new ApiError(422, e.problem, REFUSED_ON_ADD, {});
      if (e instanceof ApiError && e.status === 409) throw new ApiError(409, e.problem, ALREADY_ADDED, {});
      throw e;
    }
  });
}

// Signs in with a passkey alone (cookie session); resolves to the session answer.
export function signInWithPasskey() {
  return ceremony(async () => {
    const options = await api('POST', '/v1/sessions/passkey/options');
    const cred = await navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
    return api('POST', '/v1/sessions/passkey', { credential: credentialJson(cred), cookie: true });
  });
}

// Proves one of the person's passkeys for this session: the second step after the password,
// or a step-up before a sensitive action.
export function provePasskey() {
  return ceremony(async () => {
    const options = await api('POST', '/v1/sessions/current/passkey/options');
    const cred = await navigator.credentials.get({ publicKey: requestOptions(options.publicKey) });
    return api('POST', '/v1/sessions/current/passkey', { credential: credentialJson(cred) });
  });
}

function say(box, text, ok = true) {
  box.className = ok ? 'alert alert--ok' : 'alert alert--error';
  box.textContent = text;
  box.hidden = false;
  box.focus();
}

function item(p, onRemove) {
  const button = el('button', { type: 'button', class: 'button--secondary button--small' },
    'Verwijder ' + (p.label || 'deze toegangssleutel'));
  button.addEventListener('click', () => onRemove(p, button));
  return el('li', { class: 'sessies__item', 'data-sleutel': p.id },
    el('h3', { class: 'sessies__naam' }, p.label || 'Toegangssleutel'),
    el('dl', { class: 'sessies__gegevens' },
      el('dt', {}, 'Toegevoegd op'), el('dd', {}, formatDateTime(p.created_at)),
      el('dt', {}, 'Laatst gebruikt'), el('dd', {}, p.last_used_at ? formatDateTime(p.last_used_at) : 'nog niet')),
    button);
}

// The management block. section holds: a list #sleutels-lijst, a status line
// #sleutels-melding (role status, tabindex -1), a paragraph #sleutels-leeg, and a form
// #sleutel-toevoegen with an input name="label" and a submit button. onAdded(passkey) runs
// after a passkey was added and the list shown again.
export async function showPasskeys(section, { onAdded } = {}) {
  const list = section.querySelector('#sleutels-lijst');
  const box = section.querySelector('#sleutels-melding');
  const empty = section.querySelector('#sleutels-leeg');
  const form = section.querySelector('#sleutel-toevoegen');

  async function load() {
    const keys = (await api('GET', '/v1/me/passkeys')).passkeys || [];
    list.replaceChildren(...keys.map((p) => item(p, remove)));
    list.hidden = keys.length === 0;
    empty.hidden = keys.length > 0;
    return keys;
  }

  async function remove(p, button) {
    button.disabled = true;
    try {
      // A passkey proven too long ago: api.js asks for the second step again (the
      // step-up dialog of tweestaps.js, which offers the passkey) and retries once.
      await api('DELETE', '/v1/me/passkeys/' + encodeURIComponent(p.id));
    } catch (e) {
      button.disabled = false;
      if (!(e instanceof ApiError)) throw e;
      if (e.status !== 404) return say(box, e.message, false);
    }
    await load();
    say(box, 'De toegangssleutel ' + (p.label || '') + ' is verwijderd. ' +
      'Op uw andere apparaten bent u uitgelogd.');
  }

  if (!passkeysSupported()) {
    form.hidden = true;
    say(box, UNSUPPORTED, false);
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const label = form.elements.label.value.trim() || 'Toegangssleutel';
      const added = await addPasskey(label);
      form.reset();
      await load();
      say(box, 'De toegangssleutel ' + added.label + ' is toegevoegd.');
      if (onAdded) await onAdded(added);
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      say(box, e.message, false);
    } finally {
      button.disabled = false;
    }
  });
  return load();
}
