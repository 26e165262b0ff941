"""Passkeys (WebAuthn) through the API, with an independent software authenticator
(softauthn.py: Python's cryptography and its own CBOR). A caregiver registers one and signs in
with it alone; a planner whose role needs a second factor sets one up as that factor and proves
it at the next sign-in; a wrong origin, another rp id, a replayed or foreign challenge, an
altered signature, a cloned authenticator (counter not moving on), an unknown credential and an
expired challenge are each refused and logged; failures are rate-limited; removing a passkey
asks for a recent factor and ends the person's other sessions. Every answer is judged against
docs/openapi.yaml."""

import harness as h
import softauthn as sa

PUBLIC_URL = "https://logeer.example.nl"
RP_ID = "logeer.example.nl"
ENV = {"LOGEER_MFA_REQUIRED_ROLES": "provider,coordinator,admin", "LOGEER_STEP_UP_S": "60",
       "LOGEER_PUBLIC_URL": PUBLIC_URL}
PLANNER = "planner@esdorp.demo.logeer.nl"
CAREGIVER = "mantelzorger@demo.logeer.nl"
OTHER_CAREGIVER_SQL = ("INSERT INTO users (email, password_hash, role, municipality) SELECT "
                       "'{email}', password_hash, 'caregiver', 'GM0106' FROM users "
                       "WHERE email = '" + CAREGIVER + "' ON CONFLICT DO NOTHING")


def world():
    def make():
        url = h.migrated_database(seed=True)
        return {"url": url, "srv": h.Server(url, env=ENV, keep=True)}
    return h.once("world", make)


def forget_failures(w):
    """Each test starts with no failures counted: all of them come from one address."""
    h.psql(w["url"], "DELETE FROM passkey_failures")


def call(srv, method, path, body=None, token=None):
    resp = srv.request(method, path, body, token=token)
    h.judge_answer(method, path, resp)
    return resp


def sign_in(srv, email):
    resp = call(srv, "POST", "/v1/sessions", {"email": email, "password": h.DEMO_PASSWORD})
    if resp.status != 201:
        raise RuntimeError(f"login failed: {resp!r}")
    return resp.json


def new_caregiver(w, email):
    h.psql(w["url"], OTHER_CAREGIVER_SQL.format(email=email))
    return sign_in(w["srv"], email)["token"]


def register(srv, token, auth, label="Telefoon", **kw):
    opts = call(srv, "POST", "/v1/me/passkeys/options", token=token)
    if opts.status != 200:
        return opts
    cred = auth.create(kw.pop("rp_id", RP_ID), kw.pop("origin", PUBLIC_URL),
                       opts.json["publicKey"]["challenge"], **kw)
    return call(srv, "POST", "/v1/me/passkeys", {"label": label, "credential": cred}, token=token)


def assertion(srv, auth, token=None, cookie=None, **kw):
    """Signs in with the passkey (no token), or proves it as the session's factor."""
    base = "/v1/sessions/current/passkey" if token else "/v1/sessions/passkey"
    opts = call(srv, "POST", base + "/options", token=token)
    if opts.status != 200:
        return opts
    challenge = kw.pop("challenge", None) or opts.json["publicKey"]["challenge"]
    cred = auth.get(kw.pop("rp_id", RP_ID), kw.pop("origin", PUBLIC_URL), challenge, **kw)
    body = {"credential": cred}
    if cookie is not None:
        body["cookie"] = cookie
    return call(srv, "POST", base, body, token=token)


def is_refusal(resp, reason=None):
    return (h.is_problem(resp, 401) and resp.json["type"].endswith("/passkey-refused")
            and (reason is None or f"({reason})" in resp.json["detail"]))


def logged(w, action, email=None):
    who = f" AND user_id = (SELECT id FROM users WHERE email = '{email}')" if email else ""
    return int(h.scalar(w["url"], f"SELECT count(*) FROM access_log WHERE action = '{action}'"
                                  + who))


