"""Isolation matrix: every route against every role (anonymous, caregivers A and B, provider
staff A and B, referrer, coordinator, admin), with cross-provider and cross-caregiver attempts
on every id-taking route. Prints the matrix (route x role -> status) and fails when a forbidden
access succeeded (2xx) or an allowed one did not; a denial must also have the right status:
401 without a token, 403 for a role the route is not for, 404 for an object the caller may not
see (spec 1: a forbidden object answers 404, not 403). A second table sends every JSON body
route an unknown field and the privileged fields a caller must never set (status, provider_id,
kind, ids): each must be 422 naming the field, and nothing may change.

What "allowed" means follows the spec's role table: caregivers act on their own stays, provider
staff on their own provider's inventory and the stays in its pools, the referrer on the stays
they requested, the coordinator reads everything and may cancel any stay as an override with a
reason (but never confirm a family's hold for them), the admin manages providers and accounts."""

import datetime as dt
import http.client
import json
import socket
import threading
import time
import uuid

import harness as h

ROLES = ["anonymous", "caregiver_a", "caregiver_b", "provider_a", "provider_b", "referrer",
         "coordinator", "admin"]
SHORT = {"anonymous": "anon", "caregiver_a": "cg-A", "caregiver_b": "cg-B",
         "provider_a": "prov-A", "provider_b": "prov-B", "referrer": "refer",
         "coordinator": "coord", "admin": "admin"}
ESDORP = "planner@esdorp.demo.logeer.nl"
HUNZEHOF = "planner@hunzehof.demo.logeer.nl"
OK = "ok"
WINDOW = 30


class World:
    def __init__(self):
        self.url = h.migrated_database(seed=True)
        self.srv = h.Server(self.url, keep=True)
        self.today = h.today_local(self.url)
        emails = h.add_caregivers(self.url, 2, prefix="iso")
        a, b = h.login_many(self.srv, emails)
        self.tokens = {
            "anonymous": None, "caregiver_a": a, "caregiver_b": b,
            "provider_a": self.srv.login(ESDORP), "provider_b": self.srv.login(HUNZEHOF),
            "referrer": self.srv.login("huisarts@demo.logeer.nl"),
            "coordinator": self.srv.login("aanjager@demo.logeer.nl"),
            "admin": self.srv.login("beheer@demo.logeer.nl"),
        }
        self.emails = dict(zip(("caregiver_a", "caregiver_b"), emails))
        self.user_a = h.scalar(self.url, f"SELECT id FROM users WHERE email = '{emails[0]}'")
        self.pva = h.DEMO_PROVIDER_IDS[ESDORP]
        self.pvb = h.DEMO_PROVIDER_IDS[HUNZEHOF]
        end = self.day(WINDOW)
        ta, tb = self.tokens["provider_a"], self.tokens["provider_b"]
        self.pa = h.make_pool(self.srv, self.url, ta, self.pva, 50, self.today, end,
                              name="Iso A planned")
        self.pa_approval = h.make_pool(self.srv, self.url, ta, self.pva, 50, self.today, end,
                                       booking_mode="approval", location_id=self.pa.location_id,
                                       name="Iso A approval")
        self.pa_crisis = h.make_pool(self.srv, self.url, ta, self.pva, 50, self.today, end,
                                     kind="crisis", location_id=self.pa.location_id,
                                     name="Iso A crisis")
        self.pb = h.make_pool(self.srv, self.url, tb, self.pvb, 50, self.today, end,
                              name="Iso B planned")
        self.la, self.lb = self.pa.location_id, self.pb.location_id
        self.offset = 1
        self.owner = {}
        self.sa = self.new_stay("caregiver_a", self.pa)
        self.sb = self.new_stay("caregiver_b", self.pb)
        self.sr = self.new_stay("referrer", self.pa_crisis)

    def day(self, n):
        return self.today + dt.timedelta(days=n)

    def new_stay(self, who, pool, first=None):
        """A fresh stay of who in pool (held, requested or, for crisis, confirmed)."""
        if first is None:
            self.offset = self.offset % (WINDOW - 3) + 1
            first = self.offset
        body = h.stay_body(pool.id, self.day(first), self.day(first + 1),
                           alias=f"iso {who} {uuid.uuid4().hex[:4]}")
        resp = self.srv.request("POST", "/v1/stays", body, token=self.tokens[who])
        if resp.status != 201:
            raise RuntimeError(f"fixture stay for {who} refused: {resp!r}")
        self.owner[resp.json["id"]] = who
        return resp.json["id"]

    def confirmed_today(self, who="caregiver_a"):
        sid = self.new_stay(who, self.pa, first=0)
        self.act(who, sid, "confirm")
        return sid

    def act(self, who, sid, action, reason=None):
        body = {"reason": reason} if reason else None
        return self.srv.request("POST", f"/v1/stays/{sid}/{action}", body,
                                token=self.tokens[who])

    def tidy(self, sid, who=None):
        """Cancels a fixture stay left open, so caregivers stay under their open-stay limit
        (a stay that is no longer open just answers 409)."""
        self.act(who or self.owner.get(sid, "caregiver_a"), sid, "cancel")


