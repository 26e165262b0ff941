"""logeerd serve, the basics an operator and a client rely on: liveness, readiness, Prometheus
metrics that count requests, the public municipalities list, RFC 9457 problems for every kind of
bad request (404, 405 with Allow, 400, 413, 415, Content-Length with Transfer-Encoding, text
that is not UTF-8) in one vocabulary of problem types, a request id on every response, and one
JSON log line per request on stdout."""

import json
import os
import re
import socket
import threading
import time

import harness as h

# Every response the tests below receive; each must carry X-Request-Id.
seen = []
server = None


def get_server():
    global server
    server = h.once("server", lambda: h.Server(h.migrated_database(), keep=True))
    return server


def call(method, path, body=None, headers=None, **kw):
    resp = get_server().request(method, path, body=body, headers=headers, **kw)
    seen.append((f"{method} {path}", resp))
    return resp


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value} from Prometheus text format."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)', line)
        if not m:
            continue
        labels = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                 m.group(3) or ""))
        try:
            out[(m.group(1), frozenset(labels.items()))] = float(m.group(4))
        except ValueError:
            pass
    return out


def municipality_requests(metrics):
    total = 0.0
    for (name, labels), value in metrics.items():
        lab = dict(labels)
        if (name == "logeer_http_requests_total" and lab.get("method") == "GET"
                and lab.get("status") == "200" and "municipalities" in lab.get("route", "")):
            total += value
    return total


def test_livez_and_readyz():
    resp = call("GET", "/livez")
    h.check_equal("GET /livez is 200", resp.status, 200)
    h.check_equal("GET /livez says alive", (resp.json or {}).get("status"), "alive")
    resp = call("GET", "/readyz")
    h.check_equal("GET /readyz is 200 with the database up and the schema current",
                  resp.status, 200)
    h.check_equal("GET /readyz says ready", (resp.json or {}).get("status"), "ready")


def test_readyz_is_503_while_the_schema_is_behind():
    url = h.fresh_database()  # nothing migrated: the schema is not current
    behind = h.Server(url)
    resp = behind.get("/readyz")
    h.check("GET /readyz on an unmigrated database is 503 problem+json",
            h.is_problem(resp, 503), repr(resp))
    h.check("that 503 carries Retry-After", resp.header("retry-after") is not None, repr(resp))
    h.check_equal("GET /livez is still 200", behind.get("/livez").status, 200)
    behind.stop()


def test_municipalities_lists_the_12_of_drenthe():
    resp = call("GET", "/v1/municipalities")
    h.check_equal("GET /v1/municipalities without login is 200", resp.status, 200)
    h.check("it is JSON", (resp.header("content-type") or "").startswith("application/json"),
            resp.header("content-type"))
    items = (resp.json or {}).get("municipalities")
    h.check("the body has a municipalities array", isinstance(items, list), repr(resp))
    if isinstance(items, list):
        got = {m.get("code"): m.get("name") for m in items if isinstance(m, dict)}
        h.check_equal("exactly the 12 Drenthe municipalities, by code and name", got, h.DRENTHE)
        h.check_equal("GM0106 is Assen", got.get("GM0106"), "Assen")


