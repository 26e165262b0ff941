"""Idempotency-Key on POST /v1/stays: a retry with the same key and body returns the same status
and a byte-identical body and creates nothing; the same key with another body is 422
(idempotency-key-reused); keys belong to one principal; concurrent retries create one stay; a
refused request stores no key, so its retry is judged afresh; a waitlisted answer replays too."""

import datetime as dt
import time
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.srv = h.Server(self.url, keep=True)
        self.today = h.today_local(self.url)
        self.emails = h.add_caregivers(self.url, 8, prefix="idem")
        self.tokens = h.login_many(self.srv, self.emails)
        self.ids = {e: h.scalar(self.url, f"SELECT id FROM users WHERE email = '{e}'")
                    for e in self.emails}
        self.esdorp = self.srv.login(ESDORP)
        self.pool = h.make_pool(self.srv, self.url, self.esdorp, h.DEMO_PROVIDER_IDS[ESDORP], 3,
                                self.today, self.day(60), name="Idempotency")

    def day(self, offset):
        return self.today + dt.timedelta(days=offset)

    def stays_of(self, n):
        """How many stays caregiver n has requested, from the stays table."""
        return int(h.scalar(self.url, "SELECT count(*) FROM stays WHERE requested_by = "
                                      f"'{self.ids[self.emails[n]]}'"))

    def post(self, n, body, key):
        headers = {"Idempotency-Key": key} if key is not None else {}
        return self.srv.request("POST", "/v1/stays", body, token=self.tokens[n],
                                headers=headers)


def world():
    return h.once("world", World)


def test_retry_with_same_key_and_body_replays_the_original():
    w = world()
    key = uuid.uuid4().hex
    body = h.stay_body(w.pool.id, w.day(5), w.day(7))
    first = w.post(0, body, key)
    h.check_equal("the first request is 201", first.status, 201)
    time.sleep(1.1)  # a replay made later must still show the original instants
    again = w.post(0, body, key)
    h.check_equal("the retry has the same status (201)", again.status, first.status)
    h.check("the retry's body is byte-identical to the original",
            again.body == first.body and len(first.body) > 0,
            f"first {first.body[:200]!r}\nretry {again.body[:200]!r}")
    h.check_equal("the retry has the same Content-Type", again.header("content-type"),
                  first.header("content-type"))
    third = w.post(0, body, key)
    h.check("a third try is byte-identical as well", third.body == first.body, repr(third))
    h.check_equal("only one stay exists for the caregiver (stays table)", w.stays_of(0), 1)
    nights = h.db_nights(w.url, w.pool.id)
    h.check_equal("the nights count one hold, not three", [nights[str(w.day(5))][1],
                                                            nights[str(w.day(6))][1]], [1, 1])
    listed = w.srv.request("GET", "/v1/stays", token=w.tokens[0])
    h.check_equal("GET /v1/stays lists one stay for the caregiver",
                  (listed.json or {}).get("total"), 1)


def test_same_key_with_another_body_is_422():
    w = world()
    key = uuid.uuid4().hex
    first = w.post(1, h.stay_body(w.pool.id, w.day(10), w.day(12)), key)
    h.check_equal("the original request is 201", first.status, 201)
    other = w.post(1, h.stay_body(w.pool.id, w.day(10), w.day(13)), key)
    h.check_problem("the same key with another check_out is a 422 problem", other, 422)
    h.check_equal("its type is idempotency-key-reused", h.problem_type(other),
                  "idempotency-key-reused")
    other = w.post(1, h.stay_body(w.pool.id, w.day(10), w.day(12), alias="iemand anders"), key)
    h.check_problem("the same key with another guest alias is a 422 problem", other, 422)
    h.check_equal("no second stay was made", w.stays_of(1), 1)
    again = w.post(1, h.stay_body(w.pool.id, w.day(10), w.day(12)), key)
    h.check("the original body still replays byte-identically after the 422s",
            again.status == 201 and again.body == first.body, repr(again))


def test_keys_belong_to_one_principal():
    w = world()
    key = uuid.uuid4().hex
    body = h.stay_body(w.pool.id, w.day(15), w.day(16))
    a = w.post(2, body, key)
    b = w.post(3, body, key)
    h.check_equal("caregiver A with the key is 201", a.status, 201)
    h.check_equal("caregiver B with the same key and body is 201 too", b.status, 201)
    h.check("B got a stay of its own, not A's replayed",
            (a.json or {}).get("id") not in (None, (b.json or {}).get("id")),
            f"{(a.json or {}).get('id')} vs {(b.json or {}).get('id')}")
    h.check_equal("each has exactly one stay", [w.stays_of(2), w.stays_of(3)], [1, 1])


