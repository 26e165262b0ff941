"""Idempotency-Key on POST /v1/stays: a retry with the same key and body returns the same status
and a byte-identical body and creates nothing; the same key with another body is 422
(idempotency-key-reused); keys belong to one principal; concurrent retries create one stay; a
refused request stores no key, so its retry is judged afresh; a waitlisted answer replays too.
"The same body" means the same JSON content: a retry that spells the same object another way
(other key order, other spacing, escapes for raw UTF-8, 1940 as 19400e-1), as a proxy or
another client library may, replays the stored response on every route that takes a key
(POST /v1/stays, /v1/locations, /v1/users); a changed value is still 422."""

import datetime as dt
import json
import time
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.srv = h.Server(self.url, keep=True)
        self.today = h.today_local(self.url)
        self.emails = h.add_caregivers(self.url, 9, prefix="idem")
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

    def new_pool(self, beds, night_from, night_to, name):
        """A pool of ESDORP's, made through the API: bookable on this server once the create
        and the capacity PUT are answered (they answer after its index has loaded the pool)."""
        return h.make_pool(self.srv, self.url, self.esdorp, h.DEMO_PROVIDER_IDS[ESDORP], beds,
                           night_from, night_to, location_id=self.pool.location_id, name=name)

    def post(self, n, body, key):
        headers = {"Idempotency-Key": key} if key is not None else {}
        return self.srv.request("POST", "/v1/stays", body, token=self.tokens[n],
                                headers=headers)


def world():
    return h.once("world", World)


# ---- the same JSON content, spelt two ways -----------------------------------------------------

