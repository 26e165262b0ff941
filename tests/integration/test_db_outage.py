"""Database outage: while PostgreSQL is down, logeerd stays alive (/livez 200), reports itself
not ready (/readyz 503) and answers data routes with 503 problem+json and Retry-After instead
of hanging; when PostgreSQL comes back the same process recovers by itself."""

import time

import harness as h


def readyz(server):
    try:
        return server.get("/readyz", timeout=5 * h.SLACK)
    except OSError as e:
        h.info(f"/readyz failed: {e}")
        return None


def test_outage_and_recovery_without_restart():
    with h.own_cluster() as cluster:
        url = h.prepare_database(cluster.create_database("logeer"))
        server = h.Server(url)
        pid = server.pid
        h.check_equal("with PostgreSQL up, /readyz is 200", server.get("/readyz").status, 200)
        h.check_equal("with PostgreSQL up, /v1/municipalities is 200",
                      server.get("/v1/municipalities").status, 200)

        cluster.stop_immediate()
        stopped_at = time.monotonic()
        limit = 5 * h.SLACK
        down = h.wait_until(lambda: (r := readyz(server)) is not None and r.status == 503 and r,
                            limit, interval=0.1)
        took = time.monotonic() - stopped_at
        h.check(f"within {limit:.0f} s of PostgreSQL stopping, /readyz is 503 ({took:.1f} s)",
                bool(down), repr(readyz(server)))
        if down:
            h.check("that 503 is problem+json with Retry-After",
                    h.is_problem(down, 503) and down.header("retry-after") is not None,
                    repr(down))

        started = time.monotonic()
        resp = server.get("/v1/municipalities", timeout=10 * h.SLACK)
        took = time.monotonic() - started
        h.check("while PostgreSQL is down, /v1/municipalities is a 503 problem+json",
                h.is_problem(resp, 503), repr(resp))
        h.check("... with Retry-After", resp.header("retry-after") is not None, repr(resp))
        h.check(f"... answered without hanging ({took:.1f} s)", took < 6 * h.SLACK)
        h.check_equal("while PostgreSQL is down, /livez is 200", server.get("/livez").status, 200)
        h.check_equal("/metrics still answers while PostgreSQL is down",
                      server.get("/metrics").status, 200)

        cluster.start()
        restarted_at = time.monotonic()
        limit = 15 * h.SLACK
        up = h.wait_until(lambda: (r := readyz(server)) is not None and r.status == 200,
                          limit, interval=0.2)
        took = time.monotonic() - restarted_at
        h.check(f"within {limit:.0f} s of PostgreSQL starting, /readyz is 200 again "
                f"({took:.1f} s)", bool(up), repr(readyz(server)))
        ok = h.wait_until(lambda: server.get("/v1/municipalities").status == 200,
                          max(1.0, limit - took), interval=0.2)
        h.check("... and /v1/municipalities is 200 again", bool(ok))
        h.check("the same logeerd process served throughout",
                server.proc.poll() is None and server.pid == pid)
        server.stop()


h.main(globals())
