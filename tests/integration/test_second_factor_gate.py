"""The second-factor gate (NEN 7510): with LOGEER_MFA_REQUIRED_ROLES at its production value a
planner, the coordinator and the admin who have not set up a second factor can sign in but do
nothing except say who they are, see and end their sessions, set one up and sign out; every
stay, guest and capacity route answers 403 second-factor-required. A caregiver who set up a
factor is held the same way until they prove it. Once a session has proved its factor the gate
opens, and a sensitive action (here the admin's factor reset) asks for a recent one
(step-up-required). The factors themselves are proven through their own routes and tests;
here the proof is written into the session row, so the gate is tested on its own.
Runs on the Drenthe demo data."""

import harness as h

REQUIRED = {"LOGEER_MFA_REQUIRED_ROLES": "provider,coordinator,admin", "LOGEER_STEP_UP_S": "60"}
PLANNER = "planner@esdorp.demo.logeer.nl"
CAREGIVER = "mantelzorger@demo.logeer.nl"
ADMIN = "beheer@demo.logeer.nl"


def world():
    def make():
        url = h.migrated_database(seed=True)
        return {"url": url, "srv": h.Server(url, env=REQUIRED, keep=True)}
    return h.once("world", make)


def sign_in(srv, email):
    resp = srv.request("POST", "/v1/sessions", {"email": email, "password": h.DEMO_PASSWORD})
    if resp.status != 201:
        raise RuntimeError(f"login failed: {resp!r}")
    return resp.json


def is_factor_problem(resp, enrolled):
    return (h.is_problem(resp, 403) and resp.json["type"].endswith("/second-factor-required")
            and resp.json.get("enrolled") is enrolled)


def prove_factor(url, token_owner_email, seconds_ago=0):
    """What a verified TOTP code or passkey does to the session row (api_session_factor_proven)."""
    h.psql(url, "UPDATE sessions SET factor_at = now() - make_interval(secs => "
                f"{int(seconds_ago)}), amr = '{{pwd,otp}}' WHERE revoked_at IS NULL AND user_id = "
                f"(SELECT id FROM users WHERE email = '{token_owner_email}')")


def test_staff_without_a_factor_can_only_set_one_up():
    w = world()
    srv = w["srv"]
    session = sign_in(srv, PLANNER)
    h.check_equal("the sign-in says a factor must be set up first", session["second_factor"],
                  "enrol")
    token = session["token"]
    me = srv.get("/v1/me", token=token)
    h.check("GET /v1/me works and says the same", me.status == 200
            and me.json.get("second_factor") == "enrol", repr(me))
    h.check_equal("Mijn sessies works", srv.get("/v1/me/sessions", token=token).status, 200)
    provider = me.json["provider_id"]
    h.check("the planner belongs to a provider", bool(provider), me.json)
    for path in ("/v1/stays", "/v1/guests", "/v1/pools", "/v1/arrivals", "/v1/intakes"):
        resp = srv.get(path, token=token)
        h.check(f"GET {path}: 403 second-factor-required, not enrolled",
                is_factor_problem(resp, False), repr(resp))
    resp = srv.request("PUT", "/v1/me/notifications", {"email": {}}, token=token)
    h.check("a write elsewhere is held too", is_factor_problem(resp, False), repr(resp))
    for email, path in (("aanjager@demo.logeer.nl", "/v1/reports/occupancy"),
                        (ADMIN, "/v1/users")):
        s = sign_in(srv, email)
        h.check_equal(f"{email} must set one up as well", s["second_factor"], "enrol")
        h.check(f"{email} cannot reach {path}", is_factor_problem(
            srv.get(path, token=s["token"]), False))
    h.check_equal("signing out still works",
                  srv.request("DELETE", "/v1/sessions/current", token=token).status, 204)


def test_a_caregiver_is_not_asked_unless_they_set_a_factor_up():
    w = world()
    srv = w["srv"]
    session = sign_in(srv, CAREGIVER)
    h.check_equal("a caregiver without a factor: nothing more to do", session["second_factor"],
                  "none")
    h.check_equal("and their stays answer", srv.get("/v1/stays", token=session["token"]).status,
                  200)
    h.psql(w["url"], "INSERT INTO user_factors (user_id, kind, label, confirmed_at) SELECT id, "
                     f"'totp', 'telefoon', now() FROM users WHERE email = '{CAREGIVER}'")
    session = sign_in(srv, CAREGIVER)
    h.check_equal("with a confirmed factor the sign-in asks to prove it",
                  session["second_factor"], "verify")
    token = session["token"]
    resp = srv.get("/v1/stays", token=token)
    h.check("until then their stays are held: 403, enrolled", is_factor_problem(resp, True),
            repr(resp))
    prove_factor(w["url"], CAREGIVER)
    h.check_equal("once proven the same session reaches them", srv.get("/v1/stays",
                                                                       token=token).status, 200)
    h.check_equal("and GET /v1/me says nothing is left to do",
                  srv.get("/v1/me", token=token).json.get("second_factor"), "none")


