"""Crash safety, Jepsen style: client threads book stays (POST /v1/stays, each with its own
Idempotency-Key, retried with the same key after every error or timeout until a definitive
answer) while the test kill -9s logeerd and restarts it, and stops PostgreSQL immediately and
starts it again. Afterwards the set check: every acknowledged booking is in the database, no
key maps to two stays and no stay lacks its key, no night is over capacity and the counters
equal a recount from the stays table, every acknowledged key replays its original body byte
for byte, and no hold outlives its expiry. During the PostgreSQL outage the service stays
alive, answers data routes 503 with Retry-After, and recovers by itself."""

import http.client
import json
import random
import socket
import threading
import time
import uuid

import harness as h

HOLD_TTL_S = 3
ENV = {"LOGEER_HOLD_TTL": str(HOLD_TTL_S), "LOGEER_LOG_LEVEL": "warn"}
CAREGIVER_THREADS = 4
REFERRER_THREADS = 4
ACCOUNTS_PER_CAREGIVER_THREAD = 3   # a caregiver may hold at most 3 open stays
PACE_S = 0.1                        # pause between one thread's bookings
GIVE_UP_S = 60 * h.SLACK            # a request with no definitive answer by then is a failure
REQUEST_TIMEOUT_S = 5 * h.SCALE
WINDOW_DAYS = 20                    # check-ins fall in the next WINDOW_DAYS days
PLENTY = 500                        # beds per night in the pools with enough capacity
SCARCE = 2                          # beds per night in the scarce pools

# The chaos schedule, in seconds from the start of the load.
SCHEDULE = [
    (3, "kill9"),
    (5, "kill9"),
    (7, "kill9"),
    (11, "pg_outage"),
    (17, "power_loss"),
    (23, "kill9"),
    (25, "kill9"),
    (29, "pg_outage"),
    (35, "power_loss"),
]
LOAD_SECONDS = 40
T0 = [time.monotonic()]             # when the load started, for the log's timestamps
VICTIM_DELAYS_S = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.008, 0.015)


class Live:
    """Where logeerd listens now: a restarted process gets a new port, and clients read it
    before every attempt."""

    def __init__(self, server):
        self.server = server
        self.lock = threading.Lock()

    @property
    def port(self):
        with self.lock:
            return self.server.port

    def replace(self, server):
        with self.lock:
            self.server = server


class Outcome:
    def __init__(self, kind, token, key, body):
        self.kind = kind          # "caregiver" or "referrer"
        self.token = token
        self.key = key
        self.body = body          # the exact bytes sent on every attempt
        self.status = None        # the definitive status, None if there never was one
        self.response = None      # its body bytes
        self.attempts = 0
        self.replayed = False     # the definitive answer was a replay of a stored response
        self.problem = None       # the problem type of a definitive refusal
        self.answered_at = None   # seconds into the load when the definitive answer came
        self.retried_errors = []  # what made each earlier attempt inconclusive

    @property
    def acknowledged(self):
        return self.status is not None and 200 <= self.status < 300

    def stay_id(self):
        try:
            return json.loads(self.response)["id"]
        except (ValueError, KeyError, TypeError):
            return None


def post_once(live, token, key, body):
    """One attempt; returns a Response, or the text of the error that made it inconclusive."""
    try:
        return h.request(live.port, "POST", "/v1/stays", body,
                         headers={"Content-Type": "application/json", "Idempotency-Key": key},
                         token=token, timeout=REQUEST_TIMEOUT_S)
    except (OSError, http.client.HTTPException) as e:
        return f"{e.__class__.__name__}"


def inconclusive(resp):
    """True when the answer says nothing about whether the booking happened: a transport
    error, a 5xx (the database or the process went away), 429, or the original request with
    this key still running."""
    if isinstance(resp, str):
        return True
    return resp.status >= 500 or resp.status == 429 or (
        resp.status == 409 and h.problem_type(resp) == "idempotency-in-progress")


