"""Registered guests (docs/practice.md): a caregiver registers, reads, lists and changes own
guests (Idempotency-Key on create); another caregiver gets 404; the coordinator reads all;
provider staff see a guest only once it has a stay at one of their locations. POST /v1/stays
takes guest_id instead of the inline guest (exactly one), copies the guest's fields and shows
guest_id. Reads are access-logged; account erasure erases the guests."""

import datetime as dt
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
HUNZEHOF = "planner@hunzehof.demo.logeer.nl"
COORDINATOR = "aanjager@demo.logeer.nl"


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.srv = h.Server(self.url, keep=True)
        self.today = h.today_local(self.url)
        emails = h.add_caregivers(self.url, 2, prefix="gs")
        self.cg1, self.cg2 = h.login_many(self.srv, emails)
        self.esdorp = self.srv.login(ESDORP)
        self.hunzehof = self.srv.login(HUNZEHOF)
        self.coord = self.srv.login(COORDINATOR)
        self.pool = h.make_pool(self.srv, self.url, self.esdorp, h.DEMO_PROVIDER_IDS[ESDORP], 3,
                                self.today, self.today + dt.timedelta(days=30),
                                booking_mode="instant", name="Guests instant")

    def day(self, n):
        return str(self.today + dt.timedelta(days=n))


def world():
    return h.once("world", World)


GUEST = {"alias": "mevr. G.", "birth_year": 1939, "care_profile": "dementia",
         "needs": ["night_care"], "municipality": "GM0106"}


