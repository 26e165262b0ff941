"""Inventory API (spec 2, 4, 6): providers, locations, pools and nightly capacity. Each route's
happy path; every field validated with the field named in a 422; unknown fields refused;
malformed JSON is 400; another provider's objects answer 404 (never 403); roles that may not
use a route get 403. Capacity reads carry the pool version as a strong ETag (for If-Match; never
a 304, since counts change without it), writes need If-Match (428 without, 412 when stale), and
lowering capacity below what is held or booked is refused with 409 naming the nights, changing
nothing, until the provider names the stays to cancel."""

import datetime as dt
import re
import uuid

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
HUNZEHOF = "planner@hunzehof.demo.logeer.nl"
ESDORP_ID = h.DEMO_PROVIDER_IDS[ESDORP]
HUNZEHOF_ID = h.DEMO_PROVIDER_IDS[HUNZEHOF]
HUNZEHOF_LOCATION = "d1000000-0000-4000-a000-000000000004"  # seeded, belongs to Hunzehof
ESDORP_POOL_WITH_STAYS = "d2000000-0000-4000-a000-000000000001"

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
PROVIDER_KEYS = {"id", "name", "agb_code", "created_at", "updated_at"}
LOCATION_KEYS = {"id", "provider_id", "name", "municipality", "address", "lat", "lon",
                 "facilities", "exclusions", "intake_valid_days", "version", "created_at",
                 "updated_at"}
POOL_KEYS = {"id", "location_id", "provider_id", "name", "kind", "care_profiles", "funding",
             "wmo_municipalities", "booking_mode", "min_nights", "max_nights", "lead_days",
             "horizon_days", "intake_required", "allowance_required", "arrival_weekdays",
             "blocks", "check_in_window", "check_out_window", "companion_places",
             "free_cancel_days", "series_share_max_percent", "as_of", "active", "version",
             "created_at", "updated_at"}


class Env:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.server = h.Server(self.url, keep=True)
        self.today = h.today_local(self.url)
        self.admin = self.server.login("beheer@demo.logeer.nl")
        self.coordinator = self.server.login("aanjager@demo.logeer.nl")
        self.caregiver = self.server.login("mantelzorger@demo.logeer.nl")
        self.referrer = self.server.login("huisarts@demo.logeer.nl")
        self.esdorp = self.server.login(ESDORP)
        self.hunzehof = self.server.login(HUNZEHOF)

    def req(self, method, path, token, body=None, headers=None):
        return self.server.request(method, path, body=body, headers=headers, token=token)

    def day(self, offset):
        return str(self.today + dt.timedelta(days=offset))


def env():
    return h.once("env", Env)


def fields(resp):
    """The field names of a 422's errors."""
    errors = resp.json.get("errors", []) if isinstance(resp.json, dict) else []
    return {e.get("field") for e in errors if isinstance(e, dict)}


def check_invalid(name, resp, field):
    """A 422 problem whose errors name field."""
    return h.check(f"{name}: 422 naming {field}",
                   h.is_problem(resp, 422) and field in fields(resp), repr(resp))


def check_status(name, resp, status):
    return h.check(f"{name}: {status}", resp.status == status, repr(resp))


def check_404(name, resp):
    return h.check(f"{name}: 404 problem", h.is_problem(resp, 404), repr(resp))


def malformed_json(e, method, path, token):
    return e.req(method, path, token, body='{"name": "x",',
                 headers={"Content-Type": "application/json"})


def location_body(**over):
    body = {"name": f"Logeerhuis {uuid.uuid4().hex[:6]}", "municipality": "GM0106",
            "address": "Esweg 1, Assen", "lat": 52.99, "lon": 6.56,
            "facilities": ["dementia", "night_care"], "exclusions": ["aggression"]}
    body.update(over)
    return body


def pool_body(location_id, **over):
    body = {"location_id": location_id, "name": f"Kamers {uuid.uuid4().hex[:6]}",
            "kind": "planned", "care_profiles": ["dementia"], "funding": ["wlz"]}
    body.update(over)
    return body


def new_location(e, token=None, **over):
    resp = e.req("POST", "/v1/locations", token or e.esdorp, location_body(**over))
    if resp.status != 201:
        raise RuntimeError(f"could not create a location: {resp!r}")
    return resp.json


def new_pool(e, location_id, token=None, **over):
    resp = e.req("POST", "/v1/pools", token or e.esdorp, pool_body(location_id, **over))
    if resp.status != 201:
        raise RuntimeError(f"could not create a pool: {resp!r}")
    return resp.json


def capacity(e, pool_id, token, night_from, night_to, headers=None):
    return e.req("GET", f"/v1/pools/{pool_id}/capacity?from={night_from}&to={night_to}", token,
                 headers=headers)


def put_capacity(e, pool_id, token, body, if_match="*"):
    headers = {"If-Match": if_match} if if_match is not None else {}
    return e.req("PUT", f"/v1/pools/{pool_id}/capacity", token, body, headers=headers)


# ---------------------------------------------------------------------------------------------


