"""A database failover under booking load loses no acknowledged booking (issue 16).

deploy/ha.sh starts a pg_auto_failover formation (monitor, primary, synchronous standby) in a
temporary directory; two logeerd processes run on its multi-host conninfo
(target_session_attrs=read-write). Client threads book (hold, then confirm, each with an
Idempotency-Key, retried with the same key after a 503) against both processes while the
primary's postmaster is killed with SIGKILL; later the old primary has rejoined as standby and
the new primary is killed too (fail back, or its keeper restarts it in place and the standby
streams again). After each: every acknowledged booking is there with the state it was
acknowledged in, no night is over capacity, every counter equals a recount of the stays, no
5xx but 503 was seen, and writes were accepted again within 15 s
without restarting logeerd. It prints the time from each kill to the first booking accepted
after it, the bookings acknowledged and the 503s seen (docs/operations.md records them).
Also: LOGEER_REPLICA_URL sends a report to the standby (its sessions are visible there by
application_name) and falls back to the primary when the replica cannot be reached.

Normal tree only (tests/CMakeLists.txt): it takes a few minutes."""

import collections
import datetime as dt
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid

import harness as h

HA_SH = os.path.join(h.SOURCE_DIR, "deploy", "ha.sh")
ESDORP = "planner@esdorp.demo.logeer.nl"
COORDINATOR = "aanjager@demo.logeer.nl"
POOLS = 3
BEDS = 10                # per pool per night
NIGHTS = 90              # the window the load books in, one night per stay
CROWDED = 4              # the first nights get a third of the load, so they fill up and the
                         # last beds are raced for throughout
THREADS_PER_SERVER = 3
WRITES_BACK_LIMIT_S = 15.0
OWN_DELAY_LIMIT_S = 6.0  # logeerd's own part: from the database taking writes to a booking.
                         # libpq tries the hosts in order, so until the old primary (restarted
                         # by its keeper) is demoted a reconnect may land there again, fail the
                         # durability check and wait its backoff (up to 1 s) before the next try
OVERLOADED = 4.0         # load average per core above which the machine, not the software,
                         # decides how long pg_auto_failover's steps take
LOAD_AFTER_S = 8.0       # load kept up after the first booking that follows a kill
REJOIN_LIMIT_S = 180.0
RETRY_SLEEP_S = 0.3      # the clients retry sooner than Retry-After, so the measured time to
                         # the first booking is not rounded up to Retry-After's seconds


def ha(*args, timeout=300):
    return subprocess.run([HA_SH, *args], capture_output=True, text=True, timeout=timeout)


class Formation:
    """ha.sh up in a fresh directory; down always runs, however the test ends."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="logeer-test-ha-", dir="/tmp")
        self.url = None

    def __enter__(self):
        proc = ha("up", self.dir, timeout=900)
        if proc.returncode != 0:
            raise RuntimeError(f"ha.sh up failed: {proc.stderr[-2000:]}")
        self.url = proc.stdout.strip().splitlines()[-1]
        h.info(f"ha.sh up: {self.url}")
        return self

    def __exit__(self, *exc):
        proc = ha("down", self.dir)
        h.check("ha.sh down succeeds", proc.returncode == 0, proc.stderr[-800:])
        shutil.rmtree(self.dir, ignore_errors=True)
        left = subprocess.run(["pgrep", "-f", f"pg_autoctl.*{re.escape(self.dir)}"],
                              capture_output=True, text=True).stdout.split()
        h.check("no pg_autoctl process of the formation is left", not left, left)
        return False

    def ports(self):
        return re.search(r"port=(\d+),(\d+)", self.url).groups()

    def node_url(self, port, dbname="logeer"):
        return f"host=127.0.0.1 port={port} dbname={dbname} user=logeer"

    def primary(self):
        proc = ha("primary", self.dir, timeout=60)
        return proc.stdout.strip() if proc.returncode == 0 else None

    def status(self):
        return ha("status", self.dir, timeout=60).stdout

    def both_in_sync(self):
        """One primary and one secondary, as reported and assigned by the monitor, and the
        primary's synchronous standby streaming."""
        text = self.status()
        states = re.findall(r"\|\s+(\w+)\s+\|\s+(\w+)\s*$", text, re.M)
        settled = sorted(states) == [("primary", "primary"), ("secondary", "secondary")]
        if not settled:
            return False
        name = self.primary()
        port = self.ports()[0 if name == "node1" else 1]
        try:
            return int(h.scalar(self.node_url(port, "postgres"),
                                "SELECT count(*) FROM pg_stat_replication WHERE state = "
                                "'streaming' AND sync_state IN ('sync', 'quorum')")) >= 1
        except Exception:
            return False

    def kill_primary(self):
        proc = ha("kill-primary", self.dir, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"ha.sh kill-primary failed: {proc.stderr}")
        return proc.stdout.strip()


