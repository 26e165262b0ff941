"""TLS: with LOGEER_TLS_CERT and LOGEER_TLS_KEY set, logeerd speaks HTTPS only: requests over
TLS 1.2 and 1.3 work, every response over TLS carries Strict-Transport-Security, TLS 1.1 is
refused, and plain HTTP to the port gets no HTTP response. The certificate is made at test time
with the openssl command line tool."""

import shutil
import socket
import ssl
import threading
import warnings

import harness as h
from tlsutil import TlsServer, client_context, make_certificate, tls_request

HSTS = "max-age=63072000"


def setup():
    def make():
        directory, cert, key = make_certificate()
        TlsServer.cafile = cert
        srv = TlsServer(h.migrated_database(seed=True), keep=True,
                        env={"LOGEER_TLS_CERT": cert, "LOGEER_TLS_KEY": key})
        return directory, cert, key, srv
    return h.once("tls", make)


def test_requests_over_tls_work_with_hsts_on_every_response():
    _, cert, _, srv = setup()
    ctx = client_context(cert)
    resp, version, cipher = tls_request(srv.port, ctx, "GET", "/livez")
    h.check_equal("GET /livez over TLS (certificate as CA, hostname checked) is 200",
                  resp.status if resp else None, 200)
    h.info(f"negotiated {version} with {cipher}")
    h.check_equal("the default handshake negotiates TLS 1.3", version, "TLSv1.3")
    h.check_equal("Strict-Transport-Security on a 200", resp.header("strict-transport-security"),
                  HSTS)
    login, _, _ = tls_request(srv.port, ctx, "POST", "/v1/sessions",
                              {"email": "aanjager@demo.logeer.nl", "password": h.DEMO_PASSWORD})
    h.check_equal("logging in over TLS is 201", login.status, 201)
    h.check_equal("Strict-Transport-Security on the 201", login.header("strict-transport-security"),
                  HSTS)
    token = (login.json or {}).get("token")
    me, _, _ = tls_request(srv.port, ctx, "GET", "/v1/me", token=token)
    h.check_equal("an authenticated GET /v1/me over TLS is 200", me.status, 200)
    for method, path, status in (("GET", "/v1/nothing-here", 404), ("GET", "/v1/me", 401),
                                 ("DELETE", "/v1/municipalities", 405)):
        resp, _, _ = tls_request(srv.port, ctx, method, path)
        h.check(f"{method} {path} over TLS is {status} with Strict-Transport-Security",
                resp.status == status and resp.header("strict-transport-security") == HSTS,
                repr(resp) + repr(resp.header_list))


def test_tls_1_2_is_accepted_with_a_forward_secret_aead_cipher():
    _, cert, _, srv = setup()
    ctx = client_context(cert, maximum=ssl.TLSVersion.TLSv1_2)
    resp, version, cipher = tls_request(srv.port, ctx, "GET", "/livez")
    h.info(f"TLS 1.2 client negotiated {version} with {cipher}")
    h.check_equal("a TLS 1.2-only client is served (200)", resp.status, 200)
    h.check_equal("... over TLS 1.2", version, "TLSv1.2")
    h.check("... with an ECDHE AEAD cipher (Mozilla intermediate)",
            cipher.startswith("ECDHE-") and ("GCM" in cipher or "CHACHA20" in cipher), cipher)
    h.check_equal("HSTS over TLS 1.2 as well", resp.header("strict-transport-security"), HSTS)


def tls11_context(cafile=None, server=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    with warnings.catch_warnings():
        # Python deprecates TLS 1.1; asking for it on purpose is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if not server:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def client_can_offer_tls11(cert, key):
    """Whether this machine's OpenSSL lets a client speak TLS 1.1 at all: a handshake against
    a local TLS 1.1-only server made for the purpose."""
    try:
        server_ctx = tls11_context(server=True)
        server_ctx.load_cert_chain(cert, key)
        client_ctx = tls11_context()
    except (ssl.SSLError, ValueError) as e:
        return False, f"cannot configure TLS 1.1: {e}"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    outcome = {}

    def serve():
        try:
            conn, _ = listener.accept()
            with server_ctx.wrap_socket(conn, server_side=True) as s:
                outcome["server"] = s.version()
        except (OSError, ssl.SSLError) as e:
            outcome["server_error"] = str(e)

    t = threading.Thread(target=serve)
    t.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with client_ctx.wrap_socket(raw) as s:
                version = s.version()
    except (OSError, ssl.SSLError) as e:
        version = None
        outcome["client_error"] = str(e)
    t.join(5)
    listener.close()
    return version == "TLSv1.1", outcome


def test_tls_1_1_is_refused():
    _, cert, key, srv = setup()
    can, why = client_can_offer_tls11(cert, key)
    if not can:
        h.info(f"SKIPPED: this machine's OpenSSL cannot offer TLS 1.1 as a client ({why}); "
               "the refusal of TLS 1.1 by logeerd is not checked here")
        h.check("TLS 1.1 check skipped with a message (client cannot offer it)", True)
        return
    h.info("a local TLS 1.1 handshake works, so the client can offer TLS 1.1")
    try:
        with socket.create_connection(("127.0.0.1", srv.port), timeout=10 * h.SCALE) as raw:
            with tls11_context().wrap_socket(raw) as s:
                version = s.version()
        h.fail("logeerd refuses a TLS 1.1-only client", f"handshake succeeded with {version}")
    except (OSError, ssl.SSLError) as e:
        h.info(f"TLS 1.1 handshake refused: {e}")
        h.check("logeerd refuses a TLS 1.1-only client (handshake fails)", True)


def test_plain_http_to_the_tls_port_gets_no_http_response():
    _, _, _, srv = setup()
    resp, data, error = srv.raw(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                                timeout=5 * h.SCALE)
    h.info(f"plain HTTP got {len(data)} byte(s) back: {data[:16]!r}; error: {error}")
    h.check("plain HTTP to the TLS port is not answered with HTTP", resp is None and
            b"HTTP/" not in data, data[:200])
    h.check("... the connection ends with nothing or a TLS record (alert), never plain text",
            data == b"" or data[:1] in (b"\x15", b"\x16"), data[:16])
    live, _, _ = tls_request(srv.port, client_context(TlsServer.cafile), "GET", "/livez")
    h.check_equal("the server still serves TLS afterwards", live.status, 200)


def test_plain_server_sends_no_hsts_and_half_tls_config_is_refused():
    _, cert, _, srv = setup()
    plain = h.Server(srv.database_url)
    resp = plain.get("/livez")
    h.check("a server without TLS sends no Strict-Transport-Security",
            resp.status == 200 and resp.header("strict-transport-security") is None,
            resp.header_list)
    plain.stop()
    proc = h.logeerd("serve", "--listen", f"127.0.0.1:{h.free_port()}", "--database-url",
                     srv.database_url, env={"LOGEER_TLS_CERT": cert}, timeout=30 * h.SCALE)
    h.check("serve with a certificate but no key refuses to start (non-zero exit)",
            proc.returncode != 0, f"exit {proc.returncode}: {proc.stderr[-300:]}")


def test_cleanup():
    directory, _, _, srv = setup()
    srv.stop()
    shutil.rmtree(directory, ignore_errors=True)


h.main(globals())