def test_a_caregiver_registers_a_passkey_and_signs_in_with_it_alone():
    w = world()
    forget_failures(w)
    srv = w["srv"]
    token = sign_in(srv, CAREGIVER)["token"]
    opts = call(srv, "POST", "/v1/me/passkeys/options", token=token)
    pk = opts.json.get("publicKey", {}) if opts.status == 200 else {}
    h.check("creation options: our rp id, a 32-byte challenge, ES256 first, attestation none, "
            "a discoverable credential with user verification",
            pk.get("rp", {}).get("id") == RP_ID and len(sa.unb64u(pk["challenge"])) == 32
            and pk["pubKeyCredParams"][0]["alg"] == -7 and pk["attestation"] == "none"
            and pk["authenticatorSelection"]["residentKey"] == "required"
            and pk["authenticatorSelection"]["userVerification"] == "required"
            and len(sa.unb64u(pk["user"]["id"])) == 16, repr(opts))
    auth = sa.Authenticator(sa.ES256)
    cred = auth.create(RP_ID, PUBLIC_URL, pk["challenge"])
    resp = call(srv, "POST", "/v1/me/passkeys", {"label": "Mijn telefoon", "credential": cred},
                token=token)
    h.check("registration: 201 with the passkey and its Location", resp.status == 201
            and resp.json["label"] == "Mijn telefoon"
            and resp.header("location") == f"/v1/me/passkeys/{resp.json['id']}", repr(resp))
    again = call(srv, "POST", "/v1/me/passkeys", {"label": "nog eens", "credential": cred},
                 token=token)
    h.check("the same answer once more: its challenge is used up (422)",
            h.is_problem(again, 422), repr(again))
    dup = register(srv, token, auth)
    h.check_problem("the same credential registered again with a new challenge: 409", dup, 409)
    listed = call(srv, "GET", "/v1/me/passkeys", token=token)
    h.check("the list shows exactly that passkey", listed.status == 200
            and [p["label"] for p in listed.json["passkeys"]] == ["Mijn telefoon"], repr(listed))
    opts = call(srv, "POST", "/v1/me/passkeys/options", token=token)
    h.check("new creation options exclude it",
            [c["id"] for c in opts.json["publicKey"]["excludeCredentials"]] == [cred["id"]],
            repr(opts))

    resp = assertion(srv, auth)
    h.check("passwordless sign-in: 201 with a bearer token, nothing more to do",
            resp.status == 201 and resp.json.get("token")
            and resp.json["second_factor"] == "none"
            and resp.json["user"]["email"] == CAREGIVER, repr(resp))
    me = call(srv, "GET", "/v1/me", token=resp.json["token"])
    h.check("the session works and owes nothing", me.status == 200
            and me.json["second_factor"] == "none", repr(me))
    amr = h.scalar(w["url"], "SELECT amr::text FROM sessions WHERE factor_at IS NOT NULL "
                             "AND 'hwk' = ANY (amr) ORDER BY created_at DESC LIMIT 1")
    h.check_equal("its amr says a hardware key, user presence, two factors", amr,
                  "{hwk,user,mfa}")
    cookie = assertion(srv, auth, cookie=True)
    h.check("with cookie true the pages get the session in cookies, not the body",
            cookie.status == 201 and "token" not in cookie.json
            and "logeer_session=" in (cookie.header("set-cookie") or ""), repr(cookie))
    h.check("registration and every use are in the access log",
            logged(w, "passkey.register", CAREGIVER) == 1
            and logged(w, "passkey.use", CAREGIVER) == 2)
    stored = h.scalar(w["url"], "SELECT sign_count FROM passkeys p JOIN user_factors f "
                                "ON f.id = p.factor_id JOIN users u ON u.id = f.user_id "
                                f"WHERE u.email = '{CAREGIVER}'")
    h.check_equal("the counter is the authenticator's", int(stored), auth.sign_count)