def world():
    return h.once("world", World)


class Row:
    """One route: how to call it and what each role should get (OK for 2xx, else the exact
    denial status). fresh(role) makes a new target for a call that changes state."""

    def __init__(self, label, method, path, expect, body=None, fresh=None, cleanup=None,
                 headers=None, stream=False):
        self.label, self.method, self.path, self.expect = label, method, path, expect
        self.body, self.fresh, self.cleanup, self.headers = body, fresh, cleanup, headers
        self.stream = stream  # a Server-Sent Events stream: only its status is read


def roles(default, **over):
    out = {r: default for r in ROLES}
    out["anonymous"] = 401
    out.update(over)
    return out


def rows(w):
    ta_name = h.scalar(w.url, f"SELECT name FROM providers WHERE id = '{w.pva}'")
    tb_name = h.scalar(w.url, f"SELECT name FROM providers WHERE id = '{w.pvb}'")
    la_name = h.scalar(w.url, f"SELECT name FROM locations WHERE id = '{w.la}'")
    lb_name = h.scalar(w.url, f"SELECT name FROM locations WHERE id = '{w.lb}'")
    pa_name = h.scalar(w.url, f"SELECT name FROM pools WHERE id = '{w.pa.id}'")
    pb_name = h.scalar(w.url, f"SELECT name FROM pools WHERE id = '{w.pb.id}'")
    cap_body = {"ranges": [{"from": str(w.day(WINDOW - 1)), "to": str(w.day(WINDOW)),
                            "beds": 50}]}
    staff_read = dict(provider_a=OK, provider_b=OK, coordinator=OK, admin=OK)
    day = w.day(3)

    def stay_for(who, pool):
        return lambda role: w.new_stay(who, pool)

    def new_email(_role=None):
        return f"iso-{uuid.uuid4().hex[:8]}@test.logeer.nl"

    out = [
        Row("GET /livez", "GET", "/livez", roles(OK, anonymous=OK)),
        Row("GET /readyz", "GET", "/readyz", roles(OK, anonymous=OK)),
        Row("GET /metrics", "GET", "/metrics", roles(OK, anonymous=OK)),
        Row("GET /v1/municipalities", "GET", "/v1/municipalities",
            roles(OK, anonymous=OK)),
        Row("POST /v1/caregivers", "POST", "/v1/caregivers", roles(OK, anonymous=OK),
            body=lambda role, t: {"email": new_email(), "password": "paard batterij nietje",
                                  "municipality": "GM0106"}),
        Row("GET /v1/me", "GET", "/v1/me", roles(OK)),
        Row("GET /v1/me/export", "GET", "/v1/me/export", roles(OK)),
        Row("POST /v1/users", "POST", "/v1/users", roles(403, admin=OK),
            body=lambda role, t: {"email": new_email(), "password": "paard batterij nietje",
                                  "role": "referrer"}),
        Row("GET /v1/users", "GET", "/v1/users", roles(403, admin=OK)),
        Row("GET /v1/users/{caregiver A}", "GET", f"/v1/users/{w.user_a}", roles(403, admin=OK)),
        Row("GET /v1/access-log", "GET", "/v1/access-log", roles(403, coordinator=OK)),
        # Providers
        Row("POST /v1/providers", "POST", "/v1/providers", roles(403, admin=OK),
            body=lambda role, t: {"name": f"Iso zorg {uuid.uuid4().hex[:6]}"}),
        Row("GET /v1/providers", "GET", "/v1/providers", roles(403, **staff_read)),
        Row("GET /v1/providers/{A}", "GET", f"/v1/providers/{w.pva}",
            roles(403, **dict(staff_read, provider_b=404))),
        Row("GET /v1/providers/{B}", "GET", f"/v1/providers/{w.pvb}",
            roles(403, **dict(staff_read, provider_a=404))),
        Row("PATCH /v1/providers/{A}", "PATCH", f"/v1/providers/{w.pva}",
            roles(403, provider_a=OK, provider_b=404, admin=OK), body={"name": ta_name}),
        Row("PATCH /v1/providers/{B}", "PATCH", f"/v1/providers/{w.pvb}",
            roles(403, provider_a=404, provider_b=OK, admin=OK), body={"name": tb_name}),
        # Locations
        Row("POST /v1/locations (own provider)", "POST", "/v1/locations",
            roles(403, provider_a=OK, provider_b=OK, admin=OK),
            body=lambda role, t: {"provider_id": w.pvb if role == "provider_b" else w.pva,
                                  "name": f"Iso loc {uuid.uuid4().hex[:6]}",
                                  "municipality": "GM0106", "lat": 52.99, "lon": 6.56}),
        Row("POST /v1/locations under provider A", "POST", "/v1/locations",
            roles(403, provider_a=OK, provider_b=404, admin=OK),
            body=lambda role, t: {"provider_id": w.pva, "name": f"Iso loc {uuid.uuid4().hex[:6]}",
                                  "municipality": "GM0106", "lat": 52.99, "lon": 6.56}),
        Row("GET /v1/locations", "GET", "/v1/locations", roles(403, **staff_read)),
        Row("GET /v1/locations/{A}", "GET", f"/v1/locations/{w.la}",
            roles(403, **dict(staff_read, provider_b=404))),
        Row("GET /v1/locations/{B}", "GET", f"/v1/locations/{w.lb}",
            roles(403, **dict(staff_read, provider_a=404))),
        Row("PATCH /v1/locations/{A}", "PATCH", f"/v1/locations/{w.la}",
            roles(403, provider_a=OK, provider_b=404, admin=OK), body={"name": la_name}),
        Row("PATCH /v1/locations/{B}", "PATCH", f"/v1/locations/{w.lb}",
            roles(403, provider_a=404, provider_b=OK, admin=OK), body={"name": lb_name}),
        # Pools and capacity
        Row("POST /v1/pools at location A", "POST", "/v1/pools",
            roles(403, provider_a=OK, provider_b=404, admin=OK),
            body=lambda role, t: {"location_id": w.la, "name": f"Iso pool {uuid.uuid4().hex[:6]}",
                                  "kind": "planned", "care_profiles": ["dementia"],
                                  "funding": ["wlz"], "booking_mode": "instant",
                                  "min_nights": 1, "max_nights": 14, "lead_days": 0,
                                  "horizon_days": 365}),
        Row("GET /v1/pools", "GET", "/v1/pools", roles(403, **staff_read)),
        Row("GET /v1/pools/{A}", "GET", f"/v1/pools/{w.pa.id}",
            roles(403, **dict(staff_read, provider_b=404))),
        Row("GET /v1/pools/{B}", "GET", f"/v1/pools/{w.pb.id}",
            roles(403, **dict(staff_read, provider_a=404))),
        Row("PATCH /v1/pools/{A}", "PATCH", f"/v1/pools/{w.pa.id}",
            roles(403, provider_a=OK, provider_b=404, admin=OK), body={"name": pa_name}),
        Row("PATCH /v1/pools/{B}", "PATCH", f"/v1/pools/{w.pb.id}",
            roles(403, provider_a=404, provider_b=OK, admin=OK), body={"name": pb_name}),
        Row("GET /v1/pools/{A}/capacity", "GET", f"/v1/pools/{w.pa.id}/capacity",
            roles(403, provider_a=OK, provider_b=404, coordinator=OK)),
        Row("GET /v1/pools/{B}/capacity", "GET", f"/v1/pools/{w.pb.id}/capacity",
            roles(403, provider_a=404, provider_b=OK, coordinator=OK)),
        Row("PUT /v1/pools/{A}/capacity", "PUT", f"/v1/pools/{w.pa.id}/capacity",
            roles(403, provider_a=OK, provider_b=404), body=cap_body, headers={"If-Match": "*"}),
        Row("PUT /v1/pools/{B}/capacity", "PUT", f"/v1/pools/{w.pb.id}/capacity",
            roles(403, provider_a=404, provider_b=OK), body=cap_body, headers={"If-Match": "*"}),
        # Reports and live events
        Row("GET /v1/reports/occupancy", "GET", "/v1/reports/occupancy",
            roles(403, coordinator=OK)),
        Row("GET /v1/reports/demand", "GET", "/v1/reports/demand", roles(403, coordinator=OK)),
        Row("GET /v1/events", "GET", "/v1/events",
            roles(403, provider_a=OK, provider_b=OK, coordinator=OK), stream=True),
        # Search
        # Visitors may search without an account (the portal lets them try first).
        Row("GET /v1/availability", "GET", f"/v1/availability?check_in={day}&nights=1",
            roles(403, anonymous=OK, caregiver_a=OK, caregiver_b=OK, referrer=OK,
                  coordinator=OK)),
        Row("GET /v1/availability/earliest", "GET", "/v1/availability/earliest?nights=1",
            roles(403, anonymous=OK, caregiver_a=OK, caregiver_b=OK, referrer=OK,
                  coordinator=OK)),

        # Stays
        Row("POST /v1/stays (planned / crisis pool by role)", "POST", "/v1/stays",
            roles(403, caregiver_a=OK, caregiver_b=OK, referrer=OK, coordinator=OK),
            body=lambda role, t: h.stay_body(
                (w.pa if role.startswith("caregiver") else w.pa_crisis).id, w.day(5), w.day(6)),
            cleanup=lambda role, resp: w.tidy(resp.json["id"], role)
            if role.startswith("caregiver") and resp.status == 201 else None),
        Row("GET /v1/stays", "GET", "/v1/stays",
            roles(403, caregiver_a=OK, caregiver_b=OK, provider_a=OK, provider_b=OK, referrer=OK,
                  coordinator=OK)),
        Row("GET /v1/stays/{caregiver A's, pool A}", "GET", f"/v1/stays/{w.sa}",
            roles(403, caregiver_a=OK, caregiver_b=404, provider_a=OK, provider_b=404,
                  referrer=404, coordinator=OK)),
        Row("GET /v1/stays/{caregiver A's, pool A}/calendar.ics", "GET",
            f"/v1/stays/{w.sa}/calendar.ics",
            roles(403, caregiver_a=OK, caregiver_b=404, provider_a=OK, provider_b=404,
                  referrer=404, coordinator=OK)),
        Row("GET /v1/stays/{caregiver B's, pool B}", "GET", f"/v1/stays/{w.sb}",
            roles(403, caregiver_a=404, caregiver_b=OK, provider_a=404, provider_b=OK,
                  referrer=404, coordinator=OK)),
        Row("GET /v1/stays/{referrer's crisis stay}", "GET", f"/v1/stays/{w.sr}",
            roles(403, caregiver_a=404, caregiver_b=404, provider_a=OK, provider_b=404,
                  referrer=OK, coordinator=OK)),
        Row("POST /v1/stays/{A's hold}/confirm", "POST", "/v1/stays/{t}/confirm",
            roles(403, caregiver_a=OK, caregiver_b=404, provider_b=404, referrer=404),
            fresh=stay_for("caregiver_a", w.pa)),
        Row("POST /v1/stays/{A's hold}/cancel", "POST", "/v1/stays/{t}/cancel",
            roles(403, caregiver_a=OK, caregiver_b=404, provider_a=OK, provider_b=404,
                  referrer=404, coordinator=OK), body={"reason": "isolatietest"},
            fresh=stay_for("caregiver_a", w.pa)),
        Row("POST /v1/stays/{A's hold}/cancel, no reason", "POST", "/v1/stays/{t}/cancel",
            roles(403, caregiver_a=OK, caregiver_b=404, provider_a=422, provider_b=404,
                  referrer=404, coordinator=422), fresh=stay_for("caregiver_a", w.pa)),
        Row("POST /v1/stays/{A's request}/accept", "POST", "/v1/stays/{t}/accept",
            roles(403, caregiver_b=404, provider_a=OK, provider_b=404, referrer=404),
            fresh=stay_for("caregiver_a", w.pa_approval)),
        Row("POST /v1/stays/{A's request}/decline", "POST", "/v1/stays/{t}/decline",
            roles(403, caregiver_b=404, provider_a=OK, provider_b=404, referrer=404),
            body={"reason": "isolatietest"}, fresh=stay_for("caregiver_a", w.pa_approval)),
        Row("POST /v1/stays/{A's confirmed, today}/check-in", "POST", "/v1/stays/{t}/check-in",
            roles(403, caregiver_b=404, provider_a=OK, provider_b=404, referrer=404),
            fresh=lambda role: w.confirmed_today()),
        Row("POST /v1/stays/{referrer's crisis}/cancel", "POST", "/v1/stays/{t}/cancel",
            roles(403, caregiver_a=404, caregiver_b=404, provider_a=OK, provider_b=404,
                  referrer=OK, coordinator=OK), body={"reason": "isolatietest"},
            fresh=stay_for("referrer", w.pa_crisis)),
        # Last: these end the caller's session or account.
        Row("DELETE /v1/sessions/current", "DELETE", "/v1/sessions/current", roles(OK)),
        Row("DELETE /v1/me", "DELETE", "/v1/me", roles(403, caregiver_a=OK, caregiver_b=OK)),
    ]
    return out


