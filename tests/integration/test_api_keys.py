"""API keys for provider systems (POST/GET /v1/api-keys, GET/DELETE /v1/api-keys/{id}).
A planner makes a key; it is shown once and stored only as a hash. A key with capacity:write
writes its own provider's capacity and nothing else: not another provider's pool, not stays,
not the people-only routes. A key with stays:read lists stays, and each stay it reads is in
the access log with the key. Revocation, expiry and the creator's disabled account stop a key
at once; an API key cannot make keys; caregivers and coordinators cannot either, and of the
provider's staff only its beheerders (provider_admin, which the admin grants with PATCH
/v1/users/{id}) make and withdraw them. Runs on the Drenthe demo data."""

import datetime as dt

import harness as h

ESDORP = "planner@esdorp.demo.logeer.nl"
HUNZEHOF = "planner@hunzehof.demo.logeer.nl"
ESDORP_ID = "d0000000-0000-4000-a000-000000000001"


def make_key(srv, token, **body):
    body.setdefault("name", "Planningssysteem")
    return srv.request("POST", "/v1/api-keys", body, token=token)


def first_pool(srv, token):
    pools = srv.get("/v1/pools?kind=planned", token=token).json["pools"]
    return pools[0]["id"]


def set_beds(srv, token, pool, day, beds):
    return h.put_capacity(srv, token, pool, [{"from": day, "to": day + dt.timedelta(days=1),
                                              "beds": beds}])


