"""browser: what every browser-test wrapper shares. Each tests/integration/test_*_browser.py
makes its data with the API, then runs one tests/browser/*.test.mjs in Debian's Chromium
(playwright-core, axe-core) against its server and counts that script's checks as one.

Browser tests run in the normal build only: under AddressSanitizer the same pages are served
by the same code, and Chromium beside an instrumented server only doubles the time. A missing
Chromium, Node.js or npm package is a failed check, never a skip: deploy/install-deps.sh
installs them."""

import os
import shutil
import subprocess
import threading
import time

import harness as h

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
BROWSER_DIR = os.path.join(h.SOURCE_DIR, "tests", "browser")
PACKAGES = ("playwright-core", "axe-core")


def tools_ready():
    """True when this build runs browser tests and has what they need; otherwise the reason is
    recorded (a passing check under AddressSanitizer, a failing one for a missing tool)."""
    if h.SANITIZED:
        h.info("sanitized build: the browser test runs in the normal build only")
        h.check("skipped under AddressSanitizer on purpose (the normal build runs it)", True)
        return False
    have = {"chromium at " + CHROMIUM: os.access(CHROMIUM, os.X_OK),
            "node on PATH": shutil.which("node") is not None}
    for package in PACKAGES:
        have[f"{package} in tests/browser/node_modules"] = os.path.isdir(
            os.path.join(BROWSER_DIR, "node_modules", package))
    for what, good in have.items():
        h.check(f"{what} (installed by deploy/install-deps.sh)", good)
    return all(have.values())


def run(script, env, timeout=540):
    """Runs tests/browser/<script> with env added to this process's environment (LOGEER_URL
    and whatever the script reads); its ok/FAIL lines become this test's info lines, each with
    the seconds since the script started (where a slow test spends its time). True when
    every check in the script passed."""
    full = dict(os.environ, CHROMIUM=CHROMIUM, **{k: str(v) for k, v in env.items()})
    started = time.monotonic()
    lines = []
    with subprocess.Popen([shutil.which("node"), os.path.join(BROWSER_DIR, script)],
                          cwd=BROWSER_DIR, env=full, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        # stderr is read on a thread so that neither pipe can fill up and stall the script.
        err = []
        reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
        reader.start()
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            for line in proc.stdout:
                lines.append(line.rstrip("\n"))
                h.info(f"browser [{time.monotonic() - started:6.1f} s]: {lines[-1]}")
            proc.wait()
        finally:
            timer.cancel()
        reader.join(10)
    stdout, stderr = "\n".join(lines), "".join(err)
    if stderr.strip():
        h.info("browser stderr: " + stderr.strip()[-2000:])
    if time.monotonic() - started >= timeout:
        # What the script got through before it hung (above) says where it hung.
        return h.check("the browser test passes (every check above says ok)", False,
                       f"no end after {timeout} s")
    return h.check("the browser test passes (every check above says ok)", proc.returncode == 0,
                   f"exit {proc.returncode}: {_first_failure(stdout, stderr)}")


def _first_failure(stdout, stderr):
    """The script's first FAIL line, else the last line it wrote to stderr (an exception): the
    summary at the end of a CI log shows only this test's FAIL lines."""
    for line in (stdout or "").splitlines():
        if line.startswith("FAIL"):
            return line
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line]
    return (errors or lines or ["no FAIL line, nothing on stderr"])[0][:300]


