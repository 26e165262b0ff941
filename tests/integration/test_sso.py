"""Single sign-on by OpenID Connect (GET /v1/sso/start, GET /v1/sso/callback, the admin's
/v1/sso-issuers). Runs against two identity providers started by tests/sso/idp.mjs:

- a REAL OpenID Provider (npm oidc-provider) with its own login and consent pages, which this
  test fills in like a browser would (plain HTTP, cookies kept per server, redirects followed
  by hand so every hop can be looked at). It shows the whole flow works: PKCE, state, nonce,
  code exchange with client_secret_basic, ID token verified against its JWKS; and that a
  stranger from an allowed domain gets no account, and a replayed or altered state is refused.
- a crafted issuer of the test's own, whose token endpoint checks the client and the PKCE
  verifier and then signs ID tokens that a real provider would never issue: wrong nonce,
  wrong audience, expired, altered signature, unknown key, HS256 with the public key, wrong
  issuer. Each must be refused with a redirect to the sign-in page naming the reason, and an
  'sso.fail' row in the access log.
"""

import http.client
import json
import re
import urllib.parse

import harness as h
from sso_idp import Idp, server_at_public_url

ESDORP_ID = "d0000000-0000-4000-a000-000000000001"
HUNZEHOF_ID = "d0000000-0000-4000-a000-000000000002"
ADMIN = "beheer@demo.logeer.nl"


class Browser:
    """Keeps cookies per server (port) and follows redirects one hop at a time."""

    def __init__(self, srv):
        self.srv = srv
        self.jar = {}

    def send(self, url, method="GET", form=None):
        u = urllib.parse.urlsplit(url)
        target = u.path + ("?" + u.query if u.query else "")
        headers = {}
        cookies = self.jar.setdefault(u.port, {})
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if u.port == self.srv.port:
            resp = self.srv.request(method, target, body, headers=headers)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", u.port, timeout=20)
            conn.request(method, target, body=body, headers=headers)
            r = conn.getresponse()
            resp = h.Response(r.status, r.getheaders(), r.read())
            conn.close()
        for name, value in resp.header_list:
            if name.lower() == "set-cookie":
                first, *attrs = [p.strip() for p in value.split(";")]
                cname, _, cvalue = first.partition("=")
                gone = not cvalue or any(a.lower() == "max-age=0" for a in attrs)
                if gone:
                    cookies.pop(cname, None)
                else:
                    cookies[cname] = cvalue
        return resp

    def walk(self, url, method="GET", form=None, stop_at_callback=False):
        """Follows redirects until a page (2xx) or a redirect to one of logeerd's pages.
        Returns (last response, its URL, the redirect target or None)."""
        for _ in range(20):
            resp = self.send(url, method, form)
            method, form = "GET", None
            if resp.status not in (301, 302, 303):
                return resp, url, None
            nxt = urllib.parse.urljoin(url, resp.header("location"))
            n = urllib.parse.urlsplit(nxt)
            if n.port == self.srv.port and not n.path.startswith("/v1/"):
                return resp, url, nxt
            if stop_at_callback and n.path == "/v1/sso/callback":
                return resp, url, nxt
            url = nxt
        raise RuntimeError("too many redirects")


def fill_form(page_url, html, fields):
    """The first form's action and hidden inputs, with fields added."""
    action = re.search(r'<form[^>]*action="([^"]+)"', html).group(1)
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    form.update(fields)
    return urllib.parse.urljoin(page_url, action.replace("&amp;", "&")), form


def world():
    def make():
        url = h.migrated_database(seed=True)
        srv = server_at_public_url(url)
        idp = Idp(f"http://127.0.0.1:{srv.port}/v1/sso/callback")
        h.add_user(url, "planner@zorg-a.test", "provider", provider=ESDORP_ID)
        h.add_user(url, "planner@zorg-b.test", "provider", provider=HUNZEHOF_ID)
        h.add_user(url, "gone@zorg-a.test", "provider", provider=ESDORP_ID)
        h.psql(url, "UPDATE users SET disabled_at = now() WHERE email = 'gone@zorg-a.test'")
        admin = srv.login(ADMIN)
        return {"url": url, "srv": srv, "idp": idp, "admin": admin}
    return h.once("world", make)


