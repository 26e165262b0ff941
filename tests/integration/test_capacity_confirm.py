"""POST /v1/pools/{id}/capacity/confirm ("alles klopt nog"): a planner confirms a pool's counts
without changing them. as_of moves to now, no night changes, the version goes up by one (an
older ETag no longer matches), the pool is no longer stale in GET /v1/pools and leaves the
coordinator's stale report. Only the pool's own provider may confirm (another provider: 404;
caregiver and coordinator: 403). Runs on the Drenthe demo data, whose Respijtkamers pool (Zorggroep
Esdorp) is 20 days stale."""

import datetime as dt

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
HUNZEHOF = "planner@hunzehof.demo.logeer.nl"
RESPIJTKAMERS = "d2000000-0000-4000-a000-000000000004"  # Esdorp, as_of 20 days ago


def stale_ids(srv, token, today):
    q = f"from={today}&to={today + dt.timedelta(days=28)}&period=week&group_by=location"
    rep = srv.get("/v1/reports/occupancy?" + q, token=token).json or {}
    return {p["pool_id"] for p in (rep.get("stale") or {}).get("list", [])}


def test_confirm_moves_as_of_and_nothing_else():
    url = h.migrated_database(seed=True)
    srv = h.Server(url)
    today = h.today_local(url)
    esdorp, hunzehof = srv.login(ESDORP), srv.login(HUNZEHOF)
    coordinator = srv.login("aanjager@demo.logeer.nl")
    caregiver = srv.login("mantelzorger@demo.logeer.nl")
    path = f"/v1/pools/{RESPIJTKAMERS}/capacity/confirm"

    before_pool = srv.get(f"/v1/pools/{RESPIJTKAMERS}", token=esdorp).json
    before = srv.get(f"/v1/pools/{RESPIJTKAMERS}/capacity", token=esdorp)
    h.check("the demo's Respijtkamers pool starts stale", before_pool["stale"] is True,
            repr(before_pool))
    h.check("and is in the coordinator's stale report",
            RESPIJTKAMERS in stale_ids(srv, coordinator, today))

    for who, token, status in (("another provider's planner", hunzehof, 404),
                               ("a caregiver", caregiver, 403),
                               ("the coordinator", coordinator, 403)):
        resp = srv.request("POST", path, token=token)
        h.check_problem(f"{who} cannot confirm the pool: {status}", resp, status)
    h.check("the refusals left the pool stale",
            srv.get(f"/v1/pools/{RESPIJTKAMERS}", token=esdorp).json["stale"] is True)

    resp = srv.request("POST", path, token=esdorp)
    h.check("the pool's own planner confirms: 200 with the nights from today",
            resp.status == 200 and resp.json.get("from") == str(today), repr(resp))
    body = resp.json or {}
    h.check("the version went up by one and the ETag says so",
            body.get("version") == before.json["version"] + 1
            and resp.header("ETag") == f"\"{body.get('version')}\"", repr(resp))
    h.check("as_of moved forward", body.get("as_of", "") > before.json["as_of"],
            f"{before.json['as_of']} -> {body.get('as_of')}")
    h.check_equal("no night changed (capacity, held, booked, free)",
                  body.get("nights"), before.json["nights"])
    after_pool = srv.get(f"/v1/pools/{RESPIJTKAMERS}", token=esdorp).json
    h.check("the pool is no longer stale", after_pool["stale"] is False, repr(after_pool))
    h.check("the coordinator's stale report no longer lists it",
            RESPIJTKAMERS not in stale_ids(srv, coordinator, today))

    old = h.put_capacity(srv, esdorp, RESPIJTKAMERS,
                         [{"from": today, "to": today + dt.timedelta(days=1), "beds": 2}],
                         if_match=f"\"{before.json['version']}\"")
    h.check_problem("a write with the ETag from before the confirmation is 412", old, 412)
    h.check_problem("an unknown pool is 404",
                    srv.request("POST", "/v1/pools/00000000-0000-4000-a000-000000000000/"
                                "capacity/confirm", token=esdorp), 404)
    srv.stop()


h.main(globals())
