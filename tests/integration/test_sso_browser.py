"""Single sign-on in a real browser (tests/browser/sso.test.mjs, Debian's Chromium through
playwright-core, axe-core on every page and state of ours), against a logeerd with the Drenthe
demo data and a REAL OpenID Provider (npm oidc-provider, tests/sso/idp.mjs): the admin registers
Esdorp's issuer on its page, a planner signs in with the organisation by keyboard and lands on
the bed board, a stranger from the same domain is refused with a clear message. Afterwards the
database must hold the planner's session from single sign-on and no account for the
stranger. Screenshots go to artifacts/sso-*.png in the test's working directory."""

import os

import browser
import harness as h
from sso_idp import Idp, server_at_public_url

SCRIPT = "sso.test.mjs"
ESDORP_ID = "d0000000-0000-4000-a000-000000000001"


def test_single_sign_on_in_chromium():
    if not browser.tools_ready():
        return
    url = h.migrated_database(seed=True)
    srv = server_at_public_url(url)
    idp = Idp(f"http://127.0.0.1:{srv.port}/v1/sso/callback")
    try:
        h.add_user(url, "planner@zorg-a.test", "provider", provider=ESDORP_ID)
        artifacts = (os.environ.get("LOGEER_TEST_ARTIFACTS")
                     or os.path.join(os.getcwd(), "artifacts"))
        env = dict(LOGEER_URL=f"http://127.0.0.1:{srv.port}", LOGEER_PASSWORD=h.DEMO_PASSWORD,
                   LOGEER_SCREENSHOTS=os.path.join(artifacts, "sso.png"),
                   LOGEER_SSO_ISSUER=idp.info["op"],
                   LOGEER_SSO_CLIENT_SECRET=idp.info["client_secret"])
        browser.run(SCRIPT, env, timeout=540)
    finally:
        idp.stop()
    h.check_equal("the planner's sign-in is in the access log",
                  h.scalar(url, "SELECT count(*) FROM access_log a JOIN users u ON u.id = a.user_id "
                                "WHERE a.action = 'sso.login' AND u.email = 'planner@zorg-a.test'"),
                  "1")
    h.check_equal("no account was made for the stranger",
                  h.scalar(url, "SELECT count(*) FROM users WHERE email = 'vreemde@zorg-a.test'"),
                  "0")
    srv.stop()


h.main(globals())
