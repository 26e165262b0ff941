"""The identity providers of the single sign-on tests (tests/sso/idp.mjs: a real OpenID
Provider and a crafted issuer) and a logeerd whose public URL names its own port, shared by
test_sso.py and test_sso_browser.py."""

import http.client
import json
import os
import subprocess

import harness as h

SSO_DIR = os.path.join(h.SOURCE_DIR, "tests", "sso")


class Idp:
    """tests/sso/idp.mjs on two free loopback ports."""

    def __init__(self, redirect_uri):
        self.op_port, self.crafted_port = h.free_port(), h.free_port()
        self.proc = subprocess.Popen(
            ["node", os.path.join(SSO_DIR, "idp.mjs"), str(self.op_port),
             str(self.crafted_port), redirect_uri],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=SSO_DIR, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("idp.mjs did not start: " + self.proc.stderr.read()[-2000:])
        self.info = json.loads(line)

    def mode(self, name):
        conn = http.client.HTTPConnection("127.0.0.1", self.crafted_port, timeout=10)
        conn.request("GET", "/mode?set=" + name)
        answer = json.loads(conn.getresponse().read())
        conn.close()
        return answer

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def server_at_public_url(url, env=None):
    """A logeerd whose LOGEER_PUBLIC_URL names its own port: the callback the issuers send the
    browser back to is that URL + /v1/sso/callback, so the port is picked first."""
    port, pick = h.free_port(), h.free_port
    h.free_port = lambda: port
    try:
        return h.Server(url, keep=True,
                        env={"LOGEER_PUBLIC_URL": f"http://127.0.0.1:{port}", **(env or {})})
    finally:
        h.free_port = pick
