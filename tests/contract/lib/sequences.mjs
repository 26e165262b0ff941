// sequences.mjs: stateful runs through the contract's operations, named by operationId:
// a provider creates a location and a pool, publishes capacity and changes the pool (with its
// ETag, then with a stale one); a caregiver (planned beds) or a referrer (crisis beds) searches,
// books stays until the beds run out, the stays move through their lifecycle in an order
// fast-check chooses, and everything is cancelled and the pool switched off at the end.
// Besides the contract checks on every answer, a small model says what must happen: which
// status each step gets, what each stay's status becomes, and that the pool's nightly counters
// and the search agree with the stays at every step.
import fc from 'fast-check';

import { isoDate } from './values.mjs';

const DAY = 86400000;
const SEARCH_SETTLE_MS = 2000;
const MAX_OPEN_CAREGIVER_STAYS = 3; // "At most 3 open stays ... per caregiver" (createStay)
const HOLDING = new Set(['held', 'requested']);
const BOOKED = new Set(['confirmed', 'checked_in', 'completed']);
// The lifecycle table of stayTransition: from which statuses an action moves a stay, where to,
// and whether the requester (or else provider staff) does it. check-in and no-show also wait
// for the first night, which these runs never reach (their stays start days from now).
const LIFECYCLE = {
  confirm: { from: ['held'], to: 'confirmed', by: 'requester' },
  accept: { from: ['requested'], to: 'confirmed', by: 'provider' },
  decline: { from: ['requested'], to: 'declined', by: 'provider' },
  cancel: { from: ['held', 'requested', 'confirmed'], to: 'cancelled', by: 'requester' },
  'provider-cancel': { from: ['held', 'requested', 'confirmed'], to: 'cancelled', by: 'provider', action: 'cancel' },
  'check-in': { from: [], to: 'checked_in', by: 'provider' },
  'check-out': { from: ['checked_in'], to: 'completed', by: 'provider' },
  'no-show': { from: [], to: 'no_show', by: 'provider' },
};

export function planArb() {
  return fc.record({
    pathway: fc.constantFrom('caregiver', 'referrer'),
    mode: fc.constantFrom('instant', 'approval'),
    beds: fc.integer({ min: 1, max: 3 }),
    start: fc.integer({ min: 2, max: 60 }),
    nights: fc.integer({ min: 1, max: 5 }),
    bookings: fc.integer({ min: 1, max: 4 }),
    actions: fc.array(fc.record({ stay: fc.nat({ max: 3 }), action: fc.constantFrom(...Object.keys(LIFECYCLE)) }), { maxLength: 6 }),
  });
}

export class Sequence {
  constructor(world, checker, { caregiverToken }) {
    this.world = world;
    this.checker = checker;
    this.caregiverToken = caregiverToken;
    this.ops = new Map(world.spec.operations.map((op) => [op.id, op]));
  }

  // Runs one plan; returns the findings (empty when everything kept contract and model).
  async run(plan) {
    this.findings = [];
    this.booker = plan.pathway;
    this.tokens = { ...this.world.tokens, caregiver: this.caregiverToken };
    try {
      await this.#cancelLeftovers();
      await this.#script(plan);
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
    }
    return this.findings;
  }

  // One step: the request built from its operation, sent, checked against the contract and
  // against the statuses the model expects. Returns the answer's JSON (and the answer).
  async step(opId, role, { path = {}, query = {}, headers = {}, body, expect = [], stopUnless = true, why = '' }) {
    const op = this.ops.get(opId);
    if (!op) throw new Error(`the contract has no operation ${opId}`);
    const req = { op, role, path, query: Object.entries(query).map(([k, v]) => [k, String(v)]), headers: Object.entries(headers),
      body, contentType: body === undefined ? null : 'application/json', mutation: `stateful: ${why || opId}` };
    const { wire, answer } = await this.world.send(req, { tokens: this.tokens });
    this.last = { req, wire, answer };
    for (const f of this.checker.check(op, req, answer)) this.findings.push({ ...f, req, wire, answer });
    const ok = expect.length === 0 || expect.includes(answer.status);
    if (!ok) {
      this.findings.push({ check: 'stateful', reason: `${why || opId}: expected ${expect.join(' or ')}, got ${answer.status ?? answer.error} ${String(answer.body || '').slice(0, 200)}`, req, wire, answer });
      if (stopUnless) throw new Stop();
    }
    let json = null;
    try {
      json = answer.body?.length ? JSON.parse(answer.body.toString('utf8')) : null;
    } catch { /* the contract check above already said so */ }
    return { json, answer };
  }

