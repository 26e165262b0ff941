"""Holds and the waitlist. With LOGEER_HOLD_TTL=2 a hold lapses by itself: its status becomes
expired and its nights are free again; confirming a lapsed hold is 409 with current_status
expired. A request for a full pool with "waitlist": true waits (status waitlisted, no bed
taken) and is offered the nights as a hold within a couple of seconds of a cancellation or of
new capacity; a lapsed offer passes to the next in line (with LOGEER_OFFER_TTL as short as the
hold)."""

import datetime as dt
import time
from datetime import datetime

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
TTL = 2
OFFER_WITHIN = 2.0 * h.SLACK  # "within a couple of seconds"


class World:
    """One seeded database and server with the given hold TTL (None: the default)."""

    def __init__(self, ttl):
        self.url = h.migrated_database(seed=True)
        # A waitlist offer lives LOGEER_OFFER_TTL (24 h by default): the lapsed-offer test
        # needs it as short as the search hold.
        env = {"LOGEER_HOLD_TTL": str(ttl), "LOGEER_OFFER_TTL": str(ttl)} if ttl else None
        try:
            self.srv = h.Server(self.url, env=env, keep=True)
        except RuntimeError as e:
            h.fail(f"logeerd serve starts with LOGEER_HOLD_TTL={ttl} (the contract lets tests "
                   "set it as low as 2)", str(e))
            raise
        self.today = h.today_local(self.url)
        self.tokens = h.login_many(self.srv, h.add_caregivers(self.url, 6, prefix="wl"))
        self.esdorp = self.srv.login(ESDORP)
        self.provider_id = h.DEMO_PROVIDER_IDS[ESDORP]
        self.location_id = None

    def day(self, offset):
        return self.today + dt.timedelta(days=offset)

    def pool(self, beds, first, last, name):
        p = h.make_pool(self.srv, self.url, self.esdorp, self.provider_id, beds, self.day(first),
                        self.day(last), location_id=self.location_id, name=name)
        self.location_id = p.location_id
        return p

    def book(self, n, pool, first, last, **kw):
        return self.srv.request("POST", "/v1/stays",
                                h.stay_body(pool.id, self.day(first), self.day(last), **kw),
                                token=self.tokens[n])

    def status(self, n, stay_id):
        resp = self.srv.request("GET", f"/v1/stays/{stay_id}", token=self.tokens[n])
        return (resp.json or {}).get("status") if resp.status == 200 else f"HTTP {resp.status}"

    def wait_status(self, n, stay_id, want, timeout):
        """Polls until the stay has status want; returns seconds waited or None."""
        started = time.monotonic()
        got = h.wait_until(lambda: self.status(n, stay_id) == want, timeout, interval=0.05)
        return time.monotonic() - started if got else None

    def counters(self, pool, first, last):
        """[(held, booked)] per night from GET capacity, else from pool_nights."""
        api = h.capacity_nights(self.srv, self.esdorp, pool.id, self.day(first), self.day(last))
        db = h.db_nights(self.url, pool.id)
        out = []
        for i in range(first, last):
            d = str(self.day(i))
            out.append(tuple(api[d][1:3]) if api and d in api else db.get(d, (0, 0, 0))[1:])
        return out


def short():
    return h.once("short-ttl", lambda: World(TTL))


def normal():
    return h.once("default-ttl", lambda: World(None))


def parse_instant(text):
    return datetime.fromisoformat(str(text).replace("Z", "+00:00"))