def compact(value):
    """The first spelling: keys in the order given, no spaces, raw UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _respell_string(text, first_escaped):
    """Every non-ASCII character as a \\u escape (surrogate pairs past U+FFFF); with
    first_escaped also the first character, so that plain ASCII keys change spelling too."""
    out = json.dumps(text, ensure_ascii=True)[1:-1]
    if first_escaped and text and ord(text[0]) < 0x80 and text[0] not in '"\\':
        out = f"\\u{ord(text[0]):04X}" + out[1:]
    return '"' + out + '"'


def _respell_number(value):
    """The same double in another notation: 1940 -> 19400e-1, 52.99 -> 5299e-2."""
    if isinstance(value, int):
        return f"{value * 10}e-1"
    text = repr(value)
    if "e" in text or "." not in text:
        return text + "e0"
    decimals = len(text) - text.index(".") - 1
    return f"{int(text.replace('.', ''))}e-{decimals}"


def respelled(value, indent=0):
    """The second spelling of the same content: keys in reverse order, spaces and line breaks
    everywhere, escapes instead of raw UTF-8, numbers in exponent notation."""
    pad = "\n" + "  " * (indent + 1)
    if isinstance(value, dict):
        members = [f"{_respell_string(k, True)} :  {respelled(v, indent + 1)}"
                   for k, v in reversed(list(value.items()))]
        if not members:
            return "{ }"
        return "{" + pad + ("," + pad).join(members) + "\n" + "  " * indent + "}"
    if isinstance(value, list):
        return "[ " + " ,\t".join(respelled(v, indent + 1) for v in value) + " ]"
    if isinstance(value, str):
        return _respell_string(value, False)
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return _respell_number(value)


def check_spellings_differ(label, body):
    first, second = compact(body).encode(), respelled(body).encode()
    h.check(f"{label}: the two spellings differ as bytes but parse to the same object",
            first != second and json.loads(first) == json.loads(second), second[:300])


def check_replayed(label, first, again):
    """again must be first played back: same status, byte-identical body, marked replayed."""
    h.check_equal(f"{label}: the respelled retry has the same status", again.status, first.status)
    h.check(f"{label}: the respelled retry's body is byte-identical to the original",
            again.body == first.body and len(first.body) > 0,
            f"first {first.body[:200]!r}\nretry {again.body[:200]!r}")
    h.check_equal(f"{label}: the retry says Idempotent-Replayed: true",
                  again.header("idempotent-replayed"), "true")
    h.check_equal(f"{label}: the original did not say it",
                  first.header("idempotent-replayed"), None)
    h.check_equal(f"{label}: the retry has the same Location", again.header("location"),
                  first.header("location"))


def post_text(srv, path, text, token, key):
    return srv.request("POST", path, text.encode("utf-8"), token=token,
                       headers={"Content-Type": "application/json", "Idempotency-Key": key})


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
    pool = w.new_pool(1, night, w.day(41), "Idempotency full")
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
    pool = w.new_pool(1, night, w.day(46), "Idempotency wait")
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


def test_stay_retry_spelt_differently_replays():
    w = world()
    key = uuid.uuid4().hex
    body = h.stay_body(w.pool.id, w.day(25), w.day(27), alias="mevr. B\u00e9n\u00e9dicte \u00d6",
                       needs=["wheelchair"])
    check_spellings_differ("POST /v1/stays", body)
    first = post_text(w.srv, "/v1/stays", compact(body), w.tokens[8], key)
    if not h.check_equal("the stay request is 201", first.status, 201):
        h.info(repr(first))
        return
    again = post_text(w.srv, "/v1/stays", respelled(body), w.tokens[8], key)
    check_replayed("POST /v1/stays", first, again)
    h.check_equal("one stay exists for the caregiver (stays table)", w.stays_of(8), 1)
    changed = dict(body, check_out=str(w.day(28)))
    other = post_text(w.srv, "/v1/stays", respelled(changed), w.tokens[8], key)
    h.check("the same key, respelled, with another check_out: 422 idempotency-key-reused",
            h.is_problem(other, 422) and h.problem_type(other) == "idempotency-key-reused",
            repr(other))
    changed = dict(body, guest=dict(body["guest"], birth_year=1941))
    other = post_text(w.srv, "/v1/stays", compact(changed), w.tokens[8], key)
    h.check("the same key with another nested value (guest.birth_year): 422",
            h.is_problem(other, 422) and h.problem_type(other) == "idempotency-key-reused",
            repr(other))
    h.check_equal("still one stay", w.stays_of(8), 1)


def test_location_retry_spelt_differently_replays():
    w = world()
    key = uuid.uuid4().hex
    name = f"Logeerhuis \u00c9\u00e9n {uuid.uuid4().hex[:6]}"
    body = {"name": name, "municipality": "GM0106", "address": "Brinkstra\u00dfe 1, Assen",
            "lat": 52.99, "lon": 6.56, "facilities": ["dementia", "night_care"],
            "exclusions": []}
    check_spellings_differ("POST /v1/locations", body)
    first = post_text(w.srv, "/v1/locations", compact(body), w.esdorp, key)
    if not h.check_equal("provider staff POST /v1/locations is 201", first.status, 201):
        h.info(repr(first))
        return
    again = post_text(w.srv, "/v1/locations", respelled(body), w.esdorp, key)
    check_replayed("POST /v1/locations", first, again)
    h.check_equal("the retry has the same ETag", again.header("etag"), first.header("etag"))
    count = h.scalar(w.url, "SELECT count(*) FROM locations WHERE name = "
                            f"'{name}'")
    h.check_equal("one location row has that name", count, "1")
    other = post_text(w.srv, "/v1/locations", respelled(dict(body, lat=52.98)), w.esdorp, key)
    h.check("the same key, respelled, with another lat: 422 idempotency-key-reused",
            h.is_problem(other, 422) and h.problem_type(other) == "idempotency-key-reused",
            repr(other))
    other = post_text(w.srv, "/v1/locations", compact(dict(body, facilities=["night_care",
                                                                             "dementia"])),
                      w.esdorp, key)
    h.check("the same key with the facilities in another order: 422 (arrays keep their order)",
            h.is_problem(other, 422) and h.problem_type(other) == "idempotency-key-reused",
            repr(other))


def test_staff_account_retry_spelt_differently_replays():
    w = world()
    admin = w.srv.login("beheer@demo.logeer.nl")
    key = uuid.uuid4().hex
    email = f"idem-{uuid.uuid4().hex[:8]}@demo.logeer.nl"
    body = {"email": email, "password": h.TEST_PASSWORD, "role": "coordinator",
            "display_name": "Ren\u00e9e \u00d6zt\u00fcrk"}
    check_spellings_differ("POST /v1/users", body)
    first = post_text(w.srv, "/v1/users", compact(body), admin, key)
    if not h.check_equal("the admin's POST /v1/users is 201", first.status, 201):
        h.info(repr(first))
        return
    again = post_text(w.srv, "/v1/users", respelled(body), admin, key)
    check_replayed("POST /v1/users", first, again)
    count = h.scalar(w.url, f"SELECT count(*) FROM users WHERE email = '{email}'")
    h.check_equal("one account has that email", count, "1")
    other = post_text(w.srv, "/v1/users", respelled(dict(body, display_name="Ren\u00e9e")),
                      admin, key)
    h.check("the same key, respelled, with another display_name: 422 idempotency-key-reused",
            h.is_problem(other, 422) and h.problem_type(other) == "idempotency-key-reused",
            repr(other))


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