def register(w, **body):
    return w["srv"].request("POST", "/v1/sso-issuers", body, token=w["admin"])


def issuers(w):
    def make():
        a = register(w, provider_id=ESDORP_ID, issuer=w["idp"].info["op"], client_id="logeerd",
                     client_secret=w["idp"].info["client_secret"],
                     email_domains=["Zorg-A.test"])
        b = register(w, provider_id=HUNZEHOF_ID, issuer=w["idp"].info["crafted"],
                     client_id="logeerd", client_secret=w["idp"].info["client_secret"],
                     email_domains=["zorg-b.test"], idp_factor=True)
        if a.status != 201 or b.status != 201:
            raise RuntimeError(f"registering the issuers failed: {a!r} {b!r}")
        return {"op": a.json, "crafted": b.json}
    return h.once("issuers", make)


def last_log(w, action):
    return h.scalar(w["url"], "SELECT coalesce(detail::text, '') || '|' || coalesce(user_id::text, '') "
                            f"FROM access_log WHERE action = '{action}' ORDER BY id DESC LIMIT 1")


def sign_in_at_op(w, browser, email):
    """Start at logeerd, sign in on the real provider's pages, stop before the callback."""
    srv = w["srv"]
    start = f"http://127.0.0.1:{srv.port}/v1/sso/start?email={urllib.parse.quote(email)}"
    resp, url, _ = browser.walk(start, stop_at_callback=True)
    h.check("the provider shows its login page", resp.status == 200 and b"login" in resp.body,
            resp.text[-1500:])
    action, form = fill_form(url, resp.text, {"login": email, "password": "any"})
    resp, url, done = browser.walk(action, "POST", form, stop_at_callback=True)
    if resp.status == 200 and b'name="prompt" value="consent"' in resp.body:
        action, form = fill_form(url, resp.text, {})
        resp, url, done = browser.walk(action, "POST", form, stop_at_callback=True)
    return done


def test_the_admin_registers_an_issuer_and_its_secret_is_never_shown():
    w = world()
    srv = w["srv"]
    made = issuers(w)
    a = made["op"]
    h.check("the issuer is registered with lower-cased domains and no secret",
            a["email_domains"] == ["zorg-a.test"] and "client_secret" not in a
            and a["issuer"] == w["idp"].info["op"] and a["auth_method"] == "client_secret_basic",
            repr(a))
    dump = h.psql(w["url"], "SELECT row_to_json(i)::text FROM sso_issuers i")
    h.check("the database holds the secret only sealed",
            w["idp"].info["client_secret"] not in dump)
    got = srv.get(f"/v1/sso-issuers/{a['id']}", token=w["admin"])
    h.check("GET shows it without the secret", got.status == 200
            and w["idp"].info["client_secret"] not in got.text, repr(got))
    listed = srv.get(f"/v1/sso-issuers?provider_id={ESDORP_ID}", token=w["admin"])
    h.check("the list for the provider holds it", listed.status == 200
            and [i["id"] for i in listed.json["sso_issuers"]] == [a["id"]], repr(listed))
    taken = register(w, provider_id=HUNZEHOF_ID, issuer="https://login.example.org",
                     client_id="x", client_secret="y", email_domains=["zorg-a.test"])
    h.check_problem("a domain that leads to another issuer: 422", taken, 422)
    h.check("naming email_domains", "email_domains" in json.dumps(taken.json), repr(taken))
    for bad in ("http://login.example.org", "https://", "http://localhost.example.org",
                "https://login.example.org/?x=1"):
        resp = register(w, provider_id=HUNZEHOF_ID, issuer=bad, client_id="x",
                        client_secret="y", email_domains=["elders.test"])
        h.check_problem(f"issuer {bad!r} is refused: 422", resp, 422)
    planner = srv.login("planner@esdorp.demo.logeer.nl")
    h.check_problem("provider staff may not register issuers: 403",
                    srv.request("POST", "/v1/sso-issuers", {}, token=planner), 403)
    patched = srv.request("PATCH", f"/v1/sso-issuers/{a['id']}", {"factor_acr": "urn:x:mfa"},
                          token=w["admin"])
    h.check("PATCH changes a setting and bumps the version", patched.status == 200
            and patched.json["factor_acr"] == "urn:x:mfa" and patched.json["version"] == 2,
            repr(patched))
    gone = register(w, provider_id=HUNZEHOF_ID, issuer="https://login.example.org",
                    client_id="x", client_secret="y", email_domains=["elders.test"])
    deleted = srv.request("DELETE", f"/v1/sso-issuers/{gone.json['id']}", token=w["admin"])
    h.check_equal("DELETE removes an issuer", deleted.status, 204)
    h.check_problem("and then it is not found",
                    srv.get(f"/v1/sso-issuers/{gone.json['id']}", token=w["admin"]), 404)


