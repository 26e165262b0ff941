"""No overbooking under concurrency, on one engine process: 50 caregivers, each on its own
connection and account, race for the last 3 beds of one night and exactly 3 win; 40 clients
booking, confirming and cancelling random overlapping ranges in a 5-bed pool get no 5xx (no
deadlock surfaces) and leave counters that equal what the stays table implies; a request for a
full night is refused without queueing for that night's lock. The database is asked directly
(psql) as well as the API."""

import collections
import datetime as dt
import os
import random
import subprocess
import time
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
CLIENTS = 50
LAST_BEDS = 3
OVERLAP_CLIENTS = 40
OVERLAP_BEDS = 5
OVERLAP_WINDOW = 10


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.srv = h.Server(self.url, keep=True)
        self.today = h.today_local(self.url)
        started = time.monotonic()
        self.emails = h.add_caregivers(self.url, CLIENTS, prefix="race")
        self.tokens = h.login_many(self.srv, self.emails)
        h.info(f"{CLIENTS} caregiver accounts created and logged in in "
               f"{time.monotonic() - started:.1f} s")
        self.esdorp = self.srv.login(ESDORP)
        self.provider_id = h.DEMO_PROVIDER_IDS[ESDORP]

    def day(self, offset):
        return self.today + dt.timedelta(days=offset)


def world():
    return h.once("world", World)


def summarise(results):
    """Counts answers as "201 held", "409 no-beds", "exception ...", for the log and checks."""
    counts = collections.Counter()
    for r in results:
        if isinstance(r, Exception):
            counts[f"exception {r.__class__.__name__}: {r}"] += 1
        elif r.status >= 400:
            counts[f"{r.status} {h.problem_type(r)}"] += 1
        else:
            counts[f"{r.status} {(r.json or {}).get('status')}"] += 1
    return counts


def racing_post(port, tokens, bodies):
    """Returns the action for h.race: thread i connects, waits at the barrier, then POSTs
    bodies[i] as tokens[i] on its own connection and returns the response."""
    def action(i, barrier):
        client = h.Client(port, timeout=60 * h.SCALE)
        try:
            client.conn.connect()
            barrier.wait()
            return client.request("POST", "/v1/stays", bodies[i], token=tokens[i],
                                  headers={"Idempotency-Key": uuid.uuid4().hex})
        finally:
            client.close()
    return action


def test_last_three_beds_race_gives_exactly_three_wins():
    w = world()
    night = w.day(7)
    pool = h.make_pool(w.srv, w.url, w.esdorp, w.provider_id, LAST_BEDS + 1, night,
                       night + dt.timedelta(days=1), name="Race last beds")
    # One bed is already booked, so the race is for the last three of four.
    first = w.srv.request("POST", "/v1/stays", h.stay_body(pool.id, night, w.day(8)),
                          token=w.tokens[0])
    if not h.check("a first booking takes one of the four beds (201)", first.status == 201,
                   repr(first)):
        return
    resp = w.srv.request("POST", f"/v1/stays/{first.json['id']}/confirm", token=w.tokens[0])
    h.check_equal("the first booking is confirmed (200)", resp.status, 200)

    bodies = [h.stay_body(pool.id, night, w.day(8), alias=f"race {i}") for i in range(CLIENTS)]
    started = time.monotonic()
    results = h.race(CLIENTS, racing_post(w.srv.port, w.tokens, bodies))
    elapsed = time.monotonic() - started
    counts = summarise(results)
    h.info(f"{CLIENTS} concurrent requests for the last {LAST_BEDS} beds answered in "
           f"{elapsed:.2f} s: {dict(counts)}")
    wins = [r for r in results if not isinstance(r, Exception) and r.status == 201]
    losses = [r for r in results if not isinstance(r, Exception) and r.status == 409]
    h.check_equal(f"exactly {LAST_BEDS} of {CLIENTS} racers get 201", len(wins), LAST_BEDS)
    h.check_equal(f"the other {CLIENTS - LAST_BEDS} get 409", len(losses), CLIENTS - LAST_BEDS)
    h.check("every 409 is of type no-beds",
            all(h.problem_type(r) == "no-beds" for r in losses), dict(counts))
    h.check("every 409 names the full night in 'nights'",
            all((r.json or {}).get("nights") == [str(night)] for r in losses),
            next((r.json for r in losses if (r.json or {}).get("nights") != [str(night)]), None))
    h.check("every winner holds the bed (status held)",
            all((r.json or {}).get("status") == "held" for r in wins), dict(counts))
    h.check("no request failed at the transport level or with 5xx",
            not any(isinstance(r, Exception) or r.status >= 500 for r in results), dict(counts))

    nights = h.check_counters_match_stays("after the last-beds race", w.url, pool.id)
    h.check_equal("pool_nights for the night: capacity 4, held 3, booked 1",
                  nights.get(str(night)), (4, 3, 1))
    rows = h.psql(w.url, "SELECT status, count(*) FROM stays WHERE pool_id = "
                         f"'{pool.id}' GROUP BY status ORDER BY status")
    h.info(f"stays table for the pool: {rows}")
    h.check_equal("the stays table has 1 confirmed and 3 held stays in the pool",
                  sorted((s, int(n)) for s, n in rows), [("confirmed", 1), ("held", 3)])
    api = h.capacity_nights(w.srv, w.esdorp, pool.id, night, w.day(8))
    h.check_equal("GET capacity agrees: capacity 4, held 3, booked 1, free 0",
                  (api or {}).get(str(night)), (4, 3, 1, 0))
    free = h.availability_free(w.srv, w.tokens[1], pool.id, night, 1)
    h.check_equal("a search for that night no longer offers the pool", free, 0)


