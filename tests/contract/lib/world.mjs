// world.mjs: the running server as the fuzzer knows it. Logs in every demo role before any
// fuzzing (the login rate limit would refuse later logins from this address), keeps spare
// sessions and throwaway caregivers for operations that end the caller's own session or
// account, gathers real ids from every list operation of the contract, and sends requests:
// numbering them (X-Request-Id), counting statuses per operation and remembering every answer
// that showed a guest's data, for the access-log check after the run.
import { randomBytes } from 'node:crypto';

import { Connection, encodeRequest } from './client.mjs';
import { encode } from './requests.mjs';

// The demo accounts of README.md, one per role.
export const DEMO_ACCOUNTS = {
  admin: 'beheer@demo.logeer.nl',
  coordinator: 'aanjager@demo.logeer.nl',
  caregiver: 'mantelzorger@demo.logeer.nl',
  referrer: 'huisarts@demo.logeer.nl',
  provider: 'planner@esdorp.demo.logeer.nl',
};
export const DEMO_PASSWORD = 'logeerzorg-demo';
const DAY = 86400000;

// An operation that acts on the caller itself (DELETE without an id: log out, erase my
// account) would end the session the rest of the run depends on. It runs with spare sessions,
// and as a caregiver with throwaway accounts, never with the role's own session.
export function endsCaller(op) {
  return op.method === 'DELETE' && !op.path.includes('{');
}

export class World {
  constructor(spec, baseUrl, { timeoutMs }) {
    const url = new URL(baseUrl);
    this.spec = spec;
    this.host = url.host;
    this.conn = new Connection(url.hostname, Number(url.port || 80), { timeoutMs });
    this.tokens = { anonymous: null };
    this.users = {}; // role -> the user object of its login answer
    this.spares = new Map(); // op id -> { role: token } for operations that end the caller
    this.collections = new Map(); // '/v1/pools' -> Set of ids
    this.today = Date.now();
    this.sent = 0;
    this.counter = 0;
    this.runId = randomBytes(3).toString('hex');
    this.perOperation = new Map(); // op id -> Map(status -> count)
    this.guestViews = [];
  }

  // ---- sending -------------------------------------------------------------------------

  async send(req, { tokens } = {}) {
    const requestId = `fz-${this.runId}-${++this.counter}`;
    const wire = encode(req, { host: this.host, tokens: tokens || this.spares.get(req.op.id) || this.tokens, requestId });
    const answer = await this.conn.exchange(encodeRequest(wire));
    this.sent++;
    this.#count(req.op.id, answer.error ? 'no answer' : answer.status);
    if (!answer.error && answer.status < 300) this.#noteGuestViews(req.op, answer);
    return { wire, answer };
  }

