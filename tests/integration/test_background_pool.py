"""The background jobs have database connections of their own (LOGEER_DB_BACKGROUND_POOL_SIZE):
a job's statement that is stuck (here the access log's batch, waiting for a lock on its table)
never takes a connection a request is waiting for. With one pool for both, the requests queued
behind the stuck statement and timed out with 503 after five seconds."""

import datetime as dt
import subprocess
import time
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
READS = 5


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.today = h.today_local(self.url)
        self.night = self.today + dt.timedelta(days=25)
        self.after = self.night + dt.timedelta(days=1)
        srv = h.Server(self.url)
        planner = srv.login(ESDORP)
        provider = h.DEMO_PROVIDER_IDS[ESDORP]
        self.pool = h.make_pool(srv, self.url, planner, provider, 20, self.night, self.after,
                                name="Background pool")
        self.emails = h.add_caregivers(self.url, 2, prefix="bgp")
        token = srv.login(self.emails[0], password=h.TEST_PASSWORD)
        resp = srv.request("POST", "/v1/stays", h.stay_body(self.pool.id, self.night, self.after,
                                                            alias="mevr. K."), token=token)
        h.check("the stay to read is held (201)", resp.status == 201, repr(resp))
        self.stay_id = resp.json["id"]
        srv.stop(label="set-up server")


def world():
    return h.once("world", World)


def sessions(url, application_name):
    return int(h.scalar(url, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                             f"'{application_name}' AND datname = current_database()"))


def logged(url, request_ids):
    ids = ", ".join(f"'{r}'" for r in request_ids)
    return int(h.scalar(url, f"SELECT count(*) FROM access_log WHERE request_id IN ({ids})"))


def test_the_jobs_connect_apart_and_are_counted_apart():
    w = world()
    server = h.Server(w.url, env={"LOGEER_DB_POOL_SIZE": "3",
                                  "LOGEER_DB_BACKGROUND_POOL_SIZE": "2"})
    h.wait_until(lambda: sessions(w.url, "logeerd-background") == 2, 10 * h.SCALE)
    h.check_equal("the background pool has its two sessions, named for pg_stat_activity",
                  sessions(w.url, "logeerd-background"), 2)
    text = server.get("/metrics").text
    for pool, size in (("api", 3), ("background", 2)):
        h.check(f"/metrics shows the {pool} pool's size ({size})",
                f'logeer_db_pool_connections{{pool="{pool}",state="configured"}} {size}\n'
                in text)
        h.check(f"and that it is up ({pool})", f'logeer_db_up{{pool="{pool}"}} 1\n' in text)
    server.stop()


def test_a_stuck_job_statement_leaves_the_requests_their_connection():
    w = world()
    # One connection each: with one shared connection the stuck batch would hold it.
    server = h.Server(w.url, env={"LOGEER_DB_POOL_SIZE": "1",
                                  "LOGEER_DB_BACKGROUND_POOL_SIZE": "1"})
    token = server.login(w.emails[0], password=h.TEST_PASSWORD)
    other = server.login(w.emails[1], password=h.TEST_PASSWORD)
    tag = f"bgp-{uuid.uuid4().hex[:8]}"
    # SHARE mode lets everyone read the access log and no one write to it.
    locker = subprocess.Popen(
        [h.PSQL, "-X", "-q", "-d", w.url, "-c",
         f"BEGIN; LOCK TABLE access_log IN SHARE MODE; SELECT pg_sleep(60) /* {tag} */; "
         "COMMIT;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    request_ids = [f"{tag}-read-{i}" for i in range(READS)]
    try:
        h.wait_until(lambda: h.scalar(w.url, "SELECT count(*) FROM pg_stat_activity WHERE "
                                             f"query LIKE '%/* {tag} */%' AND state = 'active' "
                                             "AND pid <> pg_backend_pid()") == "1",
                     10 * h.SCALE)
        first = server.request("GET", f"/v1/stays/{w.stay_id}", token=token,
                               headers={"X-Request-Id": request_ids[0]})
        h.check_equal("the first read answers 200", first.status, 200)
        stuck = ("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                 "'logeerd-background' AND wait_event_type = 'Lock' AND query LIKE "
                 "'%INSERT INTO access_log%'")
        h.wait_until(lambda: h.scalar(w.url, stuck) == "1", 10 * h.SCALE)
        h.check_equal("its access-log batch waits for the lock on the background connection",
                      h.scalar(w.url, stuck), "1")
        started = time.monotonic()
        answers = [server.request("GET", f"/v1/stays/{w.stay_id}", token=token,
                                  headers={"X-Request-Id": rid}, timeout=30 * h.SCALE)
                   for rid in request_ids[1:]]
        booked = server.request("POST", "/v1/stays",
                                h.stay_body(w.pool.id, w.night, w.after, alias="dhr. P."),
                                token=other, timeout=30 * h.SCALE)
        took = time.monotonic() - started
        h.check(f"the {READS - 1} reads after it answer 200 meanwhile",
                all(a.status == 200 for a in answers), [a.status for a in answers])
        h.check_equal("and a booking is made meanwhile (201)", booked.status, 201)
        h.info(f"{READS - 1} reads and a booking took {took:.2f} s beside the stuck batch")
        h.check("none of them waited for the stuck statement (well under the queue's 5 s)",
                took < 3 * h.SCALE, f"{took:.2f} s")
        h.check_equal("nothing was logged while the table is locked", logged(w.url, request_ids),
                      0)
    finally:
        h.psql(w.url, "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                      f"WHERE query LIKE '%/* {tag} */%' AND pid <> pg_backend_pid()")
        locker.wait(timeout=60 * h.SCALE)
    h.wait_until(lambda: logged(w.url, request_ids) == READS, 10 * h.SCALE)
    h.check_equal("once the lock is gone every read's access-log row is written",
                  logged(w.url, request_ids), READS)
    server.stop()


if __name__ == "__main__":
    h.main(globals())