def until_definitive(live, outcome, stop_at):
    while time.monotonic() < stop_at:
        outcome.attempts += 1
        resp = post_once(live, outcome.token, outcome.key, outcome.body)
        if not inconclusive(resp):
            outcome.status = resp.status
            outcome.response = resp.body
            outcome.replayed = resp.header("idempotent-replayed") == "true"
            outcome.problem = h.problem_type(resp)
            outcome.answered_at = time.monotonic() - T0[0]
            return outcome
        outcome.retried_errors.append(resp if isinstance(resp, str) else str(resp.status))
        time.sleep(0.1 + random.random() * 0.2)
    return outcome


def confirm_until_definitive(live, token, stay_id, stop_at):
    """Confirms a hold; 200, or 409 once it is confirmed or lapsed, are both definitive."""
    while time.monotonic() < stop_at:
        try:
            resp = h.request(live.port, "POST", f"/v1/stays/{stay_id}/confirm", None,
                             token=token, timeout=REQUEST_TIMEOUT_S)
        except (OSError, http.client.HTTPException):
            resp = None
        if resp is not None and resp.status < 500:
            return resp.status
        time.sleep(0.2)
    return None


class Booker(threading.Thread):
    """One client: books in its pools until told to stop, one request at a time."""

    def __init__(self, n, kind, tokens, pools, live, today, stop_event, outcomes):
        super().__init__(daemon=True)
        self.n, self.kind, self.tokens, self.pools = n, kind, tokens, pools
        self.live, self.today, self.stop_event, self.outcomes = live, today, stop_event, outcomes
        self.rng = random.Random(1000 + n)
        self.confirmed = 0

    def run(self):
        i = 0
        while not self.stop_event.is_set():
            token = self.tokens[i % len(self.tokens)]
            pool = self.rng.choice(self.pools)
            check_in = self.today + h._dt.timedelta(days=self.rng.randint(1, WINDOW_DAYS))
            check_out = check_in + h._dt.timedelta(days=self.rng.randint(1, 4))
            body = json.dumps(h.stay_body(pool, check_in, check_out,
                                          alias=f"t{self.n}.{i}")).encode()
            outcome = Outcome(self.kind, token, f"crash-{self.n}-{i}-{uuid.uuid4().hex[:8]}",
                              body)
            self.outcomes.append(outcome)
            until_definitive(self.live, outcome, time.monotonic() + GIVE_UP_S)
            if (self.kind == "caregiver" and outcome.acknowledged and self.rng.random() < 0.5
                    and outcome.stay_id()):
                if confirm_until_definitive(self.live, token, outcome.stay_id(),
                                            time.monotonic() + GIVE_UP_S) == 200:
                    self.confirmed += 1
            i += 1
            self.stop_event.wait(PACE_S)


# ---------------------------------------------------------------------------------------------
# the chaos

def send_victim(state):
    """Sends a booking on a raw socket and returns (outcome, socket) without reading the
    answer: the kill that follows lands while it is in flight, before or after its commit."""
    n = state["kills"]
    victim = Outcome("referrer", state["referrer_token"], f"victim-{n}-{uuid.uuid4().hex[:8]}",
                     json.dumps(h.stay_body(state["pools"]["crisis_plenty"],
                                            state["today"] + h._dt.timedelta(days=2 + n % 9),
                                            state["today"] + h._dt.timedelta(days=4 + n % 9),
                                            alias=f"victim {n}")).encode())
    head = (f"POST /v1/stays HTTP/1.1\r\nHost: localhost\r\n"
            f"Authorization: Bearer {victim.token}\r\nContent-Type: application/json\r\n"
            f"Idempotency-Key: {victim.key}\r\nContent-Length: {len(victim.body)}\r\n"
            "Connection: close\r\n\r\n").encode()
    sock = None
    try:
        sock = socket.create_connection(("127.0.0.1", state["live"].port), timeout=5)
        sock.sendall(head + victim.body)
    except OSError:
        pass
    victim.attempts = 1
    victim.retried_errors.append("killed in flight")
    state["victims"].append(victim)
    return sock