def test_metrics_expose_counters_histogram_and_pool_gauge_and_count_requests():
    before = call("GET", "/metrics")
    h.check_equal("GET /metrics is 200", before.status, 200)
    ctype = before.header("content-type") or ""
    h.check("GET /metrics is text/plain; version=0.0.4",
            ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype)
    text = before.text
    for needle in ("logeer_http_requests_total{", "logeer_http_request_duration_seconds_bucket{",
                   "logeer_http_request_duration_seconds_sum", "logeer_http_request_duration_seconds_count",
                   'logeer_db_pool_connections{pool="api",state="',
                   'logeer_db_pool_connections{pool="background",state="'):
        h.check(f"metrics contain {needle}", needle in text)
    h.check("logeer_http_request_duration_seconds is declared a histogram",
            re.search(r"^# TYPE logeer_http_request_duration_seconds histogram$", text, re.M)
            is not None)
    h.check("logeer_http_requests_total is declared a counter",
            re.search(r"^# TYPE logeer_http_requests_total counter$", text, re.M) is not None)
    h.check("the histogram has a +Inf bucket", 'le="+Inf"' in text)
    labelled = [dict(labels) for (name, labels) in parse_metrics(text)
                if name == "logeer_http_requests_total"]
    h.check("request counters carry route, method and status labels",
            labelled and all({"route", "method", "status"} <= set(lab) for lab in labelled),
            labelled[:3])

    n_before = municipality_requests(parse_metrics(text))
    h.check_equal("a municipalities request in between is 200",
                  call("GET", "/v1/municipalities").status, 200)
    after = call("GET", "/metrics")
    n_after = municipality_requests(parse_metrics(after.text))
    h.check("the counter for GET /v1/municipalities 200 went up by at least 1",
            n_after >= n_before + 1, f"{n_before} -> {n_after}")


def test_unknown_route_is_404_problem():
    resp = call("GET", "/v1/does-not-exist")
    h.check_problem("GET /v1/does-not-exist is a 404 problem+json", resp, 404)


def test_wrong_method_is_405_problem_with_allow():
    resp = call("DELETE", "/v1/municipalities")
    h.check_problem("DELETE /v1/municipalities is a 405 problem+json", resp, 405)
    allow = [m.strip() for m in (resp.header("allow") or "").split(",")]
    h.check("its Allow header lists GET", "GET" in allow, resp.header("allow"))
    h.check("its Allow header does not list DELETE", "DELETE" not in allow, resp.header("allow"))


def test_malformed_json_is_400_problem():
    resp = call("POST", "/v1/sessions", body='{"email":',
                headers={"Content-Type": "application/json"})
    h.check_problem("POST /v1/sessions with a truncated JSON body is a 400 problem+json",
                    resp, 400)


def test_wrong_content_type_is_415_problem():
    resp = call("POST", "/v1/sessions",
                body='{"email":"a@b.nl","password":"x"}', headers={"Content-Type": "text/plain"})
    h.check_problem("POST /v1/sessions with text/plain is a 415 problem+json", resp, 415)


def test_body_over_1_mib_is_413():
    size = 1024 * 1024 + 1
    body = b'{"email":"' + b"a" * (size - 12) + b'"}'
    head = (f"POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n").encode()
    resp, raw, error = get_server().raw(head + body)
    if resp is None:
        h.check("a body over 1 MiB gets a 413 or the connection closed",
                error is not None or raw == b"", f"received {raw[:200]!r}")
        h.info(f"no response arrived ({error or 'closed'}); accepted")
    else:
        h.check_problem("a body over 1 MiB is a 413 problem+json", resp, 413)
        h.check("the 413 carries X-Request-Id", resp.header("x-request-id"), repr(resp))
    h.check_equal("the server still answers afterwards", call("GET", "/livez").status, 200)


def test_content_length_with_transfer_encoding_is_400():
    data = (b"POST /v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 4\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"4\r\n{}  \r\n0\r\n\r\n")
    resp, raw, error = get_server().raw(data)
    h.check("a request with both Content-Length and Transfer-Encoding gets a response",
            resp is not None, f"{error}; received {raw[:200]!r}")
    if resp is not None:
        h.check_problem("a request with both Content-Length and Transfer-Encoding is a "
                        "400 problem+json", resp, 400)
        h.check_equal("the HTTP layer's own 400 uses the API's problem types",
                      (resp.json or {}).get("type"), "https://logeer.example/problems/bad-request")


def test_text_that_is_not_utf8_is_400_before_any_handler():
    """Invalid UTF-8 in a query filter used to reach PostgreSQL and come back as a 500. It is
    refused with the head, before routing or authentication, wherever it is."""
    cases = [("/v1/users?email=%FF%FE", b"", "in a query value"),
             ("/v1/municipalities?x=%C3", b"", "cut short in a query value"),
             ("/v1/stays/%FF%FE", b"", "in the path"),
             ("/dashboard/%C0%AF", b"", "overlong, in the path"),
             ("/livez", b"User-Agent: caf\xe9\r\n", "in a header value")]
    for path, extra, where in cases:
        data = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode() + extra
                + b"Connection: close\r\n\r\n")
        resp, raw, error = get_server().raw(data)
        what = f"GET {path}: invalid UTF-8 {where}"
        h.check(f"{what} is a 400 problem+json", resp is not None and h.is_problem(resp, 400),
                f"{resp!r} {error or ''}")
        if resp is not None:
            h.check_equal(f"{what}: its type is bad-request", (resp.json or {}).get("type"),
                          "https://logeer.example/problems/bad-request")