  #count(opId, status) {
    if (!this.perOperation.has(opId)) this.perOperation.set(opId, new Map());
    const m = this.perOperation.get(opId);
    m.set(status, (m.get(status) || 0) + 1);
  }

  // Guest data shown: a stay with its guest (an object with a guest member and a pool or
  // dates), an access-log entry naming a guest (guest_ref), a guest itself (alias and
  // birth_year beside its id) or another object carrying a guest and its guest_id (an intake).
  // Each must be in the access log under this request's id: stays by stay id, the others by
  // guest id.
  #noteGuestViews(op, answer) {
    if (!/json/.test(answer.headers['content-type'] || '')) return;
    let value;
    try {
      value = JSON.parse(answer.body.toString('utf8'));
    } catch {
      return;
    }
    const stays = new Set();
    const guests = new Set();
    const walk = (v) => {
      if (Array.isArray(v)) return v.forEach(walk);
      if (!v || typeof v !== 'object') return undefined;
      const isStay = 'guest' in v && typeof v.id === 'string' && ('pool_id' in v || 'check_in' in v);
      if (isStay) stays.add(v.id);
      else if ('guest' in v && typeof v.guest_id === 'string') guests.add(v.guest_id);
      if (v.guest_ref && typeof v.stay_id === 'string') stays.add(v.stay_id);
      if (typeof v.id === 'string' && 'alias' in v && 'birth_year' in v && !('guest' in v)) guests.add(v.id);
      return Object.values(v).forEach(walk);
    };
    walk(value);
    if (stays.size || guests.size) {
      this.guestViews.push({
        request_id: answer.headers['x-request-id'], operation: op.id, stays: [...stays], guests: [...guests],
      });
    }
  }

  // A plain API call for setup and sequences: JSON in, { status, headers, json } out.
  async call(method, path, { body, token, headers = [] } = {}) {
    const wireHeaders = [['Host', this.host], ...headers];
    if (token) wireHeaders.push(['Authorization', `Bearer ${token}`]);
    let bytes = null;
    if (body !== undefined) {
      bytes = Buffer.from(JSON.stringify(body));
      wireHeaders.push(['Content-Type', 'application/json']);
    }
    const answer = await this.conn.exchange(encodeRequest({ method, target: path, headers: wireHeaders, body: bytes }));
    this.sent++;
    let json = null;
    try {
      json = answer.body?.length ? JSON.parse(answer.body.toString('utf8')) : null;
    } catch {
      json = null;
    }
    return { ...answer, json };
  }

  // ---- setup ---------------------------------------------------------------------------

  async setUp(password = DEMO_PASSWORD) {
    await this.#waitReady();
    for (const [role, email] of Object.entries(DEMO_ACCOUNTS)) this.tokens[role] = await this.login(email, password, role);
    // Each such operation gets its own session per role; once it has ended that session,
    // later requests exercise the answer to an ended one. A caregiver's is a whole throwaway
    // account: erasing "my" account must not erase the demo caregiver.
    for (const op of this.spec.operations.filter(endsCaller)) {
      const tokens = { anonymous: null };
      for (const [role, email] of Object.entries(DEMO_ACCOUNTS)) {
        tokens[role] = role === 'caregiver' ? (await this.newCaregiver()).token : await this.login(email, password);
      }
      this.spares.set(op.id, tokens);
    }
    await this.harvestIds();
  }

  async #waitReady() {
    for (let i = 0; i < 100; i++) {
      const r = await this.call('GET', '/readyz');
      if (r.status === 200) {
        // "Today" as the server sees it (its Date header), in whole days.
        const date = Date.parse(r.headers.date || '') || Date.now();
        this.today = Math.floor(date / DAY) * DAY;
        return;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('the server never became ready (/readyz)');
  }

  async login(email, password, role) {
    const r = await this.call('POST', '/v1/sessions', { body: { email, password } });
    if (r.status !== 201 || typeof r.json?.token !== 'string') throw new Error(`login as ${email}: ${r.status ?? r.error} ${r.body ?? ''}`);
    if (role) this.users[role] = r.json.user;
    return r.json.token;
  }

  get providerId() {
    return this.users.provider?.provider_id;
  }

  // A throwaway caregiver account in Assen, logged in: { email, token }.
  async newCaregiver() {
    const email = `fuzz-${this.runId}-${randomBytes(4).toString('hex')}@test.logeer.nl`;
    const password = `fuzz-${randomBytes(12).toString('hex')}`;
    const r = await this.call('POST', '/v1/caregivers', { body: { email, password, municipality: 'GM0106' } });
    if (r.status !== 201) throw new Error(`registering ${email}: ${r.status} ${r.body}`);
    return { email, token: await this.login(email, password) };
  }

  // Every GET without path parameters that answers its own name as a list ({"pools": [...]}
  // for /v1/pools) is a collection; its ids, as each role sees them, feed the {id} parameters
  // of the paths below it and the <name>_id fields and parameters.
  async harvestIds() {
    for (const op of this.spec.operations) {
      if (op.method !== 'GET' || op.path.includes('{') || op.params.some((p) => p.required)) continue;
      const name = op.path.slice(op.path.lastIndexOf('/') + 1);
      const limit = op.params.find((p) => p.in === 'query' && p.name === 'limit');
      const target = limit ? `${op.path}?limit=${limit.schema?.maximum ?? 100}` : op.path;
      for (const role of ['admin', 'coordinator', 'provider', 'caregiver', 'referrer']) {
        const r = await this.call('GET', target, { token: this.tokens[role] });
        const list = r.status === 200 ? r.json?.[name] : null;
        if (!Array.isArray(list)) continue;
        for (const item of list) if (typeof item?.id === 'string') this.#addId(op.path, item.id);
      }
    }
  }

  #addId(collection, id) {
    if (!this.collections.has(collection)) this.collections.set(collection, new Set());
    this.collections.get(collection).add(id);
  }

  // ---- what values.mjs asks ------------------------------------------------------------

  ids(collection) {
    return [...(this.collections.get(collection) || [])].sort();
  }

  // pool_id -> /v1/pools: the collection whose last path segment is the name's plural.
  collectionFor(name) {
    const m = /^(.+)_id$/.exec(name);
    if (!m) return null;
    for (const col of this.collections.keys()) if (col.endsWith(`/${m[1]}s`)) return col;
    return null;
  }
}