def kill_and_restart(state, retry_victim=True):
    old = state["live"].server
    # A booking of our own in flight, and the kill a few milliseconds after it was sent: some
    # land after the commit and before the answer, the case idempotent retries exist for.
    sock = send_victim(state)
    time.sleep(VICTIM_DELAYS_S[state["kills"] % len(VICTIM_DELAYS_S)])
    rc = h.kill9(old, label=f"logeerd pid {old.pid} (kill -9 #{state['kills'] + 1})")
    if sock:
        sock.close()
    state["kills"] += 1
    h.check(f"kill -9 #{state['kills']} of logeerd pid {old.pid} landed", rc == -9, rc)
    started = time.monotonic()
    new = h.Server(state["url"], env=ENV)
    state["live"].replace(new)
    h.info(f"kill -9 #{state['kills']}: pid {old.pid} -> {new.pid}, serving again after "
           f"{time.monotonic() - started:.1f} s")
    # The victim's retry goes out the moment the new process answers /livez, while its
    # availability index may still be loading: the answer must not be a final-looking 404.
    if retry_victim:
        until_definitive(state["live"], state["victims"][-1], time.monotonic() + GIVE_UP_S)


def pg_outage(state):
    """Stops PostgreSQL as if the machine lost power, checks the service degrades properly,
    starts it again and checks the same logeerd recovers by itself."""
    cluster, live = state["cluster"], state["live"]
    server = live.server
    pid = server.pid
    state["outages"] += 1
    n = state["outages"]
    cluster.stop_immediate()
    time.sleep(1.0)
    # A booking during the outage: a quick 503 with Retry-After, never a hang. It is then
    # retried like any client's, so it joins the set check.
    probe = Outcome("referrer", state["referrer_token"], f"outage-{n}-{uuid.uuid4().hex[:8]}",
                    json.dumps(h.stay_body(state["pools"]["crisis_plenty"],
                                           state["today"] + h._dt.timedelta(days=3),
                                           state["today"] + h._dt.timedelta(days=5))).encode())
    started = time.monotonic()
    resp = post_once(live, probe.token, probe.key, probe.body)
    took = time.monotonic() - started
    h.check(f"outage {n}: POST /v1/stays answers 503 problem+json with Retry-After in "
            f"{took:.1f} s", not isinstance(resp, str) and h.is_problem(resp, 503)
            and resp.header("retry-after") is not None and took < 6 * h.SLACK, repr(resp))
    resp = server.get("/v1/stays?limit=1", token=state["referrer_token"],
                      timeout=10 * h.SLACK)
    h.check(f"outage {n}: GET /v1/stays answers 503 problem+json with Retry-After",
            h.is_problem(resp, 503) and resp.header("retry-after") is not None, repr(resp))
    h.check_equal(f"outage {n}: /livez stays 200", server.get("/livez").status, 200)
    time.sleep(2.0)
    cluster.start()
    restarted = time.monotonic()
    up = h.wait_until(lambda: server.get("/readyz", timeout=5).status == 200, 20 * h.SLACK,
                      interval=0.2)
    h.check(f"outage {n}: the same logeerd (pid {pid}) is ready again "
            f"{time.monotonic() - restarted:.1f} s after PostgreSQL started",
            bool(up) and server.proc.poll() is None and server.pid == pid)
    state["outage_probes"].append(probe)


def power_loss(state):
    """PostgreSQL and logeerd die together; logeerd comes back first, alive but not ready,
    and becomes ready by itself once PostgreSQL is back."""
    cluster = state["cluster"]
    cluster.stop_immediate()
    state["power_losses"] += 1
    kill_and_restart(state, retry_victim=False)
    server = state["live"].server
    pid = server.pid
    h.check_equal("power loss: a logeerd started while PostgreSQL is down answers /livez 200",
                  server.get("/livez").status, 200)
    resp = server.get("/readyz", timeout=10 * h.SLACK)
    h.check("power loss: ... and /readyz 503 problem+json with Retry-After",
            h.is_problem(resp, 503) and resp.header("retry-after") is not None, repr(resp))
    time.sleep(1.0)
    cluster.start()
    restarted = time.monotonic()
    up = h.wait_until(lambda: server.get("/readyz", timeout=5).status == 200, 20 * h.SLACK,
                      interval=0.2)
    h.check(f"power loss: that logeerd (pid {pid}) is ready {time.monotonic() - restarted:.1f} s "
            "after PostgreSQL started, without a restart",
            bool(up) and server.proc.poll() is None and server.pid == pid)
    until_definitive(state["live"], state["victims"][-1], time.monotonic() + GIVE_UP_S)