def test_overlapping_ranges_under_concurrency_never_deadlock_or_overbook():
    w = world()
    start = w.day(30)
    pool = h.make_pool(w.srv, w.url, w.esdorp, w.provider_id, OVERLAP_BEDS, start,
                       start + dt.timedelta(days=OVERLAP_WINDOW), name="Race overlap")
    seed = int.from_bytes(os.urandom(4), "big")
    h.info(f"random seed {seed}: {OVERLAP_CLIENTS} clients, 3 rounds each, ranges of 1-5 "
           f"nights in a {OVERLAP_WINDOW}-night window of a {OVERLAP_BEDS}-bed pool")

    def action(i, barrier):
        rng = random.Random(seed + i)
        token = w.tokens[CLIENTS - 1 - i]  # the race's losers mostly: few open stays
        client = h.Client(w.srv.port, timeout=60 * h.SCALE)
        answers = []
        try:
            client.conn.connect()
            barrier.wait()
            for _ in range(3):
                nights = rng.randint(1, 5)
                first = rng.randint(0, OVERLAP_WINDOW - nights)
                ci = start + dt.timedelta(days=first)
                body = h.stay_body(pool.id, ci, ci + dt.timedelta(days=nights),
                                   alias=f"overlap {i}")
                resp = client.request("POST", "/v1/stays", body, token=token,
                                      headers={"Idempotency-Key": uuid.uuid4().hex})
                answers.append(("book", resp))
                if resp.status != 201:
                    continue
                roll = rng.random()
                sid = resp.json["id"]
                if roll < 0.6:
                    answers.append(("confirm", client.request(
                        "POST", f"/v1/stays/{sid}/confirm", token=token)))
                if roll >= 0.6 and roll < 0.85 or rng.random() < 0.2:
                    answers.append(("cancel", client.request(
                        "POST", f"/v1/stays/{sid}/cancel", {"reason": "race test"},
                        token=token)))
        finally:
            client.close()
        return answers

    started = time.monotonic()
    results = h.race(OVERLAP_CLIENTS, action)
    elapsed = time.monotonic() - started
    counts = collections.Counter()
    fivexx = []
    crashed = [r for r in results if isinstance(r, Exception)]
    for answers in results:
        if isinstance(answers, Exception):
            continue
        for what, r in answers:
            key = f"{what} {r.status}" + (f" {h.problem_type(r)}" if r.status >= 400 else "")
            counts[key] += 1
            if r.status >= 500:
                fivexx.append(r)
    total = sum(counts.values())
    h.info(f"{total} requests in {elapsed:.2f} s: {dict(sorted(counts.items()))}")
    h.check("no client thread failed (transport error or timeout)", not crashed,
            repr(crashed[:3]))
    h.check_equal("no request answered 5xx (no deadlock or serialisation error surfaced)",
                  len(fivexx), 0)
    # A 409 on booking is no beds, or the 3-open-stays limit of a caregiver.
    allowed = {"book 201", "confirm 200", "cancel 200"}
    unexpected = {k: v for k, v in counts.items()
                  if k not in allowed and not k.startswith("book 409")}
    h.check("every answer is 201/200 or a 409 (no beds, too many open stays)", not unexpected,
            unexpected)
    h.check("some bookings succeeded and some were refused for lack of beds",
            counts["book 201"] > 0 and counts["book 409 no-beds"] > 0, dict(counts))
    h.check_counters_match_stays("after the overlapping-ranges race", w.url, pool.id)
    api = h.capacity_nights(w.srv, w.esdorp, pool.id, start,
                            start + dt.timedelta(days=OVERLAP_WINDOW))
    db = h.db_nights(w.url, pool.id)
    h.check("GET capacity agrees with pool_nights on every night of the window",
            api is not None and all(api.get(n, (None,))[:3] == v for n, v in db.items()),
            f"api {api} db {db}")
    server_log = w.srv.stderr_text()
    h.check("the server logged no deadlock", "deadlock" not in server_log.lower(),
            server_log[-1500:])