def test_roles_outside_the_inventory_get_403_and_anonymous_callers_401():
    e = env()
    pool = ESDORP_POOL_WITH_STAYS
    calls = [("GET", "/v1/providers", None), ("POST", "/v1/providers", {"name": "X"}),
             ("GET", "/v1/providers/" + ESDORP_ID, None),
             ("PATCH", "/v1/providers/" + ESDORP_ID, {"name": "X"}),
             ("GET", "/v1/locations", None), ("POST", "/v1/locations", location_body()),
             ("GET", "/v1/pools", None), ("POST", "/v1/pools", pool_body(HUNZEHOF_LOCATION)),
             ("GET", f"/v1/pools/{pool}", None), ("PATCH", f"/v1/pools/{pool}", {"name": "X"}),
             ("GET", f"/v1/pools/{pool}/capacity", None),
             ("PUT", f"/v1/pools/{pool}/capacity",
              {"ranges": [{"from": e.day(1), "to": e.day(2), "beds": 1}]})]
    for who, token in (("caregiver", e.caregiver), ("referrer", e.referrer)):
        for method, path, body in calls:
            resp = e.req(method, path, token, body, headers={"If-Match": "*"})
            h.check(f"{who} {method} {path}: 403 problem", h.is_problem(resp, 403), repr(resp))
    for method, path, body in calls:
        resp = e.req(method, path, None, body)
        h.check(f"no token {method} {path}: 401", h.is_problem(resp, 401), repr(resp))
    h.check("provider staff POST /v1/providers: 403",
            h.is_problem(e.req("POST", "/v1/providers", e.esdorp, {"name": "X"}), 403))
    h.check("coordinator POST /v1/locations: 403",
            h.is_problem(e.req("POST", "/v1/locations", e.coordinator, location_body()), 403))
    h.check("coordinator PATCH /v1/pools/{id}: 403",
            h.is_problem(e.req("PATCH", f"/v1/pools/{pool}", e.coordinator, {"name": "X"}), 403))
    h.check("coordinator PUT capacity: 403",
            h.is_problem(put_capacity(e, pool, e.coordinator,
                                      {"ranges": [{"from": e.day(1), "to": e.day(2),
                                                   "beds": 1}]}), 403))
    h.check("admin PUT capacity: 403 (only the pool's own staff set counts)",
            h.is_problem(put_capacity(e, pool, e.admin,
                                      {"ranges": [{"from": e.day(1), "to": e.day(2),
                                                   "beds": 1}]}), 403))


def test_providers_admin_creates_with_idempotency_and_validation():
    e = env()
    agb = f"97{uuid.uuid4().int % 10**6:06d}"
    body = {"name": "Zorggroep Test", "agb_code": agb}
    key = {"Idempotency-Key": f"prov-{uuid.uuid4().hex}"}
    resp = e.req("POST", "/v1/providers", e.admin, body, headers=key)
    if not check_status("admin POST /v1/providers", resp, 201):
        return
    p = resp.json
    h.check_equal("provider JSON has exactly the documented keys", set(p), PROVIDER_KEYS)
    h.check_equal("name and agb_code are stored", (p["name"], p["agb_code"]),
                  ("Zorggroep Test", agb))
    h.check("created_at and updated_at are RFC 3339 UTC",
            RFC3339.match(p["created_at"]) and RFC3339.match(p["updated_at"]), p)
    h.check_equal("Location names the new provider", resp.header("location"),
                  f"/v1/providers/{p['id']}")
    again = e.req("POST", "/v1/providers", e.admin, body, headers=key)
    h.check("same Idempotency-Key and body: 201 with the same body, marked replayed",
            again.status == 201 and again.json == p
            and again.header("idempotent-replayed") == "true", repr(again))
    other = e.req("POST", "/v1/providers", e.admin, {"name": "Iets anders"}, headers=key)
    h.check("same Idempotency-Key, other body: 422", h.is_problem(other, 422), repr(other))
    h.check_equal("only one provider row has that AGB code",
                  h.scalar(e.url, f"SELECT count(*) FROM providers WHERE agb_code = '{agb}'"), "1")
    dup = e.req("POST", "/v1/providers", e.admin, {"name": "Dubbel", "agb_code": agb})
    h.check("a second provider with the same AGB code: 409", h.is_problem(dup, 409), repr(dup))
    no_agb = e.req("POST", "/v1/providers", e.admin, {"name": "Zonder AGB"})
    h.check("agb_code is optional (201, null)",
            no_agb.status == 201 and no_agb.json.get("agb_code") is None, repr(no_agb))

    check_invalid("POST without name", e.req("POST", "/v1/providers", e.admin, {}), "name")
    check_invalid("POST with a blank name",
                  e.req("POST", "/v1/providers", e.admin, {"name": "   "}), "name")
    check_invalid("POST with a 201-character name",
                  e.req("POST", "/v1/providers", e.admin, {"name": "x" * 201}), "name")
    check_invalid("POST with a 7-digit agb_code",
                  e.req("POST", "/v1/providers", e.admin, {"name": "X", "agb_code": "1234567"}),
                  "agb_code")
    check_invalid("POST with a numeric agb_code",
                  e.req("POST", "/v1/providers", e.admin, {"name": "X", "agb_code": 12345678}),
                  "agb_code")
    check_invalid("POST with an unknown field",
                  e.req("POST", "/v1/providers", e.admin, {"name": "X", "owner": "me"}), "owner")
    h.check("POST with malformed JSON: 400",
            h.is_problem(malformed_json(e, "POST", "/v1/providers", e.admin), 400))
    bad_key = e.req("POST", "/v1/providers", e.admin, {"name": "X"},
                    headers={"Idempotency-Key": "x" * 256})
    h.check("an Idempotency-Key of 256 characters: 400", h.is_problem(bad_key, 400), repr(bad_key))