class Load:
    """Booking clients: each books one night at a time (hold, then confirm) and keeps what was
    acknowledged. A 503, an idempotency-in-progress 409 or a lost connection is retried with
    the same Idempotency-Key; a 409 no-beds ends that booking. Anything else is recorded."""

    def __init__(self, servers, tokens, pools, nights):
        self.servers, self.tokens, self.pools, self.nights = servers, tokens, pools, nights
        self.lock = threading.Lock()
        self.acked = {}                 # stay id -> "held" or "confirmed"
        self.successes = []             # (started, finished) of every acknowledged hold
        self.statuses = collections.Counter()
        self.unexpected = []            # (what, detail): 5xx other than 503, wrong answers
        self.retry_after_missing = 0
        self.already_confirmed = 0      # a confirm retried after a 503 found it confirmed
        self.stop = threading.Event()
        self.threads = []

    def note(self, resp):
        with self.lock:
            if isinstance(resp, Exception):
                self.statuses[f"exception {resp.__class__.__name__}"] += 1
            else:
                self.statuses[resp.status] += 1
                if resp.status == 503 and not resp.header("Retry-After"):
                    self.retry_after_missing += 1
                if resp.status >= 500 and resp.status != 503:
                    self.unexpected.append(("5xx", repr(resp)[:300]))

    def call(self, port, method, path, body, token, key):
        """Until an answer that is not "try again" (or the load stops): (response, tried)."""
        tried = 0
        while True:
            tried += 1
            try:
                resp = h.request(port, method, path, body, token=token, timeout=30,
                                 headers={"Idempotency-Key": key} if key else None)
            except OSError as e:
                resp = e
            self.note(resp)
            retry = (isinstance(resp, Exception) or resp.status == 503 or
                     (resp.status == 409 and h.problem_type(resp) == "idempotency-in-progress"))
            if not retry:
                return resp, tried
            if self.stop.is_set() and tried > 100:
                return resp, tried
            time.sleep(RETRY_SLEEP_S)

    def book_one(self, rng, port, token):
        pool = rng.choice(self.pools)
        crowded = rng.random() < 0.33
        night = rng.choice(self.nights[:CROWDED] if crowded else self.nights)
        body = h.stay_body(pool, night, night + dt.timedelta(days=1))
        started = time.monotonic()
        resp, _ = self.call(port, "POST", "/v1/stays", body, token, uuid.uuid4().hex)
        if isinstance(resp, Exception):
            return
        if resp.status == 409 and h.problem_type(resp) == "no-beds":
            return
        if resp.status != 201 or not isinstance(resp.json, dict) or "id" not in resp.json:
            with self.lock:
                self.unexpected.append(("hold", repr(resp)[:300]))
            return
        stay = resp.json["id"]
        with self.lock:
            self.acked[stay] = "held"
            self.successes.append((started, time.monotonic()))
        resp, tried = self.call(port, "POST", f"/v1/stays/{stay}/confirm", None, token,
                                uuid.uuid4().hex)
        if not isinstance(resp, Exception) and resp.status == 200:
            with self.lock:
                self.acked[stay] = "confirmed"
            return
        if (not isinstance(resp, Exception) and resp.status == 409 and
                (resp.json or {}).get("current_status") == "confirmed"):
            # An earlier attempt committed before its answer was lost: "already confirmed".
            with self.lock:
                self.acked[stay] = "confirmed"
                self.already_confirmed += 1
            return
        if not isinstance(resp, Exception) and resp.status == 409 and tried > 1:
            # The stay itself says whether the first confirm committed.
            got, _ = self.call(port, "GET", f"/v1/stays/{stay}", None, token, None)
            if not isinstance(got, Exception) and (got.json or {}).get("status") == "confirmed":
                with self.lock:
                    self.acked[stay] = "confirmed"
                return
        with self.lock:
            self.unexpected.append(("confirm", repr(resp)[:300]))

    def run(self, i):
        rng = random.Random(i)
        port, token = self.servers[i % len(self.servers)].port, self.tokens[i]
        while not self.stop.is_set():
            self.book_one(rng, port, token)

    def start(self):
        for i in range(len(self.tokens)):
            t = threading.Thread(target=self.run, args=(i,), daemon=True)
            t.start()
            self.threads.append(t)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(120)

    def first_success_after(self, instant):
        with self.lock:
            done = [end for start, end in self.successes if start >= instant]
        return min(done) - instant if done else None


