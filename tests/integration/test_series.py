"""Recurring stays (logeerreeks, issue 15, migration 0038). A rhythm gives one ordinary stay per
occurrence, each held and linked to its series; all or nothing refuses with the nights that
block and holds nothing; best effort holds what fits and lists the rest with the reason; the
share cap leaves single stays their part of each night; an Idempotency-Key retry returns the
same series; a series counts as one open request; confirm, cancel one, cancel the rest; in an
approval pool the provider declines one occurrence and accepts the rest at once; the preview
shows the dates; rule ends beyond the horizon, crisis pools and other people's series are
refused. Counters always equal what the stays imply."""

import datetime as dt
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
HUNZEHOF = "planner@hunzehof.demo.logeer.nl"


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.a = h.Server(self.url, keep=True)
        self.today = h.today_local(self.url)
        self.cg = h.login_many(self.a, h.add_caregivers(self.url, 8, prefix="sr"))
        self.esdorp = self.a.login(ESDORP)
        self.hunzehof = self.a.login(HUNZEHOF)
        self.provider = h.DEMO_PROVIDER_IDS[ESDORP]

    def day(self, n):
        return self.today + dt.timedelta(days=n)

    def pool(self, beds, name, share=None, **kw):
        pool = h.make_pool(self.a, self.url, self.esdorp, self.provider, beds, self.day(0),
                           self.day(200), name=name, **kw)
        if share is not None:
            resp = self.a.request("PATCH", f"/v1/pools/{pool.id}",
                                  {"series_share_max_percent": share}, token=self.esdorp)
            if resp.status != 200:
                raise RuntimeError(f"share refused: {resp!r}")
        return pool

    def series(self, pool, token, mode="all_or_nothing", first=14, every=2, count=4, nights=2,
               key=None, **extra):
        body = {"pool_id": pool.id, "mode": mode, "nights": nights,
                "rule": {"first_check_in": str(self.day(first)), "every_weeks": every,
                         "count": count},
                "funding": "zvw",
                "guest": {"alias": "mevr. R.", "birth_year": 1941, "care_profile": "dementia",
                          "needs": []}}
        body.update(extra)
        return self.a.request("POST", "/v1/series", body, token=token,
                              headers={"Idempotency-Key": key or uuid.uuid4().hex})


def world():
    return h.once("world", World)


def occurrence_dates(w, first, every, count):
    return [str(w.day(first + 7 * every * i)) for i in range(count)]


def test_rhythm_holds_every_occurrence_as_a_linked_stay():
    w = world()
    pool = w.pool(4, "Reeks ritme")
    resp = w.series(pool, w.cg[0])
    if not h.check_equal("POST /v1/series every 2 weeks, 4 times: 201", resp.status, 201):
        h.info(repr(resp))
        return
    s = resp.json
    h.check_equal("Location names the series", resp.header("Location"), f"/v1/series/{s['id']}")
    occ = s["occurrences"]
    h.check_equal("four occurrences on the rhythm's dates, same weekday",
                  [o["check_in"] for o in occ], occurrence_dates(w, 14, 2, 4))
    h.check("each occurrence is an ordinary held stay of 2 nights linked to the series",
            all(o["status"] == "held" and o["nights"] == 2 and o["series_id"] == s["id"]
                for o in occ), occ)
    h.check_equal("counts: 4 held", s["counts"], {"held": 4})
    h.check_equal("not_held is empty", s["not_held"], [])
    got = w.a.request("GET", f"/v1/series/{s['id']}", token=w.cg[0])
    h.check_equal("GET /v1/series/{id} shows the same occurrences",
                  [o["id"] for o in (got.json or {}).get("occurrences", [])], [o["id"] for o in occ])
    one = w.a.request("GET", f"/v1/stays/{occ[1]['id']}", token=w.cg[0])
    h.check_equal("GET /v1/stays/{id} of an occurrence names its series",
                  (one.json or {}).get("series_id"), s["id"])
    listed = w.a.request("GET", "/v1/series", token=w.cg[0])
    h.check("GET /v1/series lists it for its caregiver",
            listed.status == 200 and s["id"] in [x["id"] for x in listed.json["series"]], listed)
    other = w.a.request("GET", f"/v1/series/{s['id']}", token=w.cg[1])
    h.check_equal("another caregiver gets 404", other.status, 404)
    hunze = w.a.request("GET", f"/v1/series/{s['id']}", token=w.hunzehof)
    h.check_equal("another provider's staff get 404", hunze.status, 404)
    board = w.a.request("GET", f"/v1/series?pool_id={pool.id}", token=w.esdorp)
    h.check("the pool's provider lists it", board.status == 200 and
            [x["id"] for x in board.json["series"]] == [s["id"]], board)
    h.check_counters_match_stays("after a series", w.url, pool.id)


