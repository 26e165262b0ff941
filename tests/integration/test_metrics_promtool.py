"""GET /metrics is machine-checked: after traffic that makes every family appear (logins, a
search, a booking, a 404, database reads, a live event stream), `promtool check metrics` finds
no problem in the body, every family has HELP and TYPE and is documented in docs/operations.md,
and every metric the alerting rules in deploy/prometheus/alerts.yml use is there. The gauges the
alerts rely on tell the truth: readiness, stale counts against the database, the events feed's
lag while a transaction holds events back, and, with TLS, the certificate's expiry time. A
missing promtool is a failure, not a skip (deploy/install-deps.sh installs it)."""

import datetime as dt
import http.client
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

import harness as h

ALERTS = os.path.join(h.SOURCE_DIR, "deploy", "prometheus", "alerts.yml")
OPERATIONS = os.path.join(h.SOURCE_DIR, "docs", "operations.md")
COORDINATOR = "aanjager@demo.logeer.nl"
# Every family logeerd exposes; the last only while it serves TLS itself.
FAMILIES = {
    "logeer_http_requests_total": "counter",
    "logeer_http_request_duration_seconds": "histogram",
    "logeer_db_pool_connections": "gauge",
    "logeer_db_pool_queued": "gauge",
    "logeer_db_queries_total": "counter",
    "logeer_db_errors_total": "counter",
    "logeer_db_reconnects_total": "counter",
    "logeer_db_wakeups_total": "counter",
    "logeer_db_wakeups_lost_total": "counter",
    "logeer_db_up": "gauge",
    "logeer_ready": "gauge",
    "logeer_http_connections": "gauge",
    "logeer_http_in_flight": "gauge",
    "logeer_workers_pending": "gauge",
    "logeer_event_loop_lag_seconds": "histogram",
    "logeer_access_log_rows_retrying": "gauge",
    "logeer_access_log_rows_lost_total": "counter",
    "logeer_index_pools_out_of_step_total": "counter",
    "logeer_pools_stale": "gauge",
    "logeer_providers_stale": "gauge",
    "logeer_events_subscribers": "gauge",
    "logeer_events_feed_lag_seconds": "gauge",
    "logeer_notify_queue_depth": "gauge",
    "logeer_notify_oldest_pending_seconds": "gauge",
    "logeer_notify_failed_messages": "gauge",
    "logeer_notify_attempts_total": "counter",
    "logeer_notify_scheduled_total": "counter",
}
TLS_FAMILY = "logeer_tls_certificate_expiry_timestamp_seconds"
# What the alerts stand on; alerts.yml is also read, so a new rule is covered by itself.
ALERT_FAMILIES = {"logeer_db_up", "logeer_ready", "logeer_http_requests_total",
                  "logeer_db_pool_queued", "logeer_events_feed_lag_seconds",
                  "logeer_providers_stale", TLS_FAMILY}
PROMTOOL = shutil.which("promtool")


# ---------------------------------------------------------------------------------------------
# the exposition format

class Exposition:
    """One /metrics body: HELP and TYPE per family, and the samples as (name, labels, value)."""

    SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")
    LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

    def __init__(self, text):
        self.text = text
        self.help, self.type, self.samples = {}, {}, []
        for line in text.splitlines():
            if line.startswith("# HELP "):
                name, _, rest = line[len("# HELP "):].partition(" ")
                self.help[name] = rest
            elif line.startswith("# TYPE "):
                name, _, rest = line[len("# TYPE "):].partition(" ")
                self.type[name] = rest
            elif line and not line.startswith("#"):
                m = self.SAMPLE.match(line)
                if m:
                    labels = dict(self.LABEL.findall(m.group(2) or ""))
                    self.samples.append((m.group(1), labels, float(m.group(3))))

    def family_of(self, name):
        for suffix in ("_bucket", "_sum", "_count"):
            base = name[:-len(suffix)]
            if name.endswith(suffix) and self.type.get(base) == "histogram":
                return base
        return name

    def families_with_samples(self):
        return {self.family_of(name) for name, _, _ in self.samples}

    def value(self, name, **labels):
        """The one sample of name whose labels include these; None when there is none."""
        for n, lab, v in self.samples:
            if n == name and all(lab.get(k) == want for k, want in labels.items()):
                return v
        return None

    def series(self, name):
        return [(lab, v) for n, lab, v in self.samples if n == name]