def _hold_lock(conninfo, lock_sql, seconds):
    """Starts a psql session that runs `lock_sql` (a SELECT ... FOR UPDATE, or a booking) and
    keeps what it locked for `seconds`, as a transaction does until it commits; returns once
    `lock_sql` is done and the session sleeps (its wait event says so, not just its query)."""
    tag = f"lock-{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen(
        [h.PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo, "-c",
         f"BEGIN; {lock_sql}; SELECT pg_sleep({seconds}) /* {tag} */; COMMIT;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    h.wait_until(lambda: h.scalar(conninfo, "SELECT count(*) FROM pg_stat_activity WHERE "
                                            f"query LIKE '%/* {tag} */%' "
                                            "AND wait_event = 'PgSleep' "
                                            "AND pid <> pg_backend_pid()") == "1",
                 10 * h.SCALE)
    proc.tag = tag
    return proc


def _hold_night_lock(conninfo, pool_id, night, seconds):
    """Locks the pool's night FOR UPDATE for `seconds`, as a booking transaction does."""
    return _hold_lock(conninfo, f"SELECT 1 FROM pool_nights WHERE pool_id = '{pool_id}' "
                                f"AND night = '{night}' FOR UPDATE", seconds)


def test_full_night_refuses_without_waiting_for_its_lock():
    """A request for a full night is refused from the committed counts at once instead of
    queueing behind the transactions that hold the night (migration 0043); a night with a
    free bed still waits for the lock, because only the locked count may hand out a bed."""
    w = world()
    full, free = w.day(40), w.day(41)
    pool = h.make_pool(w.srv, w.url, w.esdorp, w.provider_id, 1, full,
                       free + dt.timedelta(days=1), name="Race locked night")
    # Two racers of the first test: each holds at most one bed there, so the three-open-stays
    # limit leaves room for the two holds made here.
    tokens = w.tokens[2:4]
    first = w.srv.request("POST", "/v1/stays", h.stay_body(pool.id, full, free), token=tokens[0])
    if not h.check("the night's only bed is held (201)", first.status == 201, repr(first)):
        return
    # Not scaled for the sanitizer build: the lock is psql's, and the refusal must come well
    # within half of it even there.
    hold_s = 6
    locker = _hold_night_lock(w.url, pool.id, full, hold_s)
    try:
        started = time.monotonic()
        resp = w.srv.request("POST", "/v1/stays", h.stay_body(pool.id, full, free),
                             token=tokens[1], headers={"Idempotency-Key": uuid.uuid4().hex})
        elapsed = time.monotonic() - started
    finally:
        locker.wait(timeout=60 * h.SCALE)
    h.info(f"no-beds answer while the night was locked for {hold_s} s came after {elapsed:.2f} s")
    h.check("the full night answers 409 no-beds", resp.status == 409 and
            h.problem_type(resp) == "no-beds" and (resp.json or {}).get("nights") == [str(full)],
            repr(resp))
    h.check(f"it did not wait for the lock ({elapsed:.2f} s, the lock lasted {hold_s} s)",
            elapsed < hold_s / 2, f"{elapsed:.2f} s")

    # The lock is seen held some time after it was taken, so the request waits for what is
    # left of the 4 s: well over the 0.05 s an unlocked request takes, if it waits at all.
    locker = _hold_night_lock(w.url, pool.id, free, 4)
    try:
        started = time.monotonic()
        body = h.stay_body(pool.id, free, free + dt.timedelta(days=1))
        resp = w.srv.request("POST", "/v1/stays", body, token=tokens[1],
                             headers={"Idempotency-Key": uuid.uuid4().hex})
        elapsed = time.monotonic() - started
    finally:
        locker.wait(timeout=60 * h.SCALE)
    h.check("the free night is held (201) once its lock is released", resp.status == 201,
            repr(resp))
    h.check(f"a free night still waits for its lock ({elapsed:.2f} s)",
            elapsed >= 1.0, f"{elapsed:.2f} s")
    h.check_counters_match_stays("after the locked-night bookings", w.url, pool.id)



