"""Accounts: caregivers register themselves (POST /v1/caregivers) under the password policy and
then log in; the admin creates and lists staff accounts (POST/GET /v1/users); nobody else may;
bodies with unknown or privileged fields are refused; passwords are stored only as Argon2id
hashes and never echoed."""

import uuid

import harness as h

ESDORP = h.DEMO_PROVIDER_IDS["planner@esdorp.demo.logeer.nl"]
GOOD_PASSWORD = "paard batterij nietje"
# The twenty most used passwords (UK NCSC, 2019), as src/auth/policy.c lists them.
COMMON = ["123456", "123456789", "qwerty", "password", "1111111", "12345678", "abc123",
          "1234567", "password1", "12345", "1234567890", "123123", "000000", "iloveyou", "1234",
          "1q2w3e4r5t", "qwertyuiop", "123", "monkey", "dragon"]


def server():
    return h.once("server", lambda: h.Server(h.migrated_database(seed=True), keep=True))


def db():
    return server().database_url


def email(tag="mz"):
    return f"{tag}-{uuid.uuid4().hex[:8]}@test.logeer.nl"


def token(role_email):
    return h.once(("token", role_email), lambda: server().login(role_email))


def fields(resp):
    errors = resp.json.get("errors", []) if isinstance(resp.json, dict) else []
    return {e.get("field"): e.get("message") for e in errors if isinstance(e, dict)}


def register(body):
    return server().request("POST", "/v1/caregivers", body)


def test_caregiver_registers_and_then_logs_in():
    addr = email()
    resp = register({"email": addr, "password": GOOD_PASSWORD, "municipality": "GM0114",
                     "display_name": "Anna de Vries"})
    h.check_equal("POST /v1/caregivers with valid fields is 201", resp.status, 201)
    user = resp.json if isinstance(resp.json, dict) else {}
    h.check_equal("the answer is the account: role caregiver", user.get("role"), "caregiver")
    h.check_equal("... with the email as given", user.get("email"), addr)
    h.check_equal("... with the municipality", user.get("municipality"), "GM0114")
    h.check_equal("... with the display name", user.get("display_name"), "Anna de Vries")
    h.check("... and no token, password or hash in it",
            not any(k in user for k in ("token", "password", "password_hash")), user)
    h.check("the response body never contains the password", GOOD_PASSWORD not in resp.text,
            resp.text)
    stored = h.scalar(db(), f"SELECT password_hash FROM users WHERE email = '{addr}'")
    h.check("the database holds an Argon2id hash, not the password",
            stored and stored.startswith("$argon2id$") and GOOD_PASSWORD not in stored, stored)
    login = server().request("POST", "/v1/sessions", {"email": addr, "password": GOOD_PASSWORD})
    h.check_equal("the new caregiver can log in (201)", login.status, 201)
    me = server().request("GET", "/v1/me", token=(login.json or {}).get("token"))
    h.check_equal("GET /v1/me shows the caregiver's own account id", (me.json or {}).get("id"),
                  user.get("id"))
    resp = register({"email": addr.upper(), "password": GOOD_PASSWORD, "municipality": "GM0106"})
    h.check_problem("registering the same email again (other case) is a 409 problem", resp, 409)


def test_registration_password_policy():
    base = {"email": email(), "municipality": "GM0106"}
    cases = [("11 characters", "elf-tekens!"), ("1001 characters", "x" * 1000 + "y"),
             ("a common password repeated", "123456123456"),
             ("a common password with digits", "Password2026!"),
             ("one character repeated", "aaaaaaaaaaaaaaaa")]
    cases += [(f"common password {pw!r}", pw) for pw in COMMON]
    for label, pw in cases:
        resp = register(dict(base, password=pw))
        h.check(f"registration with {label} is 422 naming password",
                h.is_problem(resp, 422) and "password" in fields(resp), repr(resp))
    resp = register(dict(base, password="twaalf-tekst"))
    h.check_equal("exactly 12 characters is accepted (201)", resp.status, 201)
    resp = register(dict(base, email=email(), password="y" * 999 + "z"))
    h.check_equal("exactly 1000 characters is accepted (201)", resp.status, 201)