def test_providers_are_listed_paged_read_and_patched_by_who_may():
    e = env()
    listed = e.req("GET", "/v1/providers", e.admin)
    ok = listed.status == 200 and isinstance(listed.json, dict)
    h.check("admin GET /v1/providers: 200 {providers, total}", ok, repr(listed))
    if not ok:
        return
    total = listed.json["total"]
    h.check(f"admin sees every provider (total {total} >= 6)",
            total >= 6 and len(listed.json["providers"]) == min(total, 50), listed.json)
    names = [p["name"] for p in listed.json["providers"]]
    h.check("providers are ordered by name", names == sorted(names), names)
    page = e.req("GET", "/v1/providers?limit=2&offset=1", e.coordinator)
    h.check("coordinator pages with limit=2&offset=1: 2 providers, same total, the 2nd and 3rd",
            page.status == 200 and page.json["total"] == total
            and [p["id"] for p in page.json["providers"]]
            == [p["id"] for p in listed.json["providers"][1:3]], repr(page))
    beyond = e.req("GET", f"/v1/providers?offset={total + 5}", e.admin)
    h.check("an offset past the end: empty page, total still counted",
            beyond.status == 200 and beyond.json == {"providers": [], "total": total},
            repr(beyond))
    check_invalid("limit=0", e.req("GET", "/v1/providers?limit=0", e.admin), "limit")
    check_invalid("limit=201", e.req("GET", "/v1/providers?limit=201", e.admin), "limit")
    check_invalid("offset=-1", e.req("GET", "/v1/providers?offset=-1", e.admin), "offset")
    own = e.req("GET", "/v1/providers", e.esdorp)
    h.check("provider staff list only their own provider",
            own.status == 200 and own.json["total"] == 1
            and own.json["providers"][0]["id"] == ESDORP_ID, repr(own))

    h.check_equal("staff GET own provider",
                  e.req("GET", f"/v1/providers/{ESDORP_ID}", e.esdorp).status, 200)
    check_404("staff GET another provider",
              e.req("GET", f"/v1/providers/{HUNZEHOF_ID}", e.esdorp))
    check_404("GET a malformed provider id", e.req("GET", "/v1/providers/12345", e.admin))
    check_404("GET an unknown provider id",
              e.req("GET", f"/v1/providers/{uuid.uuid4()}", e.admin))
    h.check_equal("coordinator GET any provider",
                  e.req("GET", f"/v1/providers/{HUNZEHOF_ID}", e.coordinator).status, 200)

    before = e.req("GET", f"/v1/providers/{ESDORP_ID}", e.esdorp).json
    renamed = e.req("PATCH", f"/v1/providers/{ESDORP_ID}", e.esdorp,
                    {"name": "Zorggroep Esdorp (test)"})
    h.check("staff rename their own provider: 200, other fields kept",
            renamed.status == 200 and renamed.json["name"] == "Zorggroep Esdorp (test)"
            and renamed.json["agb_code"] == before["agb_code"], repr(renamed))
    check_invalid("staff PATCH agb_code",
                  e.req("PATCH", f"/v1/providers/{ESDORP_ID}", e.esdorp,
                        {"agb_code": "11111111"}), "agb_code")
    check_404("staff PATCH another provider",
              e.req("PATCH", f"/v1/providers/{HUNZEHOF_ID}", e.esdorp, {"name": "Overgenomen"}))
    h.check_equal("another provider's name is untouched",
                  h.scalar(e.url, f"SELECT name FROM providers WHERE id = '{HUNZEHOF_ID}'"),
                  "Stichting Hunzehof")
    cleared = e.req("PATCH", f"/v1/providers/{HUNZEHOF_ID}", e.admin, {"agb_code": None})
    h.check("admin clears agb_code with null", cleared.status == 200
            and cleared.json["agb_code"] is None, repr(cleared))
    check_invalid("PATCH name null", e.req("PATCH", f"/v1/providers/{ESDORP_ID}", e.admin,
                                           {"name": None}), "name")
    check_invalid("PATCH an unknown field", e.req("PATCH", f"/v1/providers/{ESDORP_ID}", e.admin,
                                                  {"slug": "x"}), "slug")
    h.check("PATCH with malformed JSON: 400",
            h.is_problem(malformed_json(e, "PATCH", f"/v1/providers/{ESDORP_ID}", e.admin), 400))
    e.req("PATCH", f"/v1/providers/{ESDORP_ID}", e.admin, {"name": before["name"]})


def test_locations_are_created_for_the_callers_own_provider_only():
    e = env()
    resp = e.req("POST", "/v1/locations", e.esdorp, location_body(name="Logeerhuis Nieuw"))
    if not check_status("staff POST /v1/locations without provider_id", resp, 201):
        return
    loc = resp.json
    h.check_equal("location JSON has exactly the documented keys", set(loc), LOCATION_KEYS)
    h.check_equal("it belongs to the caller's provider", loc["provider_id"], ESDORP_ID)
    h.check_equal("values are stored as sent",
                  (loc["name"], loc["municipality"], loc["lat"], loc["lon"], loc["facilities"],
                   loc["exclusions"]),
                  ("Logeerhuis Nieuw", "GM0106", 52.99, 6.56, ["dementia", "night_care"],
                   ["aggression"]))
    h.check_equal("Location header", resp.header("location"), f"/v1/locations/{loc['id']}")
    own = e.req("POST", "/v1/locations", e.esdorp, location_body(provider_id=ESDORP_ID))
    check_status("staff POST naming their own provider_id", own, 201)
    foreign = e.req("POST", "/v1/locations", e.esdorp, location_body(provider_id=HUNZEHOF_ID))
    h.check("staff POST naming another provider: 404 provider not found",
            h.is_problem(foreign, 404) and "provider" in foreign.json.get("detail", ""),
            repr(foreign))
    check_invalid("admin POST without provider_id",
                  e.req("POST", "/v1/locations", e.admin, location_body()), "provider_id")
    by_admin = e.req("POST", "/v1/locations", e.admin, location_body(provider_id=HUNZEHOF_ID))
    h.check("admin POST for a named provider: 201 under that provider",
            by_admin.status == 201 and by_admin.json["provider_id"] == HUNZEHOF_ID,
            repr(by_admin))
    check_404("admin POST for an unknown provider",
              e.req("POST", "/v1/locations", e.admin, location_body(provider_id=str(uuid.uuid4()))))

    cases = [
        ("an unknown municipality", {"municipality": "GM9999"}, "municipality"),
        ("a municipality that is not a CBS code", {"municipality": "Assen"}, "municipality"),
        ("a missing municipality", {"municipality": None}, "municipality"),
        ("swapped coordinates (lat 6.56)", {"lat": 6.56, "lon": 52.99}, "lat"),
        ("lon outside the Netherlands", {"lon": 7.4}, "lon"),
        ("lat as a string", {"lat": "52.9"}, "lat"),
        ("a blank name", {"name": " "}, "name"),
        ("an address of 301 characters", {"address": "x" * 301}, "address"),
        ("a facility with capitals", {"facilities": ["Wheelchair"]}, "facilities"),
        ("a facility with a space", {"facilities": ["night care"]}, "facilities"),
        ("33 facilities", {"facilities": [f"f{i}" for i in range(33)]}, "facilities"),
        ("a repeated exclusion", {"exclusions": ["aggression", "aggression"]}, "exclusions"),
        ("an exclusion of 49 characters", {"exclusions": ["a" * 49]}, "exclusions"),
        ("an unknown field", {"capacity": 3}, "capacity"),
    ]
    for label, over, field in cases:
        body = location_body(**over)
        body = {k: v for k, v in body.items() if v is not None}
        check_invalid(f"POST location with {label}", e.req("POST", "/v1/locations", e.esdorp,
                                                            body), field)
    h.check("POST location with malformed JSON: 400",
            h.is_problem(malformed_json(e, "POST", "/v1/locations", e.esdorp), 400))
    ok48 = e.req("POST", "/v1/locations", e.esdorp,
                 location_body(facilities=["a" * 48, "x1_y2"], address=None))
    h.check("48-character tokens and no address are fine", ok48.status == 201
            and ok48.json["address"] is None, repr(ok48))


