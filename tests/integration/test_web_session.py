"""The web pages' cookie session and the web routes (spec section 8). A login with
"cookie": true answers without the token and sets an HttpOnly, SameSite=Strict session cookie
and a readable CSRF cookie (Secure only under TLS); a request by cookie is authenticated, an
unsafe one only with the right X-CSRF-Token (else 403 csrf-failed); bearer tokens work as
before without CSRF; logout clears both cookies and the old cookie is refused. The pages at /,
/dashboard/ and /common/ carry the strict security headers and revalidate with ETags, and
/v1/..., /livez, /readyz and /metrics are never taken for a portal file."""

import shutil

import harness as h
import tlsutil as tls

CAREGIVER = "mantelzorger@demo.logeer.nl"
GUEST = {"alias": "mevr. W.", "birth_year": 1940, "care_profile": "dementia"}


def server():
    return h.once("web-session", lambda: h.Server(h.migrated_database(seed=True), keep=True))


def set_cookies(resp):
    """{name: (value, {attribute: value})} from every Set-Cookie of an answer."""
    out = {}
    for name, value in resp.header_list:
        if name.lower() != "set-cookie":
            continue
        first, *attrs = [p.strip() for p in value.split(";")]
        cname, _, cvalue = first.partition("=")
        parsed = {}
        for a in attrs:
            k, _, v = a.partition("=")
            parsed[k.lower()] = v
        out[cname] = (cvalue, parsed)
    return out


def cookie_login(srv, email=CAREGIVER):
    resp = srv.request("POST", "/v1/sessions",
                       {"email": email, "password": h.DEMO_PASSWORD, "cookie": True})
    return resp, set_cookies(resp)


def cookie_header(cookies):
    return "; ".join(f"{k}={v[0]}" for k, v in cookies.items())


def test_cookie_login_sets_httponly_strict_cookies_and_no_token_in_the_body():
    srv = server()
    resp, cookies = cookie_login(srv)
    h.check_equal("a cookie login is 201", resp.status, 201)
    body = resp.json or {}
    h.check("the answer holds no token", "token" not in body and "token" not in resp.text.lower()
            .replace("token_type", ""), resp.text)
    h.check_equal("token_type says Cookie", body.get("token_type"), "Cookie")
    h.check_equal("the answer names the user", (body.get("user") or {}).get("email"), CAREGIVER)
    h.check_equal("the answer is not cached", resp.header("cache-control"), "no-store")
    h.check("both cookies are set", set(cookies) == {"logeer_session", "logeer_csrf"}, cookies)
    if set(cookies) != {"logeer_session", "logeer_csrf"}:
        return
    session, sattrs = cookies["logeer_session"]
    csrf, cattrs = cookies["logeer_csrf"]
    h.check("the session cookie holds a 43-character token", len(session) == 43, session)
    h.check("the CSRF token differs from the session token", csrf != session and len(csrf) == 43)
    h.check("the session cookie is HttpOnly", "httponly" in sattrs, sattrs)
    h.check("the CSRF cookie is readable by script (not HttpOnly)", "httponly" not in cattrs,
            cattrs)
    for name, attrs in (("session", sattrs), ("CSRF", cattrs)):
        h.check_equal(f"the {name} cookie is SameSite=Strict", attrs.get("samesite"), "Strict")
        h.check_equal(f"the {name} cookie is for Path=/", attrs.get("path"), "/")
        h.check(f"the {name} cookie is not Secure over plain HTTP", "secure" not in attrs, attrs)
        h.check_equal(f"the {name} cookie lives as long as the session (12 h by default)",
                      attrs.get("max-age"), str(12 * 3600))
        h.check(f"the {name} cookie names no Domain", "domain" not in attrs, attrs)
    plain = srv.request("POST", "/v1/sessions", {"email": CAREGIVER, "password": h.DEMO_PASSWORD})
    h.check("a login without cookie still answers the bearer token and sets no cookie",
            plain.status == 201 and len((plain.json or {}).get("token", "")) == 43
            and not set_cookies(plain), repr(plain))