def test_lists_show_only_what_the_caller_may_see():
    w = world()

    def ids(role, path, key):
        resp = w.srv.request("GET", path, token=w.tokens.get(role) or session_for(w, role))
        return {o.get("id") for o in (resp.json or {}).get(key, [])}

    checks = [
        ("caregiver A's GET /v1/stays", "caregiver_a", "/v1/stays?limit=200", "stays",
         {w.sa}, {w.sb, w.sr}),
        ("caregiver B's GET /v1/stays", "caregiver_b", "/v1/stays?limit=200", "stays",
         {w.sb}, {w.sa, w.sr}),
        ("provider A's GET /v1/stays", "provider_a", "/v1/stays?limit=200", "stays",
         {w.sa, w.sr}, {w.sb}),
        ("provider B's GET /v1/stays", "provider_b", "/v1/stays?limit=200", "stays",
         {w.sb}, {w.sa, w.sr}),
        ("the referrer's GET /v1/stays", "referrer", "/v1/stays?limit=200", "stays",
         {w.sr}, {w.sa, w.sb}),
        ("provider A's GET /v1/locations", "provider_a", "/v1/locations?limit=200", "locations",
         {w.la}, {w.lb}),
        ("provider B's GET /v1/locations", "provider_b", "/v1/locations?limit=200", "locations",
         {w.lb}, {w.la}),
        ("provider A's GET /v1/pools", "provider_a", "/v1/pools?limit=200", "pools",
         {w.pa.id, w.pa_crisis.id}, {w.pb.id}),
        ("provider B's GET /v1/pools", "provider_b", "/v1/pools?limit=200", "pools",
         {w.pb.id}, {w.pa.id, w.pa_crisis.id}),
        ("provider A's GET /v1/providers", "provider_a", "/v1/providers?limit=200", "providers",
         {w.pva}, {w.pvb}),
    ]
    for label, role, path, key, must, never in checks:
        got = ids(role, path, key)
        h.check(f"{label} holds its own objects", must <= got, f"missing {must - got}")
        h.check(f"{label} holds nothing of the others", not (never & got), f"leaked {never & got}")
    day = w.day(3)
    resp = w.srv.request("GET", f"/v1/availability?check_in={day}&nights=1&limit=100",
                         token=w.tokens["caregiver_a"])
    pools = {r.get("pool_id") for r in (resp.json or {}).get("results", [])}
    h.check("a caregiver's search never shows a crisis pool", w.pa_crisis.id not in pools
            and w.pa.id in pools, pools)