def test_eddsa_and_rs256_keys_and_packed_self_attestation():
    w = world()
    forget_failures(w)
    srv = w["srv"]
    for alg, fmt in ((sa.EDDSA, "none"), (sa.RS256, "packed"), (sa.ES256, "packed")):
        token = new_caregiver(w, f"alg{-alg}{fmt}@example.nl")
        auth = sa.Authenticator(alg)
        h.check_equal(f"alg {alg}, attestation {fmt}: registered",
                      register(srv, token, auth, fmt=fmt).status, 201)
        h.check_equal(f"alg {alg}: signs in", assertion(srv, auth).status, 201)
    token = new_caregiver(w, "tpm@example.nl")
    resp = register(srv, token, sa.Authenticator(), fmt="tpm")
    h.check("another attestation format: 422 naming it",
            h.is_problem(resp, 422) and "unsupported_attestation_format" in repr(resp.json),
            repr(resp))
    resp = register(srv, token, sa.Authenticator(), fmt="packed", bad_attestation=True)
    h.check("a packed attestation whose signature fails: 422",
            h.is_problem(resp, 422) and "bad_attestation" in repr(resp.json), repr(resp))
    resp = register(srv, token, sa.Authenticator(sa.ES384))
    h.check("a key we do not verify (ES384): 422", h.is_problem(resp, 422)
            and "unsupported_key" in repr(resp.json), repr(resp))


def test_a_planner_sets_up_a_passkey_as_second_factor_and_proves_it():
    w = world()
    forget_failures(w)
    srv = w["srv"]
    session = sign_in(srv, PLANNER)
    h.check_equal("the planner must set up a factor", session["second_factor"], "enrol")
    token = session["token"]
    h.check_problem("stays are closed until then", call(srv, "GET", "/v1/stays", token=token), 403)
    auth = sa.Authenticator()
    resp = register(srv, token, auth, label="Sleutel")
    h.check_equal("the planner registers a passkey before proving any factor", resp.status, 201)
    h.check_equal("registering with user verification proved the factor for this session",
                  call(srv, "GET", "/v1/stays", token=token).status, 200)

    second = sign_in(srv, PLANNER)
    h.check_equal("the next sign-in asks to prove it", second["second_factor"], "verify")
    token2 = second["token"]
    held = call(srv, "GET", "/v1/stays", token=token2)
    h.check("until then: 403 second-factor-required, enrolled", h.is_problem(held, 403)
            and held.json.get("enrolled") is True, repr(held))
    opts = call(srv, "POST", "/v1/me/passkeys/options", token=token2)
    h.check("adding a passkey before proving the factor is refused (a stolen password must not "
            "add one)", h.is_problem(opts, 403)
            and opts.json["type"].endswith("/second-factor-required"), repr(opts))
    opts = call(srv, "POST", "/v1/sessions/current/passkey/options", token=token2)
    h.check("request options allow exactly the planner's passkey", opts.status == 200
            and [c["id"] for c in opts.json["publicKey"]["allowCredentials"]]
            == [sa.b64u(auth.cred_id)], repr(opts))
    resp = call(srv, "POST", "/v1/sessions/current/passkey",
                {"credential": auth.get(RP_ID, PUBLIC_URL, opts.json["publicKey"]["challenge"])},
                token=token2)
    h.check("the passkey proves the factor: 200 with factor_at", resp.status == 200
            and resp.json.get("factor_at"), repr(resp))
    h.check_equal("and the stays open", call(srv, "GET", "/v1/stays", token=token2).status, 200)
    amr = h.scalar(w["url"], "SELECT amr::text FROM sessions WHERE token_hash = "
                             f"sha256(convert_to('{token2}', 'UTF8'))")
    h.check_equal("the session's amr: password and hardware key", amr, "{pwd,hwk}")
    h.check("the proof is in the access log", logged(w, "factor.verify", PLANNER) >= 2)

    third = sign_in(srv, PLANNER)["token"]
    other = sa.Authenticator()
    other.cred_id = auth.cred_id  # the same id, another key: a forged answer
    resp = assertion(srv, other, token=third)
    h.check("a forged answer for the planner's credential: refused (bad_signature)",
            is_refusal(resp, "bad_signature"), repr(resp))
    caregiver_auth = sa.Authenticator()
    h.check_equal("someone else's passkey", register(
        srv, new_caregiver(w, "ander@example.nl"), caregiver_auth).status, 201)
    resp = assertion(srv, caregiver_auth, token=third)
    h.check("cannot prove the planner's factor", is_refusal(resp, "unknown_credential"),
            repr(resp))


