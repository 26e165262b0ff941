"""Integration test harness: drives a real logeerd against a real private PostgreSQL.

Owns databases and clusters made for a test, logeerd processes, a small HTTP client and the
check/report bookkeeping. Standard library only; it never talks to a system PostgreSQL and never
leaves a process or database behind when a test ends, however it ends.

Environment (set by ctest, see tests/CMakeLists.txt):
  LOGEERD            the logeerd binary under test
  LOGEER_SOURCE_DIR  the source tree (migrations/, deploy/pg.sh)
  LOGEER_TEST_PGDIR  the shared cluster started by `deploy/pg.sh start` as a ctest fixture

A test file defines functions named test_* and ends with `harness.main(globals())`: each test
runs in order, an exception counts as a failed check, and the process exits 1 if any check failed.
"""

import atexit
import contextlib
import glob
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

import contract as _contract_module

SOURCE_DIR = os.environ.get("LOGEER_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
LOGEERD = os.environ.get("LOGEERD", "")
PGDIR = os.environ.get("LOGEER_TEST_PGDIR", "")
PG_SH = os.path.join(SOURCE_DIR, "deploy", "pg.sh")
MIGRATIONS_DIR = os.path.join(SOURCE_DIR, "migrations")
DEMO_PASSWORD = "logeerzorg-demo"
DEMO_USERS = {
    "beheer@demo.logeer.nl": "admin",
    "aanjager@demo.logeer.nl": "coordinator",
    "huisarts@demo.logeer.nl": "referrer",
    "mantelzorger@demo.logeer.nl": "caregiver",
}
DRENTHE = {
    "GM1680": "Aa en Hunze", "GM0106": "Assen", "GM1681": "Borger-Odoorn", "GM0109": "Coevorden",
    "GM1690": "De Wolden", "GM0114": "Emmen", "GM0118": "Hoogeveen", "GM0119": "Meppel",
    "GM1731": "Midden-Drenthe", "GM1699": "Noordenveld", "GM1730": "Tynaarlo",
    "GM1701": "Westerveld",
}
SANITIZER_PATTERNS = re.compile(
    r"(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
    r"WARNING: ThreadSanitizer|SUMMARY: (Address|Leak|Undefined\w*)Sanitizer)")


def _binary_is_sanitized(path):
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


# A sanitized binary is several times slower; waits for readiness stretch by this factor.
# Behavioural deadlines (shutdown within 2 s, readiness within 5 s) stretch by SLACK only.
SANITIZED = _binary_is_sanitized(LOGEERD) if LOGEERD else False
SCALE = 4.0 if SANITIZED else 1.0
SLACK = 1.5 if SANITIZED else 1.0


# ---------------------------------------------------------------------------------------------
# checks and reporting

_failures = []
_checks = 0
_lock = threading.Lock()


def check(name, ok, detail=""):
    """Records one named check and prints its result; returns ok so callers can branch on it."""
    global _checks
    with _lock:
        _checks += 1
        if ok:
            print(f"ok    {name}", flush=True)
        else:
            _failures.append(name)
            suffix = f": {detail}" if detail != "" else ""
            print(f"FAIL  {name}{suffix}", flush=True)
    return bool(ok)


def check_equal(name, actual, expected):
    return check(name, actual == expected, f"expected {expected!r}, got {actual!r}")


def info(msg):
    print(f"      {msg}", flush=True)


def fail(name, detail=""):
    return check(name, False, detail)


def report():
    """Prints the tally and exits: 1 when any check failed or nothing was checked."""
    if _checks == 0:
        print("FAIL  no checks ran", flush=True)
        sys.exit(1)
    if _failures:
        print(f"\n{len(_failures)} of {_checks} checks failed:", flush=True)
        for name in _failures:
            print(f"  - {name}", flush=True)
        sys.exit(1)
    print(f"\nall {_checks} checks passed", flush=True)
    sys.exit(0)


def main(namespace):
    """Runs every test_* function of a test module in definition order, then reports."""
    if not LOGEERD or not os.access(LOGEERD, os.X_OK):
        fail("LOGEERD names an executable logeerd", repr(LOGEERD))
        report()
    tests = [(name, fn) for name, fn in namespace.items()
             if name.startswith("test_") and callable(fn)]
    for name, fn in tests:
        print(f"--- {name}", flush=True)
        started = time.monotonic()
        try:
            fn()
        except Exception:  # a crashing test is one failed check, the others still run
            fail(f"{name} ran to the end", traceback.format_exc().rstrip())
        finally:
            _stop_leftover_servers(keep_shared=True)
        info(f"{name}: {time.monotonic() - started:.1f} s")
    _stop_leftover_servers(keep_shared=False)
    judged = contract()
    info(f"contract: {judged.judged} answers judged against docs/openapi.yaml, "
         f"{len(judged.seen)} of {len(judged.operations)} operations")
    report()


_once = {}


def once(key, make):
    """Runs make() the first time key is asked for and returns its result ever after. Tests of
    one file share expensive setup (a seeded database, a server) this way; when the setup
    failed, later tests fail at once instead of repeating the same failure."""
    if key not in _once:
        try:
            _once[key] = (True, make())
        except Exception as e:
            _once[key] = (False, e)
    ok, value = _once[key]
    if not ok:
        raise RuntimeError(f"shared setup {key!r} failed earlier: {value}")
    return value


def scratch_dir(prefix):
    """A private temporary directory that is removed when the test program ends."""
    directory = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, directory, True)
    return directory