def test_a_planner_signs_in_at_a_real_openid_provider():
    w = world()
    issuers(w)
    srv = w["srv"]
    browser = Browser(srv)
    start = browser.send(f"http://127.0.0.1:{srv.port}/v1/sso/start?email=planner%40zorg-a.test")
    h.check_equal("start redirects", start.status, 302)
    to = urllib.parse.urlsplit(start.header("location", ""))
    q = urllib.parse.parse_qs(to.query)
    h.check("to the provider's authorization endpoint with code flow, PKCE S256, state, nonce",
            to.port == w["idp"].op_port and q.get("response_type") == ["code"]
            and q.get("code_challenge_method") == ["S256"] and len(q["code_challenge"][0]) == 43
            and q.get("state") and q.get("nonce") and q.get("scope") == ["openid email profile"]
            and q.get("client_id") == ["logeerd"]
            and q.get("redirect_uri") == [f"http://127.0.0.1:{srv.port}/v1/sso/callback"], repr(q))
    state = q["state"][0]
    row = str(h.psql(w["url"], "SELECT (expires_at - created_at)::text, "
                               "row_to_json(l)::text FROM sso_logins l"))
    h.check("state and nonce are kept only as hashes, for ten minutes", state not in row
            and "00:10:00" in row and q["nonce"][0] not in row, row)

    browser = Browser(srv)
    callback = sign_in_at_op(w, browser, "planner@zorg-a.test")
    h.check("the provider sends the browser back to the callback with a code",
            callback and "code=" in callback, repr(callback))
    resp, _, page = browser.walk(callback)
    h.check("the callback signs the planner in and opens the bed board",
            resp.status == 302 and page and page.endswith("/aanbieder/"),
            f"{resp!r} {resp.header('location')} {callback}")
    jar = browser.jar[srv.port]
    h.check("with the cookie session", "logeer_session" in jar and "logeer_csrf" in jar, jar)
    me = srv.get("/v1/me", headers={"Cookie": f"logeer_session={jar.get('logeer_session')}"})
    h.check("the session belongs to the planner of Esdorp", me.status == 200
            and me.json["email"] == "planner@zorg-a.test", repr(me))
    h.check("the sign-in is in the access log",
            '"issuer_id"' in last_log(w, "sso.login"), last_log(w, "sso.login"))

    again = browser.send(callback)
    h.check("the same callback a second time is refused: state used up",
            again.status == 302 and again.header("location") == "/inloggen.html?sso=state",
            repr(again))