class World:
    pass


def setup(formation):
    w = World()
    w.formation = formation
    w.url = formation.url
    proc = h.migrate(w.url, h.MIGRATIONS_DIR)
    if not h.check("migrate succeeds on the formation", proc.returncode == 0, proc.stderr[-600:]):
        raise RuntimeError("migrate failed")
    h.psql(w.url, f"CREATE TABLE {PROBE_TABLE} (at timestamptz NOT NULL DEFAULT now())")
    proc = h.seed_demo(w.url)
    if not h.check("seed-demo succeeds on the formation", proc.returncode == 0,
                   proc.stderr[-600:]):
        raise RuntimeError("seed failed")
    # The replica: whichever node is a standby now (prefer-standby finds it after a failover).
    p1, p2 = formation.ports()
    replica = (f"host=127.0.0.1,127.0.0.1 port={p1},{p2} dbname=logeer user=logeer "
               "target_session_attrs=prefer-standby connect_timeout=2")
    env = {"LOGEER_MAX_OPEN_STAYS": "1000", "LOGEER_REPLICA_URL": replica}
    w.a = h.Server(w.url, env=env, start_timeout=60)
    w.b = h.Server(w.url, env=env, start_timeout=60)
    w.pids = (w.a.pid, w.b.pid)
    today = h.today_local(w.url)
    first = today + dt.timedelta(days=3)
    w.nights = [first + dt.timedelta(days=d) for d in range(NIGHTS)]
    planner = w.a.login(ESDORP)
    w.pools = []
    for n in range(POOLS):
        pool = h.make_pool(w.a, w.url, planner, h.DEMO_PROVIDER_IDS[ESDORP], BEDS, w.nights[0],
                           w.nights[-1] + dt.timedelta(days=1), name=f"Failover {n}")
        w.pools.append(pool.id)
    n_clients = 2 * THREADS_PER_SERVER
    emails = h.add_caregivers(w.url, n_clients, prefix="ha")
    w.tokens = h.login_many(w.a, emails)
    w.coordinator = w.a.login(COORDINATOR)
    return w


def check_nothing_lost(label, w, load):
    with load.lock:
        acked = dict(load.acked)
    rows = h.psql(w.url, "SELECT id, status FROM stays WHERE pool_id IN ("
                         + ",".join(f"'{p}'" for p in w.pools) + ")")
    have = {r[0]: r[1] for r in rows}
    missing = [s for s in acked if s not in have]
    h.check_equal(f"{label}: acknowledged bookings missing from the new primary", len(missing), 0)
    # Every client retried with the same key until it had an answer, so a stay nobody was told
    # about would be a retry that booked twice.
    extra = [s for s in have if s not in acked]
    h.check_equal(f"{label}: stays in the pools that no client was told about (double bookings "
                  "from a retried key)", len(extra), 0)
    # confirmed (or later) for an acknowledged confirm; a hold acknowledged but whose confirm
    # got no answer may be either
    later = {"confirmed", "checked_in", "completed"}
    wrong = {s: have.get(s) for s, st in acked.items() if s in have and
             ((st == "confirmed" and have[s] not in later) or
              (st == "held" and have[s] not in later | {"held"}))}
    h.check(f"{label}: every acknowledged booking has the state it was acknowledged in",
            not wrong, dict(list(wrong.items())[:5]))
    h.check_equal(f"{label}: nights with held + booked > capacity", h.overbooked_night_count(w.url),
                  0)
    differing = 0
    for pool in w.pools:
        for night, v in h.nights_with_implied(w.url, pool).items():
            differing += v[1:3] != v[3:5]
    h.check_equal(f"{label}: counters differing from a recount of the stays", differing, 0)
    return len(acked)


def readyz(srv):
    try:
        return srv.request("GET", "/readyz", timeout=5).status
    except OSError:
        return None


PROBE_TABLE = "failover_probe"