def wait_until(predicate, timeout, interval=0.05):
    """Polls predicate until it returns something truthy or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except Exception:
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            return value
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------
# PostgreSQL

def _psql_binary():
    found = shutil.which("psql")
    if found:
        return found
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))
    if not candidates:
        raise RuntimeError("psql not found")
    return candidates[-1]


PSQL = _psql_binary()


class SqlError(Exception):
    def __init__(self, sqlstate, message):
        super().__init__(f"{sqlstate}: {message}")
        self.sqlstate = sqlstate
        self.message = message


def psql(conninfo, sql, timeout=60):
    """Runs SQL through psql and returns its rows as lists of strings (unaligned, tab-separated).
    Raises SqlError carrying the SQLSTATE when PostgreSQL refuses the statement."""
    proc = subprocess.run(
        [PSQL, "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1",
         "-v", "VERBOSITY=verbose", "-d", conninfo, "-c", sql],
        capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        m = re.search(r"ERROR:\s+([0-9A-Z]{5}):\s*(.*)", proc.stderr)
        if m:
            raise SqlError(m.group(1), m.group(2).strip())
        raise SqlError("?????", proc.stderr.strip() or f"psql exited {proc.returncode}")
    return [line.split("\t") for line in proc.stdout.splitlines() if line != ""]


def metric(server, name):
    """A sample without labels from the server's /metrics, as a float; None when absent."""
    m = re.search(rf"^{re.escape(name)} (\S+)$", server.get("/metrics").text, re.M)
    return float(m.group(1)) if m else None


def scalar(conninfo, sql):
    rows = psql(conninfo, sql)
    return rows[0][0] if rows else None