def read_events(w, token, seconds):
    """The data lines of the event stream received within seconds. Read from the raw socket
    (the stream never ends); chunk-size lines of the chunked framing never start "data:"."""
    request = (f"GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
               f"Authorization: Bearer {token}\r\n\r\n").encode()
    received = b""
    with socket.create_connection(("127.0.0.1", w.srv.port), timeout=10 * h.SCALE) as sock:
        sock.sendall(request)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except (socket.timeout, TimeoutError):
                break
            if not chunk:
                break
            received += chunk
    events = []
    for line in received.split(b"\n"):
        if line.startswith(b"data:"):
            try:
                events.append(json.loads(line[5:].strip() or b"null"))
            except ValueError:
                events.append(line.decode("utf-8", "replace"))
    return events


def test_event_streams_carry_only_the_callers_provider():
    w = world()
    results = {}

    def listen(role):
        results[role] = read_events(w, w.tokens[role], 3.0 * h.SCALE)

    threads = [threading.Thread(target=listen, args=(r,)) for r in
               ("provider_a", "provider_b", "coordinator")]
    for t in threads:
        t.start()
    time.sleep(0.5 * h.SCALE)
    sid = w.new_stay("caregiver_a", w.pa)
    w.tidy(sid)
    for t in threads:
        t.join(20 * h.SCALE)

    def mentions(events, needle):
        return [e for e in events if needle in json.dumps(e)]

    h.check("provider A's stream shows the stay in its own pool",
            mentions(results.get("provider_a", []), sid), results.get("provider_a"))
    h.check("the coordinator's stream shows it too", mentions(results.get("coordinator", []), sid),
            results.get("coordinator"))
    h.check("provider B's stream shows nothing of provider A's pools or stays",
            not mentions(results.get("provider_b", []), sid)
            and not mentions(results.get("provider_b", []), w.pa.id)
            and not mentions(results.get("provider_b", []), w.pva), results.get("provider_b"))
    leaked = [e for role in results for e in results[role] if "iso caregiver" in json.dumps(e)]
    h.check("no stream carries a guest alias", not leaked, leaked)