def test_expired_hold_frees_its_nights():
    w = short()
    pool = w.pool(1, 5, 7, "Hold expiry")
    resp = w.book(0, pool, 5, 7)
    if not h.check("a hold is made (201 held)",
                   resp.status == 201 and (resp.json or {}).get("status") == "held", repr(resp)):
        return
    stay = resp.json
    made = time.monotonic()
    try:
        ttl = (parse_instant(stay["hold_expires_at"]) - parse_instant(stay["created_at"]))
        h.info(f"hold_expires_at - created_at = {ttl.total_seconds():.1f} s")
        h.check(f"hold_expires_at is about {TTL} s after created_at (LOGEER_HOLD_TTL={TTL})",
                1 <= ttl.total_seconds() <= TTL + 1, ttl)
    except (KeyError, TypeError, ValueError) as e:
        h.fail("the hold carries created_at and hold_expires_at instants", repr(e))
    h.check_equal("while held, both nights count one held bed", w.counters(pool, 5, 7),
                  [(1, 0), (1, 0)])
    waited = w.wait_status(0, stay["id"], "expired", TTL + 10 * h.SLACK)
    lapse = time.monotonic() - made
    h.info(f"the hold became expired {lapse:.2f} s after it was made (TTL {TTL} s)")
    if not h.check("the hold's status becomes expired by itself", waited is not None,
                   w.status(0, stay["id"])):
        return
    h.check(f"it lapsed within TTL + 3 s", lapse <= TTL + 3 * h.SLACK, f"{lapse:.2f} s")
    h.check_equal("after expiry both nights are free again (held 0, booked 0)",
                  w.counters(pool, 5, 7), [(0, 0), (0, 0)])
    h.check_counters_match_stays("after the hold expired", w.url, pool.id)
    resp = w.srv.request("GET", f"/v1/stays/{stay['id']}", token=w.tokens[0])
    hist = (resp.json or {}).get("history") or []
    last = hist[-1] if hist else {}
    h.check("the history ends with held -> expired, by the system (actor_role null)",
            (last.get("from"), last.get("to"), last.get("actor_role")) == ("held", "expired", None),
            hist)
    resp = w.book(1, pool, 5, 7)
    h.check_equal("another caregiver can now take the freed nights (201)", resp.status, 201)


def test_confirming_a_lapsed_hold_is_409_expired():
    w = short()
    pool = w.pool(1, 10, 11, "Lapsed confirm")
    resp = w.book(2, pool, 10, 11)
    if not h.check_equal("a hold is made (201)", resp.status, 201):
        return
    time.sleep(TTL + 0.3)
    confirm = w.srv.request("POST", f"/v1/stays/{resp.json['id']}/confirm", token=w.tokens[2])
    h.check("confirming after the hold lapsed is 409 with current_status expired",
            h.is_problem(confirm, 409) and (confirm.json or {}).get("current_status") == "expired",
            repr(confirm))
    h.check_equal("the bed was not booked by the late confirm", w.counters(pool, 10, 11)[0][1],
                  0)
    h.wait_until(lambda: w.counters(pool, 10, 11) == [(0, 0)], 5 * h.SLACK)
    h.check_equal("and the night is free again", w.counters(pool, 10, 11), [(0, 0)])


def test_waitlisted_stay_is_offered_when_a_stay_is_cancelled():
    w = normal()
    pool = w.pool(1, 8, 10, "Waitlist cancel")
    first = w.book(0, pool, 8, 10)
    h.check_equal("caregiver A takes the only bed (201)", first.status, 201)
    resp = w.srv.request("POST", f"/v1/stays/{first.json['id']}/confirm", token=w.tokens[0])
    h.check_equal("and confirms it (200)", resp.status, 200)
    refused = w.book(1, pool, 8, 10)
    h.check("caregiver B without waitlist is refused: 409 no-beds",
            h.is_problem(refused, 409) and h.problem_type(refused) == "no-beds", repr(refused))
    wait = w.book(1, pool, 8, 10, waitlist=True)
    body = wait.json or {}
    h.check("caregiver B with waitlist true gets 201 status waitlisted",
            wait.status == 201 and body.get("status") == "waitlisted", repr(wait))
    h.check("the waitlist entry has no hold expiry", body.get("hold_expires_at") is None,
            body.get("hold_expires_at"))
    h.check("the waitlist entry describes its window", isinstance(body.get("waitlist"), dict),
            body.get("waitlist"))
    h.check_equal("the waitlist entry takes no bed (held 0, booked 1)", w.counters(pool, 8, 10),
                  [(0, 1), (0, 1)])
    resp = w.srv.request("POST", f"/v1/stays/{body.get('id')}/confirm", token=w.tokens[1])
    h.check("confirming a waitlisted stay is 409 with current_status waitlisted",
            h.is_problem(resp, 409) and (resp.json or {}).get("current_status") == "waitlisted",
            repr(resp))
    resp = w.srv.request("POST", f"/v1/stays/{first.json['id']}/cancel",
                         {"reason": "Toch zelf opgevangen"}, token=w.tokens[0])
    cancelled = time.monotonic()
    h.check_equal("caregiver A cancels (200)", resp.status, 200)
    waited = w.wait_status(1, body.get("id"), "held", OFFER_WITHIN + 3)
    h.info("the waitlisted stay was offered "
           + (f"{time.monotonic() - cancelled:.2f} s" if waited is not None else "never")
           + " after the cancellation")
    h.check(f"B's waitlisted stay becomes held within {OFFER_WITHIN:.0f} s of the cancel",
            waited is not None and waited <= OFFER_WITHIN, w.status(1, body.get("id")))
    h.check_equal("the offer holds the bed (held 1, booked 0)", w.counters(pool, 8, 10),
                  [(1, 0), (1, 0)])
    resp = w.srv.request("GET", f"/v1/stays/{body.get('id')}", token=w.tokens[1])
    stay = resp.json or {}
    h.check("the offer has check_in/check_out of the asked nights and a hold expiry",
            stay.get("check_in") == str(w.day(8)) and stay.get("check_out") == str(w.day(10))
            and isinstance(stay.get("hold_expires_at"), str), stay)
    hist = stay.get("history") or []
    h.check("the history shows waitlisted -> held by the system",
            any(e.get("from") == "waitlisted" and e.get("to") == "held"
                and e.get("actor_role") is None for e in hist), hist)
    resp = w.srv.request("POST", f"/v1/stays/{body.get('id')}/confirm", token=w.tokens[1])
    h.check("B confirms the offer (200 confirmed)",
            resp.status == 200 and (resp.json or {}).get("status") == "confirmed", repr(resp))
    h.check_counters_match_stays("after the waitlist offer was confirmed", w.url, pool.id)