def test_locations_are_listed_read_and_patched_within_the_provider():
    e = env()
    loc = new_location(e, municipality="GM1730", lat=53.07, lon=6.58)
    mine = e.req("GET", "/v1/locations?limit=200", e.esdorp)
    ok = mine.status == 200 and isinstance(mine.json, dict)
    h.check("staff GET /v1/locations: 200 {locations, total}", ok, repr(mine))
    if not ok:
        return
    h.check("staff see only their own provider's locations, the new one among them",
            all(l["provider_id"] == ESDORP_ID for l in mine.json["locations"])
            and loc["id"] in {l["id"] for l in mine.json["locations"]}, mine.json)
    theirs = e.req("GET", f"/v1/locations?provider_id={ESDORP_ID}", e.hunzehof)
    h.check("another provider filtering on this provider gets nothing",
            theirs.status == 200 and theirs.json == {"locations": [], "total": 0}, repr(theirs))
    tynaarlo = e.req("GET", "/v1/locations?municipality=GM1730", e.coordinator)
    h.check("coordinator filters by municipality: all in GM1730, the new one among them",
            tynaarlo.status == 200 and tynaarlo.json["total"] >= 2
            and all(l["municipality"] == "GM1730" for l in tynaarlo.json["locations"])
            and loc["id"] in {l["id"] for l in tynaarlo.json["locations"]}, repr(tynaarlo))
    everyone = e.req("GET", "/v1/locations", e.admin)
    h.check("admin sees locations of several providers",
            everyone.status == 200
            and len({l["provider_id"] for l in everyone.json["locations"]}) > 1, repr(everyone))
    check_invalid("?municipality=Assen", e.req("GET", "/v1/locations?municipality=Assen",
                                               e.coordinator), "municipality")
    check_invalid("?provider_id=abc", e.req("GET", "/v1/locations?provider_id=abc",
                                            e.coordinator), "provider_id")

    path = f"/v1/locations/{loc['id']}"
    h.check_equal("staff GET own location", e.req("GET", path, e.esdorp).json, loc)
    check_404("another provider GET the location", e.req("GET", path, e.hunzehof))
    check_404("GET a malformed location id", e.req("GET", "/v1/locations/not-a-uuid", e.admin))
    h.check_equal("coordinator GET the location", e.req("GET", path, e.coordinator).status, 200)

    patched = e.req("PATCH", path, e.esdorp, {"address": None, "facilities": ["wheelchair"]})
    ok = patched.status == 200 and isinstance(patched.json, dict)
    h.check("staff PATCH address and facilities: 200", ok, repr(patched))
    if ok:
        h.check("only the members sent changed",
                patched.json["address"] is None and patched.json["facilities"] == ["wheelchair"]
                and patched.json["name"] == loc["name"] and patched.json["lat"] == loc["lat"]
                and patched.json["exclusions"] == loc["exclusions"], patched.json)
    check_invalid("PATCH provider_id", e.req("PATCH", path, e.esdorp,
                                             {"provider_id": HUNZEHOF_ID}), "provider_id")
    h.check_equal("the location still belongs to its provider",
                  h.scalar(e.url, f"SELECT provider_id FROM locations WHERE id = '{loc['id']}'"),
                  ESDORP_ID)
    check_invalid("PATCH an unknown municipality",
                  e.req("PATCH", path, e.esdorp, {"municipality": "GM0001"}), "municipality")
    check_invalid("PATCH lat out of range", e.req("PATCH", path, e.esdorp, {"lat": 60}), "lat")
    check_invalid("PATCH name null", e.req("PATCH", path, e.esdorp, {"name": None}), "name")
    check_invalid("PATCH an unknown field", e.req("PATCH", path, e.esdorp, {"beds": 2}), "beds")
    h.check("PATCH with malformed JSON: 400",
            h.is_problem(malformed_json(e, "PATCH", path, e.esdorp), 400))
    check_404("another provider PATCH the location",
              e.req("PATCH", path, e.hunzehof, {"name": "Van ons"}))
    h.check_equal("the other provider's PATCH changed nothing",
                  h.scalar(e.url, f"SELECT name FROM locations WHERE id = '{loc['id']}'"),
                  loc["name"])
    moved = e.req("PATCH", path, e.esdorp, {"municipality": "GM0106", "lat": 52.99, "lon": 6.56})
    h.check("PATCH municipality and coordinates together: 200",
            moved.status == 200 and moved.json["municipality"] == "GM0106", repr(moved))


