"""Bad input against a real server: every malformed, oversized, impossible or slow request gets
the right 4xx application/problem+json (or, where the spec allows it, a closed connection);
the server never crashes, never leaks (ASan/LSan output is checked when it stops) and never
stalls other clients: a normal request's latency is measured during every abuse. Ends by
printing the matrix (case -> expected -> got)."""

import json
import re
import selectors
import socket
import threading
import time
import uuid

import harness as h

HEADER_TIMEOUT_MS = 2000
BODY_TIMEOUT_MS = 2000
IDLE_TIMEOUT_MS = 3000
SERVER_ENV = {
    "LOGEER_HTTP_HEADER_TIMEOUT_MS": str(HEADER_TIMEOUT_MS),
    "LOGEER_HTTP_BODY_TIMEOUT_MS": str(BODY_TIMEOUT_MS),
    "LOGEER_HTTP_IDLE_TIMEOUT_MS": str(IDLE_TIMEOUT_MS),
}
# A normal request slower than this while an abuse runs counts as a stall. Generous, since
# ctest runs other integration tests beside this one on two cores.
PROBE_LIMIT_S = 1.5 * h.SLACK
IDLE_CONNECTIONS = 1000
PROBE_PATH = "/v1/municipalities"

MATRIX = []  # (case, expected, got, probe summary, ok)


# ---------------------------------------------------------------------------------------------
# setup

def setup():
    url = h.migrated_database(seed=True)
    server = h.Server(url, env=SERVER_ENV, keep=True)
    caregiver = server.login("mantelzorger@demo.logeer.nl")
    provider_email = "planner@esdorp.demo.logeer.nl"
    provider = server.login(provider_email)
    today = h.today_local(url)
    pool = h.make_pool(server, url, provider, h.DEMO_PROVIDER_IDS[provider_email], beds=3,
                       night_from=today, night_to=today + h._dt.timedelta(days=60))
    return {"url": url, "server": server, "caregiver": caregiver, "provider": provider,
            "pool": pool.id, "today": today}


def ctx():
    return h.once("setup", setup)


def valid_stay():
    c = ctx()
    start = c["today"] + h._dt.timedelta(days=7)
    return h.stay_body(c["pool"], start, start + h._dt.timedelta(days=3))


# ---------------------------------------------------------------------------------------------
# the latency probe

class Probe:
    """Runs a normal request (GET /v1/municipalities on a fresh connection) every 50 ms on its
    own thread while an abuse runs, and remembers how long each took and whether it was 200."""

    def __init__(self, port):
        self.port = port
        self.samples = []  # (seconds, ok)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _once(self):
        started = time.monotonic()
        try:
            ok = h.request(self.port, "GET", PROBE_PATH, timeout=10 * h.SCALE).status == 200
        except OSError:
            ok = False
        self.samples.append((time.monotonic() - started, ok))

    def _run(self):
        while not self._stop.is_set():
            self._once()
            self._stop.wait(0.05)

    def __enter__(self):
        self._once()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(30)
        self._once()
        return False

    @property
    def ok(self):
        return all(ok for _, ok in self.samples) and self.worst < PROBE_LIMIT_S

    @property
    def worst(self):
        return max(s for s, _ in self.samples)

    def summary(self):
        bad = sum(1 for _, ok in self.samples if not ok)
        text = f"{len(self.samples)} probes, max {self.worst * 1000:.0f} ms"
        return text + (f", {bad} failed" if bad else "")


def record(case, expected, got, ok, probe):
    """One row of the matrix: the answer is what the spec asks, and other clients were served
    in time meanwhile."""
    h.check(f"{case}: expected {expected}, got {got}", ok)
    h.check(f"{case}: normal requests meanwhile all 200 within {PROBE_LIMIT_S:.1f} s "
            f"({probe.summary()})", probe.ok)
    MATRIX.append((case, expected, got, probe.summary(), ok and probe.ok))


# ---------------------------------------------------------------------------------------------
# describing answers