def test_requests_by_cookie_need_the_csrf_token_for_unsafe_methods():
    srv = server()
    _, cookies = cookie_login(srv)
    jar = cookie_header(cookies)
    csrf = cookies["logeer_csrf"][0]
    me = srv.request("GET", "/v1/me", headers={"Cookie": jar})
    h.check("GET /v1/me by cookie alone is 200 with the account",
            me.status == 200 and (me.json or {}).get("email") == CAREGIVER, repr(me))
    for label, extra in (("without X-CSRF-Token", {}),
                         ("with a wrong X-CSRF-Token", {"X-CSRF-Token": "x" * 43}),
                         ("with the session token as X-CSRF-Token",
                          {"X-CSRF-Token": cookies["logeer_session"][0]}),
                         ("with an empty X-CSRF-Token", {"X-CSRF-Token": ""})):
        resp = srv.request("POST", "/v1/guests", GUEST, headers={"Cookie": jar, **extra})
        h.check_problem(f"POST /v1/guests by cookie {label} is 403", resp, 403)
        h.check_equal(f"... of type csrf-failed ({label})", (resp.json or {}).get("type"),
                      "https://logeer.example/problems/csrf-failed")
    other_csrf = cookie_login(srv, "mantelzorger2@demo.logeer.nl")[1]["logeer_csrf"][0]
    resp = srv.request("POST", "/v1/guests", GUEST,
                       headers={"Cookie": jar, "X-CSRF-Token": other_csrf})
    h.check_problem("another session's CSRF token is refused too (bound to the session)",
                    resp, 403)
    resp = srv.request("DELETE", "/v1/sessions/current", headers={"Cookie": jar})
    h.check_problem("logout by cookie without X-CSRF-Token is 403 too", resp, 403)
    ok = srv.request("POST", "/v1/guests", GUEST, headers={"Cookie": jar, "X-CSRF-Token": csrf})
    h.check("POST /v1/guests by cookie with the right X-CSRF-Token is 201",
            ok.status == 201, repr(ok))
    listed = srv.request("GET", "/v1/guests", headers={"Cookie": jar})
    h.check("the guest made by cookie belongs to that caregiver",
            listed.status == 200 and any(g.get("alias") == GUEST["alias"]
                                         for g in (listed.json or {}).get("guests", [])),
            repr(listed))


def test_bearer_tokens_work_unchanged_and_win_over_a_cookie():
    srv = server()
    token = srv.login(CAREGIVER)
    resp = srv.request("POST", "/v1/guests", GUEST, token=token)
    h.check("a bearer POST needs no CSRF token", resp.status == 201, repr(resp))
    resp = srv.request("GET", "/v1/me", headers={"Cookie": "logeer_session=" + "A" * 43},
                       token=token)
    h.check("an Authorization header wins over a (dead) session cookie",
            resp.status == 200, repr(resp))
    _, cookies = cookie_login(srv)
    resp = srv.request("GET", "/v1/me", headers={"Cookie": cookie_header(cookies),
                                                 "Authorization": "Bearer " + "B" * 43})
    h.check_problem("with an Authorization header the cookie is not looked at", resp, 401)
    resp = srv.request("GET", "/v1/me", headers={"Cookie": "logeer_session=not-a-token"})
    h.check_problem("a malformed session cookie is 401", resp, 401)
    resp = srv.request("GET", "/v1/me", headers={"Cookie": "other=1; logeer_session=" + "C" * 43})
    h.check_problem("a cookie naming no session is 401", resp, 401)
    h.check("... and that 401 clears the cookies",
            set_cookies(resp).get("logeer_session", ("x", {}))[1].get("max-age") == "0",
            resp.header_list)