def test_new_capacity_is_offered_to_the_waitlist():
    w = normal()
    pool = w.pool(1, 20, 21, "Waitlist capacity")
    h.check_equal("caregiver C takes the only bed", w.book(2, pool, 20, 21).status, 201)
    wait = w.book(3, pool, 20, 21, waitlist=True)
    h.check("caregiver D waits (201 waitlisted)",
            wait.status == 201 and (wait.json or {}).get("status") == "waitlisted", repr(wait))
    resp = h.put_capacity(w.srv, w.esdorp, pool.id,
                          [{"from": w.day(20), "to": w.day(21), "beds": 2}])
    raised = time.monotonic()
    h.check_equal("the provider raises the night to 2 beds (PUT capacity 200)", resp.status, 200)
    waited = w.wait_status(3, (wait.json or {}).get("id"), "held", OFFER_WITHIN + 3)
    h.info("new capacity was offered "
           + (f"{time.monotonic() - raised:.2f} s" if waited is not None else "never")
           + " after the PUT")
    h.check(f"D's waitlisted stay becomes held within {OFFER_WITHIN:.0f} s of the new bed",
            waited is not None and waited <= OFFER_WITHIN,
            w.status(3, (wait.json or {}).get("id")))
    h.check_counters_match_stays("after the capacity offer", w.url, pool.id)


def test_lapsed_offer_passes_to_the_next_in_line():
    w = short()
    pool = w.pool(1, 30, 31, "Waitlist chain")
    first = w.book(3, pool, 30, 31)
    h.check_equal("caregiver A takes the only bed", first.status, 201)
    resp = w.srv.request("POST", f"/v1/stays/{first.json['id']}/confirm", token=w.tokens[3])
    h.check_equal("and confirms it within the short TTL", resp.status, 200)
    b = w.book(4, pool, 30, 31, waitlist=True)
    time.sleep(0.05)  # first come, first served: B strictly before C
    c = w.book(5, pool, 30, 31, waitlist=True)
    h.check("B and C both wait (201 waitlisted)",
            [b.status, c.status] == [201, 201]
            and [(b.json or {}).get("status"), (c.json or {}).get("status")]
            == ["waitlisted", "waitlisted"], f"{b!r} {c!r}")
    b_id, c_id = (b.json or {}).get("id"), (c.json or {}).get("id")
    resp = w.srv.request("POST", f"/v1/stays/{first.json['id']}/cancel",
                         {"reason": "Ziekenhuisopname"}, token=w.tokens[3])
    h.check_equal("A cancels (200)", resp.status, 200)
    offered_b = w.wait_status(4, b_id, "held", OFFER_WITHIN + 3)
    h.check("the first in line (B) is offered the bed", offered_b is not None,
            w.status(4, b_id))
    h.check_equal("C still waits while B's offer runs", w.status(5, c_id), "waitlisted")
    started = time.monotonic()
    expired_b = w.wait_status(4, b_id, "expired", TTL + 10 * h.SLACK)
    h.check("B lets the offer lapse: B's stay becomes expired", expired_b is not None,
            w.status(4, b_id))
    offered_c = w.wait_status(5, c_id, "held", OFFER_WITHIN + 3)
    h.info(f"B's offer lapsed and C was offered the bed "
           f"{time.monotonic() - started:.2f} s after B's offer was seen")
    h.check("then the next in line (C) is offered the bed", offered_c is not None,
            w.status(5, c_id))
    h.check_counters_match_stays("after the offer passed on", w.url, pool.id)


h.main(globals())