def test_series_counts_as_one_open_request():
    w = world()
    pool = w.pool(4, "Reeks open")
    token = w.cg[1]
    h.check_equal("a series of 4 holds: 201", w.series(pool, token).status, 201)
    wins = []
    for i in range(3):
        body = h.stay_body(pool.id, w.day(3 + 3 * i), w.day(4 + 3 * i), funding="zvw")
        wins.append(w.a.request("POST", "/v1/stays", body, token=token).status)
    h.check_equal("with the series open (one request), two single stays fit under the limit "
                  "of 3 and the third is refused", wins, [201, 201, 409])
    again = w.series(pool, token, first=70)
    h.check_equal("another series is refused too: 409 conflict (too many open)",
                  (again.status, h.problem_type(again)), (409, "conflict"))


def test_all_or_nothing_refuses_with_the_blocking_nights_and_holds_nothing():
    w = world()
    pool = w.pool(2, "Reeks alles of niets", share=100)
    blocked = w.day(28)
    resp = h.put_capacity(w.a, w.esdorp, pool.id,
                          [{"from": blocked, "to": blocked + dt.timedelta(days=1), "beds": 0}])
    h.check_equal("one night of the third occurrence has no beds", resp.status, 200)
    resp = w.series(pool, w.cg[2])
    h.check_equal("all or nothing: 409 no-beds", (resp.status, h.problem_type(resp)),
                  (409, "no-beds"))
    body = resp.json or {}
    h.check_equal("the problem lists the blocking night", body.get("nights"), [str(blocked)])
    h.check_equal("and the blocked occurrence with its reason",
                  [(b.get("check_in"), b.get("reason")) for b in body.get("blocked", [])],
                  [(str(blocked), "no_beds")])
    stays = h.scalar(w.url, f"SELECT count(*) FROM stays WHERE pool_id = '{pool.id}'")
    series = h.scalar(w.url, f"SELECT count(*) FROM series WHERE pool_id = '{pool.id}'")
    h.check_equal("no occurrence and no series row was left behind", (stays, series), ("0", "0"))
    h.check_counters_match_stays("after a refused series", w.url, pool.id)

    resp = w.series(pool, w.cg[2], mode="best_effort")
    h.check_equal("best effort: 201", resp.status, 201)
    s = resp.json or {}
    h.check_equal("best effort holds the three that fit",
                  [o["check_in"] for o in s.get("occurrences", [])],
                  [d for d in occurrence_dates(w, 14, 2, 4) if d != str(blocked)])
    h.check_equal("and lists the one that did not, with the reason and night",
                  [(b["check_in"], b["reason"], b.get("nights")) for b in s.get("not_held", [])],
                  [(str(blocked), "no_beds", [str(blocked)])])
    h.check_counters_match_stays("after a best-effort series", w.url, pool.id)