ACTIONS = {"kill9": kill_and_restart, "pg_outage": pg_outage, "power_loss": power_loss}


def run_chaos(state, started):
    for at, action in SCHEDULE:
        delay = started + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        h.info(f"t={time.monotonic() - started:.1f} s: {action}")
        ACTIONS[action](state)


# ---------------------------------------------------------------------------------------------
# the set check

def stays_of(url, pool_ids):
    ids = ",".join(h._sql_text(p) for p in pool_ids)
    rows = h.psql(url, f"SELECT id, requested_by, status FROM stays WHERE pool_id IN ({ids})")
    return {r[0]: (r[1], r[2]) for r in rows}


def check_set(state, outcomes):
    url, pools = state["url"], state["pools"]
    acked = [o for o in outcomes if o.acknowledged]
    undecided = [o for o in outcomes if o.status is None]
    rejected = {}
    for o in outcomes:
        if o.status is not None and not o.acknowledged:
            what = f"{o.status} {o.problem}"
            rejected[what] = rejected.get(what, 0) + 1
    h.check(f"every one of {len(outcomes)} bookings got a definitive answer within "
            f"{GIVE_UP_S:.0f} s of retrying", not undecided,
            f"{len(undecided)} undecided, e.g. key {undecided[0].key} after "
            f"{undecided[0].attempts} attempts: {undecided[0].retried_errors[-5:]}"
            if undecided else "")

    in_db = stays_of(url, pools.values())
    found = [o for o in acked if o.stay_id() in in_db]
    lost = [o for o in acked if o.stay_id() not in in_db]
    retried = [o for o in outcomes if o.attempts > 1]
    replayed = [o for o in acked if o.replayed]
    h.info(f"bookings: {len(outcomes)} sent, {len(acked)} acknowledged, {len(found)} found, "
           f"lost={len(lost)}; refused {rejected}; {len(retried)} needed retries "
           f"({sum(o.attempts - 1 for o in outcomes)} retries in all), {len(replayed)} of "
           f"them were acknowledged by a replay (committed, but the first answer was lost)")
    unexpected = {k: v for k, v in rejected.items()
                  if k not in ("409 no-beds", "409 too-many-open-stays", "409 conflict")}
    odd = [o for o in outcomes if o.status is not None and not o.acknowledged
           and f"{o.status} {o.problem}" in unexpected]
    h.check("every refusal is a 409: no beds, or the caregiver's open-stay limit (conflict)",
            not unexpected, f"{unexpected}; e.g. key {odd[0].key} after {odd[0].attempts} "
            f"attempts ({odd[0].retried_errors[-5:]}), at t={odd[0].answered_at:.1f} s: "
            f"{odd[0].response[:300]!r}" if odd else "")
    h.check(f"every acknowledged booking is in the stays table ({len(found)} of {len(acked)}, "
            f"lost={len(lost)})", not lost and acked,
            f"lost keys {[o.key for o in lost[:5]]}" if lost else "nothing acknowledged")
    ids = [o.stay_id() for o in acked]
    h.check("no two acknowledged keys name the same stay", len(ids) == len(set(ids)),
            f"{len(ids) - len(set(ids))} duplicates")
    acked_ids = set(ids)
    phantoms = [sid for sid in in_db if sid not in acked_ids]
    h.check(f"no stay in the test pools that no client was told about ({len(in_db)} stays, "
            f"{len(phantoms)} phantoms)", not phantoms, phantoms[:5])

    # idempotency_keys and stays agree: one stored key per stay, naming that stay.
    pool_list = ",".join(h._sql_text(p) for p in pools.values())
    rows = h.psql(url, "SELECT s.id, count(k.key) FROM stays s LEFT JOIN idempotency_keys k "
                       "ON k.principal_id = s.requested_by AND k.status_code BETWEEN 200 AND 299 "
                       "AND (k.response_body::jsonb ->> 'id') = s.id::text "
                       f"WHERE s.pool_id IN ({pool_list}) GROUP BY s.id HAVING count(k.key) <> 1")
    h.check("every stay in the test pools has exactly one idempotency key, and it names it",
            not rows, rows[:5])
    rows = h.psql(url, "SELECT k.key, k.response_body::jsonb ->> 'id' FROM idempotency_keys k "
                       "WHERE k.key LIKE 'crash-%' OR k.key LIKE 'outage-%' "
                       "OR k.key LIKE 'victim-%'")
    stored = {r[0]: r[1] for r in rows}
    wrong = [o.key for o in acked if stored.get(o.key) != o.stay_id()]
    h.check(f"every acknowledged key is stored and maps to the stay it was answered with "
            f"({len(acked) - len(wrong)} of {len(acked)})", not wrong, wrong[:5])
    h.check_equal("no idempotency key is left in state 'running'",
                  h.scalar(url, "SELECT count(*) FROM idempotency_keys WHERE state <> 'done'"),
                  "0")

    for name, pool in pools.items():
        h.check_counters_match_stays(f"pool {name}", url, pool)
    return acked