def read_response(sock, buf):
    """One HTTP/1.1 response with a Content-Length from sock, after what buf already holds
    (parsed by h.parse_raw_response): (the response, what was read beyond it)."""
    while True:
        resp = h.parse_raw_response(buf)
        if resp is not None:
            end = buf.index(b"\r\n\r\n") + 4 + int(resp.headers["content-length"])
            if len(buf) >= end:
                return resp, buf[end:]
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed inside a response")
        buf += chunk


BOARD_JS = "/aanbieder/bord.js"


def board_js_and_a_late_reader():
    """The 33 KB board script as it is served, and a socket connected with a 4 KB receive
    buffer: a client whose answers fill the socket until it reads them."""
    with open(os.path.join(h.SOURCE_DIR, "web", "aanbieder", "bord.js"), "rb") as f:
        expected = f.read()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(30 * h.SCALE)
    sock.connect(("127.0.0.1", get_server().port))
    return expected, sock


def check_the_next_request_is_answered(sock, buf):
    """After the pipelined ones, the connection answers one more request, and nothing else."""
    sock.sendall(b"GET /livez HTTP/1.1\r\nHost: t\r\nX-Request-Id: after\r\n\r\n")
    resp, rest = read_response(sock, buf)
    h.check_equal("the connection then answers the next request",
                  (resp.status, resp.headers.get("x-request-id"), rest), (200, "after", b""))


def test_pipelined_requests_to_a_client_that_reads_late_are_answered_whole_and_in_order():
    """Replies go to the socket at once when nothing is queued before them, and are queued when
    the socket takes only part: 60 requests for a 33 KB file sent in one go by a client with a
    small receive buffer that starts reading half a second later (the server's writes fill the
    socket, stop and go on), then one more request on the same connection."""
    expected, sock = board_js_and_a_late_reader()
    with sock:
        sock.sendall(b"".join(f"GET {BOARD_JS} HTTP/1.1\r\nHost: t\r\nX-Request-Id: pipe-{i}\r\n\r\n"
                              .encode() for i in range(60)))
        time.sleep(0.5)
        buf, answers = b"", []
        for _ in range(60):
            resp, buf = read_response(sock, buf)
            answers.append((resp.status, resp.headers.get("x-request-id"), resp.body == expected))
        h.check_equal("60 pipelined replies, whole and in the order asked", answers,
                      [(200, f"pipe-{i}", True) for i in range(60)])
        check_the_next_request_is_answered(sock, buf)


def test_a_client_that_sends_more_than_the_server_holds_is_read_on_when_it_reads():
    """Reading pauses while a connection's unread input passes the head limit and its slack
    (80 KiB), and goes on once the requests were answered: 240 pipelined requests of 1 KB for
    a 33 KB file from a client with a small receive buffer that reads only after a second (its
    answers fill the socket, so the requests pile up unread) are all answered whole and in
    order, and the connection answers one more after them."""
    count = 240
    expected, sock = board_js_and_a_late_reader()
    with sock:
        data = b"".join(f"GET {BOARD_JS} HTTP/1.1\r\nHost: t\r\nX-Request-Id: flood-{i:04d}\r\n"
                        f"User-Agent: {'x' * 1000}\r\n\r\n".encode() for i in range(count))
        h.check("the requests are more than the server holds unread", len(data) > 160 * 1024,
                len(data))
        sender = threading.Thread(target=sock.sendall, args=(data,), daemon=True)
        sender.start()
        time.sleep(1.0)
        buf, wrong = b"", []
        for i in range(count):
            resp, buf = read_response(sock, buf)
            got = (resp.status, resp.headers.get("x-request-id"), resp.body == expected)
            if got != (200, f"flood-{i:04d}", True):
                wrong.append((i,) + got)
        sender.join(10 * h.SCALE)
        h.check_equal(f"{count} pipelined requests answered whole and in the order sent",
                      wrong[:3], [])
        check_the_next_request_is_answered(sock, buf)