  // The model disagrees with what the server said; the finding shows the last step.
  model(reason) {
    this.findings.push({ check: 'stateful', reason, ...this.last });
  }

  // A stay left open by an earlier run (one that stopped at a finding) must not count
  // against this run's caregiver.
  async #cancelLeftovers() {
    for (const status of ['held', 'requested', 'waitlisted']) {
      const r = await this.world.call('GET', `/v1/stays?status=${status}&limit=200`, { token: this.tokens[this.booker] });
      for (const s of r.json?.stays || []) await this.world.call('POST', `/v1/stays/${s.id}/cancel`, { token: this.tokens[this.booker], body: {} });
    }
  }

  async #script(plan) {
    const w = this.world;
    const kind = plan.pathway === 'caregiver' ? 'planned' : 'crisis';
    const checkIn = isoDate(w.today + plan.start * DAY);
    const checkOut = isoDate(w.today + (plan.start + plan.nights) * DAY);
    const tag = `${w.runId}-${w.counter}`;
    const { json: location } = await this.step('createLocation', 'provider', { expect: [201], why: 'createLocation',
      body: { provider_id: w.providerId, name: `Fuzzlocatie ${tag}`, municipality: 'GM0106', address: 'Fuzzweg 1, Assen',
        lat: 52.99, lon: 6.56, facilities: ['wheelchair'], exclusions: [] } });
    const created = await this.step('createPool', 'provider', { expect: [201], why: 'createPool',
      headers: { 'Idempotency-Key': `fuzz-pool-${tag}` },
      body: { location_id: location.id, name: `Fuzzpool ${tag}`, kind, care_profiles: ['dementia'], funding: ['wlz'],
        booking_mode: plan.mode, min_nights: 1, max_nights: 21, lead_days: 0, horizon_days: 365 } });
    const pool = created.json;
    this.pool = pool.id;
    this.capacityEtag = null;
    this.range = { from: checkIn, to: checkOut };
    await this.step('setCapacity', 'provider', { path: { id: pool.id }, headers: { 'If-Match': '*' }, expect: [200], why: 'setCapacity',
      body: { ranges: [{ from: isoDate(w.today + (plan.start - 1) * DAY), to: isoDate(w.today + (plan.start + plan.nights + 1) * DAY), beds: plan.beds }] } });
    await this.#changePool(pool.id);
    const stays = [];
    await this.#checkCounters(plan, stays, 'after publishing capacity');
    for (let i = 0; i < plan.bookings; i++) await this.#book(plan, stays, i, { checkIn, checkOut });
    for (const { stay, action } of plan.actions) {
      if (stays.length) await this.#act(stays[stay % stays.length], action);
      await this.#checkCounters(plan, stays, `after ${action}`);
    }
    for (const s of stays) {
      const { json } = await this.step('getStay', this.booker, { path: { id: s.id }, expect: [200], why: 'getStay' });
      if (json.status !== s.status) this.model(`getStay says ${json.status}, the model ${s.status}`);
      if (!Array.isArray(json.history) || json.history.length < 1) this.model('getStay has no history');
    }
    for (const s of stays) if (LIFECYCLE.cancel.from.includes(s.status)) await this.#act(s, 'cancel');
    await this.#checkCounters(plan, stays, 'after cancelling everything');
    await this.step('updatePool', 'provider', { path: { id: pool.id }, body: { active: false }, expect: [200], why: 'updatePool active false' });
    if (await this.#searchUntil(plan, (n) => n === 0) !== 0) this.model('an inactive pool is still found by searchAvailability');
  }

  // Change the pool with its ETag; the old ETag must then fail (412).
  async #changePool(id) {
    const { answer } = await this.step('getPool', 'provider', { path: { id }, expect: [200], why: 'getPool' });
    const etag = answer.headers.etag;
    if (!etag) return this.model('getPool sends no ETag');
    const { answer: changed } = await this.step('updatePool', 'provider', { path: { id }, headers: { 'If-Match': etag },
      body: { name: `Fuzzpool renamed ${id.slice(0, 8)}` }, expect: [200], why: 'updatePool with the current ETag' });
    if (changed.headers.etag === etag) this.model('updatePool did not change the ETag');
    await this.step('updatePool', 'provider', { path: { id }, headers: { 'If-Match': etag }, body: { max_nights: 20 },
      expect: [412], stopUnless: false, why: 'updatePool with a stale ETag' });
    return undefined;
  }

  #search(plan) {
    const kind = plan.pathway === 'caregiver' ? 'planned' : 'crisis';
    return this.step('searchAvailability', this.booker, { why: 'searchAvailability', expect: [200],
      query: { check_in: this.range.from, nights: plan.nights, kind, care_profile: 'dementia', funding: 'wlz', limit: 100 } });
  }

  async #book(plan, stays, i, { checkIn, checkOut }) {
    const free = plan.beds - stays.filter((s) => HOLDING.has(s.status) || BOOKED.has(s.status)).length;
    const open = stays.filter((s) => HOLDING.has(s.status)).length;
    const capped = plan.pathway === 'caregiver' && open >= MAX_OPEN_CAREGIVER_STAYS;
    const expect = free > 0 && !capped ? [201] : [409];
    const { json } = await this.step('createStay', this.booker, { expect, stopUnless: false, why: `createStay #${i + 1} (${free} free)`,
      headers: { 'Idempotency-Key': `fuzz-stay-${this.world.runId}-${this.world.counter}` },
      body: { pool_id: this.pool, check_in: checkIn, check_out: checkOut, funding: 'wlz',
        guest: { alias: `Fuzzgast ${i + 1}`, birth_year: 1940 + i, care_profile: 'dementia' } } });
    if (json?.id && json.status) {
      const want = plan.pathway === 'referrer' ? 'confirmed' : plan.mode === 'instant' ? 'held' : 'requested';
      if (json.status !== want) this.model(`createStay gave ${json.status}, the model ${want}`);
      stays.push({ id: json.id, status: json.status });
    }
  }

  async #act(stay, name) {
    const rule = LIFECYCLE[name];
    const action = rule.action || name;
    const role = rule.by === 'requester' ? this.booker : 'provider';
    const allowed = rule.from.includes(stay.status);
    const body = action === 'decline' || action === 'cancel' ? { reason: 'fuzz run' } : undefined;
    const { json } = await this.step('stayTransition', role, { path: { id: stay.id, action }, body, stopUnless: false,
      expect: allowed ? [200] : [409], why: `${name} a ${stay.status} stay` });
    if (allowed && json?.status) {
      if (json.status !== rule.to) this.model(`${name} of a ${stay.status} stay gave ${json.status}, the model ${rule.to}`);
      stay.status = json.status;
    }
  }

  // The pool's counters (getCapacity) must equal what the model's stays hold and book on every
  // night, and the search must report the fewest free beds over the nights.
  async #checkCounters(plan, stays, when) {
    const held = stays.filter((s) => HOLDING.has(s.status)).length;
    const booked = stays.filter((s) => BOOKED.has(s.status)).length;
    // Revalidating with the ETag of an earlier read must still bring the current counts: the
    // pool's version does not change with a booking, so it can never mean "not modified".
    const headers = this.capacityEtag ? { 'If-None-Match': this.capacityEtag } : {};
    const { json, answer } = await this.step('getCapacity', 'provider', { path: { id: this.pool }, query: this.range, headers,
      expect: [200], why: `getCapacity ${when}` });
    this.capacityEtag ||= answer.headers?.etag;
    for (const n of json?.nights || []) {
      if (n.capacity !== plan.beds || n.held !== held || n.booked !== booked || n.free !== plan.beds - held - booked) {
        this.model(`${when}: night ${n.date} shows capacity ${n.capacity} held ${n.held} booked ${n.booked} free ${n.free}; the stays imply ${plan.beds}/${held}/${booked}/${plan.beds - held - booked}`);
      }
    }
    const free = plan.beds - held - booked;
    const shown = await this.#searchUntil(plan, (n) => n === free);
    if (shown !== free) this.model(`${when}: searchAvailability shows ${shown} free, the stays imply ${free}`);
  }

  // The free beds a search shows for this run's pool (0 when it is not found). The index
  // follows the database after each commit (LISTEN/NOTIFY), so a search may lag a write by a
  // moment: ask again for up to SEARCH_SETTLE_MS until want(free) holds.
  async #searchUntil(plan, want) {
    const deadline = Date.now() + SEARCH_SETTLE_MS;
    for (;;) {
      const { json } = await this.#search(plan);
      const found = (json?.results || []).find((r) => r.pool_id === this.pool);
      const free = found?.free ?? 0;
      if (want(free) || Date.now() > deadline) return free;
      await new Promise((res) => setTimeout(res, 50));
    }
  }
}

class Stop extends Error {}