def check_replays(state, acked):
    """Replays every acknowledged key with its original body: the same status and the same
    bytes, and no new stay."""
    live = state["live"]
    before = len(stays_of(state["url"], state["pools"].values()))

    def replay(o):
        for _ in range(5):
            resp = post_once(live, o.token, o.key, o.body)
            if not inconclusive(resp):
                return resp
            time.sleep(0.2)
        return resp

    with h._Pool(max_workers=8) as pool:
        replies = list(pool.map(replay, acked))
    differ = [(o.key, o.status, r if isinstance(r, str) else (r.status, r.body[:120]))
              for o, r in zip(acked, replies)
              if isinstance(r, str) or r.status != o.status or r.body != o.response]
    h.check(f"replaying all {len(acked)} acknowledged keys returns the original status and "
            f"body byte for byte", not differ, differ[:3])
    marked = sum(1 for r in replies if not isinstance(r, str)
                 and r.header("idempotent-replayed") == "true")
    h.check(f"... each marked Idempotent-Replayed: true ({marked} of {len(acked)})",
            marked == len(acked))
    after = len(stays_of(state["url"], state["pools"].values()))
    h.check_equal("... and the replays created no stay", after, before)


def check_index_agrees(state, token):
    """The in-memory availability index, rebuilt after every crash and fed by LISTEN/NOTIFY,
    reports the same free beds as the database's counters."""
    url, server = state["url"], state["live"].server
    dates = [state["today"] + h._dt.timedelta(days=d) for d in (1, 5, 10, 15, 20)]

    def mismatches():
        out = {}
        for name, pool in state["pools"].items():
            nights = h.db_nights(url, pool)
            kind = "crisis" if name.startswith("crisis") else "planned"
            for d in dates:
                cap, held, booked = nights[str(d)]
                want = max(0, cap - held - booked)
                got = h.availability_free(server, token, pool, d, 1, f"&kind={kind}")
                if got != want:
                    out[f"{name} {d}"] = (got, want)
        return out

    bad = h.wait_until(lambda: not (m := mismatches()) or None, 5 * h.SLACK, interval=0.5)
    left = {} if bad else mismatches()
    h.check(f"GET /v1/availability reports the database's free beds for {len(dates)} nights of "
            f"each of the {len(state['pools'])} pools after the crashes", not left,
            f"(search, database): {left}")


def check_holds_expire(state):
    url = state["url"]
    sql = ("SELECT count(*) FROM stays WHERE status = 'held' "
           "AND hold_expires_at < now() - interval '5 seconds'")
    # The last holds lapse HOLD_TTL_S after the load; the sweeper runs every second.
    ok = h.wait_until(lambda: h.scalar(url, sql) == "0", HOLD_TTL_S + 15 * h.SLACK,
                      interval=0.5)
    h.check("no stay is still held more than 5 s after its hold_expires_at (the sweeper caught "
            "up after every crash)", bool(ok), f"{h.scalar(url, sql)} overdue holds")
    rows = h.psql(url, "SELECT status, count(*) FROM stays GROUP BY status ORDER BY status")
    h.info("stays by status: " + ", ".join(f"{s} {n}" for s, n in rows))