def promtool_problems(body):
    """Runs `promtool check metrics` on body; returns (exit code, the lines it reported)."""
    proc = subprocess.run([PROMTOOL, "check", "metrics"], input=body, capture_output=True,
                          text=True, timeout=60)
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    return proc.returncode, lines


def check_promtool(label, body):
    if not h.check("promtool is installed (Debian package prometheus, deploy/install-deps.sh)",
                   PROMTOOL is not None, "promtool not on PATH"):
        return
    rc, problems = promtool_problems(body)
    h.info(f"promtool check metrics on {label}: exit {rc}, {len(problems)} problem(s)")
    h.check(f"promtool check metrics reports 0 problems on {label}", rc == 0 and not problems,
            f"exit {rc}: " + "; ".join(problems[:20]))


def alert_metric_names():
    with open(ALERTS, encoding="utf-8") as f:
        return set(re.findall(r"\b(logeer_[a-z0-9_]+)", f.read()))


# ---------------------------------------------------------------------------------------------
# the server under test and the traffic

def world():
    def make():
        url = h.migrated_database(seed=True)
        srv = h.Server(url, keep=True)
        # A caregiver of its own: the demo ones may already have the most open requests allowed.
        caregiver = f"metrics-{os.getpid()}@test.logeer.nl"
        h.add_user(url, caregiver, "caregiver", municipality="GM0106")
        return {"url": url, "srv": srv,
                "caregiver": srv.login(caregiver, password=h.TEST_PASSWORD),
                "coordinator": srv.login(COORDINATOR)}
    return h.once("world", make)


def metrics(srv):
    """One scrape; anything but a 200 in text format 0.0.4 raises (a failed check)."""
    resp = srv.get("/metrics")
    if resp.status != 200 or "version=0.0.4" not in (resp.header("content-type") or ""):
        raise RuntimeError(f"GET /metrics: {resp!r}")
    return Exposition(resp.text)


def metrics_when(srv, predicate, timeout):
    """Scrapes until predicate(exposition) holds or timeout seconds pass; returns the last
    exposition either way (the caller's checks then say what was wrong)."""
    last = [None]

    def scrape():
        last[0] = metrics(srv)
        return predicate(last[0])
    h.wait_until(scrape, timeout, interval=0.2)
    return last[0] if last[0] is not None else metrics(srv)


def book(w, first_day, nights=2):
    """A caregiver's instant booking found by a search; returns the POST /v1/stays response."""
    srv, token = w["srv"], w["caregiver"]
    check_in = h.today_local(w["url"]) + dt.timedelta(days=first_day)
    search = srv.get(f"/v1/availability?check_in={check_in}&nights={nights}&funding=wlz"
                     "&care_profile=dementia&limit=20", token=token)
    h.check_equal(f"a search for {check_in} is 200", search.status, 200)
    hits = [r for r in (search.json or {}).get("results", [])
            if r.get("booking_mode") == "instant" and r.get("check_in") == str(check_in)]
    if not h.check("the search finds an instant pool", hits, repr(search)):
        raise RuntimeError("nothing to book")
    body = h.stay_body(hits[0]["pool_id"], check_in, check_in + dt.timedelta(days=nights),
                       funding="wlz")
    return srv.request("POST", "/v1/stays", body, token=token)


class EventStream:
    """An open GET /v1/events, read only when asked: enough to hold a subscription and to see
    whether a given stay's event came through."""

    def __init__(self, port, token):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10 * h.SCALE)
        self.sock.sendall(f"GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          f"Accept: text/event-stream\r\nAuthorization: Bearer {token}\r\n\r\n"
                          .encode())
        self.received = b""
        while b"\r\n\r\n" not in self.received:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.received += chunk
        self.status = self.received[9:12].decode("latin-1")

    def wait_for(self, needle, timeout):
        deadline = time.monotonic() + timeout
        while needle.encode() not in self.received and time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            self.received += chunk
        return needle.encode() in self.received

    def close(self):
        self.sock.close()