def test_a_wrong_or_foreign_state_is_refused():
    w = world()
    issuers(w)
    srv = w["srv"]
    browser = Browser(srv)
    callback = sign_in_at_op(w, browser, "planner@zorg-a.test")
    u = urllib.parse.urlsplit(callback)
    q = dict(urllib.parse.parse_qsl(u.query))
    altered = dict(q, state=q["state"][:-2] + ("AA" if q["state"][-2:] != "AA" else "BB"))
    browser.jar[srv.port]["logeer_sso"] = altered["state"]
    resp = browser.send(f"http://127.0.0.1:{srv.port}/v1/sso/callback?"
                        + urllib.parse.urlencode(altered))
    h.check("an altered state (cookie to match) is refused", resp.status == 302
            and resp.header("location") == "/inloggen.html?sso=state", repr(resp))
    other = Browser(srv)
    resp = other.send(callback)
    h.check("the right state in another browser (no sign-in cookie) is refused",
            resp.status == 302 and resp.header("location") == "/inloggen.html?sso=state",
            repr(resp))
    h.check("and logged", h.wait_until(lambda: '"reason": "state"' in last_log(w, "sso.fail"),
                                       5 * h.SCALE), last_log(w, "sso.fail"))

    browser = Browser(srv)
    callback = sign_in_at_op(w, browser, "planner@zorg-a.test")
    h.check("the real provider names itself in the answer (RFC 9207)", "iss=" in callback, callback)
    u = urllib.parse.urlsplit(callback)
    q = dict(urllib.parse.parse_qsl(u.query), iss="https://elders.example.org")
    resp = browser.send(f"http://127.0.0.1:{srv.port}/v1/sso/callback?"
                        + urllib.parse.urlencode(q))
    h.check("an answer that names another issuer (mix-up) is refused: issuer",
            resp.status == 302 and resp.header("location") == "/inloggen.html?sso=issuer",
            repr(resp))


def test_a_stranger_from_an_allowed_domain_gets_no_account():
    w = world()
    issuers(w)
    srv = w["srv"]
    for email, why in (("stranger@zorg-a.test", "a stranger"), ("gone@zorg-a.test",
                                                                "a disabled account")):
        browser = Browser(srv)
        callback = sign_in_at_op(w, browser, email)
        resp, _, page = browser.walk(callback)
        h.check(f"{why} signed in at the provider is refused: no_account",
                resp.status == 302 and page and page.endswith("/inloggen.html?sso=no_account"),
                repr(resp))
        h.check(f"{why} gets no session cookie", "logeer_session" not in browser.jar[srv.port])
    h.check_equal("no account was made for the stranger",
                  h.scalar(w["url"], "SELECT count(*) FROM users WHERE email LIKE 'stranger%'"),
                  "0")
    h.check("the refusal names the email in the access log",
            "stranger@zorg-a.test" in str(h.psql(w["url"], "SELECT detail::text FROM access_log "
                                                       "WHERE action = 'sso.fail'")))


def crafted_sign_in(w, mode):
    w["idp"].mode(mode)
    browser = Browser(w["srv"])
    resp, _, page = browser.walk(f"http://127.0.0.1:{w['srv'].port}/v1/sso/start"
                                 "?email=planner%40zorg-b.test")
    return resp, page, browser


def test_tokens_a_real_provider_would_never_issue_are_refused():
    w = world()
    issuers(w)
    srv = w["srv"]
    resp, page, browser = crafted_sign_in(w, "good")
    h.check("the crafted issuer's good token signs the Hunzehof planner in",
            resp.status == 302 and page and page.endswith("/aanbieder/"), repr(resp))
    h.check("and records the factor it asserted (amr mfa, idp_factor on)",
            '"factor": true' in last_log(w, "sso.login"), last_log(w, "sso.login"))
    cases = [("wrong_nonce", "nonce"), ("wrong_audience", "audience"), ("expired", "expired"),
             ("bad_signature", "signature"), ("unknown_key", "unknown_key"),
             ("hs256", "algorithm"), ("wrong_issuer", "issuer")]
    for mode, reason in cases:
        resp, page, browser = crafted_sign_in(w, mode)
        h.check(f"{mode}: refused with the sign-in page naming {reason}",
                resp.status == 302 and page and page.endswith(f"/inloggen.html?sso={reason}"),
                f"{resp!r} {page}")
        h.check(f"{mode}: no session", "logeer_session" not in browser.jar.get(srv.port, {}))
        # The refusal's row is written beside the redirect, not before it: wait for it.
        h.check(f"{mode}: sso.fail with reason {reason} in the access log",
                h.wait_until(lambda: f'"reason": "{reason}"' in last_log(w, "sso.fail"),
                             5 * h.SCALE), last_log(w, "sso.fail"))
    fetches = w["idp"].mode("good")["jwks_fetches"]
    h.check("an unknown kid refetched the keys at most once a minute (2 fetches in all)",
            fetches <= 2, fetches)


