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


def migrated_database(seed=False):
    """A fresh database with all migrations applied (and the demo data when seed is true).
    Failing to get there is a failed check and raises, since nothing after it can be tested."""
    url = fresh_database()
    proc = migrate(url, MIGRATIONS_DIR)
    if not check("logeerd migrate succeeds on a fresh database", proc.returncode == 0,
                 _describe(proc)):
        raise RuntimeError("migrate failed")
    if seed:
        proc = seed_demo(url)
        if not check("logeerd seed-demo succeeds", proc.returncode == 0, _describe(proc)):
            raise RuntimeError("seed-demo failed")
    return url


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
        return Response(resp.status, resp.getheaders(), payload)

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
    return parse_raw_response(received), received, error


def _raw_complete(received, resp):
    length = resp.header("content-length")
    if length is None or not length.isdigit():
        return False
    head_len = received.index(b"\r\n\r\n") + 4
    return len(received) - head_len >= int(length)


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
        self.logdir = tempfile.mkdtemp(prefix="logeer-test-srv-")
        atexit.register(shutil.rmtree, self.logdir, True)
        self.stdout_path = os.path.join(self.logdir, "stdout.log")
        self.stderr_path = os.path.join(self.logdir, "stderr.log")
        self.proc = None
        self.stopped = False
        for attempt in range(3):
            self.port = free_port()
            self._spawn(env, extra_args)
            if self._wait_live(start_timeout or 15 * SCALE):
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