def psql_session(url):
    """An interactive psql fed line by line, to hold a transaction open between steps."""
    return subprocess.Popen([h.PSQL, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)


def psql_run(session, sql):
    session.stdin.write(sql + "\n\\echo done\n")
    session.stdin.flush()
    out = []
    while True:
        line = session.stdout.readline()
        if not line or line.strip() == "done":
            return out
        out.append(line.strip())


# ---------------------------------------------------------------------------------------------
# the tests

def test_after_traffic_every_family_is_there_and_promtool_finds_no_problem():
    w = world()
    srv = w["srv"]
    stream = EventStream(srv.port, w["coordinator"])
    h.check_equal("a coordinator's GET /v1/events stream opens (200)", stream.status, "200")
    try:
        resp = book(w, first_day=84)  # past the weeks the demo has taken
        h.check("a caregiver's booking is 201", resp.status == 201, repr(resp))
        h.check_equal("an unknown path is 404", srv.get("/v1/no-such-thing").status, 404)
        h.check_equal("GET /v1/me (a database read) is 200",
                      srv.get("/v1/me", token=w["caregiver"]).status, 200)
        h.check_equal("GET /readyz is 200", srv.get("/readyz").status, 200)
        # The notification gauges come from a query on the worker's timer, a poll interval
        # after start: wait for them as for readiness (slow under AddressSanitizer).
        m = metrics_when(srv, lambda e: e.value("logeer_ready") == 1 and
                         "logeer_notify_queue_depth" in e.families_with_samples(), 5 * h.SCALE)
        check_promtool("a seeded server after traffic", m.text)

        present = m.families_with_samples()
        for family, kind in FAMILIES.items():
            h.check(f"{family} has HELP, TYPE {kind} and a sample",
                    family in m.help and m.type.get(family) == kind and family in present,
                    f"help {m.help.get(family)!r}, type {m.type.get(family)!r}")
        undeclared = {f for f in present if f not in m.help or f not in m.type}
        h.check("every sample belongs to a family with HELP and TYPE", not undeclared,
                sorted(undeclared))
        unknown = set(m.type) - set(FAMILIES) - {TLS_FAMILY}
        h.check("no family beyond the ones this test knows (add new ones here)", not unknown,
                sorted(unknown))
        with open(OPERATIONS, encoding="utf-8") as f:
            operations = f.read()
        undocumented = sorted(f for f in set(m.type) | {TLS_FAMILY} if f"`{f}`" not in operations)
        h.check("every family is documented in docs/operations.md", not undocumented,
                undocumented)

        requests = {(lab.get("route"), lab.get("method"), lab.get("status"))
                    for lab, _ in m.series("logeer_http_requests_total")}
        for route, method, status in (("/v1/stays", "POST", "201"),
                                      ("/v1/availability", "GET", "200"),
                                      ("/v1/sessions", "POST", "201"),
                                      ("unmatched", "GET", "404"), ("/readyz", "GET", "200")):
            h.check(f"logeer_http_requests_total has {method} {route} {status} "
                    "(the alerts select on these labels)",
                    (route, method, status) in requests, sorted(requests))
        h.check_equal("logeer_db_up is 1 for the requests' pool",
                      m.value("logeer_db_up", pool="api"), 1)
        h.check_equal("and for the background jobs' pool",
                      m.value("logeer_db_up", pool="background"), 1)
        h.check_equal("logeer_ready is 1 once /readyz is 200", m.value("logeer_ready"), 1)
        h.check_equal("logeer_events_subscribers counts the open stream",
                      m.value("logeer_events_subscribers"), 1)
        h.check("logeer_http_in_flight counts the open stream and this scrape",
                (m.value("logeer_http_in_flight") or 0) >= 2, m.value("logeer_http_in_flight"))
        h.check(f"{TLS_FAMILY} is absent without TLS", TLS_FAMILY not in m.type)
    finally:
        stream.close()


def test_every_metric_the_alerts_use_is_exposed():
    w = world()
    m = metrics(w["srv"])
    used = alert_metric_names()
    h.info(f"alerts.yml uses {sorted(used)}")
    h.check("alerts.yml uses the families the alerts are meant to stand on",
            ALERT_FAMILIES <= used, sorted(ALERT_FAMILIES - used))
    present = m.families_with_samples() | {TLS_FAMILY}  # checked on the TLS server below
    missing = sorted(used - present)
    h.check("every logeer_ metric in alerts.yml has a sample in /metrics", not missing, missing)


def test_loop_lag_ticks_and_its_buckets_add_up():
    """The loop's own timer ticks every 25 ms whether or not anyone asks; its histogram is
    cumulative and ends at the count."""
    w = world()
    first = metrics(w["srv"])
    time.sleep(1.0)
    later = metrics(w["srv"])
    ticks = later.value("logeer_event_loop_lag_seconds_count") - \
        first.value("logeer_event_loop_lag_seconds_count")
    h.check(f"the loop-lag timer ticked up to 40 times in a second ({ticks:.0f})",
            10 <= ticks <= 41, ticks)
    buckets = sorted((float(lab["le"]), v) for lab, v in
                     later.series("logeer_event_loop_lag_seconds_bucket"))
    counts = [v for _, v in buckets]
    h.check("its buckets never fall and end at the count",
            counts == sorted(counts) and counts[-1] ==
            later.value("logeer_event_loop_lag_seconds_count"), buckets)
    h.info(f"loop lag so far: {buckets}")


def test_stale_gauges_agree_with_the_database():
    w = world()
    m = metrics(w["srv"])
    pools = int(h.scalar(w["url"], "SELECT count(*) FROM pools WHERE active "
                                   "AND as_of < now() - make_interval(days => 7)"))
    providers = int(h.scalar(w["url"], "SELECT count(DISTINCT provider_id) FROM pools WHERE "
                                       "active AND as_of < now() - make_interval(days => 7)"))
    h.info(f"the database has {pools} stale pool(s) of {providers} provider(s)")
    h.check("the demo data has stale pools to count", pools > 0)
    h.check_equal("logeer_pools_stale equals the database's count", m.value("logeer_pools_stale"),
                  pools)
    h.check_equal("logeer_providers_stale equals the database's count",
                  m.value("logeer_providers_stale"), providers)
    h.psql(w["url"], "UPDATE pools SET as_of = now() WHERE active "
                     "AND as_of < now() - make_interval(days => 7)")
    m = metrics_when(w["srv"], lambda e: e.value("logeer_pools_stale") == 0, 5 * h.SCALE)
    h.check_equal("once the providers confirm their counts, logeer_pools_stale drops to 0",
                  m.value("logeer_pools_stale"), 0)
    h.check_equal("... and logeer_providers_stale too", m.value("logeer_providers_stale"), 0)


def test_feed_lag_grows_while_a_transaction_holds_events_back():
    w = world()
    srv = w["srv"]
    stream = EventStream(srv.port, w["coordinator"])
    session = psql_session(w["url"])
    try:
        psql_run(session, "BEGIN; SELECT pg_current_xact_id();")
        resp = book(w, first_day=98)  # past the weeks the demo has taken
        h.check("a booking while an older transaction is open is 201", resp.status == 201,
                repr(resp))
        stay_id = (resp.json or {}).get("id", "?")
        m = metrics_when(srv, lambda e: (e.value("logeer_events_feed_lag_seconds") or 0) >= 1.0,
                         10 * h.SCALE)
        h.check("logeer_events_feed_lag_seconds passes 1 s while the event is held back",
                (m.value("logeer_events_feed_lag_seconds") or 0) >= 1.0,
                m.value("logeer_events_feed_lag_seconds"))
        h.check("the stream has not seen the booking yet", not stream.wait_for(stay_id, 0.2))
        psql_run(session, "COMMIT;")
        m = metrics_when(srv, lambda e: e.value("logeer_events_feed_lag_seconds") == 0,
                         5 * h.SCALE)
        h.check_equal("after the old transaction ends the lag is 0 again",
                      m.value("logeer_events_feed_lag_seconds"), 0)
        h.check("and the booking's event reaches the stream", stream.wait_for(stay_id, 5 * h.SCALE))
    finally:
        session.stdin.close()
        session.wait(timeout=30)
        stream.close()
    m = metrics_when(srv, lambda e: e.value("logeer_events_subscribers") == 0, 5 * h.SCALE)
    h.check_equal("with the stream closed, logeer_events_subscribers is 0 again",
                  m.value("logeer_events_subscribers"), 0)
    h.check_equal("and the lag is 0", m.value("logeer_events_feed_lag_seconds"), 0)


def test_ready_gauge_follows_the_schema_version_without_a_scrape_asking():
    """Another binary migrating the database makes this one unready; the gauge notices from
    its own periodic check, and recovers when the schema matches again."""
    w = world()
    srv = w["srv"]
    latest = h.scalar(w["url"], "SELECT max(version) FROM schema_migrations")
    h.psql(w["url"], f"UPDATE schema_migrations SET version = version + 1000 "
                     f"WHERE version = {latest}")
    try:
        m = metrics_when(srv, lambda e: e.value("logeer_ready") == 0, 10 * h.SCALE)
        h.check_equal("logeer_ready turns 0 when the schema is at a newer version",
                      m.value("logeer_ready"), 0)
        h.check_equal("while logeer_db_up stays 1", m.value("logeer_db_up", pool="api"), 1)
    finally:
        h.psql(w["url"], f"UPDATE schema_migrations SET version = {latest} "
                         f"WHERE version = {latest} + 1000")
    m = metrics_when(srv, lambda e: e.value("logeer_ready") == 1, 5 * h.SCALE)
    h.check_equal("and back to 1 once the schema matches again", m.value("logeer_ready"), 1)


def test_unmigrated_database_is_not_ready_and_still_passes_promtool():
    srv = h.Server(h.fresh_database())
    m = metrics_when(srv, lambda e: e.value("logeer_db_up", pool="api") == 1, 5 * h.SCALE)
    h.check_equal("logeer_db_up is 1 (the database answers)",
                  m.value("logeer_db_up", pool="api"), 1)
    h.check_equal("logeer_ready is 0 on a database without the schema", m.value("logeer_ready"),
                  0)
    h.check_equal("as /readyz says (503)", srv.get("/readyz").status, 503)
    h.check("logeer_pools_stale has no sample while the index cannot load",
            m.value("logeer_pools_stale") is None, m.value("logeer_pools_stale"))
    check_promtool("a server on an unmigrated database", m.text)
    srv.stop()


# ---------------------------------------------------------------------------------------------
# TLS

def make_certificate(directory):
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    proc = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", cert, "-days", "20", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl req failed: {proc.stderr}")
    return cert, key