def test_wrong_origin_replay_tampering_and_clones_are_refused_and_logged():
    w = world()
    forget_failures(w)
    srv = w["srv"]
    email = "weigering@example.nl"
    token = new_caregiver(w, email)
    auth = sa.Authenticator()
    h.check_equal("set-up", register(srv, token, auth).status, 201)
    before = logged(w, "passkey.failure", email)

    resp = register(srv, token, sa.Authenticator(), origin="https://logeer.example.nl.evil.nl")
    h.check("a registration from another origin: 422 wrong_origin",
            h.is_problem(resp, 422) and "wrong_origin" in repr(resp.json), repr(resp))
    resp = register(srv, token, sa.Authenticator(), rp_id="example.nl")
    h.check("a registration for another rp id: 422 wrong_rp",
            h.is_problem(resp, 422) and "wrong_rp" in repr(resp.json), repr(resp))
    for name, kw, reason in (
            ("another origin", {"origin": "https://evil.example"}, "wrong_origin"),
            ("an http origin", {"origin": "http://logeer.example.nl"}, "wrong_origin"),
            ("another rp id", {"rp_id": "evil.example"}, "wrong_rp"),
            ("an altered signature", {"tamper": True}, "bad_signature"),
            ("a create answer as get", {"ctype": "webauthn.create"}, "wrong_type"),
            ("no user verification", {"flags": sa.UP}, "no_user_verification"),
            ("a challenge we never issued", {"challenge": sa.b64u(bytes(32))},
             "wrong_challenge")):
        resp = assertion(srv, auth, **kw)
        h.check(f"sign-in with {name}: 401 passkey-refused ({reason})",
                is_refusal(resp, reason), repr(resp))

    # A replay: the very answer that just worked, sent again.
    opts = call(srv, "POST", "/v1/sessions/passkey/options")
    answer = auth.get(RP_ID, PUBLIC_URL, opts.json["publicKey"]["challenge"])
    h.check_equal("a good answer signs in", call(srv, "POST", "/v1/sessions/passkey",
                                                 {"credential": answer}).status, 201)
    replay = call(srv, "POST", "/v1/sessions/passkey", {"credential": answer})
    h.check("the same answer replayed: refused, its challenge is used up",
            is_refusal(replay, "wrong_challenge"), repr(replay))

    # The person's failures so far would trip the rate limit; that has a test of its own.
    forget_failures(w)
    # A challenge bound to one session cannot be used by another.
    other_token = sign_in(srv, email)["token"]
    opts = call(srv, "POST", "/v1/sessions/current/passkey/options", token=token)
    resp = call(srv, "POST", "/v1/sessions/current/passkey",
                {"credential": auth.get(RP_ID, PUBLIC_URL, opts.json["publicKey"]["challenge"])},
                token=other_token)
    h.check("another session's challenge: refused", is_refusal(resp, "wrong_challenge"),
            repr(resp))

    # An expired challenge.
    opts = call(srv, "POST", "/v1/sessions/passkey/options")
    h.psql(w["url"], "UPDATE webauthn_challenges SET expires_at = now() - interval '1 second' "
                     "WHERE purpose = 'signin'")
    resp = call(srv, "POST", "/v1/sessions/passkey", {"credential": auth.get(
        RP_ID, PUBLIC_URL, opts.json["publicKey"]["challenge"])})
    h.check("an expired challenge: refused", is_refusal(resp, "wrong_challenge"), repr(resp))

    # A clone: a copy of the key whose counter lags behind the original's.
    clone = sa.Authenticator()
    clone.key, clone.cred_id, clone.sign_count = auth.key, auth.cred_id, 1
    resp = assertion(srv, clone)
    h.check("a cloned authenticator (counter not moving on): refused (counter_regressed)",
            is_refusal(resp, "counter_regressed"), repr(resp))
    h.check_equal("and logged as a clone", logged(w, "passkey.clone", email), 1)

    stranger = sa.Authenticator()
    resp = assertion(srv, stranger)
    h.check("an unknown credential: refused", is_refusal(resp, "unknown_credential"), repr(resp))
    h.check("each refusal for this person is in the access log with its reason",
            logged(w, "passkey.failure", email) - before >= 12)
    reasons = h.scalar(w["url"], "SELECT string_agg(DISTINCT detail->>'reason', ',' ORDER BY "
                                 "detail->>'reason') FROM access_log WHERE action = "
                                 "'passkey.failure'")
    for reason in ("bad_signature", "wrong_origin", "wrong_challenge", "wrong_rp"):
        h.check(f"reason {reason} logged", reason in (reasons or ""), reasons)
    resp = call(srv, "POST", "/v1/sessions/passkey", {"credential": {"type": "public-key"}})
    h.check_problem("a credential without its members: 422", resp, 422)


