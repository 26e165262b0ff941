// common/api.js: the one way every page talks to the /v1 API. It sends the cookie session
// (never a token readable by script), adds the CSRF header to unsafe methods and turns
// problem+json answers into Dutch sentences (problems.js), so no page ever shows JSON.
// Plain ES module, no build step; see web/common/README.md for the contract.

import { problemMessage, fieldMessages, NETWORK_MESSAGE } from './problems.js';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
// Named with the __Host- prefix where the service is reached over HTTPS (src/api/web.c).
const CSRF_COOKIES = ['__Host-logeer_csrf', 'logeer_csrf'];

// An API answer that was not 2xx (or no answer at all: status 0).
export class ApiError extends Error {
  constructor(status, problem, message, fields) {
    super(message);
    this.name = 'ApiError';
    this.status = status;          // HTTP status; 0 when the server could not be reached
    this.problem = problem;        // the parsed problem+json, or null
    this.fields = fields;          // { fieldName: 'Dutch sentence' } from problem.errors
  }

  // The last segment of the problem type URI, e.g. 'no-beds'; '' when there is none.
  get type() {
    const t = this.problem && typeof this.problem.type === 'string' ? this.problem.type : '';
    return t.slice(t.lastIndexOf('/') + 1);
  }
}

// The double-submit CSRF token the server set at login (readable on purpose; the session
// cookie itself is HttpOnly). Empty when not logged in through the cookie session.
export function csrfToken() {
  for (const part of document.cookie.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (CSRF_COOKIES.includes(name)) return decodeURIComponent(rest.join('='));
  }
  return '';
}

async function toError(resp) {
  let problem = null;
  const type = resp.headers.get('Content-Type') || '';
  if (type.includes('json')) problem = await resp.json().catch(() => null);
  if (problem !== null && typeof problem !== 'object') problem = null;
  return new ApiError(resp.status, problem, problemMessage(problem, resp.status),
    fieldMessages(problem));
}

// api('GET', '/v1/stays') -> parsed JSON; null for 204. Throws ApiError otherwise.
// options: { idempotencyKey, raw (return the Response, for CSV/ICS), headers, signal, accept,
//            factorHandling (false: a 403 of the two-step sign-in is thrown like any other) }
export async function api(method, path, body, options = {}) {
  const m = method.toUpperCase();
  const headers = { Accept: options.accept || 'application/json', ...(options.headers || {}) };
  const init = { method: m, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined && body !== null) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (UNSAFE.has(m)) {
    const csrf = csrfToken();
    if (csrf) headers['X-CSRF-Token'] = csrf;
  }
  if (options.idempotencyKey) headers['Idempotency-Key'] = options.idempotencyKey;
  if (options.signal) init.signal = options.signal;
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, null, NETWORK_MESSAGE, {});
  }
  if (!resp.ok) {
    const error = await toError(resp);
    if (resp.status === 403 && options.factorHandling !== false) {
      const retry = await secondFactor(error, options);
      if (retry) return api(method, path, body, { ...options, factorHandling: false });
    }
    throw error;
  }
  if (options.raw) return resp;
  if (resp.status === 204) return null;
  const text = await resp.text();
  return text ? JSON.parse(text) : null;
}

// The two-step sign-in's refusals (common/tweestaps.js). second-factor-required: this session
// has not proven a second factor yet, so the person goes to the second step (or to set one up)
// and comes back; the promise never settles because the page is being left. step-up-required:
// a sensitive action wants a recent code; a dialog asks one, and true means "retry once".
async function secondFactor(error, options) {
  if (error.type !== 'second-factor-required' && error.type !== 'step-up-required') return false;
  const tweestaps = await import('./tweestaps.js');
  if (error.type === 'second-factor-required') {
    location.assign(tweestaps.secondFactorPage(Boolean(error.problem && error.problem.enrolled)));
    return new Promise(() => {});
  }
  return tweestaps.askStepUp();
}

// A fresh Idempotency-Key for one user action; reuse it when retrying that same action.
export function newIdempotencyKey() {
  return crypto.randomUUID();
}

// The logged-in account (GET /v1/me), or null when nobody is logged in.
export async function currentUser() {
  try {
    return await api('GET', '/v1/me');
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

// Logs in with the cookie session; resolves to the session answer ({expires_at, user, ...}).
export function login(email, password) {
  return api('POST', '/v1/sessions', { email, password, cookie: true });
}

// Ends the session; the server clears both cookies. Never fails for an already dead session.
export async function logout() {
  try {
    await api('DELETE', '/v1/sessions/current');
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) throw e;
  }
}

// Registers a caregiver account (POST /v1/caregivers); log in afterwards.
// account: { email, password, municipality: 'GM0106', display_name? }
export function register(account) {
  return api('POST', '/v1/caregivers', account);
}