def fields(resp):
    return [e.get("field") for e in (resp.json or {}).get("errors", [])
            if isinstance(resp.json, dict)]


def test_body_validators_refuse_unknown_and_privileged_fields():
    w = world()
    t = w.tokens
    stay = lambda **extra: h.stay_body(w.pa.id, w.day(7), w.day(8), **extra)
    pool_body = {"location_id": w.la, "name": f"Iso p {uuid.uuid4().hex[:4]}", "kind": "planned",
                 "care_profiles": ["dementia"], "funding": ["wlz"], "booking_mode": "instant",
                 "min_nights": 1, "max_nights": 14, "lead_days": 0, "horizon_days": 365}
    loc_body = {"name": f"Iso l {uuid.uuid4().hex[:4]}", "municipality": "GM0106", "lat": 53.0,
                "lon": 6.5}
    cap = {"ranges": [{"from": str(w.day(2)), "to": str(w.day(3)), "beds": 50}]}
    cases = [
        ("caregiver_a", "POST", "/v1/stays", stay(status="confirmed"), "status"),
        ("caregiver_a", "POST", "/v1/stays", stay(provider_id=w.pvb), "provider_id"),
        ("caregiver_a", "POST", "/v1/stays", stay(kind="crisis"), "kind"),
        ("caregiver_a", "POST", "/v1/stays", stay(requested_by=w.user_a), "requested_by"),
        ("caregiver_a", "POST", "/v1/stays", stay(hold_expires_at="2099-01-01T00:00:00Z"),
         "hold_expires_at"),
        ("caregiver_a", "POST", "/v1/stays", stay(x_unknown=1), "x_unknown"),
        ("caregiver_a", "POST", f"/v1/stays/{w.sa}/cancel", {"status": "completed"}, "status"),
        ("provider_a", "POST", f"/v1/stays/{w.sa}/cancel", {"reason": "x", "to_status": "x"},
         "to_status"),
        ("provider_a", "PATCH", f"/v1/locations/{w.la}", {"provider_id": w.pvb}, "provider_id"),
        ("provider_a", "PATCH", f"/v1/locations/{w.la}", {"id": str(uuid.uuid4())}, "id"),
        ("provider_a", "POST", "/v1/locations", dict(loc_body, owner=w.pvb), "owner"),
        ("provider_a", "POST", "/v1/pools", dict(pool_body, provider_id=w.pvb), "provider_id"),
        ("provider_a", "POST", "/v1/pools", dict(pool_body, version=9), "version"),
        ("provider_a", "PATCH", f"/v1/pools/{w.pa.id}", {"provider_id": w.pvb}, "provider_id"),
        ("provider_a", "PATCH", f"/v1/pools/{w.pa.id}", {"location_id": w.lb}, "location_id"),
        ("provider_a", "PATCH", f"/v1/pools/{w.pa.id}", {"as_of": "2020-01-01T00:00:00Z"}, "as_of"),
        ("provider_a", "PUT", f"/v1/pools/{w.pa.id}/capacity", dict(cap, held=0), "held"),
        ("provider_a", "PATCH", f"/v1/providers/{w.pva}", {"id": w.pvb}, "id"),
        ("admin", "POST", "/v1/providers", {"name": "Iso X", "created_at": "2020-01-01"},
         "created_at"),
        ("admin", "POST", "/v1/users", {"email": "iso-x@test.logeer.nl", "role": "referrer",
                                        "password": "paard batterij nietje",
                                        "password_hash": "$argon2id$"}, "password_hash"),
        ("anonymous", "POST", "/v1/caregivers", {"email": "iso-y@test.logeer.nl",
                                                 "password": "paard batterij nietje",
                                                 "municipality": "GM0106", "role": "admin"},
         "role"),
        ("anonymous", "POST", "/v1/sessions", {"email": "a@b.nl", "password": "x",
                                               "remember": True}, "remember"),
    ]
    before = h.psql(w.url, "SELECT (SELECT count(*) FROM stays), (SELECT count(*) FROM pools), "
                           "(SELECT count(*) FROM locations), (SELECT count(*) FROM users), "
                           "(SELECT count(*) FROM providers), "
                           "(SELECT string_agg(id::text || provider_id::text || location_id::text, ',' ORDER BY id) "
                           "FROM pools), (SELECT string_agg(id::text || provider_id::text, ',' ORDER BY id) "
                           "FROM locations)")
    for role, method, path, body, field in cases:
        resp = w.srv.request(method, path, body, token=t[role],
                             headers={"If-Match": "*"} if method == "PUT" else None)
        h.check(f"{method} {path.split('/')[2]}... as {role} with {field!r}: 422 naming it",
                resp.status == 422 and field in fields(resp), repr(resp))
    after = h.psql(w.url, "SELECT (SELECT count(*) FROM stays), (SELECT count(*) FROM pools), "
                          "(SELECT count(*) FROM locations), (SELECT count(*) FROM users), "
                          "(SELECT count(*) FROM providers), "
                          "(SELECT string_agg(id::text || provider_id::text || location_id::text, ',' ORDER BY id) "
                          "FROM pools), (SELECT string_agg(id::text || provider_id::text, ',' ORDER BY id) "
                          "FROM locations)")
    h.check("none of those requests created or re-owned anything", before == after,
            f"{before} -> {after}")
    status = h.scalar(w.url, f"SELECT status FROM stays WHERE id = '{w.sa}'")
    h.check_equal("caregiver A's stay is still held", status, "held")


