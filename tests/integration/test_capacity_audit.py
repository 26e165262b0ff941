"""Capacity writes that concern no stay leave access-log entries of their own, read where every
other entry is read (GET /v1/access-log, coordinator): "alles klopt nog" (POST
/v1/pools/{id}/capacity/confirm) as capacity.confirm with who, the pool and the nights shown;
an applied CSV import (POST /v1/capacity/import) as capacity.import with who, per pool its
nights and lines, and the number of lines. A preview, a refused import and a refused
confirmation (another provider's pool) leave none. An import line refused for falling below
what is booked names the stays on those nights (ids, status, dates; no guest data). Runs on
the demo data plus two Esdorp pools made for the test."""

import datetime as dt
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
HUNZEHOF = "planner@hunzehof.demo.logeer.nl"
COORDINATOR = "aanjager@demo.logeer.nl"


def entries(srv, coordinator, action, user_id):
    resp = srv.get(f"/v1/access-log?user_id={user_id}&limit=500", token=coordinator)
    if resp.status != 200:
        h.fail("the coordinator reads the access log", repr(resp))
        return []
    return [e for e in resp.json["entries"] if e["action"] == action]


def test_confirm_and_import_are_in_the_access_log():
    url = h.migrated_database(seed=True)
    srv = h.Server(url)
    today = h.today_local(url)
    day = lambda n: str(today + dt.timedelta(days=n))  # noqa: E731
    esdorp, hunzehof = srv.login(ESDORP), srv.login(HUNZEHOF)
    coordinator = srv.login(COORDINATOR)
    planner_id = srv.get("/v1/me", token=esdorp).json["id"]
    other_id = srv.get("/v1/me", token=hunzehof).json["id"]
    provider = h.DEMO_PROVIDER_IDS[ESDORP]
    a = h.make_pool(srv, url, esdorp, provider, 2, today, today + dt.timedelta(days=40),
                    name="Audit A")
    b = h.make_pool(srv, url, esdorp, provider, 2, today, today + dt.timedelta(days=40),
                    location_id=a.location_id, name="Audit B")

    # ---- alles klopt nog ----
    resp = srv.request("POST", f"/v1/pools/{a.id}/capacity/confirm", token=esdorp,
                       headers={"X-Request-Id": "audit-confirm-1"})
    h.check("set-up: the planner confirms pool A", resp.status == 200, repr(resp))
    found = entries(srv, coordinator, "capacity.confirm", planner_id)
    h.check("the confirmation is one access-log entry, read with the others",
            len(found) == 1, repr(found))
    if found:
        e = found[0]
        detail = e.get("detail") or {}
        pools = detail.get("pools") or [{}]
        h.check("it says who (user, role), the request and route", e["user_id"] == planner_id
                and e["role"] == "provider" and e["request_id"] == "audit-confirm-1"
                and e["route"] == "POST /v1/pools/{id}/capacity/confirm" and e["stay_id"] is None,
                repr(e))
        h.check("and which pool and nights (today and the 27 nights after)",
                detail.get("provider_id") == provider and len(pools) == 1
                and pools[0].get("pool_id") == a.id and pools[0].get("first_night") == day(0)
                and pools[0].get("last_night") == day(27), repr(detail))
    resp = srv.request("POST", f"/v1/pools/{a.id}/capacity/confirm", token=hunzehof)
    h.check_problem("another provider's planner cannot confirm: 404", resp, 404)
    h.check_equal("and leaves no entry",
                  len(entries(srv, coordinator, "capacity.confirm", other_id)), 0)

    def send(csv, apply, rid):
        return srv.request("POST", "/v1/capacity/import", {"csv": csv, "apply": apply},
                           token=esdorp, headers={"X-Request-Id": rid})

    # ---- an import: preview, then applied ----
    good = ("pool_id,first_night,last_night,beds\n"
            f"{a.id},{day(1)},{day(3)},4\n"
            f"{a.id},{day(5)},{day(5)},1\n"
            f"{b.id},{day(6)},{day(7)},5\n")
    resp = send(good, False, "audit-preview")
    h.check("set-up: a preview answers 200", resp.status == 200, repr(resp))
    h.check_equal("a preview writes nothing and leaves no entry",
                  len(entries(srv, coordinator, "capacity.import", planner_id)), 0)
    resp = send(good, True, "audit-import-1")
    h.check("set-up: the import is written", resp.status == 200
            and resp.json.get("applied") is True, repr(resp))
    found = entries(srv, coordinator, "capacity.import", planner_id)
    h.check("the applied import is one access-log entry", len(found) == 1, repr(found))
    if found:
        e = found[0]
        detail = e.get("detail") or {}
        pools = {p["pool_id"]: p for p in detail.get("pools") or []}
        h.check("it says who and which request", e["user_id"] == planner_id
                and e["role"] == "provider" and e["request_id"] == "audit-import-1"
                and e["route"] == "POST /v1/capacity/import", repr(e))
        h.check("how many lines and nights (3 lines, 6 nights)",
                detail.get("rows") == 3 and detail.get("nights") == 6, repr(detail))
        h.check("and per pool its nights and lines",
                set(pools) == {a.id, b.id}
                and (pools[a.id]["first_night"], pools[a.id]["last_night"], pools[a.id]["rows"],
                     pools[a.id]["nights"]) == (day(1), day(5), 2, 4)
                and (pools[b.id]["first_night"], pools[b.id]["last_night"], pools[b.id]["rows"],
                     pools[b.id]["nights"]) == (day(6), day(7), 1, 2), repr(pools))

    # ---- a refused import names the stays, and leaves no entry ----
    [email] = h.add_caregivers(url, 1, prefix="aud")
    caregiver = srv.login(email, h.TEST_PASSWORD)
    resp = srv.request("POST", "/v1/stays", h.stay_body(b.id, day(10), day(12)),
                       token=caregiver, headers={"Idempotency-Key": uuid.uuid4().hex})
    h.check("set-up: a stay holds a bed in pool B on nights 10 and 11", resp.status == 201,
            repr(resp))
    stay = (resp.json or {}).get("id")
    resp = srv.request("POST", f"/v1/stays/{stay}/confirm", token=caregiver)
    h.check("set-up: and is confirmed", resp.status == 200, repr(resp))
    below = ("pool_id,first_night,last_night,beds\n"
             f"{a.id},{day(20)},{day(21)},3\n"
             f"{b.id},{day(9)},{day(11)},0\n")
    resp = send(below, True, "audit-refused")
    h.check_problem("lowering below what is booked is refused: 422", resp, 422)
    lines = (resp.json or {}).get("lines", [])
    line = lines[0] if lines else {}
    h.check("the refused line names its nights", line.get("code") == "below_reserved"
            and [n["date"] for n in line.get("nights", [])] == [day(10), day(11)], repr(lines))
    h.check("and the stay on them, by id, status and dates",
            line.get("stays") == [{"id": stay, "status": "confirmed", "check_in": day(10),
                                   "check_out": day(12)}], repr(line.get("stays")))
    h.check("without guest data", "alias" not in repr(line.get("stays"))
            and "mevr" not in repr(line), repr(line))
    h.check_equal("a refused import leaves no entry",
                  len(entries(srv, coordinator, "capacity.import", planner_id)), 1)
    h.check_equal("exactly two capacity entries carry particulars (the confirmation and the "
                  "import; sign-ins carry their own)",
                  h.scalar(url, "SELECT count(*) FROM access_log WHERE detail IS NOT NULL "
                                "AND action LIKE 'capacity.%'"), "2")
    srv.stop()


h.main(globals())