def test_pools_are_created_at_own_locations_with_defaults_and_full_validation():
    e = env()
    loc = new_location(e)
    resp = e.req("POST", "/v1/pools", e.esdorp, pool_body(loc["id"], name="Logeerkamers"))
    if not check_status("staff POST /v1/pools with only the required fields", resp, 201):
        return
    pool = resp.json
    h.check_equal("pool JSON has the documented keys", set(pool) - {"stale"}, POOL_KEYS)
    h.check_equal("defaults: approval, 1..14 nights, lead 0, horizon 365, active, version 1",
                  (pool["booking_mode"], pool["min_nights"], pool["max_nights"],
                   pool["lead_days"], pool["horizon_days"], pool["active"], pool["version"]),
                  ("approval", 1, 14, 0, 365, True, 1))
    h.check_equal("location and provider come from the location",
                  (pool["location_id"], pool["provider_id"]), (loc["id"], ESDORP_ID))
    h.check_equal("wmo_municipalities is empty without wmo", pool["wmo_municipalities"], [])
    h.check("as_of is RFC 3339 UTC", RFC3339.match(pool["as_of"]), pool["as_of"])
    h.check_equal("ETag is the version", resp.header("etag"), '"1"')
    full = e.req("POST", "/v1/pools", e.esdorp, pool_body(
        loc["id"], kind="crisis", care_profiles=["somatic", "dementia"],
        funding=["wmo", "zvw"], wmo_municipalities=["GM0106", "GM1730"], booking_mode="instant",
        min_nights=2, max_nights=21, lead_days=3, horizon_days=1095, active=False))
    h.check("POST with every field: 201 and stored as sent",
            full.status == 201 and full.json["kind"] == "crisis"
            and full.json["care_profiles"] == ["somatic", "dementia"]
            and full.json["wmo_municipalities"] == ["GM0106", "GM1730"]
            and (full.json["min_nights"], full.json["max_nights"], full.json["lead_days"],
                 full.json["horizon_days"], full.json["active"]) == (2, 21, 3, 1095, False),
            repr(full))
    foreign = e.req("POST", "/v1/pools", e.esdorp, pool_body(HUNZEHOF_LOCATION))
    h.check("staff POST a pool at another provider's location: 404 location not found",
            h.is_problem(foreign, 404) and "location" in foreign.json.get("detail", ""),
            repr(foreign))
    by_admin = e.req("POST", "/v1/pools", e.admin, pool_body(HUNZEHOF_LOCATION))
    h.check("admin POST a pool at any location: 201 under its provider",
            by_admin.status == 201 and by_admin.json["provider_id"] == HUNZEHOF_ID,
            repr(by_admin))

    cases = [
        ("no location_id", {"location_id": None}, "location_id"),
        ("a malformed location_id", {"location_id": "loc-1"}, "location_id"),
        ("no name", {"name": None}, "name"),
        ("kind urgent", {"kind": "urgent"}, "kind"),
        ("no care_profiles", {"care_profiles": None}, "care_profiles"),
        ("empty care_profiles", {"care_profiles": []}, "care_profiles"),
        ("an unknown care profile", {"care_profiles": ["elderly"]}, "care_profiles"),
        ("an unknown funding route", {"funding": ["cash"]}, "funding"),
        ("empty funding", {"funding": []}, "funding"),
        ("wmo without municipalities", {"funding": ["wmo"]}, "wmo_municipalities"),
        ("municipalities without wmo", {"wmo_municipalities": ["GM0106"]}, "wmo_municipalities"),
        ("an unknown wmo municipality", {"funding": ["wmo"], "wmo_municipalities": ["GM9999"]},
         "wmo_municipalities"),
        ("a malformed wmo municipality", {"funding": ["wmo"], "wmo_municipalities": ["Assen"]},
         "wmo_municipalities"),
        ("booking_mode auto", {"booking_mode": "auto"}, "booking_mode"),
        ("min_nights 0", {"min_nights": 0}, "min_nights"),
        ("min_nights 1.5", {"min_nights": 1.5}, "min_nights"),
        ("max_nights below min_nights", {"min_nights": 5, "max_nights": 4}, "max_nights"),
        ("max_nights 366", {"max_nights": 366}, "max_nights"),
        ("lead_days -1", {"lead_days": -1}, "lead_days"),
        ("lead_days not below horizon_days", {"lead_days": 30, "horizon_days": 30}, "lead_days"),
        ("horizon_days 0", {"horizon_days": 0}, "horizon_days"),
        ("horizon_days 1096", {"horizon_days": 1096}, "horizon_days"),
        ("active as a string", {"active": "yes"}, "active"),
        ("an unknown field", {"beds": 4}, "beds"),
        ("provider_id (it comes from the location)", {"provider_id": ESDORP_ID}, "provider_id"),
    ]
    for label, over, field in cases:
        body = dict(pool_body(loc["id"]), **over)
        body = {k: v for k, v in body.items() if v is not None}
        check_invalid(f"POST pool with {label}", e.req("POST", "/v1/pools", e.esdorp, body),
                      field)
    h.check("POST pool with malformed JSON: 400",
            h.is_problem(malformed_json(e, "POST", "/v1/pools", e.esdorp), 400))
    count = h.scalar(e.url, f"SELECT count(*) FROM pools WHERE location_id = '{loc['id']}'")
    h.check_equal("no refused request created a pool", count, "2")