def test_share_cap_leaves_single_stays_their_part():
    w = world()
    pool = w.pool(2, "Reeks aandeel")  # default share 50: one of two beds for series
    first = w.series(pool, w.cg[3], first=21, count=2)
    h.check_equal("the first series takes one bed a night: 201", first.status, 201)
    second = w.series(pool, w.cg[4], first=21, count=2)
    h.check_equal("a second series on those nights: 409 no-beds",
                  (second.status, h.problem_type(second)), (409, "no-beds"))
    h.check("with reason series_share for both occurrences",
            [b.get("reason") for b in (second.json or {}).get("blocked", [])]
            == ["series_share", "series_share"], second)
    single = w.a.request("POST", "/v1/stays",
                         h.stay_body(pool.id, w.day(21), w.day(23), funding="zvw"),
                         token=w.cg[4])
    h.check_equal("a single stay still gets the other bed", single.status, 201)
    resp = w.a.request("PATCH", f"/v1/pools/{pool.id}", {"series_share_max_percent": 101},
                       token=w.esdorp)
    h.check_equal("a share above 100 is 422", resp.status, 422)
    got = w.a.request("GET", f"/v1/pools/{pool.id}", token=w.esdorp)
    h.check_equal("the pool shows series_share_max_percent 50 by default",
                  (got.json or {}).get("series_share_max_percent"), 50)


def test_idempotent_retry_returns_the_same_series():
    w = world()
    pool = w.pool(4, "Reeks sleutel")
    key = uuid.uuid4().hex
    first = w.series(pool, w.cg[5], key=key, count=2)
    again = w.series(pool, w.cg[5], key=key, count=2)
    h.check_equal("the first answer is 201", first.status, 201)
    h.check("a retry with the same key and body returns the same series, marked replayed",
            again.status == 201 and (again.json or {}).get("id") == (first.json or {}).get("id")
            and again.header("Idempotent-Replayed") == "true", again)
    stays = h.scalar(w.url, f"SELECT count(*) FROM stays WHERE pool_id = '{pool.id}'")
    h.check_equal("and booked nothing more: 2 stays", stays, "2")
    other = w.series(pool, w.cg[5], key=key, count=3)
    h.check_equal("the same key with another body is 422",
                  (other.status, h.problem_type(other)), (422, "idempotency-key-reused"))


def test_confirm_cancel_one_and_cancel_the_rest():
    w = world()
    pool = w.pool(4, "Reeks bevestigen")
    s = w.series(pool, w.cg[6], first=7, every=1, count=3).json
    resp = w.a.request("POST", f"/v1/series/{s['id']}/confirm", token=w.cg[6])
    h.check("confirm: 200 and every occurrence confirmed",
            resp.status == 200 and resp.json["counts"] == {"confirmed": 3}, resp)
    again = w.a.request("POST", f"/v1/series/{s['id']}/confirm", token=w.cg[6])
    h.check_equal("confirming again: 409 invalid-transition",
                  (again.status, h.problem_type(again)), (409, "invalid-transition"))
    first = s["occurrences"][0]["id"]
    one = w.a.request("POST", f"/v1/stays/{first}/cancel", {"reason": "ziek"}, token=w.cg[6])
    h.check_equal("one occurrence cancels with the ordinary stay route", one.status, 200)
    rest = w.a.request("POST", f"/v1/series/{s['id']}/cancel-rest", token=w.cg[6])
    h.check("cancel-rest: 200 and all three cancelled",
            rest.status == 200 and rest.json["counts"] == {"cancelled": 3}, rest)
    h.check_counters_match_stays("after cancelling a series", w.url, pool.id)
    nights = h.db_nights(w.url, pool.id)
    h.check("every night is free again", all(v[1] == 0 and v[2] == 0 for v in nights.values()),
            nights)


def test_approval_pool_decline_one_accept_the_rest():
    w = world()
    pool = w.pool(4, "Reeks goedkeuring", booking_mode="approval")
    resp = w.series(pool, w.cg[7], count=3)
    s = resp.json or {}
    h.check("in an approval pool every occurrence is requested",
            resp.status == 201 and s["counts"] == {"requested": 3}, resp)
    confirm = w.a.request("POST", f"/v1/series/{s['id']}/confirm", token=w.cg[7])
    h.check_equal("the caregiver cannot confirm requests: 409", confirm.status, 409)
    no_reason = w.a.request("POST", f"/v1/series/{s['id']}/decline", token=w.esdorp)
    h.check_equal("declining without a reason is 422", no_reason.status, 422)
    second = s["occurrences"][1]["id"]
    one = w.a.request("POST", f"/v1/stays/{second}/decline", {"reason": "geen personeel"},
                      token=w.esdorp)
    h.check_equal("the provider declines one occurrence with the stay route", one.status, 200)
    accept = w.a.request("POST", f"/v1/series/{s['id']}/accept", token=w.esdorp)
    h.check("accepting the series confirms the other two",
            accept.status == 200 and accept.json["counts"] == {"confirmed": 2, "declined": 1},
            accept)
    hunze = w.a.request("POST", f"/v1/series/{s['id']}/accept", token=w.hunzehof)
    h.check_equal("another provider's staff get 404", hunze.status, 404)
    h.check_counters_match_stays("after accepting a series", w.url, pool.id)


