#!/usr/bin/env python3
"""search_ab.py: the same searches through two logeerd binaries, one after the other, on one
database: are the answers the same bytes, and what did each cost? Counts that do not depend on
the machine's other load: instructions (perf stat, user space) and database rows written per
search; beside them the CPU time logeerd and PostgreSQL used (noisier on a shared machine).
A check of equivalence for every change to the search path, and each change's own effect.

Usage: tests/bench/search_ab.py DATABASE_URL PASSWORD BINARY_A BINARY_B [SEARCHES]
(SEARCH_AB_DIFF=FILE writes the searches whose answers differ, with both answers.)
The database holds the national data set (tests/bench/national.sql, which gives every bench
account PASSWORD); searches are shaped like search.lua's, from a fixed seed, as caregiver 1.
Needs perf and hardware counters for the instruction counts (prints "-" without them, as in
a VM without a virtual PMU)."""

import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time


def psql(url, sql):
    return subprocess.run(["psql", "-X", "-qAt", "-F", " ", "-d", url, "-c", sql],
                          capture_output=True, text=True, check=True).stdout.split("\n")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ticks(pids):
    n = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            n += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return n


def postgres_pids(url):
    return [int(x) for x in psql(url, "SELECT pid FROM pg_stat_activity") if x.strip()]


def queries(url, n):
    """Like search.lua: one municipality (sometimes one profile), around a point, or the whole
    country for a profile and a funding route."""
    rnd = random.Random(20261205)
    munis = [l.split() for l in psql(url, "SELECT code, lat, lon FROM municipalities ORDER BY code")
             if l.strip()]
    today = psql(url, "SELECT (now() AT TIME ZONE 'Europe/Amsterdam')::date")[0]
    base = time.mktime(time.strptime(today, "%Y-%m-%d")) + 12 * 3600
    out = []
    for _ in range(n):
        day = time.strftime("%Y-%m-%d", time.localtime(base + rnd.randint(1, 600) * 86400))
        q = [f"check_in={day}", f"nights={rnd.randint(1, 14)}"]
        code, lat, lon = rnd.choice(munis)
        r = rnd.random()
        if r < 0.45:
            q.append(f"municipality={code}")
            if rnd.random() < 0.5:
                q.append("care_profile=" + rnd.choice(["somatic", "dementia", "disability",
                                                       "psychiatric", "youth"]))
        elif r < 0.75:
            q += [f"lat={lat}", f"lon={lon}", f"radius_km={rnd.randint(10, 40)}",
                  f"flex_days={rnd.randint(0, 3)}", "care_profile=dementia"]
        else:
            q += ["care_profile=" + rnd.choice(["somatic", "dementia", "youth"]),
                  "funding=" + rnd.choice(["pgb", "wlz", "wmo", "private"]),
                  f"flex_days={rnd.randint(0, 7)}"]
        out.append("/v1/availability?" + "&".join(q))
    return out


def run(binary, url, password, paths):
    port = free_port()
    env = dict(os.environ, LOGEER_DATABASE_URL=url, LOGEER_LISTEN=f"127.0.0.1:{port}",
               LOGEER_LOG_LEVEL="warn", LOGEER_MFA_REQUIRED_ROLES="")
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([binary, "serve"], env=env, stdout=log, stderr=log)
    try:
        deadline = time.time() + 300
        while True:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/readyz")
                resp = c.getresponse()
                # 503 without "loading": an older binary on a newer schema still answers
                # searches, which is all this compares.
                if resp.status == 200 or b"loading" not in resp.read():
                    break
            except OSError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                raise SystemExit(f"{binary} did not become ready")
            time.sleep(0.2)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("POST", "/v1/sessions", json.dumps(
            {"email": "caregiver-0001@bench.logeer.nl", "password": password}),
            {"Content-Type": "application/json"})
        token = json.loads(c.getresponse().read())["token"]
        headers = {"Authorization": f"Bearer {token}"}
        for p in paths[:50]:  # warm-up: the prepared parts of the hits, the caches
            c.request("GET", p, headers=headers)
            c.getresponse().read()
        time.sleep(2.5)  # one flush of the search counts, outside the measurement
        rows0 = int(psql(url, "SELECT coalesce(sum(n_tup_ins), 0) FROM pg_stat_user_tables")[0])
        pg = postgres_pids(url)
        perf = None
        perf_out = tempfile.NamedTemporaryFile(delete=False)
        try:
            perf = subprocess.Popen(["perf", "stat", "-x", ",", "-e", "instructions:u", "-p",
                                     str(proc.pid), "-o", perf_out.name],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        except OSError:
            perf = None
        t0, p0 = ticks([proc.pid]), ticks(pg)
        bodies = []
        for p in paths:
            c.request("GET", p, headers=headers)
            resp = c.getresponse()
            bodies.append((resp.status, resp.read()))
        time.sleep(2.5)  # the searches' counts reach the database
        t1, p1 = ticks([proc.pid]), ticks(pg)
        instructions = None
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait()
            for line in open(perf_out.name):
                parts = line.strip().split(",")
                if len(parts) > 2 and parts[2].startswith("instructions") and parts[0].isdigit():
                    instructions = int(parts[0])
        os.unlink(perf_out.name)
        rows1 = int(psql(url, "SELECT coalesce(sum(n_tup_ins), 0) FROM pg_stat_user_tables")[0])
        return {"bodies": bodies, "instructions": instructions,
                "logeerd_cpu_s": (t1 - t0) / os.sysconf("SC_CLK_TCK"),
                "postgres_cpu_s": (p1 - p0) / os.sysconf("SC_CLK_TCK"),
                "rows_inserted": rows1 - rows0}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    url, password, a, b = sys.argv[1:5]
    n = int(sys.argv[5]) if len(sys.argv) > 5 else 3000
    paths = queries(url, n)
    results = {}
    for name, binary in (("A", a), ("B", b)):
        results[name] = run(binary, url, password, paths)
        r = results[name]
        per = lambda v, scale=1: "-" if v is None else f"{v * scale / n:,.0f}"
        print(f"{name} {binary}: {n} searches, {per(r['instructions'])} instructions/search "
              f"(user space), logeerd {per(r['logeerd_cpu_s'], 1e6)} us CPU/search, postgres "
              f"{per(r['postgres_cpu_s'], 1e6)} us CPU/search, {r['rows_inserted']} rows "
              f"inserted ({r['rows_inserted'] / n:.4f}/search)")
    same = sum(1 for x, y in zip(results["A"]["bodies"], results["B"]["bodies"]) if x == y)
    # SEARCH_AB_DIFF=FILE: the searches whose answers differ, each with both answers.
    if os.environ.get("SEARCH_AB_DIFF"):
        with open(os.environ["SEARCH_AB_DIFF"], "w") as out:
            for path, x, y in zip(paths, results["A"]["bodies"], results["B"]["bodies"]):
                if x != y:
                    out.write(f"{path}\nA {x[0]} {x[1]}\nB {y[0]} {y[1]}\n\n")
    ok = sum(1 for s, _ in results["A"]["bodies"] if s == 200)
    hits = sum(json.loads(body)["count"] for s, body in results["A"]["bodies"] if s == 200)
    print(f"answers: {same} of {n} identical byte for byte ({ok} were 200, {hits / max(ok, 1):.1f} "
          "hits each on average)")
    ia, ib = results["A"]["instructions"], results["B"]["instructions"]
    if ia and ib:
        print(f"instructions B / A: {ib / ia:.3f}")
    sys.exit(0 if same == n else 1)


if __name__ == "__main__":
    main()