def test_registration_refuses_unknown_and_privileged_fields():
    base = {"email": email(), "password": GOOD_PASSWORD, "municipality": "GM0106"}
    for extra in ({"role": "admin"}, {"provider_id": ESDORP}, {"status": "active"},
                  {"password_hash": "$argon2id$x"}, {"erased_at": None}, {"id": str(uuid.uuid4())}):
        name = next(iter(extra))
        resp = register(dict(base, **extra))
        h.check(f"a registration naming {name!r} is 422 with that field named",
                h.is_problem(resp, 422) and name in fields(resp), repr(resp))
    count = h.scalar(db(), f"SELECT count(*) FROM users WHERE email = '{base['email']}'")
    h.check_equal("none of those created an account", count, "0")


def test_registration_field_checks():
    cases = [
        ("an unknown municipality", {"municipality": "GM9999"}, "municipality"),
        ("a malformed municipality", {"municipality": "Assen"}, "municipality"),
        ("no municipality", {"municipality": None}, "municipality"),
        ("an email without @", {"email": "geen-adres"}, "email"),
        ("an email with a space", {"email": "a b@x.nl"}, "email"),
        ("an email at the reserved .invalid domain", {"email": "erased-1@invalid"}, "email"),
        ("a display name of 201 characters", {"display_name": "n" * 201}, "display_name"),
        ("a numeric password", {"password": 123456789012}, "password"),
    ]
    for label, change, field in cases:
        body = {"email": email(), "password": GOOD_PASSWORD, "municipality": "GM0106"}
        body.update(change)
        body = {k: v for k, v in body.items() if v is not None}
        resp = register(body)
        h.check(f"registration with {label} is 422 naming {field}",
                h.is_problem(resp, 422) and field in fields(resp), repr(resp))
    resp = server().request("POST", "/v1/caregivers", b"email=a", headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    h.check_problem("a form-encoded registration is 415", resp, 415)


def test_admin_creates_staff_accounts():
    admin = token("beheer@demo.logeer.nl")
    addr = email("planner")
    body = {"email": addr, "password": GOOD_PASSWORD, "role": "provider", "provider_id": ESDORP,
            "display_name": "Planner Test"}
    resp = server().request("POST", "/v1/users", body, token=admin)
    h.check_equal("POST /v1/users for provider staff is 201", resp.status, 201)
    user = resp.json if isinstance(resp.json, dict) else {}
    h.check_equal("the account has the provider", user.get("provider_id"), ESDORP)
    h.check_equal("Location points at the account", resp.header("location"),
                  f"/v1/users/{user.get('id')}")
    got = server().request("GET", f"/v1/users/{user.get('id')}", token=admin)
    h.check_equal("GET /v1/users/{id} returns it", (got.json or {}).get("email"), addr)
    listed = server().request("GET", f"/v1/users?role=provider&provider_id={ESDORP}", token=admin)
    emails = [u.get("email") for u in (listed.json or {}).get("users", [])]
    h.check("GET /v1/users?role=provider&provider_id= lists it", addr in emails, emails)
    h.check("the list never carries password hashes", "argon2" not in listed.text, listed.text[:300])
    login = server().request("POST", "/v1/sessions", {"email": addr, "password": GOOD_PASSWORD})
    h.check_equal("the new staff member can log in", login.status, 201)
    h.check_equal("... as provider staff of that provider",
                  ((login.json or {}).get("user") or {}).get("provider_id"), ESDORP)
    for role in ("referrer", "coordinator", "admin"):
        resp = server().request("POST", "/v1/users", {"email": email(role), "role": role,
                                                      "password": GOOD_PASSWORD}, token=admin)
        h.check_equal(f"the admin creates a {role} (201)", resp.status, 201)


def test_admin_create_honours_idempotency_key():
    admin = token("beheer@demo.logeer.nl")
    key = uuid.uuid4().hex
    body = {"email": email("idem"), "password": GOOD_PASSWORD, "role": "coordinator"}
    first = server().request("POST", "/v1/users", body, token=admin,
                             headers={"Idempotency-Key": key})
    again = server().request("POST", "/v1/users", body, token=admin,
                             headers={"Idempotency-Key": key})
    h.check_equal("the first POST /v1/users with a key is 201", first.status, 201)
    h.check("a retry with the same key and body replays the same 201 and account",
            again.status == 201 and again.json == first.json
            and again.header("idempotent-replayed") == "true", repr(again))
    h.check_equal("... with the same Location", again.header("location"), first.header("location"))
    other = dict(body, email=email("idem"))
    resp = server().request("POST", "/v1/users", other, token=admin,
                            headers={"Idempotency-Key": key})
    h.check_problem("the same key with another body is 422", resp, 422)
    count = h.scalar(db(), f"SELECT count(*) FROM users WHERE email IN ('{body['email']}', "
                           f"'{other['email']}')")
    h.check_equal("only one account was made", count, "1")
    stored = h.scalar(db(), "SELECT response_body FROM idempotency_keys WHERE key = "
                            f"'{key}'") or ""
    h.check("the stored response holds no password or hash",
            GOOD_PASSWORD not in stored and "argon2" not in stored and body["email"] in stored,
            stored[:200])
    resp = server().request("POST", "/v1/users", dict(body, email=email("idem")), token=admin,
                            headers={"Idempotency-Key": "bad key"})
    h.check_problem("a malformed Idempotency-Key is 400", resp, 400)


def test_admin_create_field_rules():
    admin = token("beheer@demo.logeer.nl")
    cases = [
        ("provider staff without provider_id", {"role": "provider"}, "provider_id"),
        ("a referrer with a provider_id", {"role": "referrer", "provider_id": ESDORP}, "provider_id"),
        ("an unknown provider", {"role": "provider", "provider_id": str(uuid.uuid4())}, "provider_id"),
        ("a caregiver (they register themselves)", {"role": "caregiver"}, "role"),
        ("an unknown role", {"role": "superuser"}, "role"),
        ("a municipality (not an admin field)", {"role": "referrer", "municipality": "GM0106"},
         "municipality"),
        ("a weak password", {"role": "referrer", "password": "qwertyqwerty"}, "password"),
        ("a status field", {"role": "referrer", "status": "active"}, "status"),
    ]
    for label, change, field in cases:
        body = {"email": email("staff"), "password": GOOD_PASSWORD}
        body.update(change)
        resp = server().request("POST", "/v1/users", body, token=admin)
        h.check(f"POST /v1/users with {label} is 422 naming {field}",
                h.is_problem(resp, 422) and field in fields(resp), repr(resp))
    resp = server().request("POST", "/v1/users", {"email": "beheer@demo.logeer.nl",
                                                  "password": GOOD_PASSWORD, "role": "admin"},
                            token=admin)
    h.check_problem("an existing email is a 409 problem", resp, 409)


def test_only_the_admin_manages_accounts():
    body = {"email": email("x"), "password": GOOD_PASSWORD, "role": "admin"}
    resp = server().request("POST", "/v1/users", body)
    h.check_problem("POST /v1/users without a token is 401", resp, 401)
    for who in ("aanjager@demo.logeer.nl", "mantelzorger@demo.logeer.nl",
                "huisarts@demo.logeer.nl", "planner@esdorp.demo.logeer.nl"):
        t = token(who)
        resp = server().request("POST", "/v1/users", body, token=t)
        h.check_problem(f"POST /v1/users as {who} is 403", resp, 403)
        resp = server().request("GET", "/v1/users", token=t)
        h.check_problem(f"GET /v1/users as {who} is 403", resp, 403)
    count = h.scalar(db(), f"SELECT count(*) FROM users WHERE email = '{body['email']}'")
    h.check_equal("no account was made by those attempts", count, "0")
    admin = token("beheer@demo.logeer.nl")
    resp = server().request("GET", f"/v1/users/{uuid.uuid4()}", token=admin)
    h.check_problem("GET /v1/users/{unknown id} is 404", resp, 404)
    resp = server().request("GET", "/v1/users?role=king", token=admin)
    h.check_problem("GET /v1/users?role=king is 422", resp, 422)


def test_me_for_every_role():
    for who, role in h.DEMO_USERS.items():
        resp = server().request("GET", "/v1/me", token=token(who))
        body = resp.json if isinstance(resp.json, dict) else {}
        h.check(f"GET /v1/me as {role} is 200 with the own email and role",
                resp.status == 200 and body.get("email") == who and body.get("role") == role,
                repr(resp))
        h.check(f"GET /v1/me as {role} has no password hash", "password" not in resp.text, resp.text)
    h.check_problem("GET /v1/me without a token is 401", server().request("GET", "/v1/me"), 401)


h.main(globals())