def test_concurrent_retries_create_one_stay():
    w = world()
    key = uuid.uuid4().hex
    body = h.stay_body(w.pool.id, w.day(20), w.day(22))
    n = 10

    def action(i, barrier):
        client = h.Client(w.srv.port, timeout=60 * h.SCALE)
        try:
            client.conn.connect()
            barrier.wait()
            return client.request("POST", "/v1/stays", body, token=w.tokens[4],
                                  headers={"Idempotency-Key": key})
        finally:
            client.close()

    results = h.race(n, action)
    answers = [r for r in results if not isinstance(r, Exception)]
    statuses = sorted((r.status, h.problem_type(r)) for r in answers)
    h.info(f"{n} simultaneous requests with one key: {statuses}")
    h.check_equal("every request got an answer", len(answers), n)
    created = [r for r in answers if r.status == 201]
    h.check("each answer is the 201 or a 409 idempotency-in-progress",
            all(r.status == 201 or (r.status == 409 and
                                    h.problem_type(r) == "idempotency-in-progress")
                for r in answers), statuses)
    h.check("at least one 201, and every 201 body is byte-identical",
            created and all(r.body == created[0].body for r in created), statuses)
    h.check_equal("exactly one stay was created", w.stays_of(4), 1)
    replay = w.srv.request("POST", "/v1/stays", body, token=w.tokens[4],
                           headers={"Idempotency-Key": key})
    h.check("a retry after they all finished replays the same body",
            replay.status == 201 and created and replay.body == created[0].body, repr(replay))


def test_refused_request_stores_no_key_and_is_judged_afresh():
    w = world()
    night = w.day(40)
    pool = h.make_pool(w.srv, w.url, w.esdorp, h.DEMO_PROVIDER_IDS[ESDORP], 1, night,
                       w.day(41), location_id=w.pool.location_id, name="Idempotency full")
    taken = w.post(5, h.stay_body(pool.id, night, w.day(41)), uuid.uuid4().hex)
    h.check_equal("caregiver A takes the only bed (201)", taken.status, 201)
    key = uuid.uuid4().hex
    body = h.stay_body(pool.id, night, w.day(41))
    refused = w.post(6, body, key)
    h.check("caregiver B with a key is refused: 409 no-beds",
            h.is_problem(refused, 409) and h.problem_type(refused) == "no-beds", repr(refused))
    resp = h.put_capacity(w.srv, w.esdorp, pool.id,
                          [{"from": night, "to": w.day(41), "beds": 2}])
    if not h.check_equal("the provider adds a bed (PUT capacity 200)", resp.status, 200):
        h.psql(w.url, f"UPDATE pool_nights SET capacity = 2 WHERE pool_id = '{pool.id}'")
    retry = w.post(6, body, key)
    h.check("the retry with the same key is judged afresh and now gets the bed (201)",
            retry.status == 201 and (retry.json or {}).get("status") == "held", repr(retry))


def test_waitlisted_answer_replays_too():
    w = world()
    night = w.day(45)
    pool = h.make_pool(w.srv, w.url, w.esdorp, h.DEMO_PROVIDER_IDS[ESDORP], 1, night,
                       w.day(46), location_id=w.pool.location_id, name="Idempotency wait")
    w.post(5, h.stay_body(pool.id, night, w.day(46)), uuid.uuid4().hex)
    key = uuid.uuid4().hex
    body = h.stay_body(pool.id, night, w.day(46), waitlist=True)
    first = w.post(7, body, key)
    h.check("a request for a full night with waitlist true is 201 waitlisted",
            first.status == 201 and (first.json or {}).get("status") == "waitlisted",
            repr(first))
    again = w.post(7, body, key)
    h.check("its retry is 201 with a byte-identical body",
            again.status == 201 and again.body == first.body, repr(again))
    h.check_equal("one waitlist entry exists", w.stays_of(7), 1)


def test_malformed_keys_are_refused():
    w = world()
    body = h.stay_body(w.pool.id, w.day(50), w.day(51))
    for label, key in (("a key of 256 characters", "k" * 256),
                       ("a key with a space (not a visible character)", "two words")):
        resp = w.post(7, body, key)
        h.check(f"{label} is a 400 or 422 problem",
                h.is_problem(resp, 400) or h.is_problem(resp, 422), repr(resp))
    h.check_equal("no stay was made by the refused keys", w.stays_of(7), 1)


h.main(globals())