def database_writable_after(url, instant, limit):
    """Seconds from instant until a write is acknowledged through the multi-host conninfo, or
    None. This is the failover manager's part of the time. The write is a row: its commit
    waits for the synchronous standby, as a booking's does. (A transaction that only takes a
    transaction id writes no WAL of its own and is answered at once by a primary whose standby
    has not reconnected yet, which logeerd rightly does not write to.) A probe left waiting
    for the standby is answered as soon as the standby streams again, so its generous timeout
    does not round the figure up."""
    deadline = instant + limit
    while time.monotonic() < deadline:
        try:
            proc = subprocess.run(["psql", "-X", "-Atc",
                                   f"INSERT INTO {PROBE_TABLE} DEFAULT VALUES",
                                   url + " connect_timeout=1"], capture_output=True,
                                  timeout=max(1.0, min(10.0, deadline - time.monotonic())))
            if proc.returncode == 0:
                return time.monotonic() - instant
        except subprocess.TimeoutExpired:
            pass
        time.sleep(0.2)
    return None


def last_db_lines(srv, n):
    return [x for x in srv.stderr_text().splitlines() if '"db: ' in x][-n:]


def why_not_booking(w):
    """For a failed check: what the formation and each process's pool said last."""
    return {"formation": w.formation.status(),
            "A": last_db_lines(w.a, 2), "B": last_db_lines(w.b, 2)}


def one_failover(label, w, load, figures):
    before = w.formation.primary()
    seen_not_ready = {"A": False, "B": False}
    killed = w.formation.kill_primary()
    # Taken when ha.sh returns: it first asks the nodes which is primary, and a booking that
    # started before the postmaster died says nothing about the failover.
    killed_at = time.monotonic()
    h.check(f"{label}: ha.sh kill-primary killed the primary ({before})", killed == before,
            killed)
    db_result = []
    probe = threading.Thread(target=lambda: db_result.append(
        database_writable_after(w.url, killed_at, 60)), daemon=True)
    probe.start()
    deadline = killed_at + 60
    first = None
    while time.monotonic() < deadline:
        for name, srv in (("A", w.a), ("B", w.b)):
            if readyz(srv) == 503:
                seen_not_ready[name] = True
        first = load.first_success_after(killed_at)
        if first is not None:
            break
        time.sleep(0.1)
    probe.join(65)
    db = db_result[0] if db_result else None
    shown = f"{first:.1f} s" if first is not None else "none within 60 s"
    db_shown = f"{db:.1f} s" if db is not None else "none within 60 s"
    load_now = os.getloadavg()[0] / (os.cpu_count() or 1)
    h.info(f"{label}: kill -> first booking accepted after it: {shown}; kill -> the database "
           f"takes a write (psql): {db_shown}; load average per core {load_now:.1f}")
    figures.append((first, db))
    in_own_time = first is not None and db is not None and first - db <= OWN_DELAY_LIMIT_S
    h.check(f"{label}: logeerd books within {OWN_DELAY_LIMIT_S:.0f} s of the database taking "
            "writes again", in_own_time,
            (shown, db_shown) if in_own_time else (shown, db_shown, why_not_booking(w)))
    in_time = first is not None and first <= WRITES_BACK_LIMIT_S
    if not in_time and load_now > OVERLOADED:
        # pg_auto_failover's keepers then take seconds per step; logeerd's own part is judged
        # above whatever the load.
        h.info(f"{label}: the machine is overloaded (load {load_now:.1f} per core): the "
               f"{WRITES_BACK_LIMIT_S:.0f} s bound from kill to booking is not judged this run")
    else:
        h.check(f"{label}: writes accepted again within {WRITES_BACK_LIMIT_S:.0f} s of the kill",
                first is not None and first <= WRITES_BACK_LIMIT_S, shown)
    h.info(f"{label}: /readyz said 503 during the failover: {seen_not_ready}")
    time.sleep(LOAD_AFTER_S)
    for name, srv in (("A", w.a), ("B", w.b)):
        ok = h.wait_until(lambda: readyz(srv) == 200, 30)
        h.check(f"{label}: /readyz of process {name} is 200 after the failover", ok is True,
                readyz(srv))
    h.info(f"{label}: primary now {w.formation.primary()}")


