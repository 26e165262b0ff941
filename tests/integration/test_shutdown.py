"""Graceful shutdown: SIGTERM (and SIGINT) make logeerd stop accepting connections, finish the
requests already in flight, and exit 0 promptly; idle keep-alive connections do not hold it up."""

import signal
import socket
import threading
import time

import harness as h

# Each login hashes a password (tens of milliseconds), so a dozen of them keep logeerd draining
# long enough to see that it no longer accepts connections meanwhile.
N_LOGINS = 12


def database():
    """One seeded database for all servers in this file (logins need the demo users)."""
    return h.once("seeded database", lambda: h.migrated_database(seed=True))


def test_sigterm_on_an_idle_server_exits_0_within_2_s():
    server = h.Server(database())
    server.send_signal(signal.SIGTERM)
    started = time.monotonic()
    rc = server.wait_exit(2 * h.SLACK)
    took = time.monotonic() - started
    h.check(f"an idle logeerd exits within {2 * h.SLACK:.0f} s of SIGTERM ({took:.2f} s)",
            rc is not None)
    if rc is None:
        server.stop()
    else:
        server.finish(rc, "idle logeerd")


def test_sigint_exits_0_too():
    server = h.Server(database())
    server.send_signal(signal.SIGINT)
    rc = server.wait_exit(2 * h.SLACK)
    h.check(f"logeerd exits within {2 * h.SLACK:.0f} s of SIGINT", rc is not None)
    if rc is None:
        server.stop()
    else:
        server.finish(rc, "logeerd", signal.SIGINT)


def test_idle_keep_alive_connections_do_not_delay_shutdown():
    server = h.Server(database())
    clients = [server.client() for _ in range(4)]
    statuses = [c.request("GET", "/livez").status for c in clients]
    h.check_equal("a request on each of 4 keep-alive connections is 200", statuses, [200] * 4)
    server.send_signal(signal.SIGTERM)
    started = time.monotonic()
    rc = server.wait_exit(2 * h.SLACK)
    took = time.monotonic() - started
    h.check(f"with 4 idle keep-alive connections open, logeerd exits within "
            f"{2 * h.SLACK:.0f} s ({took:.2f} s)", rc is not None)
    for c in clients:
        c.close()
    if rc is None:
        server.stop()
    else:
        server.finish(rc, "logeerd with idle keep-alive connections")


def send_request(sock, method, path, body=b"", content_type=None):
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    if body or method == "POST":
        head += f"Content-Length: {len(body)}\r\n"
    sock.sendall(head.encode() + b"\r\n" + body)


def read_response(sock, timeout):
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        resp = h.parse_raw_response(data)
        if resp is not None and h._raw_complete(data, resp):
            return resp, None
        try:
            chunk = sock.recv(65536)
        except OSError as e:
            return None, f"{e.__class__.__name__}: {e} after {len(data)} bytes"
        if not chunk:
            return None, f"closed after {len(data)} bytes"
        data += chunk
    return None, f"timed out after {len(data)} bytes"


def test_sigterm_lets_in_flight_requests_finish_then_refuses_new_connections():
    server = h.Server(database())
    # Spread over the demo accounts: logins still being verified count against an account's
    # failed-login limit (a burst of parallel guesses must not slip past it).
    emails = sorted(h.DEMO_USERS)

    def login(i):
        return (b'{"email":"' + emails[i % len(emails)].encode() + b'","password":"'
                + h.DEMO_PASSWORD.encode() + b'"}')
    # Keep-alive connections that the server has certainly accepted: each did one request.
    logins = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(N_LOGINS)]
    lists = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(8)]
    warm = []
    for sock in logins + lists:
        send_request(sock, "GET", "/livez")
        resp, err = read_response(sock, 10 * h.SCALE)
        warm.append(err or resp.status)
    if not h.check(f"a warm-up request on each of {len(warm)} keep-alive connections is 200",
                   all(w == 200 for w in warm), warm):
        server.stop()
        return

    # In flight: logins (a password hash each, the slowest thing logeerd does) and
    # municipality lists (a database round trip each).
    for i, sock in enumerate(logins):
        send_request(sock, "POST", "/v1/sessions", login(i), "application/json")
    for sock in lists:
        send_request(sock, "GET", "/v1/municipalities")
    time.sleep(0.02)  # let the loop read them: they are in flight, not waiting in the kernel
    server.send_signal(signal.SIGTERM)
    sigterm_at = time.monotonic()

    # While the requests drain, the listening socket must already be closed.
    refused_while_alive = False
    accepted_after = 0
    while server.proc.poll() is None and time.monotonic() - sigterm_at < 10 * h.SLACK:
        try:
            probe = socket.create_connection(("127.0.0.1", server.port), timeout=1)
            probe.close()
            accepted_after += 1
        except (ConnectionRefusedError, ConnectionResetError):
            # A reset is the same answer, raced: the connection reached the backlog just
            # before the listening socket closed, and the kernel reset it.
            if server.proc.poll() is None:
                refused_while_alive = True
                break
        time.sleep(0.005)

    results = {}

    def collect(kind, i, sock):
        results[(kind, i)] = read_response(sock, 15 * h.SCALE)

    threads = [threading.Thread(target=collect, args=("login", i, s))
               for i, s in enumerate(logins)]
    threads += [threading.Thread(target=collect, args=("list", i, s))
                for i, s in enumerate(lists)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for sock in logins + lists:
        sock.close()

    login_ok = [k for k, (r, _) in results.items() if k[0] == "login" and r and r.status == 201]
    list_ok = [k for k, (r, _) in results.items() if k[0] == "list" and r and r.status == 200]
    problems = {f"{k[0]}#{k[1]}": (err or repr(r)) for k, (r, err) in results.items()
                if not ((k[0] == "login" and r and r.status == 201)
                        or (k[0] == "list" and r and r.status == 200))}
    h.check(f"all {N_LOGINS} in-flight logins completed with 201 ({len(login_ok)})",
            len(login_ok) == N_LOGINS, problems)
    h.check(f"all 8 in-flight municipality lists completed with 200 ({len(list_ok)})",
            len(list_ok) == 8, problems)
    h.check("after SIGTERM, a new connection was refused while logeerd was still draining",
            refused_while_alive,
            f"{accepted_after} connections accepted after SIGTERM; exited: "
            f"{server.proc.poll() is not None}")
    rc = server.wait_exit(10 * h.SLACK)
    h.check("logeerd exits once the in-flight requests are done", rc is not None)
    if rc is None:
        server.stop()
    else:
        server.finish(rc, "draining logeerd")
    try:
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
        h.fail("after exit, connections are refused", "a connection was accepted")
    except ConnectionRefusedError:
        h.check("after exit, connections are refused", True)


h.main(globals())