def run_cell(w, row, role, target):
    path = row.path.replace("{t}", target) if target else row.path
    body = row.body(role, target) if callable(row.body) else row.body
    if row.stream:
        return stream_status(w, path, w.tokens[role])
    return w.srv.request(row.method, path, body, headers=row.headers, token=w.tokens[role])


def stream_status(w, path, token):
    """The status of a streaming GET: the head arrives at once, the body never ends."""
    conn = http.client.HTTPConnection("127.0.0.1", w.srv.port, timeout=10 * h.SCALE)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        r = conn.getresponse()
        body = r.read() if r.status != 200 else b""
        resp = h.Response(r.status, r.getheaders(), body)
        h.judge_answer("GET", path, resp)
        return resp
    finally:
        conn.close()


def verdict(expect, status):
    """None when fine, else why not."""
    if expect == OK:
        return None if 200 <= status < 300 else f"allowed but got {status}"
    if 200 <= status < 300:
        return f"FORBIDDEN ACCESS SUCCEEDED ({status})"
    return None if status == expect else f"denied with {status}, expected {expect}"


def test_isolation_matrix():
    w = world()
    matrix = []
    problems = []
    for row in rows(w):
        cells = {}
        shared = row.fresh("shared") if row.fresh else None
        order = sorted(ROLES, key=lambda r: row.expect[r] == OK)  # denials first
        for role in order:
            target = shared
            if row.fresh and row.expect[role] == OK:
                target = row.fresh(role)
            saved = w.tokens[role]
            # Logging out ends a session made for the purpose, not the working token.
            if row.label == "DELETE /v1/sessions/current" and role != "anonymous":
                w.tokens[role] = session_for(w, role)
            resp = run_cell(w, row, role, target)
            w.tokens[role] = saved
            cells[role] = resp.status
            why = verdict(row.expect[role], resp.status)
            if why:
                problems.append(f"{row.label} as {role}: {why}; {resp.text[:160]}")
            if row.cleanup:
                row.cleanup(role, resp)
        if shared:
            w.tidy(shared)
        matrix.append((row, cells))
    print_matrix(matrix)
    h.check(f"no forbidden access succeeded and every allowed one did "
            f"({len(matrix)} routes x {len(ROLES)} roles)", not problems,
            "\n        " + "\n        ".join(problems))


def session_for(w, role):
    emails = {"provider_a": ESDORP, "provider_b": HUNZEHOF, "referrer": "huisarts@demo.logeer.nl",
              "coordinator": "aanjager@demo.logeer.nl", "admin": "beheer@demo.logeer.nl"}
    if role in emails:
        return w.srv.login(emails[role])
    resp = w.srv.request("POST", "/v1/sessions", {"email": w.emails[role],
                                                  "password": h.TEST_PASSWORD})
    return resp.json["token"]


def print_matrix(matrix):
    width = max(len(r.label) for r, _ in matrix) + 2
    head = "route".ljust(width) + "".join(SHORT[r].rjust(8) for r in ROLES)
    h.info("route x role -> status   (* = 2xx expected, ! = not what the rules say)")
    h.info(head)
    h.info("-" * len(head))
    for row, cells in matrix:
        line = row.label.ljust(width)
        for role in ROLES:
            status = cells.get(role)
            mark = "!" if verdict(row.expect[role], status) else ("*" if row.expect[role] == OK
                                                                   else " ")
            line += f"{status}{mark}".rjust(8)
        h.info(line)


h.main(globals())