def stamp(text):
    """A timestamp of the API (UTC, ISO 8601). Expiry is compared with creation, not with a
    calendar date: between 23:00 and 24:00 UTC the Amsterdam date is already the next one."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def world():
    def make():
        url = h.migrated_database(seed=True)
        srv = h.Server(url, keep=True)
        esdorp, hunzehof = srv.login(ESDORP), srv.login(HUNZEHOF)
        return {"url": url, "srv": srv, "esdorp": esdorp, "hunzehof": hunzehof,
                "today": h.today_local(url)}
    return h.once("world", make)


def test_a_key_is_shown_once_and_stored_only_as_a_hash():
    w = world()
    srv = w["srv"]
    resp = make_key(srv, w["esdorp"], scopes=["capacity:write"], expires_in_days=30)
    h.check("a planner makes a key: 201 with the key once", resp.status == 201
            and resp.json.get("key", "").startswith("lk_") and len(resp.json["key"]) == 46,
            repr(resp))
    key, kid = resp.json["key"], resp.json["id"]
    h.check("the record says its provider, scopes, prefix and expiry",
            resp.json["provider_id"] == ESDORP_ID and resp.json["scopes"] == ["capacity:write"]
            and resp.json["prefix"] == key[:11] and resp.json["revoked_at"] is None
            and stamp(resp.json["expires_at"]) - stamp(resp.json["created_at"])
            == dt.timedelta(days=30),
            repr(resp.json))
    got = srv.get(f"/v1/api-keys/{kid}", token=w["esdorp"])
    h.check("GET shows the record without the key", got.status == 200 and "key" not in got.json,
            repr(got))
    listed = srv.get("/v1/api-keys", token=w["esdorp"])
    h.check("the list shows it, without the key", listed.status == 200
            and kid in {k["id"] for k in listed.json["api_keys"]}
            and key not in listed.text, repr(listed)[:300])
    dump = h.psql(w["url"], "SELECT row_to_json(k)::text FROM api_keys k")
    h.check("the database holds neither the key nor its secret part",
            key not in dump and key[3:] not in dump)
    other = srv.get(f"/v1/api-keys/{kid}", token=w["hunzehof"])
    h.check_problem("another provider's planner cannot see it: 404", other, 404)
    h.check("nor in their list", kid not in {k["id"] for k in
            srv.get("/v1/api-keys", token=w["hunzehof"]).json["api_keys"]})

    again = srv.request("POST", "/v1/api-keys", {"name": "x", "scopes": ["stays:read"]},
                        headers={"Idempotency-Key": "key-once-1"}, token=w["esdorp"])
    replay = srv.request("POST", "/v1/api-keys", {"name": "x", "scopes": ["stays:read"]},
                         headers={"Idempotency-Key": "key-once-1"}, token=w["esdorp"])
    h.check("a replay with the same Idempotency-Key gives the record without the key",
            again.status == 201 and "key" in again.json and replay.status == 201
            and replay.json["id"] == again.json["id"] and "key" not in replay.json,
            repr(replay))


def test_refusals_of_making_keys():
    w = world()
    srv = w["srv"]
    for name, body in (("no scopes", {"scopes": []}),
                       ("an unknown scope", {"scopes": ["guests:read"]}),
                       ("a repeated scope", {"scopes": ["stays:read", "stays:read"]}),
                       ("expiry beyond a year", {"scopes": ["stays:read"],
                                                 "expires_in_days": 367}),
                       ("an unknown field", {"scopes": ["stays:read"], "admin": True}),
                       ("another provider", {"scopes": ["stays:read"],
                                             "provider_id": "d0000000-0000-4000-a000-000000000002"})):
        h.check_problem(f"{name}: 422", make_key(srv, w["esdorp"], **body), 422)
    resp = srv.request("POST", "/v1/api-keys", {"scopes": ["stays:read"]}, token=w["esdorp"])
    h.check_problem("no name: 422", resp, 422)
    for who in ("mantelzorger@demo.logeer.nl", "aanjager@demo.logeer.nl"):
        h.check_problem(f"{who} cannot make keys: 403",
                        make_key(srv, srv.login(who), scopes=["stays:read"]), 403)
    admin = srv.login("beheer@demo.logeer.nl")
    h.check_problem("the admin must name the provider: 422",
                    make_key(srv, admin, scopes=["stays:read"]), 422)
    resp = make_key(srv, admin, scopes=["stays:read"], provider_id=ESDORP_ID)
    h.check("the admin makes one for a named provider: 201", resp.status == 201
            and resp.json["provider_id"] == ESDORP_ID, repr(resp))


def test_only_the_organisations_beheerder_makes_and_withdraws_keys():
    w = world()
    srv = w["srv"]
    admin = srv.login("beheer@demo.logeer.nl")
    resp = srv.request("POST", "/v1/users", {"email": "collega@esdorp.demo.logeer.nl",
                                             "password": h.TEST_PASSWORD, "role": "provider",
                                             "provider_id": ESDORP_ID,
                                             "display_name": "Collega Esdorp"},
                       token=admin, headers={"Idempotency-Key": "collega-esdorp"})
    h.check("the admin adds a colleague without the admin right", resp.status == 201
            and resp.json.get("provider_admin") is False, repr(resp))
    colleague_id = resp.json["id"]
    colleague = srv.login("collega@esdorp.demo.logeer.nl", h.TEST_PASSWORD)
    h.check_equal("GET /v1/me says so", srv.get("/v1/me", token=colleague).json.get(
        "provider_admin"), False)
    h.check_problem("the colleague may not make a key: 403",
                    make_key(srv, colleague, scopes=["stays:read"]), 403)
    key = make_key(srv, w["esdorp"], scopes=["stays:read"], name="Door de beheerder").json
    h.check_equal("but sees the beheerder's keys", any(
        k["id"] == key["id"] for k in srv.get("/v1/api-keys", token=colleague).json["api_keys"]),
        True)
    h.check_problem("and may not withdraw one: 403",
                    srv.request("DELETE", f"/v1/api-keys/{key['id']}", token=colleague), 403)
    resp = srv.request("PATCH", f"/v1/users/{colleague_id}", {"provider_admin": True},
                       token=admin)
    h.check("the admin grants the right: 200", resp.status == 200
            and resp.json.get("provider_admin") is True, repr(resp))
    h.check_equal("now the colleague withdraws it: 204", srv.request(
        "DELETE", f"/v1/api-keys/{key['id']}", token=colleague).status, 204)
    h.check_equal("the grant is in the access log", h.scalar(
        w["url"], "SELECT detail->>'provider_admin' FROM access_log WHERE action = 'user.update' "
                  "ORDER BY id DESC LIMIT 1"), "true")
    coordinator = srv.get("/v1/users?role=coordinator", token=admin).json["users"][0]["id"]
    resp = srv.request("PATCH", f"/v1/users/{coordinator}", {"provider_admin": True},
                       token=admin)
    h.check("the right is for provider staff only: 422 on provider_admin",
            h.is_problem(resp, 422) and "provider_admin" in resp.text, repr(resp))
    h.check_problem("a planner may not change accounts: 403", srv.request(
        "PATCH", f"/v1/users/{colleague_id}", {"provider_admin": False}, token=w["esdorp"]), 403)
    h.check_problem("an unknown field: 422", srv.request(
        "PATCH", f"/v1/users/{colleague_id}", {"role": "admin"}, token=admin), 422)
    h.check_problem("an unknown user: 404", srv.request(
        "PATCH", "/v1/users/00000000-0000-4000-a000-000000000000", {"disabled": True},
        token=admin), 404)
    resp = srv.request("PATCH", f"/v1/users/{colleague_id}", {"disabled": True}, token=admin)
    h.check("the admin disables the account: 200 with disabled_at", resp.status == 200
            and resp.json.get("disabled_at"), repr(resp))
    h.check_problem("and its session stops", srv.get("/v1/me", token=colleague), 401)


def test_a_capacity_key_writes_its_own_capacity_and_nothing_else():
    w = world()
    srv = w["srv"]
    key = make_key(srv, w["esdorp"], scopes=["capacity:read", "capacity:write"]).json["key"]
    pool = first_pool(srv, w["esdorp"])
    day = w["today"] + dt.timedelta(days=200)
    resp = set_beds(srv, key, pool, day, 3)
    h.check("PUT capacity of its own provider's pool: 200", resp.status == 200, repr(resp))
    night = srv.get(f"/v1/pools/{pool}/capacity?from={day}&to={day + dt.timedelta(days=1)}",
                    token=w["esdorp"]).json["nights"][0]
    h.check_equal("the planner sees the key's change", night["capacity"], 3)
    resp = srv.request("POST", f"/v1/pools/{pool}/capacity/confirm", token=key)
    h.check("it confirms the counts too: 200", resp.status == 200, repr(resp))

    theirs = first_pool(srv, w["hunzehof"])
    h.check_problem("another provider's pool: 404, as for its staff",
                    set_beds(srv, key, theirs, day, 3), 404)
    resp = srv.get("/v1/stays", token=key)
    h.check("stays are not in its scopes: 403 naming stays:read", h.is_problem(resp, 403)
            and "stays:read" in resp.json.get("detail", ""), repr(resp))
    for method, path, body in (("GET", "/v1/me", None),
                               ("GET", "/v1/api-keys", None),
                               ("POST", "/v1/api-keys", {"name": "x", "scopes": ["stays:read"]}),
                               ("GET", "/v1/webhook-endpoints", None),
                               ("DELETE", "/v1/sessions/current", None)):
        resp = srv.request(method, path, body, token=key)
        h.check(f"{method} {path} is for people only: 403", h.is_problem(resp, 403)
                and "person" in resp.json.get("detail", ""), repr(resp))
    mine = srv.get("/v1/api-keys", token=w["esdorp"]).json["api_keys"]
    used = [k for k in mine if key.startswith(k["prefix"])]
    h.check("its last use is shown", used and used[0]["last_used_at"] is not None, repr(used))


def test_a_stays_key_reads_stays_and_every_read_is_in_the_access_log():
    w = world()
    srv = w["srv"]
    made = make_key(srv, w["esdorp"], scopes=["stays:read"]).json
    key = made["key"]
    resp = srv.get("/v1/stays?limit=5", token=key)
    h.check("GET /v1/stays with stays:read: 200 with Esdorp's stays", resp.status == 200
            and resp.json["stays"], repr(resp)[:300])
    ids = [s["id"] for s in resp.json["stays"]]
    h.check_problem("a write needs stays:write: 403",
                    srv.request("POST", f"/v1/stays/{ids[0]}/check-in", token=key), 403)
    h.check_problem("capacity is not in its scopes: 403",
                    srv.get(f"/v1/pools/{first_pool(srv, w['esdorp'])}/capacity", token=key),
                    403)
    rows = h.wait_until(lambda: int(h.scalar(
        w["url"], f"SELECT count(*) FROM access_log WHERE api_key_id = '{made['id']}' "
        f"AND stay_id = ANY('{{{','.join(ids)}}}'::uuid[])")) >= len(ids), 10)
    h.check("each stay it read is in the access log with the key", rows)
    uses = int(h.scalar(w["url"], "SELECT count(*) FROM access_log WHERE action = 'api_key.use' "
                                  f"AND api_key_id = '{made['id']}'"))
    h.check("every use of the key is in the access log", uses >= 3, uses)
    coordinator = srv.login("aanjager@demo.logeer.nl")
    log = srv.get(f"/v1/access-log?stay_id={ids[0]}", token=coordinator).json
    h.check("the coordinator's access log shows the key",
            any(e.get("api_key_id") == made["id"] for e in log["entries"]), repr(log)[:300])


def test_revoked_expired_and_orphaned_keys_stop_at_once():
    w = world()
    srv = w["srv"]
    made = make_key(srv, w["esdorp"], scopes=["capacity:read"]).json
    key, path = made["key"], "/v1/pools"
    h.check_equal("a fresh key works", srv.get(path, token=key).status, 200)
    h.check_problem("another provider cannot revoke it: 404",
                    srv.request("DELETE", f"/v1/api-keys/{made['id']}", token=w["hunzehof"]), 404)
    h.check_equal("revoked by its provider: 204",
                  srv.request("DELETE", f"/v1/api-keys/{made['id']}", token=w["esdorp"]).status,
                  204)
    h.check_problem("the revoked key: 401 at once", srv.get(path, token=key), 401)
    h.check_equal("revoking again: 204",
                  srv.request("DELETE", f"/v1/api-keys/{made['id']}", token=w["esdorp"]).status,
                  204)
    listed = srv.get("/v1/api-keys", token=w["esdorp"]).json["api_keys"]
    h.check("revoked keys leave the list", made["id"] not in {k["id"] for k in listed})
    listed = srv.get("/v1/api-keys?include_revoked=true", token=w["esdorp"]).json["api_keys"]
    h.check("and come back with include_revoked=true, with revoked_at",
            any(k["id"] == made["id"] and k["revoked_at"] for k in listed))

    made = make_key(srv, w["esdorp"], scopes=["capacity:read"]).json
    h.psql(w["url"], "UPDATE api_keys SET created_at = now() - interval '2 days', "
                     f"expires_at = now() - interval '1 second' WHERE id = '{made['id']}'")
    h.check_problem("an expired key: 401", srv.get(path, token=made["key"]), 401)

    h.add_user(w["url"], "leaver@esdorp.test", "provider", provider=ESDORP_ID)
    h.psql(w["url"], "UPDATE users SET provider_admin = true WHERE email = 'leaver@esdorp.test'")
    leaver = srv.login("leaver@esdorp.test", h.TEST_PASSWORD)
    made = make_key(srv, leaver, scopes=["capacity:read"]).json
    h.check_equal("a key made by a colleague works", srv.get(path, token=made["key"]).status, 200)
    h.psql(w["url"], "UPDATE users SET disabled_at = now() WHERE email = 'leaver@esdorp.test'")
    h.check_problem("after the maker's account is disabled: 401",
                    srv.get(path, token=made["key"]), 401)
    h.check_problem("a key-shaped string that was never made: 401",
                    srv.get(path, token="lk_" + "A" * 43), 401)


h.main(globals())
