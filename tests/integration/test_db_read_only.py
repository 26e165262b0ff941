"""A database that stops taking writes, as a demoted primary or a standby does after a failover
(SQLSTATE 25006, read_only_sql_transaction). Provoked without a failover: a private cluster
switched to default_transaction_read_only = on by ALTER SYSTEM and a reload. logeerd must answer
503 problem+json with Retry-After (never a 500, never a wrong answer), drop the read-only
sessions so that /readyz says 503 while no session can write, and take writes again by itself
once the database does; a retry with the same Idempotency-Key then books exactly once."""

import datetime as dt
import time
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
RECOVER_S = 15  # backoff tops out at 1 s; a loaded machine gets plenty of slack


def readyz(srv):
    try:
        return srv.request("GET", "/readyz", timeout=5 * h.SCALE).status
    except OSError:
        return None


def set_read_only(cluster, on):
    # The admin session says for itself that it may write, whatever the default is.
    admin = cluster.url("postgres") + " options='-c default_transaction_read_only=off'"
    value = "on" if on else "off"
    h.psql(admin, f"ALTER SYSTEM SET default_transaction_read_only = {value}")
    h.psql(admin, "SELECT pg_reload_conf()")
    # pg_reload_conf only signals the postmaster, which then signals every session: wait until
    # a new session sees the value, and give the running ones a moment to read it too.
    h.wait_until(lambda: h.scalar(cluster.url("postgres"), "SHOW default_transaction_read_only")
                 == value, 10)
    time.sleep(1)


def test_read_only_database_gives_503_then_writes_return_without_restart():
    with h.own_cluster() as cluster:
        url = h.prepare_database(cluster.create_database(), seed=True)
        srv = h.Server(url)
        today = h.today_local(url)
        night, leave = today + dt.timedelta(days=5), today + dt.timedelta(days=6)
        planner = srv.login(ESDORP)
        pool = h.make_pool(srv, url, planner, h.DEMO_PROVIDER_IDS[ESDORP], 3, night, leave,
                           name="Read-only test")
        tokens = h.login_many(srv, h.add_caregivers(url, 2, prefix="ro"))
        first = srv.request("POST", "/v1/stays", h.stay_body(pool.id, night, leave),
                            token=tokens[0], headers={"Idempotency-Key": uuid.uuid4().hex})
        h.check_equal("a booking before the switch is 201", first.status, 201)
        h.check_equal("/readyz is 200 before the switch", readyz(srv), 200)

        set_read_only(cluster, True)
        key = uuid.uuid4().hex
        body = h.stay_body(pool.id, night, leave, alias="ro-test R.")
        resp = srv.request("POST", "/v1/stays", body, token=tokens[1],
                           headers={"Idempotency-Key": key})
        h.check_problem("a booking on the read-only database is 503 problem+json", resp, 503)
        h.check("the 503 carries Retry-After", resp.header("Retry-After") is not None,
                repr(resp))
        # Every read brings the news to one more session; /readyz itself reads, so polling it
        # drops them all in a few calls.
        down = h.wait_until(lambda: readyz(srv) == 503, RECOVER_S * h.SCALE, interval=0.2)
        h.check("/readyz turns 503 while no session can write", down is True, readyz(srv))
        again = srv.request("POST", "/v1/stays", body, token=tokens[1],
                            headers={"Idempotency-Key": key})
        h.check_problem("the retry while still read-only is 503 too", again, 503)
        h.check("the log says the read-only sessions were dropped",
                "read-only" in srv.stdout_text() + srv.stderr_text(), srv.stderr_tail(10))
        h.check_equal("nothing was written for the refused booking",
                      h.scalar(url, "SELECT count(*) FROM stays WHERE guest_alias = 'ro-test R.'"),
                      "0")

        set_read_only(cluster, False)
        up = h.wait_until(lambda: readyz(srv) == 200, RECOVER_S * h.SCALE, interval=0.2)
        h.check(f"/readyz is 200 again within {RECOVER_S} s, without a restart", up is True,
                readyz(srv))
        retry = srv.request("POST", "/v1/stays", body, token=tokens[1],
                            headers={"Idempotency-Key": key})
        h.check_equal("the retry with the same Idempotency-Key books: 201", retry.status, 201)
        replay = srv.request("POST", "/v1/stays", body, token=tokens[1],
                             headers={"Idempotency-Key": key})
        h.check("a second retry returns the same stay", replay.status == 201 and
                (replay.json or {}).get("id") == (retry.json or {}).get("id"), repr(replay))
        h.check_counters_match_stays("after the read-only spell", url, pool.id)
        h.check_equal("the pool has exactly two stays", h.scalar(
            url, f"SELECT count(*) FROM stays WHERE pool_id = '{pool.id}'"), "2")
        srv.stop(label="logeerd after the read-only spell")


h.main(globals())