def test_request_id_is_echoed_or_generated():
    resp = call("GET", "/livez", headers={"X-Request-Id": "test-req-4711"})
    h.check_equal("a sane X-Request-Id is echoed", resp.header("x-request-id"), "test-req-4711")
    resp = call("GET", "/v1/nope", headers={"X-Request-Id": "test-req-4712"})
    h.check_equal("it is echoed on an error response too", resp.header("x-request-id"),
                  "test-req-4712")
    a = call("GET", "/livez")
    b = call("GET", "/livez")
    ida, idb = a.header("x-request-id"), b.header("x-request-id")
    h.check("without one, an X-Request-Id is generated", bool(ida) and bool(idb), (ida, idb))
    h.check("generated request ids differ per request", ida != idb, (ida, idb))
    for label, bad in (("a 1000-character X-Request-Id", "a" * 1000),
                       ("an X-Request-Id with spaces and markup", 'x <script>"y"</script>')):
        resp = call("GET", "/livez", headers={"X-Request-Id": bad})
        got = resp.header("x-request-id")
        h.check(f"{label} is replaced by a generated one", got and got != bad, got)


def test_every_response_carries_a_request_id():
    missing = [label for label, resp in seen if not resp.header("x-request-id")]
    h.check(f"all {len(seen)} responses so far carry X-Request-Id", seen and not missing,
            missing)


def test_request_log_lines_are_json_with_the_documented_fields():
    srv = get_server()
    marker = "test-log-line-0815"
    call("GET", "/v1/municipalities", headers={"X-Request-Id": marker})

    def find():
        for line in srv.log_lines():
            if isinstance(line, dict) and line.get("request_id") == marker:
                return line
        return None

    line = h.wait_until(find, 3 * h.SLACK)
    h.check("the request's log line reaches stdout promptly (not held in a buffer)",
            line is not None, srv.stdout_text()[-1000:])
    srv.stop()
    lines = srv.log_lines()
    not_json = [l for l in lines if not isinstance(l, dict)]
    h.check("every stdout line is a JSON object", lines and not not_json, not_json[:3])
    line = line or find()
    if not h.check("the request has a log line with its request_id", line is not None):
        return
    for field in ("time", "level", "msg", "method", "route", "path", "status", "duration_ms",
                  "request_id"):
        h.check(f"the log line has {field}", field in line, line)
    h.check_equal("msg is request", line.get("msg"), "request")
    h.check_equal("method is GET", line.get("method"), "GET")
    h.check_equal("path is /v1/municipalities", line.get("path"), "/v1/municipalities")
    h.check_equal("status is 200 (a number)", line.get("status"), 200)
    h.check("duration_ms is a non-negative number",
            isinstance(line.get("duration_ms"), (int, float)) and line["duration_ms"] >= 0,
            line.get("duration_ms"))
    h.check("time looks like RFC 3339",
            isinstance(line.get("time"), str)
            and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$",
                         line["time"]) is not None, line.get("time"))
    err_lines = [l for l in srv.stderr_text().splitlines() if l.strip()]
    bad = []
    for l in err_lines:
        try:
            if not isinstance(json.loads(l), dict):
                bad.append(l)
        except ValueError:
            bad.append(l)
    h.check("every stderr line is a JSON object", not bad, bad[:3])


h.main(globals())