def test_step_up_and_the_admins_reset():
    w = world()
    srv = w["srv"]
    admin = sign_in(srv, ADMIN)["token"]
    planner = sign_in(srv, PLANNER)["token"]
    h.psql(w["url"], "INSERT INTO user_factors (user_id, kind, label, confirmed_at) SELECT id, "
                     "'totp', 'app', now() FROM users WHERE email IN "
                     f"('{ADMIN}', '{PLANNER}')")
    prove_factor(w["url"], PLANNER)
    uid = srv.get("/v1/me", token=planner).json["id"]
    h.check_equal("the planner, factor proven, reaches the stays",
                  srv.get("/v1/stays", token=planner).status, 200)
    prove_factor(w["url"], PLANNER, seconds_ago=600)
    resp = srv.get("/v1/me/export", token=planner)
    h.check("the export of everything about the person asks for a recent factor (step-up)",
            h.is_problem(resp, 403) and resp.json["type"].endswith("/step-up-required"),
            repr(resp))
    prove_factor(w["url"], PLANNER)
    h.check_equal("with a fresh one the export is 200", srv.get("/v1/me/export",
                                                                token=planner).status, 200)

    prove_factor(w["url"], ADMIN, seconds_ago=600)
    h.check_equal("the admin's factor of ten minutes ago opens ordinary routes",
                  srv.get("/v1/users", token=admin).status, 200)
    resp = srv.request("DELETE", f"/v1/users/{uid}/factors", token=admin)
    h.check("but a factor reset asks for a recent one: 403 step-up-required with max_age",
            h.is_problem(resp, 403) and resp.json["type"].endswith("/step-up-required")
            and resp.json.get("max_age") == 60, repr(resp))
    h.check_equal("nothing was removed", h.scalar(
        w["url"], f"SELECT count(*) FROM user_factors f JOIN users u ON u.id = f.user_id "
                  f"WHERE u.email = '{PLANNER}'"), "1")

    prove_factor(w["url"], PLANNER)
    location = h.scalar(w["url"], "SELECT l.id FROM locations l JOIN users u "
                                  "ON u.provider_id = l.provider_id "
                                  f"WHERE u.email = '{PLANNER}' ORDER BY l.name LIMIT 1")
    feed = srv.request("POST", f"/v1/locations/{location}/calendar-feed", token=planner)
    h.check_equal("the planner makes a calendar feed of a location's arrivals", feed.status, 201)
    h.check_equal("which a calendar app reads without signing in",
                  srv.get(feed.json["path"]).status, 200)
    prove_factor(w["url"], ADMIN)
    resp = srv.request("DELETE", f"/v1/users/{uid}/factors", token=admin)
    h.check("with a fresh factor the reset answers 200 with what it did", resp.status == 200
            and resp.json.get("factors_removed") == 1 and resp.json.get("sessions_ended", 0) >= 1
            and resp.json.get("feeds_stopped") == 1, repr(resp))
    h.check_problem("the feed the planner made stops with the factor", srv.get(feed.json["path"]),
                    404)
    h.check_problem("the planner's session ended with the factor", srv.get("/v1/me",
                                                                           token=planner), 401)
    again = sign_in(srv, PLANNER)
    h.check_equal("at the next sign-in the planner sets up a new factor", again["second_factor"],
                  "enrol")
    h.check_problem("an unknown user: 404", srv.request(
        "DELETE", "/v1/users/00000000-0000-4000-a000-000000000000/factors", token=admin), 404)
    logged = h.scalar(w["url"], "SELECT detail->>'factors' || ' ' || (detail->>'feeds_stopped') "
                                "FROM access_log WHERE action = 'factor.reset' "
                                "ORDER BY id DESC LIMIT 1")
    h.check_equal("the reset is in the access log with what it removed and stopped", logged,
                  "1 1")


def test_sign_ins_and_failures_are_in_the_access_log():
    w = world()
    srv = w["srv"]
    for email in (CAREGIVER, "nobody@demo.logeer.nl"):
        resp = srv.request("POST", "/v1/sessions", {"email": email, "password": "wrong-one"})
        h.check_problem(f"a wrong password for {email}: 401", resp, 401)
    sign_in(srv, CAREGIVER)
    rows = h.psql(w["url"], "SELECT action, coalesce(user_id::text, '-'), detail->>'email', "
                            "detail->>'method' FROM access_log WHERE action IN "
                            "('login.fail', 'session.start') ORDER BY id DESC LIMIT 3")
    uid = h.scalar(w["url"], f"SELECT id FROM users WHERE email = '{CAREGIVER}'")
    h.check_equal("the sign-in and both failures are logged, with the account where known",
                  rows, [["session.start", uid, "", "password"],
                         ["login.fail", "-", "nobody@demo.logeer.nl", ""],
                         ["login.fail", uid, CAREGIVER, ""]])


def test_the_setting_is_checked_at_start_up():
    url = world()["url"]
    proc = h.logeerd("serve", "--listen", f"127.0.0.1:{h.free_port()}", "--database-url", url,
                     env={"LOGEER_MFA_REQUIRED_ROLES": "provider,nurse"}, timeout=30)
    h.check("an unknown role in LOGEER_MFA_REQUIRED_ROLES stops logeerd with a message",
            proc.returncode != 0 and "LOGEER_MFA_REQUIRED_ROLES" in proc.stderr,
            proc.stderr[-300:])
    srv = h.Server(url)
    srv.stop()
    h.check("with the rule off logeerd warns at start-up",
            "LOGEER_MFA_REQUIRED_ROLES" in srv.stderr_tail() + open(srv.stdout_path).read(),
            srv.stderr_tail())


h.main(globals())