def test_failures_are_rate_limited():
    w = world()
    forget_failures(w)
    srv = w["srv"]
    email = "limiet@example.nl"
    token = new_caregiver(w, email)
    auth = sa.Authenticator()
    h.check_equal("set-up", register(srv, token, auth).status, 201)
    for i in range(10):
        resp = assertion(srv, auth, token=token, tamper=True)
        if not is_refusal(resp):
            h.fail(f"attempt {i + 1} refused as a bad signature", repr(resp))
    resp = assertion(srv, auth, token=token)
    h.check("after ten failures even a good answer waits: 429 with Retry-After",
            h.is_problem(resp, 429) and int(resp.header("retry-after", "0")) > 0, repr(resp))
    resp = assertion(srv, auth)
    h.check("the passwordless sign-in for that person waits too", h.is_problem(resp, 429),
            repr(resp))


def test_removing_a_passkey_needs_a_recent_factor_and_ends_other_sessions():
    w = world()
    forget_failures(w)
    srv = w["srv"]
    email = "weg@example.nl"
    token = new_caregiver(w, email)
    auth = sa.Authenticator()
    created = register(srv, token, auth)
    pid = created.json["id"]
    a = assertion(srv, auth).json["token"]
    b = assertion(srv, auth).json["token"]
    h.psql(w["url"], "UPDATE sessions SET factor_at = now() - interval '10 minutes' WHERE "
                     f"token_hash = sha256(convert_to('{a}', 'UTF8'))")
    resp = call(srv, "DELETE", f"/v1/me/passkeys/{pid}", token=a)
    h.check("with a factor ten minutes old: 403 step-up-required", h.is_problem(resp, 403)
            and resp.json["type"].endswith("/step-up-required"), repr(resp))
    h.check_equal("a step-up with the passkey", assertion(srv, auth, token=a).status, 200)
    h.check_problem("someone else's or no passkey: 404", call(
        srv, "DELETE", "/v1/me/passkeys/00000000-0000-4000-a000-000000000000", token=a), 404)
    resp = call(srv, "DELETE", f"/v1/me/passkeys/{pid}", token=a)
    h.check_equal("then removed: 204", resp.status, 204)
    h.check_problem("the other session ended with it", call(srv, "GET", "/v1/me", token=b), 401)
    h.check_equal("this one goes on", call(srv, "GET", "/v1/me", token=a).status, 200)
    h.check_equal("the list is empty", call(srv, "GET", "/v1/me/passkeys",
                                            token=a).json["passkeys"], [])
    h.check("it can no longer sign in", is_refusal(assertion(srv, auth), "unknown_credential"))
    h.check_equal("the removal is in the access log", logged(w, "passkey.remove", email), 1)


h.main(globals())