def test_pools_are_listed_read_and_patched_within_the_provider():
    e = env()
    loc = new_location(e)
    planned = new_pool(e, loc["id"], name="Aa planned")
    crisis = new_pool(e, loc["id"], name="Bb crisis", kind="crisis")
    at_loc = e.req("GET", f"/v1/pools?location_id={loc['id']}", e.esdorp)
    h.check("staff list the pools of one location, by name",
            at_loc.status == 200 and at_loc.json["total"] == 2
            and [p["id"] for p in at_loc.json["pools"]] == [planned["id"], crisis["id"]],
            repr(at_loc))
    crises = e.req("GET", f"/v1/pools?location_id={loc['id']}&kind=crisis", e.coordinator)
    h.check("coordinator filters by kind",
            crises.status == 200 and [p["id"] for p in crises.json["pools"]] == [crisis["id"]],
            repr(crises))
    in_assen = e.req("GET", "/v1/pools?municipality=GM0106&limit=200", e.coordinator)
    h.check("?municipality= gives pools at locations in that municipality",
            in_assen.status == 200 and planned["id"] in {p["id"] for p in in_assen.json["pools"]}
            and all(p["location_id"] != HUNZEHOF_LOCATION for p in in_assen.json["pools"]),
            repr(in_assen))
    mine = e.req("GET", "/v1/pools?limit=200", e.hunzehof)
    h.check("another provider's list holds only its own pools",
            mine.status == 200 and mine.json["total"] >= 1
            and all(p["provider_id"] == HUNZEHOF_ID for p in mine.json["pools"]), repr(mine))
    check_invalid("?kind=urgent", e.req("GET", "/v1/pools?kind=urgent", e.esdorp), "kind")
    check_invalid("?location_id=1", e.req("GET", "/v1/pools?location_id=1", e.esdorp),
                  "location_id")

    path = f"/v1/pools/{planned['id']}"
    got = e.req("GET", path, e.esdorp)
    h.check("staff GET own pool: 200 with ETag of its version",
            got.status == 200 and got.json["id"] == planned["id"]
            and got.header("etag") == f'"{got.json["version"]}"', repr(got))
    check_404("another provider GET the pool", e.req("GET", path, e.hunzehof))
    check_404("GET a malformed pool id", e.req("GET", "/v1/pools/" + "0" * 36, e.esdorp))
    h.check_equal("coordinator GET the pool", e.req("GET", path, e.coordinator).status, 200)

    patched = e.req("PATCH", path, e.esdorp, {"name": "Aa gewijzigd", "max_nights": 7,
                                              "booking_mode": "instant"})
    ok = patched.status == 200 and isinstance(patched.json, dict)
    h.check("staff PATCH name, max_nights, booking_mode: 200", ok, repr(patched))
    if ok:
        p = patched.json
        h.check("only those changed; the version went up by one",
                (p["name"], p["max_nights"], p["booking_mode"], p["kind"], p["care_profiles"],
                 p["version"]) == ("Aa gewijzigd", 7, "instant", "planned", ["dementia"],
                                   planned["version"] + 1), p)
        h.check_equal("the reply's ETag is the new version", patched.header("etag"),
                      f'"{p["version"]}"')
    stale = e.req("PATCH", path, e.esdorp, {"name": "Te laat"},
                  headers={"If-Match": f'"{planned["version"]}"'})
    h.check("PATCH with a stale If-Match: 412, nothing changed",
            h.is_problem(stale, 412) and h.scalar(
                e.url, f"SELECT name FROM pools WHERE id = '{planned['id']}'") == "Aa gewijzigd",
            repr(stale))
    current = e.req("GET", path, e.esdorp).header("etag")
    fresh = e.req("PATCH", path, e.esdorp, {"lead_days": 2}, headers={"If-Match": current})
    h.check("PATCH with the current ETag in If-Match: 200",
            fresh.status == 200 and fresh.json["lead_days"] == 2, repr(fresh))
    check_invalid("PATCH min_nights above the stored max_nights (7)",
                  e.req("PATCH", path, e.esdorp, {"min_nights": 8}), "max_nights")
    check_invalid("PATCH funding to wmo without municipalities",
                  e.req("PATCH", path, e.esdorp, {"funding": ["wmo"]}), "wmo_municipalities")
    both = e.req("PATCH", path, e.esdorp, {"funding": ["wmo", "wlz"],
                                           "wmo_municipalities": ["GM0106"]})
    h.check("PATCH funding and wmo_municipalities together: 200",
            both.status == 200 and both.json["wmo_municipalities"] == ["GM0106"], repr(both))
    check_invalid("PATCH location_id", e.req("PATCH", path, e.esdorp,
                                             {"location_id": HUNZEHOF_LOCATION}), "location_id")
    check_invalid("PATCH kind null", e.req("PATCH", path, e.esdorp, {"kind": None}), "kind")
    check_invalid("PATCH an unknown field", e.req("PATCH", path, e.esdorp, {"colour": "red"}),
                  "colour")
    h.check("PATCH with malformed JSON: 400",
            h.is_problem(malformed_json(e, "PATCH", path, e.esdorp), 400))
    check_404("another provider PATCH the pool",
              e.req("PATCH", path, e.hunzehof, {"active": False}))
    h.check_equal("the other provider's PATCH changed nothing",
                  h.scalar(e.url, f"SELECT active FROM pools WHERE id = '{planned['id']}'"), "t")
    kind = e.req("PATCH", f"/v1/pools/{crisis['id']}", e.esdorp, {"kind": "planned"})
    h.check("PATCH kind of a pool without stays: 200",
            kind.status == 200 and kind.json["kind"] == "planned", repr(kind))
    with_stays = int(h.scalar(e.url, "SELECT count(*) FROM stays "
                                     f"WHERE pool_id = '{ESDORP_POOL_WITH_STAYS}'"))
    if with_stays:
        refused = e.req("PATCH", f"/v1/pools/{ESDORP_POOL_WITH_STAYS}", e.esdorp,
                        {"kind": "crisis"})
        h.check("PATCH kind of a pool with stays: 409 saying why",
                h.is_problem(refused, 409) and "stays" in refused.json.get("detail", ""),
                repr(refused))
        h.check_equal("its kind is unchanged", h.scalar(
            e.url, f"SELECT kind FROM pools WHERE id = '{ESDORP_POOL_WITH_STAYS}'"), "planned")