def not_after(cert):
    """The certificate's notAfter as a unix time, as openssl reads it."""
    out = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", cert],
                         capture_output=True, text=True, check=True).stdout.strip()
    text = out.split("=", 1)[1]  # e.g. "Dec 24 10:00:00 2026 GMT"
    return int(dt.datetime.strptime(text, "%b %d %H:%M:%S %Y %Z")
               .replace(tzinfo=dt.timezone.utc).timestamp())


class TlsServer(h.Server):
    """A logeerd serving HTTPS; the harness's waits are asked over TLS."""

    context = None

    def https(self, path):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10 * h.SCALE,
                                           context=self.context)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return h.Response(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()

    def _wait_live(self, timeout):
        def live():
            if self.proc.poll() is not None:
                return "exited"
            try:
                return self.https("/livez").status == 200
            except (OSError, ssl.SSLError):
                return False
        return h.wait_until(live, timeout) is True

    def _wait_index_loaded(self, timeout):
        h.wait_until(lambda: self.https("/readyz").status == 200, timeout)


def test_tls_server_exposes_the_certificate_expiry_time():
    directory = tempfile.mkdtemp(prefix="logeer-test-metrics-tls-")
    try:
        cert, key = make_certificate(directory)
        TlsServer.context = ssl.create_default_context(cafile=cert)
        srv = TlsServer(world()["url"], env={"LOGEER_TLS_CERT": cert, "LOGEER_TLS_KEY": key})
        resp = srv.https("/metrics")
        h.check_equal("GET /metrics over TLS is 200", resp.status, 200)
        m = Exposition(resp.text)
        expiry = m.value(TLS_FAMILY)
        h.check_equal(f"{TLS_FAMILY} is the certificate's notAfter", expiry, not_after(cert))
        h.check(f"{TLS_FAMILY} is a gauge with HELP",
                m.type.get(TLS_FAMILY) == "gauge" and TLS_FAMILY in m.help)
        h.check("... and about 20 days ahead", expiry and 19 * 86400 < expiry - time.time()
                < 21 * 86400, expiry)
        check_promtool("a TLS server", resp.text)
        srv.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


h.main(globals())