# ---------------------------------------------------------------------------------------------

def test_bookings_survive_kill9_and_postgres_outages():
    with h.own_cluster() as cluster:
        url = h.prepare_database(cluster.create_database("logeer"), seed=True)
        today = h.today_local(url)
        caregivers = h.add_caregivers(url, CAREGIVER_THREADS * ACCOUNTS_PER_CAREGIVER_THREAD,
                                      prefix="crash")
        tag = uuid.uuid4().hex[:6]
        referrers = [f"verwijzer{i}-{tag}@test.logeer.nl" for i in range(REFERRER_THREADS)]
        with h._Pool(max_workers=4) as pool:
            list(pool.map(lambda e: h.add_user(url, e, "referrer"), referrers))

        server = h.Server(url, env=ENV)
        live = Live(server)
        provider_email = "planner@esdorp.demo.logeer.nl"
        ptoken = server.login(provider_email)
        provider_id = h.DEMO_PROVIDER_IDS[provider_email]
        last = today + h._dt.timedelta(days=WINDOW_DAYS + 6)
        pools = {}
        for name, kind, beds in (("planned_plenty", "planned", PLENTY),
                                 ("planned_scarce", "planned", SCARCE),
                                 ("crisis_plenty", "crisis", PLENTY),
                                 ("crisis_scarce", "crisis", SCARCE)):
            pools[name] = h.make_pool(server, url, ptoken, provider_id, beds, today, last,
                                      kind=kind, name=f"crash {name} {tag}").id
        cg_tokens = h.login_many(server, caregivers)
        ref_tokens = h.login_many(server, referrers)

        state = {"cluster": cluster, "url": url, "live": live, "kills": 0, "outages": 0,
                 "power_losses": 0, "pools": pools, "today": today,
                 "referrer_token": ref_tokens[0], "outage_probes": [], "victims": []}
        outcomes = []
        stop = threading.Event()
        bookers = []
        for n in range(CAREGIVER_THREADS):
            mine = cg_tokens[n * ACCOUNTS_PER_CAREGIVER_THREAD:
                             (n + 1) * ACCOUNTS_PER_CAREGIVER_THREAD]
            bookers.append(Booker(n, "caregiver", mine,
                                  [pools["planned_plenty"], pools["planned_scarce"]],
                                  live, today, stop, outcomes))
        for n in range(REFERRER_THREADS):
            bookers.append(Booker(100 + n, "referrer", [ref_tokens[n]],
                                  [pools["crisis_plenty"], pools["crisis_scarce"]],
                                  live, today, stop, outcomes))
        started = T0[0] = time.monotonic()
        for b in bookers:
            b.start()
        try:
            run_chaos(state, started)
            remaining = started + LOAD_SECONDS - time.monotonic()
            if remaining > 0:
                time.sleep(remaining)
        finally:
            stop.set()
            for b in bookers:
                b.join(GIVE_UP_S + 30)
        h.check("every client thread finished", not any(b.is_alive() for b in bookers))
        h.info(f"load ran {time.monotonic() - started:.1f} s with {state['kills']} kill -9 "
               f"({state['power_losses']} of them together with PostgreSQL: power loss) and "
               f"{state['outages']} PostgreSQL-only outages; caregivers confirmed "
               f"{sum(b.confirmed for b in bookers)} holds")

        # The outage probes are retried now, like any client would, and join the set with the
        # bookings killed in flight (retried right after each restart).
        for probe in state["outage_probes"]:
            until_definitive(live, probe, time.monotonic() + GIVE_UP_S)
        everything = outcomes + state["outage_probes"] + state["victims"]
        replayed = sum(1 for v in state["victims"] if v.replayed)
        h.info(f"bookings killed in flight: {len(state['victims'])}; {replayed} of them had "
               "committed (their retry was a replay), the others had not")

        check_holds_expire(state)
        check_index_agrees(state, live.server.login("aanjager@demo.logeer.nl"))
        acked = check_set(state, everything)
        if acked:
            check_replays(state, acked)
        live.server.stop(label="the last logeerd after the crash test")


h.main(globals())