def create_guest(w, token, body=None, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return w.srv.request("POST", "/v1/guests", body or GUEST, token=token, headers=headers)


def test_caregiver_registers_reads_and_changes_a_guest():
    w = world()
    key = uuid.uuid4().hex
    resp = create_guest(w, w.cg1, key=key)
    h.check("POST /v1/guests answers 201 with the guest", resp.status == 201
            and (resp.json or {}).get("alias") == "mevr. G.", repr(resp))
    gid = resp.json["id"]
    h.check("the 201 has a Location", resp.header("location") == f"/v1/guests/{gid}",
            resp.header("location"))
    again = create_guest(w, w.cg1, key=key)
    h.check("a retry with the same Idempotency-Key replays the same body",
            again.status == 201 and again.body == resp.body
            and again.header("idempotent-replayed") == "true", repr(again))
    h.check_equal("the retry created no second guest",
                  h.scalar(w.url, "SELECT count(*) FROM guests WHERE alias = 'mevr. G.'"), "1")
    got = w.srv.get(f"/v1/guests/{gid}", token=w.cg1)
    h.check("the owner reads the guest (200, ETag)", got.status == 200
            and got.header("etag") == '"1"', repr(got))
    patched = w.srv.request("PATCH", f"/v1/guests/{gid}", {"needs": [], "municipality": None},
                            token=w.cg1, headers={"If-Match": '"1"'})
    h.check("PATCH with If-Match changes the guest", patched.status == 200
            and patched.json.get("needs") == [] and patched.json.get("municipality") is None
            and patched.json.get("version") == 2, repr(patched))
    stale = w.srv.request("PATCH", f"/v1/guests/{gid}", {"alias": "x"}, token=w.cg1,
                          headers={"If-Match": '"1"'})
    h.check_problem("PATCH with an old If-Match is 412", stale, 412)
    listed = w.srv.get("/v1/guests", token=w.cg1)
    h.check("the owner's list has the guest", listed.status == 200
            and [g["id"] for g in listed.json["guests"]] == [gid], repr(listed))
    logged = h.scalar(w.url, "SELECT count(*) FROM access_log WHERE guest_id = "
                             f"'{gid}' AND action IN ('guest.create', 'guest.read', 'guest.list', "
                             "'guest.update')")
    h.check("reads and changes of the guest are in the access log", int(logged) >= 4, logged)
    events = h.scalar(w.url, "SELECT count(*) FROM events WHERE type LIKE 'guest.%' AND "
                             f"payload->>'guest_id' = '{gid}'")
    h.check("guest.created and guest.updated are in the outbox", int(events) == 2, events)


def test_bad_guests_are_refused():
    w = world()
    for label, body in (("no alias", {"birth_year": 1940, "care_profile": "dementia"}),
                        ("a blank alias", dict(GUEST, alias="   ")),
                        ("an unknown care profile", dict(GUEST, care_profile="x")),
                        ("a birth year in the future", dict(GUEST, birth_year=3000)),
                        ("a bad municipality", dict(GUEST, municipality="Assen")),
                        ("an unknown municipality", dict(GUEST, municipality="GM9999")),
                        ("needs that are not tokens", dict(GUEST, needs=["Night Care"])),
                        ("an unknown field", dict(GUEST, bsn="123456782"))):
        h.check_problem(f"a guest with {label} is 422", create_guest(w, w.cg1, body), 422)
    h.check_problem("provider staff cannot register guests",
                    create_guest(w, w.esdorp), 403)


def test_who_sees_a_guest():
    w = world()
    gid = create_guest(w, w.cg1).json["id"]
    h.check_problem("another caregiver's guest is 404", w.srv.get(f"/v1/guests/{gid}",
                                                                  token=w.cg2), 404)
    h.check_problem("another caregiver cannot change it", w.srv.request(
        "PATCH", f"/v1/guests/{gid}", {"alias": "x"}, token=w.cg2), 404)
    h.check("the coordinator reads it", w.srv.get(f"/v1/guests/{gid}", token=w.coord).status
            == 200)
    h.check_problem("provider staff without a stay of the guest get 404",
                    w.srv.get(f"/v1/guests/{gid}", token=w.esdorp), 404)
    h.check_problem("a malformed id is 404", w.srv.get("/v1/guests/nope", token=w.cg1), 404)
    body = {"pool_id": w.pool.id, "check_in": w.day(2), "check_out": w.day(4),
            "funding": "zvw", "guest_id": gid}
    resp = w.srv.request("POST", "/v1/stays", body, token=w.cg1)
    h.check("a stay for the registered guest is 201 with guest_id and the guest's fields",
            resp.status == 201 and resp.json.get("guest_id") == gid
            and resp.json["guest"]["alias"] == "mevr. G."
            and resp.json["guest"]["care_profile"] == "dementia", repr(resp))
    h.check("now the provider whose pool it is reads the guest",
            w.srv.get(f"/v1/guests/{gid}", token=w.esdorp).status == 200)
    h.check_problem("another provider still gets 404",
                    w.srv.get(f"/v1/guests/{gid}", token=w.hunzehof), 404)
    other = dict(body, check_in=w.day(5), check_out=w.day(6))
    h.check_problem("another caregiver cannot book for the guest (404)",
                    w.srv.request("POST", "/v1/stays", other, token=w.cg2), 404)
    both = dict(other, guest=GUEST)
    both["guest"] = {k: v for k, v in GUEST.items() if k != "municipality"}
    h.check_problem("guest and guest_id together are 422",
                    w.srv.request("POST", "/v1/stays", both, token=w.cg1), 422)
    youth = create_guest(w, w.cg1, dict(GUEST, care_profile="youth")).json["id"]
    resp = w.srv.request("POST", "/v1/stays", dict(other, guest_id=youth), token=w.cg1)
    h.check("a guest whose care profile the pool does not serve is 422 on guest_id",
            h.is_problem(resp, 422) and any(e.get("field") == "guest_id"
                                            for e in resp.json.get("errors", [])), repr(resp))


def test_erasure_erases_the_guests():
    w = world()
    email = h.add_caregivers(w.url, 1, prefix="ge")[0]
    token = h.login_many(w.srv, [email])[0]
    gid = create_guest(w, token).json["id"]
    resp = w.srv.request("DELETE", "/v1/me", token=token)
    h.check("DELETE /v1/me answers 200", resp.status == 200, repr(resp))
    row = h.psql(w.url, f"SELECT alias IS NULL, birth_year IS NULL, erased_at IS NOT NULL "
                        f"FROM guests WHERE id = '{gid}'")
    h.check_equal("the guest's alias and birth year are cleared, erased_at set", row,
                  [["t", "t", "t"]])
    h.check_problem("the coordinator no longer sees the erased guest",
                    w.srv.get(f"/v1/guests/{gid}", token=w.coord), 404)


def test_preferred_funding_is_kept_exported_and_erased():
    w = world()
    email = h.add_caregivers(w.url, 1, prefix="gf")[0]
    token = h.login_many(w.srv, [email])[0]
    resp = create_guest(w, token, dict(GUEST, funding="wlz"))
    h.check("a guest is registered with a preferred funding route", resp.status == 201
            and resp.json.get("funding") == "wlz", repr(resp))
    gid = resp.json["id"]
    resp = create_guest(w, token, dict(GUEST, funding="cash"))
    h.check("an unknown funding route is 422 on funding", h.is_problem(resp, 422) and any(
        e.get("field") == "funding" for e in resp.json.get("errors", [])), repr(resp))
    resp = w.srv.request("PATCH", f"/v1/guests/{gid}", {"funding": "zvw"}, token=token)
    h.check("PATCH changes it", resp.status == 200 and resp.json.get("funding") == "zvw",
            repr(resp))
    resp = w.srv.request("PATCH", f"/v1/guests/{gid}", {"funding": None}, token=token)
    h.check("PATCH with null clears it", resp.status == 200 and resp.json.get("funding") is None,
            repr(resp))
    w.srv.request("PATCH", f"/v1/guests/{gid}", {"funding": "pgb"}, token=token)
    resp = w.srv.get("/v1/me/export", token=token)
    guests = (resp.json or {}).get("guests", [])
    h.check("the export lists the registered guest with its funding route",
            resp.status == 200 and [(g["id"], g["alias"], g["funding"]) for g in guests]
            == [(gid, GUEST["alias"], "pgb")], repr(resp)[:400])
    h.check("DELETE /v1/me answers 200",
            w.srv.request("DELETE", "/v1/me", token=token).status == 200)
    h.check_equal("erasure clears the funding route too", h.psql(
        w.url, f"SELECT funding IS NULL, erased_at IS NOT NULL FROM guests WHERE id = '{gid}'"),
        [["t", "t"]])


h.main(globals())