def _hold_pool_lock(conninfo, pool_id, seconds):
    """Locks the pool's row FOR UPDATE (what deleting it would take) for `seconds`."""
    return _hold_lock(conninfo, f"SELECT 1 FROM pools WHERE id = '{pool_id}' FOR UPDATE", seconds)


def test_a_refusal_writes_nothing_and_a_booking_still_locks_the_pool_first():
    """A request refused because a night is full locks nothing and writes nothing: no
    transaction id, so no commit to flush, and it does not wait for a lock on the pool
    (migration 0045). A request that goes on still takes the pool's lock before any night."""
    w = world()
    full, free = w.day(50), w.day(51)
    pool = h.make_pool(w.srv, w.url, w.esdorp, w.provider_id, 1, full,
                       free + dt.timedelta(days=1), name="Race refusal writes nothing")
    tokens = w.tokens[4:6]
    first = w.srv.request("POST", "/v1/stays", h.stay_body(pool.id, full, free), token=tokens[0])
    if not h.check("the night's only bed is held (201)", first.status == 201, repr(first)):
        return
    caregiver = h.scalar(w.url, f"SELECT id FROM users WHERE email = '{w.emails[5]}'")
    outcome = h.scalar(w.url, f"""
        SELECT r.outcome || ' ' || (pg_current_xact_id_if_assigned() IS NULL)::text
          FROM (SELECT (logeer_book_stay(jsonb_build_object(
                    'principal_id', '{caregiver}', 'principal_role', 'caregiver',
                    'request_hash', repeat('0', 64), 'method', 'POST', 'path', '/v1/stays',
                    'pool_id', '{pool.id}', 'check_in', '{full}', 'check_out', '{free}',
                    'kind', 'planned', 'initial_status', 'held', 'hold_ttl_s', 900,
                    'funding', 'wlz', 'waitlist', false, 'max_open_stays', 3,
                    'guest', jsonb_build_object('alias', 'x', 'birth_year', 1950,
                                                'care_profile', 'dementia', 'needs', '[]'::jsonb))
                    )).outcome OFFSET 0) AS r""")
    h.check_equal("a refusal in SQL: no_beds, and its transaction has no id", outcome,
                  "no_beds true")

    hold_s = 6
    locker = _hold_pool_lock(w.url, pool.id, hold_s)
    try:
        started = time.monotonic()
        resp = w.srv.request("POST", "/v1/stays", h.stay_body(pool.id, full, free),
                             token=tokens[1], headers={"Idempotency-Key": uuid.uuid4().hex})
        elapsed = time.monotonic() - started
    finally:
        # Done with the lock: end its sleep rather than wait it out.
        h.psql(w.url, "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                      f"WHERE query LIKE '%/* {locker.tag} */%' AND pid <> pg_backend_pid()")
        locker.wait(timeout=60 * h.SCALE)
    h.check("the full night answers 409 no-beds while the pool is locked",
            resp.status == 409 and h.problem_type(resp) == "no-beds", repr(resp))
    h.check(f"the refusal did not wait for the pool's lock ({elapsed:.2f} s of {hold_s} s)",
            elapsed < hold_s / 2, f"{elapsed:.2f} s")

    locker = _hold_pool_lock(w.url, pool.id, 4)
    try:
        started = time.monotonic()
        body = h.stay_body(pool.id, free, free + dt.timedelta(days=1))
        resp = w.srv.request("POST", "/v1/stays", body, token=tokens[1],
                             headers={"Idempotency-Key": uuid.uuid4().hex})
        elapsed = time.monotonic() - started
    finally:
        locker.wait(timeout=60 * h.SCALE)
    h.check("the free night is held (201) once the pool's lock is released", resp.status == 201,
            repr(resp))
    h.check(f"a booking that goes on waits for the pool's lock ({elapsed:.2f} s)",
            elapsed >= 1.0, f"{elapsed:.2f} s")
    h.check_counters_match_stays("after the refusal and the booking", w.url, pool.id)



def _book_and_keep_locked(conninfo, caregiver, pool_id, check_in, check_out, seconds):
    """A booking transaction in psql that takes a bed on [check_in, check_out) and keeps it
    uncommitted, its nights locked, for `seconds`."""
    return _hold_lock(conninfo, f"""SELECT (logeer_book_stay(jsonb_build_object(
        'principal_id', '{caregiver}', 'principal_role', 'caregiver',
        'request_hash', repeat('0', 64), 'method', 'POST', 'path', '/v1/stays',
        'pool_id', '{pool_id}', 'check_in', '{check_in}', 'check_out', '{check_out}',
        'kind', 'planned', 'initial_status', 'held', 'hold_ttl_s', 900,
        'funding', 'wlz', 'waitlist', false, 'max_open_stays', 3,
        'guest', jsonb_build_object('alias', 'x', 'birth_year', 1950,
                                    'care_profile', 'dementia', 'needs', '[]'::jsonb))
        )).outcome""", seconds)


def test_a_request_that_loses_at_the_lock_lists_the_full_nights():
    """A request that passes the quick look (the committed counts show a free bed) and then
    finds a night taken when it locks it is refused with the nights that are full, listed from
    the rows it locked (migration 0051); a waitlisted request's history lists its full nights,
    nights without capacity (no row) included, from the same step."""
    w = world()
    first, taken, no_row = w.day(60), w.day(61), w.day(62)
    pool = h.make_pool(w.srv, w.url, w.esdorp, w.provider_id, 1, first, no_row,
                       name="Race lost at the lock")
    holder = h.scalar(w.url, f"SELECT id FROM users WHERE email = '{w.emails[6]}'")
    locker = _book_and_keep_locked(w.url, holder, pool.id, taken, no_row, 3)
    try:
        started = time.monotonic()
        resp = w.srv.request("POST", "/v1/stays", h.stay_body(pool.id, first, no_row),
                             token=w.tokens[7], headers={"Idempotency-Key": uuid.uuid4().hex})
        elapsed = time.monotonic() - started
    finally:
        locker.wait(timeout=60 * h.SCALE)
    h.info(f"refused at the lock after {elapsed:.2f} s (the other booking kept it for 3 s)")
    h.check("the two-night request loses the taken night at its lock: 409 no-beds listing "
            "only that night", resp.status == 409 and h.problem_type(resp) == "no-beds"
            and (resp.json or {}).get("nights") == [str(taken)], repr(resp))
    h.check(f"it waited at the lock, so the list came from there ({elapsed:.2f} s)",
            elapsed >= 1.0, f"{elapsed:.2f} s")

    resp = w.srv.request("POST", "/v1/stays",
                         h.stay_body(pool.id, first, no_row + dt.timedelta(days=1),
                                     waitlist=True),
                         token=w.tokens[8], headers={"Idempotency-Key": uuid.uuid4().hex})
    if not h.check("a waitlist request over a free, a taken and a night without capacity "
                   "is waitlisted (201)", resp.status == 201
                   and (resp.json or {}).get("status") == "waitlisted", repr(resp)):
        return
    listed = h.scalar(w.url, "SELECT detail -> 'full_nights' FROM stay_events "
                             f"WHERE stay_id = '{resp.json['id']}' AND to_status = 'waitlisted'")
    h.check_equal("its history lists the taken night and the night without a row", listed,
                  f'["{taken}", "{no_row}"]')
    h.check_counters_match_stays("after the request lost at the lock", w.url, pool.id)

h.main(globals())