PROBLEM_TYPES = "https://logeer.example/problems/"


def describe(resp):
    if resp is None:
        return "no response"
    kind = "problem+json" if h.is_problem(resp, resp.status) else (
        resp.header("content-type") or "no body")
    if kind == "problem+json":
        kind += " " + str(resp.json.get("type")).replace(PROBLEM_TYPES, "")
    return f"{resp.status} {kind}"


def raw_outcome(resp, raw, error):
    """(status or None, text) for a raw exchange; None means the server closed or reset the
    connection without a (parsable) response."""
    if resp is not None:
        return resp.status, describe(resp)
    if error:
        return None, f"connection reset ({error.split(':')[0]})"
    return None, "closed without a response" if raw == b"" else f"garbage {raw[:60]!r}"


def post_stay(body, content_type="application/json", extra_headers=None):
    c = ctx()
    headers = {"Content-Type": content_type, "Idempotency-Key": f"bad-{uuid.uuid4().hex}"}
    headers.update(extra_headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    return c["server"].request("POST", "/v1/stays", body, headers=headers, token=c["caregiver"])


def json_case(case, status, body, **kw):
    """A POST /v1/stays that must be answered with a problem of the given status."""
    with Probe(ctx()["server"].port) as probe:
        resp = post_stay(body, **kw)
    record(case, f"{status} problem+json", describe(resp), h.is_problem(resp, status), probe)
    return resp


def problem_fields(resp):
    errors = (resp.json or {}).get("errors") if isinstance(resp.json, dict) else None
    return sorted({e.get("field") for e in errors or [] if isinstance(e, dict)})


def field_case(case, body, field):
    """A 422 whose errors name the offending field."""
    with Probe(ctx()["server"].port) as probe:
        resp = post_stay(body)
    fields = problem_fields(resp)
    ok = h.is_problem(resp, 422) and field in fields
    record(case, f"422 problem+json naming {field}", f"{describe(resp)} {fields}", ok, probe)


def capacity_case(case, beds_json):
    """PUT /v1/pools/{id}/capacity with beds written exactly as beds_json (JSON text)."""
    c = ctx()
    start = c["today"] + h._dt.timedelta(days=70)
    body = (f'{{"ranges":[{{"from":"{start}","to":"{start + h._dt.timedelta(days=2)}",'
            f'"beds":{beds_json}}}]}}')
    with Probe(c["server"].port) as probe:
        resp = c["server"].request("PUT", f"/v1/pools/{c['pool']}/capacity", body,
                                   headers={"If-Match": "*", "Content-Type": "application/json"},
                                   token=c["provider"])
    ok = h.is_problem(resp, 422)
    record(case, "422 problem+json", f"{describe(resp)} {problem_fields(resp)}", ok, probe)


def raw_case(case, data, statuses, allow_close=False, timeout=None):
    """Raw bytes on one connection; the answer must be a problem with one of statuses, or
    (when allowed) a closed connection."""
    server = ctx()["server"]
    with Probe(server.port) as probe:
        resp, raw, error = server.raw(data, timeout=timeout)
    status, got = raw_outcome(resp, raw, error)
    # The HTTP layer's own refusals use the API's problem types, like every other answer.
    ok = (status in statuses and h.is_problem(resp, status)
          and str(resp.json.get("type")).startswith(PROBLEM_TYPES)) \
        or (allow_close and status is None)
    expected = " or ".join(str(s) for s in statuses) + " problem+json"
    record(case, expected + (" or close" if allow_close else ""), got, ok, probe)


def head(path="/v1/municipalities", method="GET", headers=(), body=b""):
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# ---------------------------------------------------------------------------------------------
# the control: the body the bad cases derive from is itself accepted

def test_control_a_valid_stay_is_created():
    with Probe(ctx()["server"].port) as probe:
        resp = post_stay(valid_stay())
    ok = resp.status == 201 and (resp.json or {}).get("status") == "held"
    record("control: a valid POST /v1/stays", "201 held", f"{resp.status} "
           f"{(resp.json or {}).get('status') if isinstance(resp.json, dict) else ''}",
           ok, probe)


# ---------------------------------------------------------------------------------------------
# bodies

def test_malformed_and_truncated_json():
    text = json.dumps(valid_stay())
    json_case("malformed JSON", 400, '{"pool_id": ')
    json_case("truncated JSON (first half of a valid body)", 400, text[:len(text) // 2])
    json_case("single quotes instead of double", 400, text.replace('"', "'"))
    json_case("trailing garbage after the object", 400, text + " {}")
    json_case("a JSON array instead of an object", 400, "[" + text + "]")
    json_case("empty body", 400, b"")
    json_case("a bare NUL byte in the body", 400, text[:-1].encode() + b"\x00}")


def test_deep_nesting():
    json_case("deep nesting: 10,000 '['", 400, "[" * 10000)
    json_case("deep nesting: 10,000 '{\"a\":' inside the guest",
              400, '{"guest":' + '{"a":' * 10000 + "1" + "}" * 10001)


def test_huge_numbers_and_wrong_types():
    body = valid_stay()
    body["guest"]["birth_year"] = "BIRTH"
    text = json.dumps(body)
    field_case("birth_year 1e999", text.replace('"BIRTH"', "1e999"), "guest.birth_year")
    field_case("birth_year 123456789012345678901234567890",
               text.replace('"BIRTH"', "123456789012345678901234567890"), "guest.birth_year")
    field_case("birth_year 9223372036854775808 (2^63)",
               text.replace('"BIRTH"', "9223372036854775808"), "guest.birth_year")
    field_case("birth_year -0.5", text.replace('"BIRTH"', "-0.5"), "guest.birth_year")
    body = valid_stay()
    body["pool_id"] = 5
    field_case("pool_id a number", body, "pool_id")
    body = valid_stay()
    body["check_in"] = True
    field_case("check_in a boolean", body, "check_in")
    body = valid_stay()
    body["guest"] = "mevr. J."
    field_case("guest a string", body, "guest")
    body = valid_stay()
    body["guest"]["needs"] = {"night_care": True}
    field_case("needs an object", body, "guest.needs")
    body = valid_stay()
    body["waitlist"] = "no"
    field_case("waitlist a string", body, "waitlist")
    capacity_case("capacity beds 123456789012345678901234567890",
                  "123456789012345678901234567890")
    capacity_case("capacity beds 1e999", "1e999")
    capacity_case("capacity beds -1", "-1")
    capacity_case("capacity beds \"4\" (a string)", '"4"')
    capacity_case("capacity beds 2.5", "2.5")


def test_invalid_utf8_and_escaped_nul():
    text = json.dumps(valid_stay()).encode()
    json_case("invalid UTF-8 in a string (C3 28)", 400,
              text.replace(b"mevr. T.", b"mevr. \xc3\x28"))
    json_case("overlong UTF-8 (C0 AF)", 400, text.replace(b"mevr. T.", b"mevr. \xc0\xaf"))
    json_case("UTF-8 encoded surrogate (ED A0 80)", 400,
              text.replace(b"mevr. T.", b"mevr. \xed\xa0\x80"))
    json_case("lone surrogate escape \\ud800", 400, text.replace(b"mevr. T.", b"mevr. \\ud800"))
    json_case("escaped NUL \\u0000 in a string", 400, text.replace(b"mevr. T.", b"mevr.\\u0000X"))


def test_impossible_dates_and_stays():
    c = ctx()
    start = c["today"] + h._dt.timedelta(days=7)
    body = valid_stay()
    body["check_in"] = "2026-02-30"
    field_case("check_in 2026-02-30", body, "check_in")
    body = valid_stay()
    body["check_out"] = "2026-13-01"
    field_case("check_out 2026-13-01", body, "check_out")
    body = valid_stay()
    body["check_in"] = "04-12-2026"
    field_case("check_in 04-12-2026 (not ISO)", body, "check_in")
    body = valid_stay()
    body["check_in"], body["check_out"] = str(start), str(start - h._dt.timedelta(days=2))
    with Probe(c["server"].port) as probe:
        resp = post_stay(body)
    record("check-out before check-in", "422 problem+json", f"{describe(resp)} "
           f"{problem_fields(resp)}", h.is_problem(resp, 422), probe)
    body["check_out"] = body["check_in"]
    with Probe(c["server"].port) as probe:
        resp = post_stay(body)
    record("check-out equal to check-in (0 nights)", "422 problem+json",
           f"{describe(resp)} {problem_fields(resp)}", h.is_problem(resp, 422), probe)
    body["check_out"] = str(start + h._dt.timedelta(days=10000))
    with Probe(c["server"].port) as probe:
        resp = post_stay(body)
    record("a 10,000-night stay", "422 problem+json", f"{describe(resp)} "
           f"{problem_fields(resp)}", h.is_problem(resp, 422), probe)
    body = valid_stay()
    body["check_in"], body["check_out"] = "1999-01-01", "1999-01-04"
    with Probe(c["server"].port) as probe:
        resp = post_stay(body)
    record("a stay in 1999", "422 problem+json", f"{describe(resp)} {problem_fields(resp)}",
           h.is_problem(resp, 422), probe)


def test_unknown_and_privileged_fields():
    body = valid_stay()
    body["colour"] = "blue"
    field_case("unknown field colour", body, "colour")
    body = valid_stay()
    body["status"] = "confirmed"
    field_case("privileged field status", body, "status")
    body = valid_stay()
    body["guest"]["bsn"] = "123456782"
    with Probe(ctx()["server"].port) as probe:
        resp = post_stay(body)
    fields = problem_fields(resp)
    record("a BSN in the guest", "422 problem+json naming the bsn field",
           f"{describe(resp)} {fields}",
           h.is_problem(resp, 422) and any("bsn" in (f or "") for f in fields), probe)


def test_wrong_media_type_and_key():
    json_case("Content-Type text/plain", 415, json.dumps(valid_stay()),
              content_type="text/plain")
    with Probe(ctx()["server"].port) as probe:
        resp = post_stay(valid_stay(), extra_headers={"Idempotency-Key": "k" * 300})
    ok = resp.status in (400, 422) and h.is_problem(resp, resp.status)
    record("a 300-character Idempotency-Key", "400 or 422 problem+json", describe(resp), ok,
           probe)


# ---------------------------------------------------------------------------------------------
# sizes

def test_two_mebibyte_bodies():
    big = b'{"guest":{"alias":"' + b"a" * (2 << 20) + b'"}}'
    raw_case("2 MiB body with Content-Length", head(
        "/v1/stays", "POST", ["Content-Type: application/json",
                              f"Content-Length: {len(big)}"], big), {413}, allow_close=True)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(big[i:i + 65536]), big[i:i + 65536])
                      for i in range(0, len(big), 65536)) + b"0\r\n\r\n"
    raw_case("2 MiB chunked body", head(
        "/v1/stays", "POST", ["Content-Type: application/json", "Transfer-Encoding: chunked"],
        chunks), {413}, allow_close=True)
    raw_case("Content-Length: 99999999999999999999 (overflows 64 bits)", head(
        "/v1/stays", "POST", ["Content-Length: 99999999999999999999"]), {400, 413})
    raw_case("a chunk size of 2^64 (FFFFFFFFFFFFFFFFF)", head(
        "/v1/stays", "POST", ["Transfer-Encoding: chunked"], b"FFFFFFFFFFFFFFFFF\r\n"),
        {400, 413})


def test_header_floods():
    raw_case("200 header lines", head(headers=[f"X-Flood-{i}: {i}" for i in range(200)]),
             {431})
    raw_case("one 64 KiB header", head(headers=["X-Big: " + "a" * 65536]), {431})
    raw_case("a 64 KiB request target", head(path="/v1/municipalities?x=" + "a" * 65536),
             {414})


def test_malformed_heads():
    raw_case("a NUL in the request line", b"GET /v1/muni\x00cipalities HTTP/1.1\r\nHost: x\r\n\r\n",
             {400})
    raw_case("HTTP/2.0 in the request line", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", {505})
    raw_case("no Host header on HTTP/1.1", b"GET /livez HTTP/1.1\r\n\r\n", {400})
    raw_case("both Content-Length and Transfer-Encoding", head(
        "/v1/stays", "POST", ["Content-Length: 3", "Transfer-Encoding: chunked"], b"0\r\n\r\n"),
        {400})
    raw_case("Transfer-Encoding gzip", head("/v1/stays", "POST", ["Transfer-Encoding: gzip"]),
             {501})
    raw_case("obsolete line folding", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n", {400})
    raw_case("binary garbage", bytes(range(256)) * 4 + b"\r\n\r\n", {400})
    raw_case("malformed percent-escape in the path", head(path="/v1/stays/%zz"), {400})
    raw_case("malformed percent-escape in the query", head(path="/v1/stays?status=%zz"), {400})
    raw_case("invalid UTF-8 in the path (%FF%FE)", head(path="/v1/stays/%FF%FE"), {400})
    raw_case("invalid UTF-8 in a query value (%FF%FE)", head(path="/v1/stays?status=%FF%FE"),
             {400})
    raw_case("invalid UTF-8 in a header value (Latin-1)",
             head(headers=["X-Note: caf\xe9"]), {400})


# ---------------------------------------------------------------------------------------------
# slow clients

def trickle(port, data, interval, give_up):
    """Sends data one byte every interval seconds until the server answers or closes, or
    give_up seconds pass. Returns (Response or None, closed, seconds until the answer/close)."""
    started = time.monotonic()
    received = b""
    closed = False
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for i in range(len(data)):
            try:
                sock.sendall(data[i:i + 1])
            except OSError:
                closed = True
                break
            deadline = time.monotonic() + interval
            got = False
            while time.monotonic() < deadline:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    chunk = sock.recv(65536)
                except socket.timeout:
                    break
                except OSError:
                    closed = True
                    break
                if not chunk:
                    closed = True
                    break
                received += chunk
                got = True
            if closed or got or time.monotonic() - started > give_up:
                break
        took = time.monotonic() - started
        # Whatever else the server sends before it closes.
        sock.settimeout(2)
        while not closed:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                closed = True
                break
            received += chunk
    return h.parse_raw_response(received), closed, took


def slow_case(case, data, timeout_ms):
    server = ctx()["server"]
    limit = timeout_ms / 1000 + 1.5 * h.SLACK
    with Probe(server.port) as probe:
        resp, closed, took = trickle(server.port, data, 1.0, timeout_ms / 1000 + 10)
    got = f"{describe(resp) if resp else 'no response'}, {'closed' if closed else 'open'} " \
          f"after {took:.1f} s"
    ok = ((resp is not None and h.is_problem(resp, 408)) or (resp is None and closed)) \
        and took <= limit
    record(case, f"408 problem+json or close within {limit:.1f} s", got, ok, probe)


def test_slowloris_head_one_byte_per_second():
    slow_case("slowloris: request head at one byte per second",
              head(headers=["X-Slow: " + "a" * 60]), HEADER_TIMEOUT_MS)


def test_slow_body_one_byte_per_second():
    body = json.dumps(valid_stay()).encode()
    data = head("/v1/stays", "POST", ["Content-Type: application/json",
                                      f"Content-Length: {len(body)}"])
    server = ctx()["server"]
    limit = BODY_TIMEOUT_MS / 1000 + 1.5 * h.SLACK
    with Probe(server.port) as probe:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(data)  # the head arrives at once; the body then trickles
            resp, closed, took = None, False, 0.0
            started = time.monotonic()
            received = b""
            for i in range(len(body)):
                try:
                    sock.sendall(body[i:i + 1])
                except OSError:
                    closed = True
                    break
                sock.settimeout(1.0)
                try:
                    chunk = sock.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    closed = True
                    break
                if not chunk:
                    closed = True
                    break
                received += chunk
                break
            took = time.monotonic() - started
            resp = h.parse_raw_response(received)
    got = f"{describe(resp)}, after {took:.1f} s"
    ok = ((resp is not None and h.is_problem(resp, 408)) or (resp is None and closed)) \
        and took <= limit
    record("slow body: one byte per second after the head", f"408 problem+json or close "
           f"within {limit:.1f} s", got, ok, probe)


def test_many_idle_connections():
    """1,000 sockets: half never send a byte, half send a partial head and stall. Normal
    requests keep answering fast meanwhile, and the server closes every one of them by itself
    (idle and header timeouts), so no connection or descriptor is leaked."""
    server = ctx()["server"]
    before = h.metric(server, "logeer_http_connections")
    socks = []
    sel = selectors.DefaultSelector()
    try:
        with Probe(server.port) as probe:
            opened_at = time.monotonic()
            for i in range(IDLE_CONNECTIONS):
                s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
                if i % 2:
                    s.sendall(b"GET /v1/municipalities HTTP/1.1\r\nHost: x\r\n")
                s.setblocking(False)
                socks.append(s)
                sel.register(s, selectors.EVENT_READ)
            during = h.metric(server, "logeer_http_connections")
            # Every socket must see the server close it (EOF or a 408 then EOF).
            open_socks = set(socks)
            limit = max(IDLE_TIMEOUT_MS, HEADER_TIMEOUT_MS) / 1000 + 5 * h.SLACK
            deadline = opened_at + limit
            while open_socks and time.monotonic() < deadline:
                for key, _ in sel.select(timeout=0.2):
                    try:
                        chunk = key.fileobj.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        chunk = b""
                    if not chunk:
                        open_socks.discard(key.fileobj)
                        sel.unregister(key.fileobj)
            closed_after = time.monotonic() - opened_at
    finally:
        for s in socks:
            s.close()
        sel.close()
    after = h.wait_until(lambda: (n := h.metric(server, "logeer_http_connections")) is not None
                         and n <= (before or 0) + 1 and str(n), 5)
    got = (f"gauge {before} -> {during} -> {after}; {IDLE_CONNECTIONS - len(open_socks)} of "
           f"{IDLE_CONNECTIONS} closed by the server in {closed_after:.1f} s")
    ok = (during is not None and during >= IDLE_CONNECTIONS and not open_socks
          and bool(after))
    record(f"{IDLE_CONNECTIONS} idle and stalled connections", "all served fast meanwhile, "
           f"all closed by the server within {limit:.0f} s", got, ok, probe)


# ---------------------------------------------------------------------------------------------
# the end: still alive, and no leak or sanitizer report when it stops

def test_server_survived_and_stops_cleanly():
    c = ctx()
    server = c["server"]
    h.check("logeerd is still the same running process", server.proc.poll() is None)
    resp = server.get(PROBE_PATH)
    h.check_equal("a normal request still answers 200", resp.status, 200)
    resp = post_stay(valid_stay())
    h.check("a valid POST /v1/stays is still answered (201, or 409 once the caregiver has "
            "three open stays)", resp.status in (201, 409), repr(resp))
    server.stop(label="logeerd after the bad-input matrix")
    width = max(len(r[0]) for r in MATRIX) if MATRIX else 10
    h.info("")
    h.info(f"{'case'.ljust(width)} | expected -> got | normal requests meanwhile")
    for case, expected, got, probe, ok in MATRIX:
        h.info(f"{case.ljust(width)} | {expected} -> {got} | {probe}"
               f"{'' if ok else '   <-- FAIL'}")
    h.info(f"{len(MATRIX)} cases, {sum(1 for r in MATRIX if not r[4])} failed")


h.main(globals())
