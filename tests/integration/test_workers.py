"""`logeerd serve --workers N` (issue 17): N processes answer on one port (SO_REUSEPORT), each
with its own availability index kept in step with the others through PostgreSQL, as separately
started processes are (test_multi_process). Proves that there are N of them, that a capacity
change made through one shows in every search answered afterwards within a second, whichever
process answers, and that SIGTERM to the first stops them all, exit code 0."""

import datetime as dt
import os
import time

import harness as h

WORKERS = 3


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(x) for x in f.read().split()]


def test_workers_share_the_port_and_agree():
    url = h.migrated_database()
    srv = h.Server(url, extra_args=("--workers", str(WORKERS)))
    kids = children(srv.pid)
    h.check_equal(f"{WORKERS - 1} more logeerd processes run beside the first", len(kids),
                  WORKERS - 1)
    h.add_user(url, "beheer@workers.test", "admin")
    admin = srv.login("beheer@workers.test", h.TEST_PASSWORD)
    prov = srv.request("POST", "/v1/providers", {"name": "Zorg Samen", "agb_code": "98771003"},
                       token=admin).json["id"]
    h.add_user(url, "planner@workers.test", "provider", provider=prov)
    staff = srv.login("planner@workers.test", h.TEST_PASSWORD)
    h.add_user(url, "mz@workers.test", "caregiver", municipality="GM0106")
    caregiver = srv.login("mz@workers.test", h.TEST_PASSWORD)
    today = h.today_local(url)
    night = today + dt.timedelta(days=12)
    pool = h.make_pool(srv, url, staff, prov, 2, today, today + dt.timedelta(days=30))

    def free_seen():
        """The free beds every one of 30 fresh connections sees (spread over the workers)."""
        seen = set()
        for _ in range(30):
            resp = h.request(srv.port, "GET", f"/v1/availability?check_in={night}&nights=1"
                             "&municipality=GM0106", token=caregiver)
            if resp.status != 200:
                seen.add(f"status {resp.status}")
                continue
            hits = [r["free"] for r in resp.json["results"] if r["pool_id"] == pool.id]
            seen.add(hits[0] if hits else None)
        return seen

    h.check("every process knows the new pool", h.wait_until(lambda: free_seen() == {2},
                                                                5 * h.SCALE), free_seen())
    # Thirty fresh connections: the kernel spreads them over the workers by their ports, so
    # all of them answer some (a stale index in any one would show as another number).
    resp = h.put_capacity(srv, staff, pool.id, [{"from": str(night),
                                                 "to": str(night + dt.timedelta(days=1)),
                                                 "beds": 5}])
    h.check_equal("staff raise the night to 5 beds", resp.status, 200)
    started = time.monotonic()
    agreed = h.wait_until(lambda: free_seen() == {5}, 5 * h.SCALE)
    h.check("within a second every process answers 5", agreed
            and time.monotonic() - started < 1.0 * h.SCALE + 1.5, free_seen())

    rc = srv.stop()
    h.check_equal("SIGTERM to the first stops it with exit code 0", rc, 0)
    h.check_equal("and the other workers are gone",
                  [k for k in kids if os.path.exists(f"/proc/{k}")], [])


h.main(globals())
