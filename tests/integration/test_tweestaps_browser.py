"""Two-step sign-in in a real browser (tests/browser/tweestaps.test.mjs, Debian's Chromium
through playwright-core, axe-core on every state) against a logeerd that requires a second
factor of staff: a planner is sent to the set-up, enrols TOTP with codes from Debian's
oathtool, signs out and in with password + code, has a reused and a wrong code refused, uses a
recovery code once, and meets the step-up dialog. Afterwards the database must hold the
planner's confirmed factor and the refused codes in the access log."""

import shutil

import browser
import harness as h

SCRIPT = "tweestaps.test.mjs"
STEP_UP_S = 30


def test_two_step_sign_in_in_chromium():
    if not browser.tools_ready():
        return
    if not h.check("Debian's oathtool is installed (deploy/install-deps.sh)",
                   shutil.which("oathtool") is not None):
        return
    url = h.migrated_database(seed=True)
    srv = h.Server(url, env={"LOGEER_MFA_REQUIRED_ROLES": "provider,coordinator,admin",
                             "LOGEER_STEP_UP_S": str(STEP_UP_S)})
    env = dict(LOGEER_URL=f"http://127.0.0.1:{srv.port}", LOGEER_PASSWORD=h.DEMO_PASSWORD,
               LOGEER_STEP_UP_S=STEP_UP_S, LANG="nl_NL.UTF-8")
    browser.run(SCRIPT, env, timeout=540)
    who = "(SELECT id FROM users WHERE email = 'planner@esdorp.demo.logeer.nl')"
    h.check_equal("the planner has one confirmed TOTP factor", h.scalar(
        url, f"SELECT count(*) FROM user_factors WHERE user_id = {who} "
             "AND kind = 'totp' AND confirmed_at IS NOT NULL"), "1")
    h.check_equal("the refused codes are in the access log", h.scalar(
        url, f"SELECT count(*) FROM access_log WHERE user_id = {who} AND action = 'factor.fail'"),
        "4")
    srv.stop()


h.main(globals())
