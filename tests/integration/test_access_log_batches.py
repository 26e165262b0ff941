"""The NEN 7513 access log in batches: the rows of requests answered close together are written
by one statement (one commit) instead of one each, every row still complete, and the rows
still waiting when logeerd is told to stop are written before it exits, as is a batch that was
already on its way; a batch whose connection was lost is sent again, not dropped."""

import contextlib
import datetime as dt
import re
import signal
import subprocess
import threading
import time
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
READS = 6
# A batch's statement waiting for the lock access_log_locked holds.
BATCH_WAITING = ("FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                 "AND query LIKE '%INSERT INTO access_log%'")


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.today = h.today_local(self.url)
        self.night = self.today + dt.timedelta(days=20)
        self.after = self.night + dt.timedelta(days=1)
        srv = h.Server(self.url)
        planner = srv.login(ESDORP)
        provider = h.DEMO_PROVIDER_IDS[ESDORP]
        self.locked = h.make_pool(srv, self.url, planner, provider, 2, self.night, self.after,
                                  name="Batches locked")
        self.pool = h.make_pool(srv, self.url, planner, provider, 20, self.night, self.after,
                                name="Batches open")
        self.emails = h.add_caregivers(self.url, 3, prefix="alb")
        token = srv.login(self.emails[0], password=h.TEST_PASSWORD)
        resp = srv.request("POST", "/v1/stays", h.stay_body(self.pool.id, self.night, self.after,
                                                            alias="mevr. B."), token=token)
        h.check("the stay to read is held (201)", resp.status == 201, repr(resp))
        self.stay_id = resp.json["id"]
        srv.stop(label="set-up server")


def world():
    return h.once("world", World)


def queued(server):
    m = re.search(r'^logeer_db_pool_queued\{pool="api"\} (\d+)', server.get("/metrics").text,
                  re.M)
    return int(m.group(1)) if m else -1


@contextlib.contextmanager
def access_log_locked(url):
    """psql holds the access log in SHARE mode (anyone may read it, nobody write to it) until
    the block ends."""
    locker = subprocess.Popen([h.PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        locker.stdin.write("BEGIN; LOCK TABLE access_log IN SHARE MODE; SELECT 'locked';\n")
        locker.stdin.flush()
        h.check_equal("psql holds the access log against inserts",
                      locker.stdout.readline().strip(), "locked")
        yield
    finally:
        locker.stdin.write("COMMIT;\n")
        locker.stdin.close()
        locker.wait(30 * h.SCALE)


def read_while_locked(w, server, token, request_id):
    """Reads the stay while access_log_locked holds the table: its row's batch then waits."""
    resp = server.request("GET", f"/v1/stays/{w.stay_id}", token=token,
                          headers={"X-Request-Id": request_id})
    h.check_equal("the read answers 200", resp.status, 200)
    waiting = h.wait_until(lambda: h.scalar(w.url, f"SELECT count(*) {BATCH_WAITING}") == "1",
                           10 * h.SCALE)
    # Should it fail: what every session of the database was doing then.
    h.check("its batch waits for the lock", waiting, "" if waiting else repr(h.psql(
        w.url, "SELECT application_name, state, wait_event_type, wait_event, left(query, 80) "
               "FROM pg_stat_activity WHERE datname = current_database() "
               "AND pid <> pg_backend_pid()")))


def rows_for(url, request_ids):
    ids = ", ".join(f"'{r}'" for r in request_ids)
    return h.psql(url, "SELECT request_id, user_id::text, role::text, stay_id::text, guest_ref, "
                       "action, host(address), route, xmin::text FROM access_log "
                       f"WHERE request_id IN ({ids}) ORDER BY id")


def test_reads_answered_together_are_logged_by_one_statement():
    w = world()
    server = h.Server(w.url, env={"LOGEER_DB_POOL_SIZE": "1"})
    token = server.login(w.emails[0], password=h.TEST_PASSWORD)
    h.check_equal("the session answers", server.request("GET", "/v1/stays", token=token).status,
                  200)
    tag = f"alb-{uuid.uuid4().hex[:8]}"
    locker = subprocess.Popen(
        [h.PSQL, "-X", "-q", "-d", w.url, "-c",
         f"BEGIN; SELECT 1 FROM pool_nights WHERE pool_id = '{w.locked.id}' "
         f"AND night = '{w.night}' FOR UPDATE; SELECT pg_sleep(60) /* {tag} */; COMMIT;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    other = server.login(w.emails[1], password=h.TEST_PASSWORD)
    results = {}
    threads = []
    try:
        h.wait_until(lambda: h.scalar(w.url, "SELECT count(*) FROM pg_stat_activity WHERE "
                                             f"query LIKE '%/* {tag} */%' AND state = 'active' "
                                             "AND pid <> pg_backend_pid()") == "1",
                     10 * h.SCALE)
        # The one connection waits for the locked night; the reads queue behind it and are
        # then answered one right after the other.
        blocker = threading.Thread(target=lambda: results.setdefault("blocked", server.request(
            "POST", "/v1/stays", h.stay_body(w.locked.id, w.night, w.after), token=other,
            timeout=60 * h.SCALE)))
        blocker.start()
        h.wait_until(lambda: h.scalar(w.url, "SELECT count(*) FROM pg_stat_activity WHERE "
                                             "wait_event_type = 'Lock' AND query LIKE "
                                             "'%logeer_request_stay%'") == "1", 10 * h.SCALE)
        for i in range(READS):
            t = threading.Thread(target=lambda i=i: results.setdefault(i, server.request(
                "GET", f"/v1/stays/{w.stay_id}", token=token,
                headers={"X-Request-Id": f"{tag}-read-{i}"}, timeout=60 * h.SCALE)))
            t.start()
            threads.append(t)
        h.wait_until(lambda: queued(server) >= READS, 10 * h.SCALE)
    finally:
        h.psql(w.url, "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                      f"WHERE query LIKE '%/* {tag} */%' AND pid <> pg_backend_pid()")
        locker.wait(timeout=60 * h.SCALE)
    for t in threads + [blocker]:
        t.join(60 * h.SCALE)
    h.check(f"the {READS} reads answer 200",
            all(getattr(results.get(i), "status", None) == 200 for i in range(READS)),
            repr(results))
    request_ids = [f"{tag}-read-{i}" for i in range(READS)]
    h.wait_until(lambda: len(rows_for(w.url, request_ids)) == READS, 10 * h.SCALE)
    rows = rows_for(w.url, request_ids)
    user_id = h.scalar(w.url, f"SELECT id FROM users WHERE email = '{w.emails[0]}'")
    h.check_equal("one row per read", len(rows), READS)
    h.check("each row says who, as whom, which stay and guest, what, from where, which route",
            all(r[1:8] == [user_id, "caregiver", w.stay_id, "mevr. B.", "stay.read", "127.0.0.1",
                           "GET /v1/stays/{id}"] for r in rows), repr(rows))
    transactions = {r[8] for r in rows}
    h.info(f"{READS} rows written by {len(transactions)} transaction(s)")
    h.check(f"the {READS} rows of reads answered together were written by fewer statements "
            f"than rows ({len(transactions)})", len(transactions) < READS, repr(rows))
    server.stop()


def test_rows_waiting_at_a_stop_are_written_before_exit():
    w = world()
    server = h.Server(w.url)
    token = server.login(w.emails[0], password=h.TEST_PASSWORD)
    request_id = f"alb-stop-{uuid.uuid4().hex[:8]}"
    resp = server.request("GET", f"/v1/stays/{w.stay_id}", token=token,
                          headers={"X-Request-Id": request_id})
    server.send_signal(signal.SIGTERM)
    h.check_equal("the read answers 200", resp.status, 200)
    rc = server.wait_exit(30 * h.SCALE)
    server.finish(rc, "stopped right after a read")
    rows = rows_for(w.url, [request_id])
    h.check_equal("the read's access-log row was written before the process exited",
                  len(rows), 1)


def test_a_batch_already_on_its_way_at_a_stop_is_waited_for():
    """The batch's statement waits for a lock on the table when the stop comes: the process
    must stay until it is written, not close the pool under it."""
    w = world()
    server = h.Server(w.url)
    token = server.login(w.emails[0], password=h.TEST_PASSWORD)
    request_id = f"alb-way-{uuid.uuid4().hex[:8]}"
    with access_log_locked(w.url):
        read_while_locked(w, server, token, request_id)
        server.send_signal(signal.SIGTERM)
        time.sleep(1.0 * h.SCALE)
        h.check("a second after the stop the process still waits for that batch",
                server.wait_exit(0.1) is None)
    rc = server.wait_exit(30 * h.SCALE)
    server.finish(rc, "stopped while a batch waited for a lock")
    h.check_equal("the batch was written before the process exited",
                  len(rows_for(w.url, [request_id])), 1)


def test_a_batch_the_database_dropped_is_sent_again():
    """The batch's connection is ended under it (as in a restart or failover of PostgreSQL):
    the rows are kept and sent again once a connection is back, written once, none lost."""
    w = world()
    server = h.Server(w.url, env={"LOGEER_DB_BACKGROUND_POOL_SIZE": "1"})
    token = server.login(w.emails[0], password=h.TEST_PASSWORD)
    request_id = f"alb-again-{uuid.uuid4().hex[:8]}"
    with access_log_locked(w.url):
        read_while_locked(w, server, token, request_id)
        waiting_pid = f"SELECT coalesce(max(pid), 0) {BATCH_WAITING}"
        first = h.scalar(w.url, waiting_pid)
        ended = h.scalar(w.url, f"SELECT pg_terminate_backend({first})")
        h.check_equal("its connection is ended under it", ended, "t")
        h.check("logeerd says it will send the rows again",
                h.wait_until(lambda: "sending them again" in server.stderr_text(),
                             10 * h.SCALE), server.stderr_tail())
        h.check("and does, on a new connection, where the batch waits for the lock again",
                h.wait_until(lambda: h.scalar(w.url, waiting_pid) not in ("0", first),
                             20 * h.SCALE))
    h.check("once the lock is gone the read's row is written",
            h.wait_until(lambda: len(rows_for(w.url, [request_id])) >= 1, 20 * h.SCALE))
    h.check_equal("once", len(rows_for(w.url, [request_id])), 1)
    h.check_equal("/metrics: nothing kept any more",
                  h.metric(server, "logeer_access_log_rows_retrying"), 0.0)
    h.check_equal("/metrics: nothing lost",
                  h.metric(server, "logeer_access_log_rows_lost_total"), 0.0)
    server.stop()


if __name__ == "__main__":
    h.main(globals())