def test_a_factor_the_issuer_asserts_satisfies_the_two_factor_rule():
    w = world()
    issuers(w)
    # The same database, served with the two-factor rule at its production value.
    strict = server_at_public_url(w["url"], {"LOGEER_MFA_REQUIRED_ROLES":
                                             "provider,coordinator,admin"})
    for mode, proven in (("good", True), ("no_factor", False)):
        w["idp"].mode(mode)
        browser = Browser(strict)
        resp, _, page = browser.walk(f"http://127.0.0.1:{strict.port}/v1/sso/start"
                                     "?email=planner%40zorg-b.test")
        h.check(f"{mode}: signed in", resp.status == 302 and page and page.endswith("/aanbieder/"),
                f"{resp!r} {page}")
        cookie = {"Cookie": f"logeer_session={browser.jar[strict.port].get('logeer_session')}"}
        me = strict.get("/v1/me", headers=cookie)
        pools = strict.get("/v1/pools", headers=cookie)
        if proven:
            h.check("amr mfa with idp_factor on: no second factor owed, the pools open",
                    me.json.get("second_factor") == "none" and pools.status == 200,
                    f"{me!r} {pools!r}")
            row = h.scalar(w["url"], "SELECT array_to_string(amr, ',') || ' ' || "
                                     "(factor_at IS NOT NULL)::text FROM sessions "
                                     "ORDER BY created_at DESC LIMIT 1")
            h.check("the session records the issuer's amr and its factor", row == "pwd,mfa true",
                    row)
            h.check("factor.verify is in the access log",
                    '"mfa"' in (last_log(w, "factor.verify") or ""), last_log(w, "factor.verify"))
        else:
            h.check("amr pwd only: the planner must still set up a second factor here",
                    me.json.get("second_factor") == "enrol" and h.is_problem(pools, 403)
                    and pools.json["type"].endswith("/second-factor-required"),
                    f"{me!r} {pools!r}")
    strict.stop()


def test_an_unknown_domain_and_a_bad_request():
    w = world()
    issuers(w)
    srv = w["srv"]
    resp = srv.get("/v1/sso/start?email=iemand%40nergens.test")
    h.check("an email domain without an issuer goes back to the sign-in page",
            resp.status == 302 and resp.header("location") == "/inloggen.html?sso=no_issuer",
            repr(resp))
    closed = register(w, provider_id=HUNZEHOF_ID, issuer=f"http://127.0.0.1:{h.free_port()}",
                      client_id="x", client_secret="y", email_domains=["dicht.test"])
    for attempt in ("first", "second (from the failure cache)"):
        resp = srv.get("/v1/sso/start?email=iemand%40dicht.test")
        h.check(f"an issuer that does not answer, {attempt} try: the sign-in page says discovery",
                resp.status == 302
                and resp.header("location") == "/inloggen.html?sso=discovery", repr(resp))
    srv.request("DELETE", f"/v1/sso-issuers/{closed.json['id']}", token=w["admin"])
    h.check_problem("no email at all: 422", srv.get("/v1/sso/start"), 422)
    h.check_problem("an email without a domain: 422", srv.get("/v1/sso/start?email=iemand"), 422)
    h.check_problem("a malformed issuer id: 422", srv.get("/v1/sso/start?issuer=x"), 422)


def test_starting_sign_ins_is_limited_per_address():
    """Anyone may start a sign-in, and each start is stored until it lapses: the visitors' limit
    per address applies (here 2 at once, then 1 a minute)."""
    w = world()
    srv = h.Server(w["url"], env={"LOGEER_VISITOR_RATE": "1", "LOGEER_VISITOR_BURST": "2"})
    first = [srv.get("/v1/sso/start?email=iemand%40nergens.test") for _ in range(2)]
    h.check("the first two starts are answered", all(r.status == 302 for r in first),
            [r.status for r in first])
    third = srv.get("/v1/sso/start?email=iemand%40nergens.test")
    h.check("the third at once: 429 with Retry-After", h.is_problem(third, 429)
            and int(third.header("retry-after", "0")) > 0, repr(third))
    srv.stop()


try:
    h.main(globals())
finally:
    if "world" in h._once and h._once["world"][0]:
        h._once["world"][1]["idp"].stop()