def test_logout_clears_both_cookies_and_the_old_cookie_is_refused():
    srv = server()
    _, cookies = cookie_login(srv)
    jar = cookie_header(cookies)
    resp = srv.request("DELETE", "/v1/sessions/current",
                       headers={"Cookie": jar, "X-CSRF-Token": cookies["logeer_csrf"][0]})
    h.check_equal("logout by cookie with X-CSRF-Token is 204", resp.status, 204)
    cleared = set_cookies(resp)
    for name in ("logeer_session", "logeer_csrf"):
        value, attrs = cleared.get(name, (None, {}))
        h.check(f"logout empties {name} with Max-Age=0",
                value == "" and attrs.get("max-age") == "0" and attrs.get("path") == "/",
                cleared)
    again = srv.request("GET", "/v1/me", headers={"Cookie": jar})
    h.check_problem("the old session cookie is refused after logout (401)", again, 401)


def test_pages_carry_the_security_headers_and_etags():
    srv = server()
    for path, ctype in (("/", "text/html"), ("/index.html", "text/html"),
                        ("/dashboard/", "text/html"), ("/dashboard/app.js", "text/javascript"),
                        ("/common/api.js", "text/javascript"), ("/common/style.css", "text/css")):
        resp = srv.request("GET", path)
        h.check(f"GET {path} is 200 {ctype}", resp.status == 200
                and (resp.header("content-type") or "").startswith(ctype), repr(resp))
        csp = resp.header("content-security-policy") or ""
        h.check(f"{path}: CSP allows no inline script or style and no framing",
                "script-src 'self'" in csp and "style-src 'self'" in csp
                and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
                and "default-src 'none'" in csp, csp)
        h.check_equal(f"{path}: X-Content-Type-Options", resp.header("x-content-type-options"),
                      "nosniff")
        h.check_equal(f"{path}: Referrer-Policy", resp.header("referrer-policy"), "no-referrer")
        h.check_equal(f"{path}: Cache-Control", resp.header("cache-control"), "no-cache")
        etag = resp.header("etag")
        again = srv.request("GET", path, headers={"If-None-Match": etag or '"x"'})
        h.check(f"{path}: If-None-Match with its ETag is 304", again.status == 304, repr(again))
    same = srv.request("GET", "/index.html")
    root = srv.request("GET", "/")
    h.check("/ is the portal's index.html", root.body == same.body and b"<html" in root.body)
    for path in ("/dashboard", "/aanbieder"):
        resp = srv.request("GET", path)
        h.check_equal(f"{path} redirects to {path}/", (resp.status, resp.header("location")),
                      (301, path + "/"))
    board = srv.request("GET", "/aanbieder/")
    h.check("/aanbieder/ is the bed board's index.html",
            board.status == 200 and board.body == srv.request("GET", "/aanbieder/index.html").body
            and b"Beddenbord" in board.body, repr(board))
    for path in ("/nothing.html", "/common/nothing.js", "/dashboard/nothing.js",
                 "/aanbieder/nothing.js", "/.hidden", "/common/..%2fx"):
        resp = srv.request("GET", path)
        h.check(f"GET {path} is a 4xx problem, never a file", resp.status in (400, 404)
                and h.is_problem(resp, resp.status), repr(resp))
        h.check(f"GET {path} still carries the CSP",
                resp.status == 400 or bool(resp.header("content-security-policy")))
    resp = srv.request("GET", "/common/")
    h.check_problem("/common/ has no index: 404", resp, 404)


def test_api_and_probes_take_precedence_over_portal_files():
    srv = server()
    h.check_equal("/livez is the probe", srv.request("GET", "/livez").status, 200)
    ready = srv.request("GET", "/readyz")
    h.check("/readyz is the probe (JSON, not a page)",
            "json" in (ready.header("content-type") or ""), repr(ready))
    metrics = srv.request("GET", "/metrics")
    h.check("/metrics is Prometheus text", metrics.status == 200
            and b"logeer_" in metrics.body, repr(metrics)[:200])
    resp = srv.request("GET", "/v1/municipalities")
    h.check("/v1/municipalities is the API (JSON, no CSP)", resp.status == 200
            and resp.header("content-security-policy") is None, repr(resp))
    resp = srv.request("GET", "/v1/nope")
    h.check("an unknown /v1 path is the router's 404", h.is_problem(resp, 404) and
            "no resource" in (resp.json or {}).get("detail", ""), repr(resp))
    resp = srv.request("GET", "/v1")
    h.check_problem("/v1 alone is 404", resp, 404)


