"""TOTP second factors (RFC 6238) and recovery codes, with LOGEER_MFA_REQUIRED_ROLES at its
production value. A planner without a factor reaches no stay, guest or capacity route but can
enrol; the secret is shown once and kept sealed; codes are computed here with Python's hmac,
an implementation independent of the server's liboath. A code is good once, one step of clock
drift either way is accepted and two are not; wrong codes are rate-limited per account and
logged; recovery codes work once; a sensitive action asks for a fresh code after
LOGEER_STEP_UP_S; removing a factor ends the person's other sessions.
Runs on the Drenthe demo data."""

import base64
import hashlib
import hmac
import struct
import time
import urllib.parse

import harness as h

# The smallest value logeerd takes; the step-up test waits it out once.
STEP_UP_S = 30
REQUIRED = {"LOGEER_MFA_REQUIRED_ROLES": "provider,coordinator,admin",
            "LOGEER_STEP_UP_S": str(STEP_UP_S)}
PLANNER = "planner@esdorp.demo.logeer.nl"
COORDINATOR = "aanjager@demo.logeer.nl"
ADMIN = "beheer@demo.logeer.nl"
OTHER_PLANNER = "planner@hunzehof.demo.logeer.nl"


def totp(secret, step):
    """RFC 6238 with HMAC-SHA1 and 6 digits for time step `step` (unix time // 30)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 15
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1000000:06d}"


def current_step():
    """The time step now, after waiting out the last two seconds of a step, so that the server
    checks a code in the same step the test computed it in."""
    if 30 - time.time() % 30 < 2.5:
        time.sleep(30 - time.time() % 30 + 0.2)
    return int(time.time() // 30)


def unused_step(last):
    """A step whose code the server will accept after step `last` was used: the current one if
    newer, else the next (one step of drift), waiting for time to move on if even that is
    more than one step ahead."""
    while True:
        step = current_step()
        if last + 1 <= step + 1:
            return max(step, last + 1)
        time.sleep(30 - time.time() % 30 + 0.2)


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


def is_type(resp, status, name):
    return h.is_problem(resp, status) and resp.json["type"].endswith("/" + name)


def code_refused(resp, words):
    return (h.is_problem(resp, 422) and any(e.get("field") == "code" and words in e["message"]
                                            for e in resp.json.get("errors", [])))


def enrol(srv, token):
    resp = srv.request("POST", "/v1/me/factors/totp", {"label": "telefoon"}, token=token)
    if resp.status != 201:
        raise RuntimeError(f"enrolment failed: {resp!r}")
    return resp


def last_log(url, email, action):
    return h.scalar(url, "SELECT count(*) FROM access_log l JOIN users u ON u.id = l.user_id "
                         f"WHERE u.email = '{email}' AND l.action = '{action}'")


def test_a_planner_without_a_factor_can_only_enrol():
    w = world()
    srv, url = w["srv"], w["url"]
    session = sign_in(srv, PLANNER)
    h.check_equal("the planner must set up a factor", session["second_factor"], "enrol")
    token = session["token"]
    pool = h.scalar(url, "SELECT p.id FROM pools p JOIN locations l ON l.id = p.location_id "
                         "JOIN users u ON u.provider_id = l.provider_id "
                         f"WHERE u.email = '{PLANNER}' LIMIT 1")
    for method, path, body in (("GET", "/v1/stays", None), ("GET", "/v1/guests", None),
                               ("GET", f"/v1/pools/{pool}/capacity", None),
                               ("PUT", f"/v1/pools/{pool}/capacity",
                                {"ranges": [{"from": "2030-01-01", "to": "2030-01-02",
                                             "beds": 1}]}),
                               ("POST", "/v1/capacity/import", {"csv": "x", "apply": False})):
        resp = srv.request(method, path, body, token=token)
        h.check(f"{method} {path}: 403 second-factor-required, not enrolled",
                is_type(resp, 403, "second-factor-required") and resp.json["enrolled"] is False,
                repr(resp))
    h.check_equal("no factors yet", srv.get("/v1/me/factors", token=token).json["factors"], [])

    resp = enrol(srv, token)
    secret = resp.json["secret"]
    h.check("enrolment: 201, no-store, a 32-character base32 secret",
            resp.header("Cache-Control") == "no-store" and len(secret) == 32
            and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), repr(resp))
    uri = urllib.parse.urlparse(resp.json["otpauth_uri"])
    query = urllib.parse.parse_qs(uri.query)
    h.check("the otpauth URI names the issuer, the account and the secret",
            uri.scheme == "otpauth" and uri.netloc == "totp"
            and urllib.parse.unquote(uri.path) == f"/Logeerzorg:{PLANNER}"
            and query.get("secret") == [secret] and query.get("issuer") == ["Logeerzorg"],
            resp.json["otpauth_uri"])
    h.check("the QR code is an SVG document", resp.json["qr_svg"].startswith("<svg")
            and resp.json["qr_svg"].endswith("</svg>"))
    stored = h.scalar(url, "SELECT encode(t.secret_sealed, 'escape') FROM totp_factors t "
                           f"WHERE t.factor_id = '{resp.json['id']}'")
    h.check("the secret is not stored in the clear", secret not in (stored or ""))
    h.check("still held: the factor is not confirmed",
            is_type(srv.get("/v1/stays", token=token), 403, "second-factor-required"))

    fid = resp.json["id"]
    step = current_step()
    wrong = srv.request("POST", f"/v1/me/factors/totp/{fid}/confirm",
                        {"code": totp(secret, step + 5)}, token=token)
    h.check("a wrong first code: 422 on code", code_refused(wrong, "is wrong"), repr(wrong))
    resp = srv.request("POST", f"/v1/me/factors/totp/{fid}/confirm",
                       {"code": totp(secret, step)}, token=token)
    h.check("the right code confirms: 200, ten recovery codes, no-store",
            resp.status == 200 and len(resp.json.get("recovery_codes", [])) == 10
            and len(set(resp.json["recovery_codes"])) == 10
            and resp.header("Cache-Control") == "no-store", repr(resp))
    h.check_equal("this session has proven its factor: the stays answer",
                  srv.get("/v1/stays", token=token).status, 200)
    listed = srv.get("/v1/me/factors", token=token)
    h.check("the list shows the factor and ten recovery codes, never the secret",
            listed.status == 200 and [f["kind"] for f in listed.json["factors"]] == ["totp"]
            and listed.json["recovery_codes_left"] == 10 and secret not in listed.text
            and "secret" not in listed.text, repr(listed))
    amr = h.scalar(url, "SELECT array_to_string(amr, ',') FROM sessions s JOIN users u "
                        f"ON u.id = s.user_id WHERE u.email = '{PLANNER}' "
                        "AND s.factor_at IS NOT NULL")
    h.check_equal("the session's amr records the one-time password", amr, "pwd,otp")
    for action in ("factor.enrol", "factor.fail", "factor.verify"):
        h.check(f"the access log has {action}", int(last_log(url, PLANNER, action)) >= 1)
    w["planner"] = {"secret": secret, "fid": fid, "codes": resp.json["recovery_codes"],
                    "step": step}


def test_sign_in_with_a_code_once_and_recovery_codes_once():
    w = world()
    srv = w["srv"]
    p = w["planner"]
    session = sign_in(srv, PLANNER)
    h.check_equal("with a factor the sign-in asks to prove it", session["second_factor"],
                  "verify")
    token = session["token"]
    h.check("until then held, enrolled: true",
            is_type(srv.get("/v1/stays", token=token), 403, "second-factor-required")
            and srv.get("/v1/stays", token=token).json["enrolled"] is True)
    resp = srv.request("POST", "/v1/sessions/current/totp", {"code": totp(p["secret"], p["step"])},
                       token=token)
    h.check("the code used at enrolment is refused: already used",
            code_refused(resp, "already used"), repr(resp))
    resp = srv.request("POST", "/v1/me/factors/totp", {}, token=token)
    h.check("a session that has not proven its factor cannot add another",
            is_type(resp, 403, "second-factor-required"), repr(resp))
    resp = srv.request("POST", "/v1/sessions/current/recovery-code", {"code": p["codes"][0]},
                       token=token)
    h.check("a recovery code proves the factor", resp.status == 200
            and resp.json.get("recovery_codes_left") == 9, repr(resp))
    h.check_equal("the stays answer", srv.get("/v1/stays", token=token).status, 200)

    again = sign_in(srv, PLANNER)["token"]
    resp = srv.request("POST", "/v1/sessions/current/recovery-code",
                       {"code": p["codes"][0].upper().replace("-", " ")}, token=again)
    h.check("the same recovery code (typed differently) does not work twice",
            code_refused(resp, "is wrong"), repr(resp))
    p["step"] = unused_step(p["step"])
    resp = srv.request("POST", "/v1/sessions/current/totp",
                       {"code": totp(p["secret"], p["step"])}, token=again)
    h.check("a fresh code from the app works", resp.status == 200, repr(resp))
    p["token"] = again
    p["proven_at"] = time.monotonic()


def test_drift_of_one_step_accepted_two_refused():
    w = world()
    srv = w["srv"]
    token = sign_in(srv, COORDINATOR)["token"]
    enrolment = enrol(srv, token).json
    secret, fid = enrolment["secret"], enrolment["id"]
    step = current_step()
    resp = srv.request("POST", f"/v1/me/factors/totp/{fid}/confirm",
                       {"code": totp(secret, step - 1)}, token=token)
    h.check("a code one step old confirms", resp.status == 200, repr(resp))
    token = sign_in(srv, COORDINATOR)["token"]
    step = current_step()
    for offset in (2, -2):
        resp = srv.request("POST", "/v1/sessions/current/totp",
                           {"code": totp(secret, step + offset)}, token=token)
        h.check(f"a code {offset:+d} steps away is refused", code_refused(resp, "is wrong"),
                repr(resp))
    resp = srv.request("POST", "/v1/sessions/current/totp", {"code": totp(secret, step + 1)},
                       token=token)
    h.check("a code one step ahead is accepted", resp.status == 200, repr(resp))
    resp = srv.request("POST", "/v1/sessions/current/totp", {"code": totp(secret, step)},
                       token=token)
    h.check("an older step than the last accepted one is refused (no replay)",
            code_refused(resp, "already used"), repr(resp))
    resp = srv.request("POST", "/v1/sessions/current/totp", {"code": "12345"}, token=token)
    h.check("five digits: 422 on code", code_refused(resp, "6 digits"), repr(resp))
    resp = srv.request("POST", "/v1/sessions/current/recovery-code", {"code": "not-a-code"},
                       token=token)
    h.check("a recovery code of the wrong shape is refused like a wrong one",
            code_refused(resp, "is wrong"), repr(resp))


def test_wrong_codes_are_rate_limited_per_account():
    w = world()
    srv, url = w["srv"], w["url"]
    token = sign_in(srv, ADMIN)["token"]
    enrolment = enrol(srv, token).json
    secret = enrolment["secret"]
    step = current_step()
    resp = srv.request("POST", f"/v1/me/factors/totp/{enrolment['id']}/confirm",
                       {"code": totp(secret, step)}, token=token)
    h.check("the admin enrols", resp.status == 200, repr(resp))
    token = sign_in(srv, ADMIN)["token"]
    for i in range(5):
        resp = srv.request("POST", "/v1/sessions/current/totp",
                           {"code": totp(secret, step + 7 + i)}, token=token)
        h.check(f"wrong code {i + 1}: 422", resp.status == 422, repr(resp))
    resp = srv.request("POST", "/v1/sessions/current/totp", {"code": totp(secret, step + 1)},
                       token=token)
    h.check("after five wrong codes even the right one is refused: 429 with Retry-After",
            h.is_problem(resp, 429) and 0 < int(resp.header("Retry-After", "0")) <= 900,
            repr(resp))
    resp = srv.request("POST", "/v1/sessions/current/recovery-code", {"code": "abcd-efgh-jkmn"},
                       token=token)
    h.check("recovery codes share the limit", h.is_problem(resp, 429), repr(resp))
    h.check_equal("each wrong code is in the access log, the refused ones not",
                  last_log(url, ADMIN, "factor.fail"), "5")
    h.check("still held", is_type(srv.get("/v1/users", token=token), 403,
                                  "second-factor-required"))


def test_step_up_asks_for_a_fresh_code():
    w = world()
    srv = w["srv"]
    p = w["planner"]
    token = p["token"]
    # The server counts whole seconds (its clock's second minus the proof's): a margin of
    # two seconds is past the window whatever the fractions.
    time.sleep(max(0.0, p["proven_at"] + STEP_UP_S + 2.0 - time.monotonic()))
    for method, path, body in (("POST", "/v1/api-keys",
                                {"name": "planning", "scopes": ["stays:read"]}),
                               ("POST", "/v1/me/recovery-codes", None),
                               ("DELETE", f"/v1/me/factors/{p['fid']}", None)):
        resp = srv.request(method, path, body, token=token)
        h.check(f"{method} {path} after {STEP_UP_S} s: 403 step-up-required with max_age",
                is_type(resp, 403, "step-up-required") and resp.json["max_age"] == STEP_UP_S,
                repr(resp))
    h.check_equal("ordinary routes still answer", srv.get("/v1/stays", token=token).status, 200)
    p["step"] = unused_step(p["step"])
    resp = srv.request("POST", "/v1/sessions/current/totp", {"code": totp(p["secret"], p["step"])},
                       token=token)
    h.check("a fresh code proves the factor again", resp.status == 200, repr(resp))
    resp = srv.request("POST", "/v1/api-keys", {"name": "planning", "scopes": ["stays:read"]},
                       token=token)
    h.check("then the API key is made", resp.status == 201, repr(resp))
    renewed = srv.request("POST", "/v1/me/recovery-codes", None, token=token)
    h.check("and a new set of recovery codes", renewed.status == 201
            and len(renewed.json["recovery_codes"]) == 10, repr(renewed))
    old = sign_in(srv, PLANNER)["token"]
    resp = srv.request("POST", "/v1/sessions/current/recovery-code", {"code": p["codes"][1]},
                       token=old)
    h.check("the old set no longer works", code_refused(resp, "is wrong"), repr(resp))
    resp = srv.request("POST", "/v1/sessions/current/recovery-code",
                       {"code": renewed.json["recovery_codes"][0]}, token=old)
    h.check("a code of the new set does", resp.status == 200, repr(resp))


def test_removing_the_factor_ends_other_sessions():
    w = world()
    srv, url = w["srv"], w["url"]
    p = w["planner"]
    token = p["token"]
    other = sign_in(srv, PLANNER)["token"]
    resp = srv.request("DELETE", "/v1/me/factors/00000000-0000-4000-a000-000000000000",
                       token=token)
    h.check("an unknown factor: 404 (after step-up)",
            resp.status == 404 or is_type(resp, 403, "step-up-required"), repr(resp))
    p["step"] = unused_step(p["step"])
    resp = srv.request("POST", "/v1/sessions/current/totp", {"code": totp(p["secret"], p["step"])},
                       token=token)
    h.check("a fresh code", resp.status == 200, repr(resp))
    resp = srv.request("DELETE", f"/v1/me/factors/{p['fid']}", token=token)
    h.check_equal("the factor is removed: 204", resp.status, 204)
    h.check_problem("the planner's other session has ended", srv.get("/v1/me", token=other), 401)
    h.check_equal("this one goes on", srv.get("/v1/me", token=token).status, 200)
    h.check_equal("with the last factor the recovery codes went too", h.scalar(
        url, "SELECT count(*) FROM recovery_codes r JOIN users u ON u.id = r.user_id "
             f"WHERE u.email = '{PLANNER}'"), "0")
    h.check_equal("the next sign-in asks to set one up again",
                  sign_in(srv, PLANNER)["second_factor"], "enrol")
    h.check_equal("the removal is in the access log", last_log(url, PLANNER, "factor.remove"),
                  "1")
    h.check_problem("someone else's factor id is not found",
                    srv.request("DELETE", f"/v1/me/factors/{p['fid']}", token=token), 404)


def test_without_a_server_key_totp_is_off():
    url = world()["url"]
    srv = h.Server(url, env={**REQUIRED, "LOGEER_WEBHOOK_KEY": ""})
    token = sign_in(srv, OTHER_PLANNER)["token"]
    resp = srv.request("POST", "/v1/me/factors/totp", {}, token=token)
    h.check("no LOGEER_WEBHOOK_KEY: 503, as for webhooks", h.is_problem(resp, 503), repr(resp))
    srv.stop()


h.main(globals())
