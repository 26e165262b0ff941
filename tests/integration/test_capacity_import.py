"""POST /v1/capacity/import: a provider's CSV of capacity, checked line by line and applied all
or none. A file with bad lines is refused with every bad line named by number and code and
nothing written; a preview (apply false) writes nothing; a good file is written in full; a
line that would lower a night below what is booked refuses the whole file; another provider's
pool is an unknown pool (its existence is not told). Runs on the demo data plus two Esdorp
pools made for the test."""

import datetime as dt
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
HUNZEHOF = "planner@hunzehof.demo.logeer.nl"


def test_import_all_or_nothing():
    url = h.migrated_database(seed=True)
    srv = h.Server(url)
    today = h.today_local(url)
    day = lambda n: str(today + dt.timedelta(days=n))  # noqa: E731
    esdorp, hunzehof = srv.login(ESDORP), srv.login(HUNZEHOF)
    provider = h.DEMO_PROVIDER_IDS[ESDORP]
    a = h.make_pool(srv, url, esdorp, provider, 2, today, today + dt.timedelta(days=40),
                    name="Import A")
    b = h.make_pool(srv, url, esdorp, provider, 2, today, today + dt.timedelta(days=40),
                    location_id=a.location_id, name="Import B")
    [email] = h.add_caregivers(url, 1, prefix="imp")
    caregiver = srv.login(email, h.TEST_PASSWORD)
    resp = srv.request("POST", "/v1/stays", h.stay_body(b.id, day(3), day(5)), token=caregiver,
                       headers={"Idempotency-Key": uuid.uuid4().hex})
    h.check("set-up: a stay holds a bed in pool B on nights 3 and 4", resp.status == 201,
            repr(resp))

    def nights(pool, first, last):
        r = srv.get(f"/v1/pools/{pool}/capacity?from={day(first)}&to={day(last + 1)}",
                    token=esdorp)
        return [n["capacity"] for n in r.json["nights"]]

    def send(csv, apply, token=esdorp):
        return srv.request("POST", "/v1/capacity/import", {"csv": csv, "apply": apply},
                           token=token)

    bad = ("pool_id;first_night;last_night;beds\n"
           f"{a.id};{day(1)};{day(3)};4\n"
           f"{a.id};{day(2)};{day(9)};4\n"             # line 3 overlaps line 2
           f"{b.id};2026-02-30;{day(4)};1\n"           # line 4: no such date
           "\n"
           f"{b.id};{day(10)};{day(12)};viele\n")      # line 6: beds not a number
    resp = send(bad, True)
    h.check_problem("a file with bad lines is refused: 422", resp, 422)
    lines = {(l["line"], l["code"]) for l in (resp.json or {}).get("lines", [])}
    h.check_equal("every bad line is named by its number and reason",
                  lines, {(3, "overlap"), (4, "date"), (6, "beds")})
    h.check("the good line of the bad file was not written", nights(a.id, 1, 3) == [2, 2, 2],
            nights(a.id, 1, 3))

    good = ("# capacity for the coming weeks\n"
            "pool_id,first_night,last_night,beds,pool_name\n"
            f"{a.id},{day(1)},{day(3)},4,Import A\n"
            f"{a.id},{day(4)},{day(4)},0,Import A\n"
            f"\"{b.id}\",{day(6)},{day(7)},5,Import B\n")
    resp = send(good, False)
    h.check("a preview answers 200 with the lines as read and applied false",
            resp.status == 200 and resp.json["applied"] is False and resp.json["nights"] == 6
            and [r["line"] for r in resp.json["rows"]] == [3, 4, 5]
            and resp.json["rows"][0]["pool_name"] == "Import A"
            and resp.json["rows"][1]["last_night"] == day(4), repr(resp))
    h.check("the preview wrote nothing", nights(a.id, 1, 4) == [2, 2, 2, 2])
    resp = send(good, True)
    h.check("the good file is written: 200, applied", resp.status == 200
            and resp.json["applied"] is True, repr(resp))
    h.check_equal("pool A: 4, 4, 4 then 0", nights(a.id, 1, 4), [4, 4, 4, 0])
    h.check_equal("pool B: 5, 5", nights(b.id, 6, 7), [5, 5])

    below = ("pool_id,first_night,last_night,beds\n"
             f"{a.id},{day(10)},{day(11)},3\n"
             f"{b.id},{day(2)},{day(4)},0\n")             # nights 3, 4 hold a bed
    resp = send(below, True)
    h.check_problem("lowering below what is held is refused: 422", resp, 422)
    found = (resp.json or {}).get("lines", [])
    h.check("the refused line is named with its nights",
            [(l["line"], l["code"]) for l in found] == [(3, "below_reserved")]
            and [n["date"] for n in found[0].get("nights", [])] == [day(3), day(4)], repr(found))
    h.check("all or nothing: pool A's line was not written either",
            nights(a.id, 10, 11) == [2, 2], nights(a.id, 10, 11))

    resp = send(f"pool_id,first_night,last_night,beds\n{a.id},{day(1)},{day(1)},9\n", True,
                token=hunzehof)
    h.check_problem("another provider's pool is refused", resp, 422)
    h.check("as an unknown pool", [l["code"] for l in (resp.json or {}).get("lines", [])]
            == ["unknown_pool"], repr(resp))
    h.check("and nothing changed", nights(a.id, 1, 1) == [4])

    mixed = ("pool_id,first_night,last_night,beds\n"
             f"00000000-0000-4000-a000-00000000beef,{day(1)},{day(2)},1\n"
             f"{a.id},{day(1)},{day(2)},-1\n")
    resp = send(mixed, True)
    h.check("a line only the database can refuse is named beside a line refused on reading",
            resp.status == 422 and [(l["line"], l["code"]) for l in resp.json.get("lines", [])]
            == [(2, "unknown_pool"), (3, "beds")], repr(resp))

    for what, csv, code in (("no header", f"{a.id},{day(1)},{day(1)},1\n", "columns"),
                            ("no rows", "pool_id,first_night,last_night,beds\n", "empty"),
                            ("the past", "pool_id,first_night,last_night,beds\n"
                             f"{a.id},{day(-1)},{day(1)},1\n", "past")):
        resp = send(csv, False)
        h.check(f"{what}: 422 with code {code}", resp.status == 422 and
                [l["code"] for l in (resp.json or {}).get("lines", [])] == [code], repr(resp))
    h.check_problem("a caregiver may not import", send(good, False, token=caregiver), 403)
    srv.stop()


h.main(globals())
