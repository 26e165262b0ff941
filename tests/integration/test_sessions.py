"""Sessions: logging in gives an unguessable bearer token and the user; a wrong password and an
unknown email are indistinguishable; a token authenticates until logout and not after; a missing
or garbage token is a 401 problem with WWW-Authenticate: Bearer."""

import base64
import re
from datetime import datetime, timezone

import harness as h

EMAIL = "aanjager@demo.logeer.nl"

# Fields that legitimately differ between two otherwise identical problems.
REQUEST_SPECIFIC = {"instance", "request_id", "trace_id", "time", "timestamp"}


def get_server():
    return h.once("server", lambda: h.Server(h.migrated_database(seed=True), keep=True))


def token_is_32_random_bytes(token):
    if re.fullmatch(r"[0-9a-f]{64}", token):
        return True
    if re.fullmatch(r"[A-Za-z0-9_-]{43}=?", token):
        return len(base64.urlsafe_b64decode(token.rstrip("=") + "=")) == 32
    return False


def parse_instant(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_login_gives_201_with_token_expiry_and_user():
    srv = get_server()
    resp = srv.request("POST", "/v1/sessions", {"email": EMAIL, "password": h.DEMO_PASSWORD})
    h.check_equal("POST /v1/sessions with the right password is 201", resp.status, 201)
    body = resp.json if isinstance(resp.json, dict) else {}
    token = body.get("token")
    h.check("the token is 64 hex characters or base64url of 32 bytes",
            isinstance(token, str) and token_is_32_random_bytes(token), token)
    try:
        expires = parse_instant(body.get("expires_at", ""))
        h.check("expires_at is an RFC 3339 instant in the future",
                expires.tzinfo is not None and expires > datetime.now(timezone.utc),
                body.get("expires_at"))
    except (ValueError, TypeError):
        h.fail("expires_at is an RFC 3339 instant in the future", body.get("expires_at"))
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    h.check_equal("user.email is the login email", user.get("email"), EMAIL)
    h.check_equal("user.role is coordinator", user.get("role"), "coordinator")
    h.check("user.id is a non-empty string", isinstance(user.get("id"), str) and user.get("id"),
            user)
    h.check("user has provider_id (null for a coordinator)",
            "provider_id" in user and user.get("provider_id") is None, user)
    h.check("the response is not cacheable",
            "no-store" in (resp.header("cache-control") or ""), resp.header("cache-control"))
    again = srv.request("POST", "/v1/sessions", {"email": EMAIL, "password": h.DEMO_PASSWORD})
    h.check("a second login gives a different token",
            (again.json or {}).get("token") not in (None, token), repr(again))


def test_email_is_matched_case_insensitively():
    resp = get_server().request("POST", "/v1/sessions",
                                {"email": EMAIL.upper(), "password": h.DEMO_PASSWORD})
    h.check_equal("logging in with the email in capitals is 201", resp.status, 201)


def test_wrong_password_and_unknown_email_are_indistinguishable():
    srv = get_server()
    wrong = srv.request("POST", "/v1/sessions", {"email": EMAIL, "password": "not-the-password"})
    unknown = srv.request("POST", "/v1/sessions",
                          {"email": "niemand@demo.logeer.nl", "password": "not-the-password"})
    h.check_problem("a wrong password is a 401 problem+json", wrong, 401)
    h.check_problem("an unknown email is a 401 problem+json", unknown, 401)

    def comparable(resp):
        body = resp.json if isinstance(resp.json, dict) else {}
        return {k: v for k, v in body.items() if k not in REQUEST_SPECIFIC}

    h.check_equal("both 401 bodies are identical but for request-specific fields",
                  comparable(unknown), comparable(wrong))
    h.check_equal("both carry the same WWW-Authenticate", unknown.header("www-authenticate"),
                  wrong.header("www-authenticate"))


def test_token_works_until_logout_and_not_after():
    srv = get_server()
    first = srv.login(EMAIL)
    second = srv.login(EMAIL)
    resp = srv.request("DELETE", "/v1/sessions/current", token=first)
    h.check_equal("DELETE /v1/sessions/current with a valid token is 204", resp.status, 204)
    h.check_equal("the 204 has an empty body", resp.body, b"")
    resp = srv.request("DELETE", "/v1/sessions/current", token=first)
    h.check_problem("the same token after logout is a 401 problem+json", resp, 401)
    resp = srv.request("DELETE", "/v1/sessions/current", token=second)
    h.check_equal("another session of the same user is not affected by that logout (204)",
                  resp.status, 204)


def test_missing_or_garbage_bearer_is_401_with_www_authenticate():
    srv = get_server()
    cases = (
        ("no Authorization header", {}),
        ("a garbage bearer token", {"Authorization": "Bearer not-a-real-token"}),
        ("a well-formed but unknown token", {"Authorization": "Bearer " + "ab" * 32}),
        ("a Basic credential", {"Authorization": "Basic YWRtaW46YWRtaW4="}),
        ("an empty bearer", {"Authorization": "Bearer "}),
    )
    for label, headers in cases:
        resp = srv.request("DELETE", "/v1/sessions/current", headers=headers)
        h.check_problem(f"{label} is a 401 problem+json", resp, 401)
        h.check(f"{label}: WWW-Authenticate starts with Bearer",
                (resp.header("www-authenticate") or "").startswith("Bearer"),
                resp.header("www-authenticate"))


def test_login_body_must_name_email_and_password():
    srv = get_server()
    resp = srv.request("POST", "/v1/sessions", {"email": EMAIL})
    h.check("a login without password is a 400 or 422 problem+json",
            h.is_problem(resp, 400) or h.is_problem(resp, 422), repr(resp))
    resp = srv.request("POST", "/v1/sessions", {"email": 5, "password": h.DEMO_PASSWORD})
    h.check("a login with a non-string email is a 400 or 422 problem+json",
            h.is_problem(resp, 400) or h.is_problem(resp, 422), repr(resp))


h.main(globals())