def test_capacity_reads_carry_an_etag_and_writes_need_if_match():
    e = env()
    loc = new_location(e)
    pool = new_pool(e, loc["id"])
    pid = pool["id"]
    default = e.req("GET", f"/v1/pools/{pid}/capacity", e.esdorp)
    ok = default.status == 200 and isinstance(default.json, dict)
    h.check("GET capacity without from/to: 200", ok, repr(default))
    if not ok:
        return
    nights = default.json.get("nights", [])
    h.check("defaults: from today, 28 nights, every night capacity 0",
            default.json.get("from") == e.day(0) and default.json.get("to") == e.day(28)
            and len(nights) == 28 and nights[0]["date"] == e.day(0)
            and all(n["capacity"] == 0 and n["free"] == 0 for n in nights), default.json)
    etag = default.header("etag")
    h.check_equal("ETag is the pool version, strong and quoted", etag,
                  f'"{default.json.get("version")}"')
    # The version is no cache validator: bookings change held and booked but not the
    # version, so a 304 would hand out stale counts.
    current = capacity(e, pid, e.esdorp, e.day(0), e.day(28), headers={"If-None-Match": etag})
    h.check("If-None-Match with the current ETag: still 200 with the nights (no 304)",
            current.status == 200 and current.header("etag") == etag
            and isinstance(current.json, dict) and len(current.json.get("nights", [])) == 28,
            repr(current))
    check_invalid("from = to", capacity(e, pid, e.esdorp, e.day(3), e.day(3)), "to")
    check_invalid("to before from", capacity(e, pid, e.esdorp, e.day(3), e.day(1)), "to")
    check_invalid("732 nights", capacity(e, pid, e.esdorp, e.day(0), e.day(732)), "to")
    h.check_equal("731 nights are fine",
                  capacity(e, pid, e.esdorp, e.day(0), e.day(731)).status, 200)
    check_invalid("from 2026-02-30", e.req("GET", f"/v1/pools/{pid}/capacity?from=2026-02-30",
                                           e.esdorp), "from")
    check_404("another provider GET capacity", capacity(e, pid, e.hunzehof, e.day(0), e.day(7)))
    check_404("GET capacity of a malformed pool id",
              e.req("GET", "/v1/pools/xyz/capacity", e.esdorp))
    h.check_equal("coordinator GET capacity", capacity(e, pid, e.coordinator, e.day(0),
                                                       e.day(7)).status, 200)

    body = {"ranges": [{"from": e.day(1), "to": e.day(8), "beds": 3}]}
    missing = put_capacity(e, pid, e.esdorp, body, if_match=None)
    h.check("PUT without If-Match: 428", h.is_problem(missing, 428), repr(missing))
    h.check_equal("... and nothing was written",
                  h.scalar(e.url, f"SELECT count(*) FROM pool_nights WHERE pool_id = '{pid}'"), "0")
    version = default.json["version"]
    stale = put_capacity(e, pid, e.esdorp, body, if_match=f'"{version + 5}"')
    h.check("PUT with a stale If-Match: 412", h.is_problem(stale, 412), repr(stale))
    h.check_equal("... and nothing was written",
                  h.scalar(e.url, f"SELECT count(*) FROM pool_nights WHERE pool_id = '{pid}'"), "0")
    weak_match = put_capacity(e, pid, e.esdorp, body, if_match="W/" + etag)
    h.check("PUT with a weak tag: 412 (If-Match compares strongly)",
            h.is_problem(weak_match, 412), repr(weak_match))
    h.check("PUT with an unquoted If-Match: 400",
            h.is_problem(put_capacity(e, pid, e.esdorp, body, if_match=str(version)), 400))
    done = put_capacity(e, pid, e.esdorp, body, if_match=etag)
    ok = done.status == 200 and isinstance(done.json, dict)
    h.check("PUT with the current ETag: 200", ok, repr(done))
    if ok:
        h.check("the reply covers exactly the changed nights, each with 3 beds",
                [n["date"] for n in done.json["nights"]] == [e.day(i) for i in range(1, 8)]
                and all(n["capacity"] == 3 and n["free"] == 3 for n in done.json["nights"]),
                done.json)
        h.check_equal("the new ETag is one version on", done.header("etag"), f'"{version + 1}"')
        h.check("as_of moved", done.json["as_of"] >= pool["as_of"], done.json)
    h.check_equal("the old ETag now misses: 412",
                  put_capacity(e, pid, e.esdorp, body, if_match=etag).status, 412)
    star = put_capacity(e, pid, e.esdorp,
                        {"ranges": [{"from": e.day(2), "to": e.day(4), "beds": 5},
                                    {"from": e.day(10), "to": e.day(12), "beds": 0}]},
                        if_match="*")
    h.check("PUT with If-Match: * and two ranges: 200 covering both",
            star.status == 200 and star.json["from"] == e.day(2) and star.json["to"] == e.day(12)
            and [n["capacity"] for n in star.json["nights"]] == [5, 5, 3, 3, 3, 3, 0, 0, 0, 0],
            repr(star))
    check_404("another provider PUT capacity",
              put_capacity(e, pid, e.hunzehof, body, if_match="*"))
    check_404("PUT capacity of an unknown pool",
              put_capacity(e, str(uuid.uuid4()), e.esdorp, body, if_match="*"))

    def bad(label, ranges_or_body, field):
        b = ranges_or_body if isinstance(ranges_or_body, dict) else {"ranges": ranges_or_body}
        check_invalid(f"PUT capacity with {label}", put_capacity(e, pid, e.esdorp, b), field)

    bad("a night before today", [{"from": e.day(-1), "to": e.day(2), "beds": 1}],
        "ranges[0].from")
    bad("to equal to from", [{"from": e.day(2), "to": e.day(2), "beds": 1}], "ranges[0].to")
    bad("a range of 732 nights", [{"from": e.day(0), "to": e.day(732), "beds": 1}],
        "ranges[0].to")
    bad("501 beds", [{"from": e.day(1), "to": e.day(2), "beds": 501}], "ranges[0].beds")
    bad("-1 beds", [{"from": e.day(1), "to": e.day(2), "beds": -1}], "ranges[0].beds")
    bad("beds missing", [{"from": e.day(1), "to": e.day(2)}], "ranges[0].beds")
    bad("an impossible date", [{"from": "2027-02-29", "to": e.day(2), "beds": 1}],
        "ranges[0].from")
    bad("an unknown member in a range", [{"from": e.day(1), "to": e.day(2), "beds": 1,
                                          "price": 80}], "ranges[0].price")
    bad("overlapping ranges", [{"from": e.day(1), "to": e.day(5), "beds": 1},
                               {"from": e.day(4), "to": e.day(6), "beds": 2}], "ranges")
    bad("no ranges", [], "ranges")
    bad("51 ranges", [{"from": e.day(i), "to": e.day(i + 1), "beds": 1} for i in range(51)],
        "ranges")
    bad("ranges as an object", {"ranges": {"from": e.day(1)}}, "ranges")
    bad("an unknown field", {"ranges": [{"from": e.day(1), "to": e.day(2), "beds": 1}],
                             "note": "x"}, "note")
    bad("cancel_stays that are not ids", {"ranges": [{"from": e.day(1), "to": e.day(2),
                                                      "beds": 1}],
                                          "cancel_stays": ["stay-1"], "reason": "x"},
        "cancel_stays")
    h.check("PUT with malformed JSON: 400", h.is_problem(
        e.req("PUT", f"/v1/pools/{pid}/capacity", e.esdorp, body='{"ranges": [',
              headers={"Content-Type": "application/json", "If-Match": "*"}), 400))
    after = capacity(e, pid, e.esdorp, e.day(0), e.day(13))
    h.check_equal("refused PUTs changed nothing (capacity per night)",
                  [n["capacity"] for n in after.json["nights"]],
                  [0, 3, 5, 5, 3, 3, 3, 3, 0, 0, 0, 0, 0])


