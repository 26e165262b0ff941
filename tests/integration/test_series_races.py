"""Series racing single stays over TWO logeerd processes on one database (migration 0038).
All-or-nothing series and single stays for the same nights, released together and split
between the processes, never overbook a night and never leave a series half held: every series
that exists holds all of its occurrences, and every refused one left no stay behind. The share
cap holds under the same concurrency: on no night do series hold more than the pool's
series_share_max_percent of the beds, while single stays still get the rest."""

import collections
import datetime as dt
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
SERIES_CLIENTS = 8
SINGLE_CLIENTS = 12
BEDS = 3
OCCURRENCES = 4
NIGHTS = 2


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.a = h.Server(self.url, keep=True)
        self.today = h.today_local(self.url)
        self.esdorp = self.a.login(ESDORP)
        provider = h.DEMO_PROVIDER_IDS[ESDORP]
        # Pools made before B starts, so B loads them at start-up.
        self.race_pool = h.make_pool(self.a, self.url, self.esdorp, provider, BEDS, self.day(0),
                                     self.day(90), name="Series race")
        self.share_pool = h.make_pool(self.a, self.url, self.esdorp, provider, 4, self.day(0),
                                      self.day(90), location_id=self.race_pool.location_id,
                                      name="Series share race")
        resp = self.a.request("PATCH", f"/v1/pools/{self.race_pool.id}",
                              {"series_share_max_percent": 100}, token=self.esdorp)
        if resp.status != 200:
            raise RuntimeError(f"share refused: {resp!r}")
        self.b = h.Server(self.url, keep=True)
        n = SERIES_CLIENTS + SINGLE_CLIENTS
        emails = h.add_caregivers(self.url, 2 * n, prefix="sq")
        self.tokens = (h.login_many(self.a, emails[:n]) + h.login_many(self.b, emails[n:]))

    def day(self, n):
        return self.today + dt.timedelta(days=n)


def world():
    return h.once("world", World)


def series_body(w, pool, mode):
    return {"pool_id": pool.id, "mode": mode, "nights": NIGHTS,
            "rule": {"first_check_in": str(w.day(14)), "every_weeks": 1, "count": OCCURRENCES},
            "funding": "zvw",
            "guest": {"alias": "R.", "birth_year": 1945, "care_profile": "dementia", "needs": []}}


def run_race(w, pool, mode, token_offset):
    """SERIES_CLIENTS series and SINGLE_CLIENTS single stays on the series' nights, every other
    client on the other process, released together. Returns (series answers, single answers)."""
    n = SERIES_CLIENTS + SINGLE_CLIENTS
    requests = []
    for i in range(n):
        # Clients 0, 1, 5, 6, 10, 11, ... ask for series: both processes get some.
        if i % 5 in (0, 1):
            requests.append(("series", "/v1/series", series_body(w, pool, mode)))
        else:
            week = i % OCCURRENCES
            first = w.day(14 + 7 * week)
            requests.append(("single", "/v1/stays",
                             h.stay_body(pool.id, first, first + dt.timedelta(days=NIGHTS),
                                         funding="zvw", alias=f"s{i}")))
    servers = [w.a if i % 2 == 0 else w.b for i in range(n)]

    def action(i, barrier):
        client = h.Client(servers[i].port, timeout=60 * h.SCALE)
        try:
            client.conn.connect()
            barrier.wait()
            return client.request("POST", requests[i][1], requests[i][2],
                                  token=w.tokens[token_offset + i],
                                  headers={"Idempotency-Key": uuid.uuid4().hex})
        finally:
            client.close()

    results = h.race(n, action)
    series = [r for (kind, _, _), r in zip(requests, results) if kind == "series"]
    singles = [r for (kind, _, _), r in zip(requests, results) if kind == "single"]
    tally = collections.Counter(
        f"{kind} " + (f"exception {r.__class__.__name__}" if isinstance(r, Exception)
                      else f"{r.status} {h.problem_type(r) or ''}")
        for (kind, _, _), r in zip(requests, results))
    h.info(f"{len(series)} {mode} series and {len(singles)} single stays over two processes: "
           f"{dict(tally)}")
    h.check("no request failed with an exception or a 5xx",
            all(not isinstance(r, Exception) and r.status < 500 for r in results), tally)
    return series, singles