def test_failovers_under_booking_load_lose_no_acknowledged_booking():
    if os.geteuid() != 0 and not os.access("/var/run/postgresql", os.W_OK):
        h.fail("ha.sh can run here", "run as root or as postgres (it needs /var/run/postgresql)")
        return
    with Formation() as formation:
        w = setup(formation)
        check_replica(w)
        load = Load([w.a, w.b], w.tokens, w.pools, w.nights)
        figures = []
        load.start()
        try:
            time.sleep(3)
            one_failover("first failover", w, load, figures)
            settled = h.wait_until(formation.both_in_sync, REJOIN_LIMIT_S, interval=1)
            h.check("the old primary rejoins as synchronous standby", settled is True,
                    formation.status())
            one_failover("second failover (back)", w, load, figures)
        finally:
            load.finish()
        acked = check_nothing_lost("after both failovers", w, load)
        h.info(f"bookings acknowledged: {acked} ({sum(1 for s in load.acked.values() if s == 'confirmed')} "
               f"confirmed); answers: {dict(load.statuses)}")
        h.info(f"confirms answered 'already confirmed' on a retry: {load.already_confirmed}")
        for name, srv in (("A", w.a), ("B", w.b)):
            h.info(f"process {name}'s last database log lines:\n" +
                   "\n".join(last_db_lines(srv, 8)))
        h.info(f"503s seen: {load.statuses.get(503, 0)}; time to first booking after each kill "
               "(database writable): " + ", ".join(
                   f"{b:.1f} s ({d:.1f} s)" if b is not None and d is not None else "none"
                   for b, d in figures))
        h.check("bookings were acknowledged under load", acked > 0, acked)
        h.check_equal("no 5xx other than 503 and no wrong answer", load.unexpected[:5], [])
        h.check_equal("every 503 carries Retry-After", load.retry_after_missing, 0)
        h.check("both logeerd processes ran throughout (no restart)",
                (w.a.pid, w.b.pid) == w.pids and w.a.proc.poll() is None
                and w.b.proc.poll() is None, (w.a.proc.poll(), w.b.proc.poll()))
        settled = h.wait_until(formation.both_in_sync, REJOIN_LIMIT_S, interval=1)
        h.check("after the second failover the other node rejoins as standby too",
                settled is True, formation.status())
        check_replica_after(w)
        w.a.stop(label="logeerd A")
        w.b.stop(label="logeerd B")


def report_status(srv, token):
    resp = srv.request("GET", "/v1/reports/occupancy", token=token)
    return resp.status


def replica_sessions(w, port):
    return int(h.scalar(w.formation.node_url(port, "postgres"),
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE application_name = 'logeerd-replica'"))


def standby_port(w):
    p1, p2 = w.formation.ports()
    return p2 if w.formation.primary() == "node1" else p1


def check_replica(w):
    """Before any failover: the replica's sessions are on the standby, and a report is
    answered there (the standby's count of statements run by those sessions grows)."""
    port = standby_port(w)
    h.wait_until(lambda: replica_sessions(w, port) > 0, 20)
    h.check("LOGEER_REPLICA_URL: logeerd-replica sessions are on the standby",
            replica_sessions(w, port) > 0, port)
    primary = w.formation.ports()[0 if w.formation.primary() == "node1" else 1]
    h.check_equal("and none on the primary", replica_sessions(w, primary), 0)
    before = standby_xacts(w, port)
    h.check_equal("a report through the replica is 200", report_status(w.a, w.coordinator), 200)
    # Statistics reach pg_stat_database within a second of the transaction.
    grew = h.wait_until(lambda: standby_xacts(w, port) > before, 5, interval=0.2)
    h.check("the report ran on the standby (the standby's transactions in logeer grew)",
            grew is True, (before, standby_xacts(w, port)))


def standby_xacts(w, port):
    # Each statement of the replica pool is one transaction on the standby's database.
    return int(h.scalar(w.formation.node_url(port, "postgres"),
                        "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                        "WHERE datname = 'logeer'"))


def check_replica_after(w):
    """After the failovers the replica pool still answers reports (prefer-standby: on the
    standby, or on the primary when it reconnected while there was none); and a replica that
    cannot be reached leaves reports to the primary."""
    h.check_equal("after the failovers a report through process A is 200",
                  report_status(w.a, w.coordinator), 200)
    srv = h.Server(w.url, env={"LOGEER_REPLICA_URL":
                               "host=127.0.0.1 port=1 dbname=logeer user=logeer connect_timeout=1"})
    h.check_equal("with the replica unreachable, a report is still 200 (from the primary)",
                  report_status(srv, srv.login(COORDINATOR)), 200)
    srv.stop(label="logeerd with an unreachable replica")


h.main(globals())