def book(e, token, pool_id, check_in, check_out):
    """Books through the stays API, waiting for the availability index to learn of a pool made
    a moment ago (it hears of it through LISTEN/NOTIFY)."""
    body = h.stay_body(pool_id, check_in, check_out, funding="wlz")

    def attempt():
        resp = e.req("POST", "/v1/stays", token, body)
        return resp if resp.status != 404 else None
    resp = h.wait_until(attempt, 10 * h.SCALE, interval=0.1)
    if not resp or resp.status != 201:
        raise RuntimeError(f"booking failed: {resp!r}")
    return resp.json


def test_lowering_below_reserved_is_refused_until_the_stays_are_named_to_cancel():
    e = env()
    email = f"mz-inv-{uuid.uuid4().hex[:6]}@test.logeer.nl"
    h.add_user(e.url, email, "caregiver", municipality="GM0106")
    family = e.server.login(email, password=h.TEST_PASSWORD)
    loc = new_location(e)
    pool = new_pool(e, loc["id"], booking_mode="instant")
    pid = pool["id"]
    setup = put_capacity(e, pid, e.esdorp, {"ranges": [{"from": e.day(1), "to": e.day(9),
                                                        "beds": 2}]})
    if not check_status("capacity 2 on nights +1..+8", setup, 200):
        return
    booked = book(e, family, pid, e.day(2), e.day(4))
    confirm = e.req("POST", f"/v1/stays/{booked['id']}/confirm", family)
    h.check("stay A (nights +2, +3) is confirmed", confirm.status == 200
            and confirm.json.get("status") == "confirmed", repr(confirm))
    held = book(e, family, pid, e.day(3), e.day(5))
    h.check_equal("stay B (nights +3, +4) is held", held.get("status"), "held")
    before_nights = h.db_nights(e.url, pid)
    before_version = h.scalar(e.url, f"SELECT version FROM pools WHERE id = '{pid}'")

    lower = {"ranges": [{"from": e.day(1), "to": e.day(9), "beds": 1}]}
    refused = put_capacity(e, pid, e.esdorp, lower)
    ok = h.is_problem(refused, 409)
    h.check("lowering to 1 bed where 2 are held + booked: 409", ok, repr(refused))
    if ok:
        listed = refused.json.get("nights")
        h.check_equal("the problem's nights name exactly night +3 with its figures", listed,
                      [{"date": e.day(3), "capacity_requested": 1, "held": 1, "booked": 1}])
        detail = refused.json.get("detail", "")
        h.check("the detail names the night and says to name stays in cancel_stays",
                e.day(3) in detail and "cancel_stays" in detail, detail)
    zero = put_capacity(e, pid, e.esdorp, {"ranges": [{"from": e.day(1), "to": e.day(9),
                                                       "beds": 0}]})
    h.check("lowering to 0: 409 naming nights +2, +3, +4",
            h.is_problem(zero, 409) and [n.get("date") for n in zero.json.get("nights", [])]
            == [e.day(2), e.day(3), e.day(4)], repr(zero))
    h.check_equal("nothing changed: every night's counters are as before",
                  h.db_nights(e.url, pid), before_nights)
    h.check_equal("nothing changed: the pool version is as before",
                  h.scalar(e.url, f"SELECT version FROM pools WHERE id = '{pid}'"), before_version)
    statuses = dict(h.psql(e.url, "SELECT id, status FROM stays "
                                  f"WHERE id IN ('{booked['id']}', '{held['id']}')"))
    h.check_equal("nothing changed: both stays keep their status",
                  statuses, {booked["id"]: "confirmed", held["id"]: "held"})

    named = dict(lower, cancel_stays=[held["id"]])
    check_invalid("cancel_stays without a reason", put_capacity(e, pid, e.esdorp, named), "reason")
    stranger = dict(lower, cancel_stays=[str(uuid.uuid4())], reason="personeelstekort")
    check_invalid("cancel_stays naming a stay that is not in this pool",
                  put_capacity(e, pid, e.esdorp, stranger), "cancel_stays")
    h.check_equal("still nothing changed", h.db_nights(e.url, pid), before_nights)

    cancelled = put_capacity(e, pid, e.esdorp, dict(named, reason="personeelstekort"))
    ok = cancelled.status == 200 and isinstance(cancelled.json, dict)
    h.check("naming stay B to cancel, with a reason: 200", ok, repr(cancelled))
    if ok:
        h.check("every night now has capacity 1; night +3 is booked by A only",
                all(n["capacity"] == 1 for n in cancelled.json["nights"])
                and {n["date"]: (n["held"], n["booked"]) for n in cancelled.json["nights"]}
                [e.day(3)] == (0, 1), cancelled.json)
    row = h.psql(e.url, f"SELECT status, cancel_reason FROM stays WHERE id = '{held['id']}'")
    h.check_equal("stay B is cancelled with the reason", row, [["cancelled", "personeelstekort"]])
    seen = e.req("GET", f"/v1/stays/{held['id']}", e.esdorp)
    h.check("the provider sees stay B as cancelled",
            seen.status == 200 and seen.json.get("status") == "cancelled", repr(seen))
    h.check_equal("stay A is still confirmed", h.scalar(
        e.url, f"SELECT status FROM stays WHERE id = '{booked['id']}'"), "confirmed")
    h.check_counters_match_stays("after the capacity change", e.url, pid)

    kind = e.req("PATCH", f"/v1/pools/{pid}", e.esdorp, {"kind": "crisis"})
    h.check("PATCH kind of this pool, which now has stays: 409",
            h.is_problem(kind, 409) and "kind" in kind.json.get("detail", ""), repr(kind))
    h.check_equal("its kind is unchanged",
                  h.scalar(e.url, f"SELECT kind FROM pools WHERE id = '{pid}'"), "planned")


def test_server_stops_cleanly():
    e = env()
    e.server.stop(label="logeerd serving the inventory tests")


h.main(globals())