def pg_url(pgdir, dbname):
    out = subprocess.run([PG_SH, "url", pgdir, dbname], capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


def _drop_database(admin, name):
    try:
        psql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except Exception as e:  # the cluster may already be gone; nothing else to clean
        print(f"      (could not drop {name}: {e})", flush=True)


def fresh_database(pgdir=None, prefix="t"):
    """Creates an empty database with a unique name on the shared fixture cluster (or pgdir)
    and returns its conninfo; the database is dropped when the test process exits."""
    pgdir = pgdir or PGDIR
    if not pgdir:
        raise RuntimeError("LOGEER_TEST_PGDIR is not set (run the tests through ctest)")
    admin = pg_url(pgdir, "postgres")
    script = re.sub(r"[^a-z0-9]", "", os.path.basename(sys.argv[0]).lower().replace(".py", ""))
    name = f"{prefix}_{script[:30]}_{uuid.uuid4().hex[:10]}"
    psql(admin, f'CREATE DATABASE "{name}"')
    atexit.register(_drop_database, admin, name)
    return pg_url(pgdir, name)


class Cluster:
    """A private PostgreSQL cluster that a test may stop and start at will."""

    def __init__(self, directory):
        self.dir = directory

    def _pg_sh(self, *args):
        proc = subprocess.run([PG_SH, *args, self.dir], capture_output=True, text=True,
                              timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"pg.sh {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def start(self):
        self._pg_sh("start")

    def stop(self):
        self._pg_sh("stop")

    def stop_immediate(self):
        self._pg_sh("stop-immediate")

    def url(self, dbname="logeer"):
        return pg_url(self.dir, dbname)

    def create_database(self, dbname="logeer"):
        psql(self.url("postgres"), f'CREATE DATABASE "{dbname}"')
        return self.url(dbname)


@contextlib.contextmanager
def own_cluster():
    """Starts a private cluster in a fresh directory under /tmp (pg.sh hands it to the postgres
    user when we are root) and removes it afterwards, however the test ends."""
    directory = tempfile.mkdtemp(prefix="logeer-test-pg-", dir="/tmp")
    cluster = Cluster(directory)
    try:
        cluster.start()
        yield cluster
    finally:
        subprocess.run([PG_SH, "stop-immediate", directory], capture_output=True, timeout=120)
        shutil.rmtree(directory, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# logeerd commands

def _command_env(extra=None):
    env = dict(os.environ)
    # A developer's own settings must not leak into a test; each test says what it wants.
    for key in list(env):
        if key.startswith("LOGEER_") and key not in ("LOGEER_SOURCE_DIR", "LOGEER_TEST_PGDIR"):
            del env[key]
    # Staff sign in with a password alone unless a test asks for the second-factor rule
    # ({"LOGEER_MFA_REQUIRED_ROLES": "provider,coordinator,admin"}, the production default).
    env["LOGEER_MFA_REQUIRED_ROLES"] = ""
    if extra:
        env.update(extra)
    return env


def logeerd(*args, stdin=None, env=None, timeout=None):
    """Runs one logeerd command to completion and returns the CompletedProcess (text)."""
    return subprocess.run([LOGEERD, *args], input=stdin, capture_output=True, text=True,
                          env=_command_env(env), timeout=timeout or 120 * SCALE)


def migrate(conninfo, migrations_dir=None, env=None):
    args = ["migrate", "--database-url", conninfo]
    if migrations_dir:
        args += ["--migrations-dir", migrations_dir]
    return logeerd(*args, env=env)


def seed_demo(conninfo):
    return logeerd("seed-demo", "--database-url", conninfo)


def _describe(proc):
    return (f"exit {proc.returncode}; stdout: {proc.stdout.strip()[-800:]!r}; "
            f"stderr: {proc.stderr.strip()[-800:]!r}")


def prepare_database(url, seed=False):
    """Applies all migrations to the empty database at url (and the demo data when seed is
    true). Failing to get there is a failed check and raises, since nothing after it can be
    tested. Returns url."""
    proc = migrate(url, MIGRATIONS_DIR)
    if not check("logeerd migrate succeeds on a fresh database", proc.returncode == 0,
                 _describe(proc)):
        raise RuntimeError("migrate failed")
    if seed:
        proc = seed_demo(url)
        if not check("logeerd seed-demo succeeds", proc.returncode == 0, _describe(proc)):
            raise RuntimeError("seed-demo failed")
    return url


def migrated_database(seed=False):
    """A fresh database on the shared cluster, prepared as prepare_database does."""
    return prepare_database(fresh_database(), seed)


# ---------------------------------------------------------------------------------------------
# HTTP

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.header_list = headers  # [(name, value)] in order, names as sent
        self.headers = {}
        for name, value in headers:
            self.headers.setdefault(name.lower(), value)
        self.body = body
        self.json = None
        ctype = self.headers.get("content-type", "")
        if "json" in ctype and body:
            try:
                self.json = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                self.json = None

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return f"<{self.status} {self.header('content-type')} {self.body[:300]!r}>"


def _encode_body(body, headers):
    if body is None:
        return None
    if isinstance(body, (dict, list)):
        headers.setdefault("Content-Type", "application/json")
        return json.dumps(body).encode("utf-8")
    if isinstance(body, str):
        return body.encode("utf-8")
    return body


class Client:
    """One keep-alive HTTP/1.1 connection to a logeerd."""

    def __init__(self, port, host="127.0.0.1", timeout=None):
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout or 10 * SCALE)

    def request(self, method, path, body=None, headers=None, token=None):
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = _encode_body(body, headers)
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        payload = resp.read()
        answer = Response(resp.status, resp.getheaders(), payload)
        judge_answer(method, path, answer)
        return answer

    def close(self):
        self.conn.close()


def request(port, method, path, body=None, headers=None, token=None, timeout=None):
    """One request on its own connection; returns a Response."""
    client = Client(port, timeout=timeout)
    try:
        return client.request(method, path, body=body, headers=headers, token=token)
    finally:
        client.close()


def parse_raw_response(data):
    """Parses the first HTTP response in data; returns a Response or None when there is none."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    if not m:
        return None
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    length = None
    for name, value in headers:
        if name.lower() == "content-length" and value.isdigit():
            length = int(value)
    body = rest[:length] if length is not None else rest
    return Response(int(m.group(1)), headers, body)


def raw_exchange(port, data, timeout=None, chunk_size=65536):
    """Sends raw bytes and reads until the server closes, a whole response has arrived, or the
    timeout passes. Returns (Response or None, raw bytes received, error text or None); a reset
    or broken pipe is reported as the error, not raised, since some tests accept it."""
    timeout = timeout or 10 * SCALE
    received = b""
    error = None
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            for i in range(0, len(data), chunk_size):
                sock.sendall(data[i:i + chunk_size])
        except OSError as e:
            error = f"send: {e.__class__.__name__}: {e}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            resp = parse_raw_response(received)
            if resp is not None and _raw_complete(received, resp):
                break
            try:
                sock.settimeout(max(0.05, deadline - time.monotonic()))
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            except OSError as e:
                error = error or f"recv: {e.__class__.__name__}: {e}"
                break
            if not chunk:
                break
            received += chunk
    answer = parse_raw_response(received)
    request_line = re.match(rb"([A-Z]+) (/[!-~]*) HTTP/1\.[01]\r\n", data)
    if answer is not None and request_line:
        judge_answer(request_line.group(1).decode(), request_line.group(2).decode("latin-1"),
                     answer)
    return answer, received, error


def _raw_complete(received, resp):
    length = resp.header("content-length")
    if length is None or not length.isdigit():
        return False
    head_len = received.index(b"\r\n\r\n") + 4
    return len(received) - head_len >= int(length)


# ---------------------------------------------------------------------------------------------
# the contract: every answer a test receives is judged against docs/openapi.yaml

def contract():
    return _contract_module.shared(SOURCE_DIR)


def judge_answer(method, target, resp):
    """Fails the test when an answer breaks the contract: a status not documented for the
    operation, a media type not listed, a JSON body that does not match its schema or has a
    field the schema lacks. Silent when the answer keeps it (a test makes thousands)."""
    for problem in contract().judge(method, target, resp.status, resp.header("content-type"),
                                    resp.body):
        fail(f"the answer keeps docs/openapi.yaml: {problem}", repr(resp)[:400])


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_problem(resp, status):
    """True when resp is an RFC 9457 problem with the given status; else a reason string."""
    ctype = resp.header("content-type", "")
    if resp.status != status:
        return False
    if not ctype.startswith("application/problem+json"):
        return False
    body = resp.json
    if not isinstance(body, dict):
        return False
    for field in ("type", "title", "status", "detail"):
        if field not in body:
            return False
    return body["status"] == status


def check_problem(name, resp, status):
    return check(name, is_problem(resp, status), f"got {resp!r}")


# ---------------------------------------------------------------------------------------------
# the server

_servers = []


class Server:
    """A `logeerd serve` on a free loopback port, with stdout and stderr captured to files."""

    def __init__(self, database_url, env=None, extra_args=(), start_timeout=None, keep=False):
        self.database_url = database_url
        self.keep = keep  # survives the end of the test that started it (shared by tests)
        self.logdir = scratch_dir("logeer-test-srv-")
        self.stdout_path = os.path.join(self.logdir, "stdout.log")
        self.stderr_path = os.path.join(self.logdir, "stderr.log")
        self.proc = None
        self.stopped = False
        for attempt in range(3):
            self.port = free_port()
            self._spawn(env, extra_args)
            if self._wait_live(start_timeout or 15 * SCALE):
                self._wait_index_loaded(start_timeout or 15 * SCALE)
                break
            still_running = self.proc.poll() is None
            self._kill()
            if still_running or attempt == 2:
                raise RuntimeError("logeerd serve did not answer /livez; stderr: "
                                   + self.stderr_tail())
            # It exited: most likely someone took the port in the meantime. Try another.
        _servers.append(self)

    def _spawn(self, env, extra_args):
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        args = [LOGEERD, "serve", "--listen", f"127.0.0.1:{self.port}",
                "--database-url", self.database_url, *extra_args]
        # Webhooks need a server key; a test that wants none passes LOGEER_WEBHOOK_KEY="".
        env = {"LOGEER_WEBHOOK_KEY": "test-webhook-key", **(env or {})}
        self.proc = subprocess.Popen(args, stdout=self._out, stderr=self._err,
                                     stdin=subprocess.DEVNULL, env=_command_env(env))

    def _wait_live(self, timeout):
        def live():
            if self.proc.poll() is not None:
                return "exited"
            try:
                return request(self.port, "GET", "/livez", timeout=2 * SCALE).status == 200
            except OSError:
                return False
        return wait_until(live, timeout) is True

    def _wait_index_loaded(self, timeout):
        """Live is not ready: the availability index loads from the database just after start.
        Wait until /readyz no longer says it is loading (200, or 503 for another reason such
        as an unmigrated schema, which some tests want to see)."""
        def loaded():
            try:
                resp = request(self.port, "GET", "/readyz", timeout=2 * SCALE)
            except OSError:
                return False
            return resp.status == 200 or b"loading" not in (resp.body or b"")
        wait_until(loaded, timeout)

    @property
    def pid(self):
        return self.proc.pid

    def client(self):
        return Client(self.port)

    def request(self, method, path, body=None, headers=None, token=None, timeout=None):
        return request(self.port, method, path, body=body, headers=headers, token=token,
                       timeout=timeout)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def raw(self, data, timeout=None):
        return raw_exchange(self.port, data, timeout=timeout)

    def login(self, email, password=DEMO_PASSWORD):
        """Logs in and returns the token; a failed login is a failed check and raises."""
        resp = self.request("POST", "/v1/sessions", {"email": email, "password": password})
        if not check(f"login as {email} gives 201 with a token",
                     resp.status == 201 and isinstance(resp.json, dict)
                     and isinstance(resp.json.get("token"), str), repr(resp)):
            raise RuntimeError(f"login as {email} failed")
        return resp.json["token"]

    def stdout_text(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr_text(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr_tail(self, n=40):
        return "\n".join(self.stderr_text().splitlines()[-n:])

    def log_lines(self):
        """Parsed JSON lines from stdout; a line that is not JSON is kept as a string."""
        out = []
        for line in self.stdout_text().splitlines():
            if not line.strip():
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append(line)
        return out

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        """Waits for the process to exit; returns its exit code or None on timeout."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig=signal.SIGTERM, timeout=None, label=""):
        """Sends SIGTERM, checks that logeerd exits 0 in time and left no sanitizer report.
        Returns the exit code (None when it had to be killed)."""
        if self.stopped:
            return self.proc.returncode
        label = label or f"logeerd on port {self.port}"
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.wait_exit(timeout or 10 * SLACK)
        if rc is None:
            self._kill()
        self.finish(rc, label, sig)
        return rc

    def finish(self, rc, label, sig=signal.SIGTERM):
        """The checks every server run ends with; also used by tests that signal it themselves."""
        if self.stopped:
            return
        self.stopped = True
        self._close_files()
        signame = signal.Signals(sig).name
        check(f"{label} exits 0 after {signame}", rc == 0,
              f"exit code {rc}; stderr tail:\n{self.stderr_tail()}")
        self.check_sanitizers(label)
        if self in _servers:
            _servers.remove(self)

    def check_sanitizers(self, label):
        text = self.stderr_text()
        m = SANITIZER_PATTERNS.search(text)
        detail = ""
        if m:
            start = max(0, m.start() - 200)
            detail = text[start:start + 4000]
        check(f"{label} stderr has no sanitizer report", m is None, detail)

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_files()

    def _close_files(self):
        for f in (getattr(self, "_out", None), getattr(self, "_err", None)):
            if f and not f.closed:
                f.close()


def _stop_leftover_servers(keep_shared):
    """A test that crashed may leave its server running: stop it, still checking how it ends.
    Servers started with keep=True are shared by several tests and stopped at the very end."""
    for server in list(_servers):
        if keep_shared and server.keep:
            continue
        server.stop(label=f"logeerd on port {server.port} (left running)")


def _kill_all_servers():
    for server in list(_servers):
        server._kill()


atexit.register(_kill_all_servers)


# ---------------------------------------------------------------------------------------------
# reservation fixtures: accounts, tokens, pools, capacity and counters for the stay tests.
# Pools are made through the inventory API as provider staff; while that API is not there yet
# they are made with SQL instead (said in the log), so booking tests can still prove the core.

import datetime as _dt
from concurrent.futures import ThreadPoolExecutor as _Pool

TEST_PASSWORD = "logeer-test-password"
DEMO_PROVIDER_IDS = {
    "planner@esdorp.demo.logeer.nl": "d0000000-0000-4000-a000-000000000001",
    "planner@hunzehof.demo.logeer.nl": "d0000000-0000-4000-a000-000000000002",
}
STAY_ACTIONS = ("confirm", "accept", "decline", "cancel", "check-in", "check-out", "no-show")


def today_local(conninfo):
    """The engine's "today": the date in Europe/Amsterdam, as PostgreSQL sees it."""
    text = scalar(conninfo, "SELECT (now() AT TIME ZONE 'Europe/Amsterdam')::date")
    return _dt.date.fromisoformat(text)


def add_user(conninfo, email, role, password=TEST_PASSWORD, provider=None, municipality=None):
    """`logeerd user add`; returns the new user's id. Raises when the command fails."""
    args = ["user", "add", "--database-url", conninfo, "--email", email, "--role", role]
    if provider:
        args += ["--provider", provider]
    if municipality:
        args += ["--municipality", municipality]
    proc = logeerd(*args, stdin=password + "\n")
    if proc.returncode != 0:
        raise RuntimeError(f"user add {email} failed: {_describe(proc)}")
    return proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else None


def add_caregivers(conninfo, n, prefix="mz", municipality="GM0106", workers=8):
    """Creates n caregiver accounts in parallel; returns their emails in order."""
    tag = uuid.uuid4().hex[:6]
    emails = [f"{prefix}{i:03d}-{tag}@test.logeer.nl" for i in range(n)]
    with _Pool(max_workers=workers) as pool:
        list(pool.map(lambda e: add_user(conninfo, e, "caregiver", municipality=municipality),
                      emails))
    return emails


def login_many(server, emails, password=TEST_PASSWORD, workers=8):
    """Logs every account in (in parallel, through POST /v1/sessions); returns the tokens in
    order. Any failed login raises, after one check naming how many failed."""
    def one(email):
        return server.request("POST", "/v1/sessions", {"email": email, "password": password})
    with _Pool(max_workers=workers) as pool:
        responses = list(pool.map(one, emails))
    bad = [(e, r) for e, r in zip(emails, responses)
           if r.status != 201 or not isinstance(r.json, dict) or "token" not in r.json]
    if not check(f"{len(emails)} logins all give 201 with a token", not bad,
                 f"{len(bad)} failed, first: {bad[0][1]!r}" if bad else ""):
        raise RuntimeError("logins failed")
    return [r.json["token"] for r in responses]


def route_missing(resp):
    """True when the router itself does not know the path or method: a 405, or a 404 whose
    detail is the router's "no resource at ..." (an object 404 says something else)."""
    if resp.status == 405:
        return True
    detail = resp.json.get("detail", "") if isinstance(resp.json, dict) else ""
    return resp.status == 404 and str(detail).startswith("no resource at")


def problem_type(resp):
    """The last segment of a problem's type URI ("no-beds"), or None for other answers."""
    if isinstance(resp.json, dict) and isinstance(resp.json.get("type"), str):
        return resp.json["type"].rstrip("/").rsplit("/", 1)[-1]
    return None


def stay_body(pool_id, check_in, check_out, funding="wlz", alias="mevr. T.", birth_year=1940,
              care_profile="dementia", needs=(), waitlist=False, **extra):
    """A POST /v1/stays body; dates may be date objects or strings."""
    body = {"pool_id": pool_id, "check_in": str(check_in), "check_out": str(check_out),
            "funding": funding,
            "guest": {"alias": alias, "birth_year": birth_year, "care_profile": care_profile,
                      "needs": list(needs)},
            "waitlist": waitlist}
    body.update(extra)
    return body


def _sql_text(value):
    if value is None:
        return "NULL"
    return "'" + str(value).replace("'", "''") + "'"


def _sql_array(values):
    return "ARRAY[" + ",".join(_sql_text(v) for v in values) + "]::text[]"


def _create_location_sql(conninfo, provider_id, name, municipality):
    return scalar(conninfo,
                  "INSERT INTO locations (provider_id, name, municipality, address, lat, lon) "
                  f"VALUES ({_sql_text(provider_id)}, {_sql_text(name)}, "
                  f"{_sql_text(municipality)}, 'Teststraat 1', 52.99, 6.56) RETURNING id")


def _create_pool_sql(conninfo, location_id, spec):
    return scalar(conninfo,
                  "INSERT INTO pools (location_id, provider_id, name, kind, care_profiles, "
                  "funding, wmo_municipalities, booking_mode, min_nights, max_nights, "
                  "lead_days, horizon_days) SELECT l.id, l.provider_id, "
                  f"{_sql_text(spec['name'])}, {_sql_text(spec['kind'])}::pool_kind, "
                  f"{_sql_array(spec['care_profiles'])}, {_sql_array(spec['funding'])}, "
                  f"{_sql_array(spec['wmo_municipalities'])}, "
                  f"{_sql_text(spec['booking_mode'])}::booking_mode, {int(spec['min_nights'])}, "
                  f"{int(spec['max_nights'])}, {int(spec['lead_days'])}, "
                  f"{int(spec['horizon_days'])} FROM locations l "
                  f"WHERE l.id = {_sql_text(location_id)} RETURNING id")


def _set_capacity_sql(conninfo, pool_id, ranges):
    for r in ranges:
        psql(conninfo,
             "INSERT INTO pool_nights (pool_id, night, capacity) "
             f"SELECT {_sql_text(pool_id)}, d::date, {int(r['beds'])} FROM generate_series("
             f"{_sql_text(r['from'])}::date, {_sql_text(r['to'])}::date - 1, '1 day') AS d "
             "ON CONFLICT (pool_id, night) DO UPDATE SET capacity = EXCLUDED.capacity")


def put_capacity(server, token, pool_id, ranges, if_match="*", **extra):
    """PUT /v1/pools/{id}/capacity; ranges are dicts with from, to (exclusive) and beds."""
    body = {"ranges": [{"from": str(r["from"]), "to": str(r["to"]), "beds": r["beds"]}
                       for r in ranges]}
    body.update(extra)
    headers = {"If-Match": if_match} if if_match else {}
    return server.request("PUT", f"/v1/pools/{pool_id}/capacity", body, headers=headers,
                          token=token)


class PoolFixture:
    """A pool made for a test; via says how it was made: "api" or "sql"."""

    def __init__(self, pool_id, location_id, via):
        self.id = pool_id
        self.location_id = location_id
        self.via = via


def make_pool(server, conninfo, token, provider_id, beds, night_from, night_to, kind="planned",
              booking_mode="instant", care_profiles=("dementia", "somatic"),
              funding=("wmo", "wlz", "zvw", "pgb", "private"), wmo_municipalities=("GM0106",),
              min_nights=1, max_nights=21, lead_days=0, horizon_days=365, municipality="GM0106",
              location_id=None, name=None):
    """A location (unless given) and a pool of the caller's provider with `beds` beds on every
    night in [night_from, night_to). Uses the inventory API as provider staff; falls back to SQL
    only where the API's route does not exist yet. Raises when the API refuses the request."""
    via = "api"
    label = name or f"Testpool {uuid.uuid4().hex[:6]}"
    if location_id is None:
        body = {"provider_id": provider_id, "name": f"Locatie {label}",
                "municipality": municipality, "address": "Teststraat 1", "lat": 52.99,
                "lon": 6.56, "facilities": ["dementia", "night_care"], "exclusions": []}
        resp = server.request("POST", "/v1/locations", body, token=token)
        if route_missing(resp):
            via = "sql"
            location_id = _create_location_sql(conninfo, provider_id, body["name"],
                                               municipality)
        elif resp.status == 201 and isinstance(resp.json, dict):
            location_id = resp.json["id"]
        else:
            raise RuntimeError(f"POST /v1/locations refused: {resp!r}")
    spec = {"location_id": location_id, "name": label, "kind": kind,
            "care_profiles": list(care_profiles), "funding": list(funding),
            "wmo_municipalities": list(wmo_municipalities) if "wmo" in funding else [],
            "booking_mode": booking_mode, "min_nights": min_nights, "max_nights": max_nights,
            "lead_days": lead_days, "horizon_days": horizon_days}
    resp = server.request("POST", "/v1/pools", spec, token=token)
    if route_missing(resp):
        via = "sql"
        pool_id = _create_pool_sql(conninfo, location_id, spec)
    elif resp.status == 201 and isinstance(resp.json, dict):
        pool_id = resp.json["id"]
    else:
        raise RuntimeError(f"POST /v1/pools refused: {resp!r}")
    ranges = [{"from": str(night_from), "to": str(night_to), "beds": beds}]
    resp = put_capacity(server, token, pool_id, ranges)
    if route_missing(resp):
        via = "sql"
        _set_capacity_sql(conninfo, pool_id, ranges)
    elif resp.status != 200:
        raise RuntimeError(f"PUT /v1/pools/{pool_id}/capacity refused: {resp!r}")
    if via == "sql":
        info(f"pool {pool_id} made with SQL: the inventory API does not serve every route yet")
    return PoolFixture(pool_id, location_id, via)


def db_nights(conninfo, pool_id):
    """{night: (capacity, held, booked)} from pool_nights."""
    rows = psql(conninfo, "SELECT night, capacity, held, booked FROM pool_nights "
                          f"WHERE pool_id = {_sql_text(pool_id)} ORDER BY night")
    return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows}


def nights_with_implied(conninfo, pool_id):
    """{night: (capacity, held, booked, implied_held, implied_booked)}, read in one statement so
    that counters and stays come from one snapshot: the hold sweeper or a waitlist offer of a
    running logeerd may commit between two separate reads. Held and requested stays hold a bed;
    confirmed, checked_in and completed stays have one booked."""
    rows = psql(conninfo,
                "SELECT n.night, n.capacity, n.held, n.booked, "
                "count(s.id) FILTER (WHERE s.status IN ('held', 'requested')), "
                "count(s.id) FILTER (WHERE s.status IN ('confirmed', 'checked_in', 'completed')) "
                "FROM pool_nights n LEFT JOIN stays s ON s.pool_id = n.pool_id "
                "AND s.check_in <= n.night AND n.night < s.check_out "
                f"WHERE n.pool_id = {_sql_text(pool_id)} "
                "GROUP BY n.night, n.capacity, n.held, n.booked ORDER BY n.night")
    return {r[0]: tuple(int(v) for v in r[1:]) for r in rows}


def overbooked_night_count(conninfo):
    return int(scalar(conninfo, "SELECT count(*) FROM pool_nights WHERE held + booked > capacity"))


def check_counters_match_stays(label, conninfo, pool_id):
    """Checks, from psql: no night anywhere is overbooked, and every night of the pool counts
    exactly what its stays imply. Prints the per-night figures as evidence."""
    check_equal(f"{label}: SELECT count(*) FROM pool_nights WHERE held+booked > capacity is 0",
                overbooked_night_count(conninfo), 0)
    both = nights_with_implied(conninfo, pool_id)
    nights = {n: v[:3] for n, v in both.items()}
    implied = {n: v[3:] for n, v in both.items()}
    used = {n: v for n, v in nights.items() if v[1] or v[2] or implied.get(n, (0, 0)) != (0, 0)}
    for night, (cap, held, booked) in sorted(used.items()):
        info(f"{night}: capacity {cap} held {held} booked {booked}; stays imply "
             f"held {implied.get(night, (0, 0))[0]} booked {implied.get(night, (0, 0))[1]}")
    mismatched = {n: (nights[n][1:], implied.get(n)) for n in nights
                  if nights[n][1:] != implied.get(n, (0, 0))}
    check(f"{label}: pool_nights held/booked equal what the stays table implies on every night",
          not mismatched, f"night: (counters, implied) {mismatched}")
    over = {n: v for n, v in nights.items() if v[1] + v[2] > v[0]}
    check(f"{label}: held + booked <= capacity on every night of the pool", not over, over)
    return nights


def capacity_nights(server, token, pool_id, night_from, night_to):
    """GET /v1/pools/{id}/capacity as {date: (capacity, held, booked, free)}; None when the
    route does not answer 200 (the caller decides whether that is a failure)."""
    resp = server.request("GET", f"/v1/pools/{pool_id}/capacity?from={night_from}&to={night_to}",
                          token=token)
    if resp.status != 200 or not isinstance(resp.json, dict):
        return None
    out = {}
    for n in resp.json.get("nights", []):
        out[n.get("date")] = (n.get("capacity"), n.get("held"), n.get("booked"), n.get("free"))
    return out


def availability_free(server, token, pool_id, check_in, nights, extra=""):
    """The free count a search reports for pool_id (0 when the pool is not in the results);
    None when the search itself fails."""
    resp = server.request("GET", f"/v1/availability?check_in={check_in}&nights={nights}"
                                 f"&limit=100{extra}", token=token)
    if resp.status != 200 or not isinstance(resp.json, dict):
        return None
    for r in resp.json.get("results", []):
        if r.get("pool_id") == pool_id:
            return r.get("free")
    return 0


def race(n, action, start_timeout=30):
    """Runs action(i) in n threads released together by a barrier (each thread should open its
    own connection before waiting); returns the results in order. An exception in a thread is
    returned as its result."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        try:
            results[i] = action(i, barrier)
        except Exception as e:  # reported by the caller as a failed request
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(start_timeout * SCALE)
    return results


# ---------------------------------------------------------------------------------------------
# crashes: a logeerd killed on purpose, and one restarted in its place

def kill9(server, label=""):
    """SIGKILLs a running logeerd as a crash would, and settles it with the harness: it no
    longer counts as left running, and the sanitizer check still runs on what it printed
    before it died (a killed process cannot report leaks, but earlier errors stay visible).
    Returns the exit code (-9 when the kill landed)."""
    label = label or f"logeerd on port {server.port} (killed with SIGKILL)"
    if server.proc.poll() is None:
        server.proc.kill()
    rc = server.proc.wait()
    server.stopped = True
    server._close_files()
    server.check_sanitizers(label)
    if server in _servers:
        _servers.remove(server)
    return rc