def test_secure_cookies_under_tls():
    directory, cert, key = tls.make_certificate()
    tls.TlsServer.cafile = cert
    srv = tls.TlsServer(h.migrated_database(seed=True),
                        env={"LOGEER_TLS_CERT": cert, "LOGEER_TLS_KEY": key})
    ctx = tls.client_context(cert)
    resp, _, _ = tls.tls_request(srv.port, ctx, "POST", "/v1/sessions",
                                 {"email": CAREGIVER, "password": h.DEMO_PASSWORD,
                                  "cookie": True})
    cookies = set_cookies(resp)
    h.check_equal("a cookie login over TLS is 201", resp.status, 201)
    for name in ("__Host-logeer_session", "__Host-logeer_csrf"):
        attrs = cookies.get(name, ("", {}))[1]
        h.check(f"{name} is Secure, for Path=/ and without a Domain under TLS",
                "secure" in attrs and attrs.get("path") == "/" and "domain" not in attrs,
                cookies)
    h.check("the session cookie is still HttpOnly and SameSite=Strict under TLS",
            "httponly" in cookies.get("__Host-logeer_session", ("", {}))[1]
            and cookies.get("__Host-logeer_session", ("", {}))[1].get("samesite") == "Strict")
    h.judge_answer("POST", "/v1/sessions", resp)
    srv.stop()
    shutil.rmtree(directory, True)



def test_secure_cookies_behind_an_https_proxy():
    """TLS ends at a proxy in front: LOGEER_PUBLIC_URL https://... makes the cookies Secure with
    __Host- names all the same, only those names are read, and answers carry HSTS."""
    srv = h.Server(h.migrated_database(seed=True),
                   env={"LOGEER_PUBLIC_URL": "https://logeerzorg.example"})
    resp, cookies = cookie_login(srv)
    h.check_equal("a cookie login is 201", resp.status, 201)
    h.check_equal("both cookies carry the __Host- prefix", sorted(cookies),
                  ["__Host-logeer_csrf", "__Host-logeer_session"])
    h.check("both are Secure, for Path=/, without a Domain",
            all("secure" in a and a.get("path") == "/" and "domain" not in a
                for _, a in cookies.values()), cookies)
    hsts = "max-age=63072000"
    h.check("answers carry Strict-Transport-Security too (a page, the API, an error)",
            resp.header("strict-transport-security") == hsts
            and srv.request("GET", "/").header("strict-transport-security") == hsts
            and srv.request("GET", "/v1/nothing").header("strict-transport-security") == hsts,
            resp.header_list)
    token = cookies.get("__Host-logeer_session", ("", {}))[0]
    csrf = cookies.get("__Host-logeer_csrf", ("", {}))[0]
    me = srv.request("GET", "/v1/me", headers={"Cookie": cookie_header(cookies)})
    h.check_equal("the __Host- session cookie is read", me.status, 200)
    plain = srv.request("GET", "/v1/me", headers={"Cookie": f"logeer_session={token}"})
    h.check_equal("the name without the prefix is not (a cookie another site could plant)",
                  plain.status, 401)
    out = srv.request("DELETE", "/v1/sessions/current",
                      headers={"Cookie": cookie_header(cookies), "X-CSRF-Token": csrf})
    h.check("an unsafe request with the CSRF token from __Host-logeer_csrf is let through",
            out.status in (200, 204), repr(out))
    h.check("logging out clears the __Host- cookies",
            all(v[1].get("max-age") == "0" for v in set_cookies(out).values())
            and sorted(set_cookies(out)) == ["__Host-logeer_csrf", "__Host-logeer_session"],
            set_cookies(out))
    srv.stop()


h.main(globals())