def test_intake_first_refuses_the_whole_series():
    w = world()
    pool = w.pool(4, "Reeks kennismaking")
    resp = w.a.request("PATCH", f"/v1/pools/{pool.id}", {"intake_required": True},
                       token=w.esdorp)
    h.check_equal("the pool asks for a kennismaking first", resp.status, 200)
    guest = w.a.request("POST", "/v1/guests", {"alias": "dhr. K.", "birth_year": 1944,
                                               "care_profile": "dementia", "needs": [],
                                               "municipality": "GM0106", "funding": "zvw"},
                        token=w.cg[2])
    if not h.check_equal("a registered guest: 201", guest.status, 201):
        return
    body = {"pool_id": pool.id, "mode": "best_effort", "nights": 2,
            "rule": {"first_check_in": str(w.day(14)), "every_weeks": 2, "count": 3},
            "funding": "zvw", "guest_id": guest.json["id"]}
    resp = w.a.request("POST", "/v1/series", body, token=w.cg[2])
    h.check_equal("without a kennismaking even best effort is refused: 409 intake-required",
                  (resp.status, h.problem_type(resp)), (409, "intake-required"))
    left = h.scalar(w.url, f"SELECT count(*) FROM stays WHERE pool_id = '{pool.id}'")
    h.check_equal("and nothing was held", left, "0")


def test_preview_and_refusals():
    w = world()
    pool = w.pool(3, "Reeks voorbeeld", horizon_days=60)
    body = {"pool_id": pool.id, "nights": 2,
            "rule": {"first_check_in": str(w.day(10)), "every_weeks": 2}, "funding": "zvw",
            "guest": {"alias": "R.", "birth_year": 1950, "care_profile": "dementia"}}
    resp = w.a.request("POST", "/v1/series/preview", body, token=w.cg[0])
    want = [str(w.day(10 + 14 * i)) for i in range(4)]  # day 52 + 2 <= 60; day 66 is beyond
    h.check("preview without an end runs to the horizon: 4 dates, each with free beds",
            resp.status == 200 and [o["check_in"] for o in resp.json["occurrences"]] == want
            and all(o["free"] == 3 for o in resp.json["occurrences"]), resp)
    body["rule"]["count"] = 6
    resp = w.a.request("POST", "/v1/series/preview", body, token=w.cg[0])
    h.check("a count beyond the horizon is 422 on rule.count",
            resp.status == 422 and any(e.get("field") == "rule.count"
                                       for e in resp.json.get("errors", [])), resp)
    body = {"pool_id": pool.id, "mode": "best_effort", "nights": 3,
            "arrivals": [str(w.day(20)), str(w.day(22))], "funding": "zvw",
            "guest": {"alias": "R.", "birth_year": 1950, "care_profile": "dementia"}}
    resp = w.a.request("POST", "/v1/series", body, token=w.cg[0])
    h.check("overlapping arrivals are 422 on arrivals",
            resp.status == 422 and any(e.get("field") == "arrivals"
                                       for e in resp.json.get("errors", [])), resp)
    crisis = w.pool(2, "Reeks crisis", kind="crisis")
    body["pool_id"], body["arrivals"] = crisis.id, [str(w.day(20))]
    resp = w.a.request("POST", "/v1/series", body, token=w.cg[0])
    h.check_equal("a crisis pool does not exist for a caregiver: 404", resp.status, 404)
    resp = w.a.request("POST", "/v1/series", body, token=w.esdorp)
    h.check_equal("provider staff do not request series: 403", resp.status, 403)


h.main(globals())