def test_series_race_single_stays_never_overbooks_nor_half_holds():
    w = world()
    pool = w.race_pool
    series, singles = run_race(w, pool, "all_or_nothing", 0)
    wins = [r for r in series if not isinstance(r, Exception) and r.status == 201]
    refused = [r for r in series if not isinstance(r, Exception) and r.status == 409]
    h.check_equal("every series is either 201 or 409 no-beds",
                  (len(wins) + len(refused),
                   all(h.problem_type(r) == "no-beds" for r in refused)),
                  (SERIES_CLIENTS, True))
    h.check("every refused series names the nights that blocked it",
            all((r.json or {}).get("nights") and (r.json or {}).get("blocked") for r in refused),
            [r.json for r in refused][:2])
    h.check_counters_match_stays("after the series/single race", w.url, pool.id)
    rows = h.psql(w.url, "SELECT r.id, count(s.id), count(s.id) FILTER (WHERE s.status = 'held') "
                         "FROM series r LEFT JOIN stays s ON s.series_id = r.id "
                         f"WHERE r.pool_id = '{pool.id}' GROUP BY r.id")
    h.check_equal("one series row per 201, and no other", len(rows), len(wins))
    half = [r for r in rows if (int(r[1]), int(r[2])) != (OCCURRENCES, OCCURRENCES)]
    h.check(f"every series that exists holds all {OCCURRENCES} occurrences (none half held)",
            not half, half)
    orphans = h.scalar(w.url, "SELECT count(*) FROM stays s WHERE s.series_id IS NOT NULL "
                              f"AND s.pool_id = '{pool.id}' AND NOT EXISTS (SELECT 1 FROM series r "
                              "WHERE r.id = s.series_id)")
    h.check_equal("no occurrence of a refused series was left behind", orphans, "0")
    taken = h.scalar(w.url, "SELECT max(held + booked) FROM pool_nights "
                            f"WHERE pool_id = '{pool.id}'")
    h.check_equal(f"the busiest night holds exactly its {BEDS} beds, no more", taken, str(BEDS))
    single_wins = sum(1 for r in singles if not isinstance(r, Exception) and r.status == 201)
    h.info(f"{len(wins)} series (x{OCCURRENCES}) and {single_wins} single stays won")
    for name, srv in (("A", w.a), ("B", w.b)):
        free = h.wait_until(lambda: h.availability_free(srv, w.tokens[0], pool.id, w.day(14),
                                                        NIGHTS) == 0, 1.0)
        h.check(f"process {name}'s search shows the first occurrence's nights full", free,
                h.availability_free(srv, w.tokens[0], pool.id, w.day(14), NIGHTS))


def test_share_cap_holds_under_concurrency():
    w = world()
    pool = w.share_pool  # 4 beds, default share 50: at most 2 series stays a night
    series, singles = run_race(w, pool, "best_effort", SERIES_CLIENTS + SINGLE_CLIENTS)
    h.check_counters_match_stays("after the share-cap race", w.url, pool.id)
    per_night = h.psql(w.url, "SELECT n.night, (SELECT count(*) FROM stays s "
                              "WHERE s.series_id IS NOT NULL AND s.pool_id = n.pool_id "
                              "AND s.check_in <= n.night AND n.night < s.check_out "
                              "AND s.status IN ('held', 'requested', 'confirmed')) "
                              f"FROM pool_nights n WHERE n.pool_id = '{pool.id}' "
                              "AND n.night >= current_date ORDER BY n.night")
    most = max(int(r[1]) for r in per_night)
    h.check_equal("on no night do series hold more than 50 % of the 4 beds (2); the fullest "
                  "night has exactly 2", most, 2)
    wins = [r for r in series if not isinstance(r, Exception) and r.status == 201]
    h.check("some series won and the rest were refused or partly held with reason "
            "series_share or no_beds",
            wins and all(b.get("reason") in ("series_share", "no_beds")
                         for r in series if not isinstance(r, Exception)
                         for b in ((r.json or {}).get("not_held") or (r.json or {}).get("blocked")
                                   or [])), [r.json for r in series][:3])
    single_wins = sum(1 for r in singles if not isinstance(r, Exception) and r.status == 201)
    h.check("single stays got beds beside the series", single_wins > 0, single_wins)


h.main(globals())
