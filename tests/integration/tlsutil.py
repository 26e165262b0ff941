"""tlsutil: what the tests that talk HTTPS to logeerd share: a throwaway certificate made with
the openssl command line tool, a client context, one framed HTTPS request, and a Server that
waits for its probes over TLS."""

import json
import os
import socket
import ssl
import subprocess
import tempfile

import harness as h


def make_certificate():
    directory = tempfile.mkdtemp(prefix="logeer-test-tls-")
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    proc = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl req failed: {proc.stderr}")
    return directory, cert, key


def client_context(cafile, minimum=None, maximum=None):
    ctx = ssl.create_default_context(cafile=cafile)
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    return ctx


def tls_request(port, ctx, method, path, body=None, token=None):
    """One HTTPS request; returns (Response, negotiated version, cipher name)."""
    headers = {"Host": "127.0.0.1", "Connection": "close"}
    data = b""
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    headers["Content-Length"] = str(len(data))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection(("127.0.0.1", port), timeout=10 * h.SCALE) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            version, cipher = s.version(), s.cipher()[0]
            s.sendall(head.encode() + b"\r\n" + data)
            # Framed by Content-Length: after a TLS reply the server keeps the connection
            # lingering for a moment, so waiting for the close would only cost time.
            received = b""
            while True:
                resp = h.parse_raw_response(received)
                if resp is not None and h._raw_complete(received, resp):
                    break
                chunk = s.recv(65536)
                if not chunk:
                    break
                received += chunk
            return h.parse_raw_response(received), version, cipher


class TlsServer(h.Server):
    """A logeerd serving HTTPS; liveness and readiness are asked over TLS."""

    cafile = None

    def _wait_live(self, timeout):
        ctx = client_context(self.cafile)

        def live():
            if self.proc.poll() is not None:
                return "exited"
            try:
                return tls_request(self.port, ctx, "GET", "/livez")[0].status == 200
            except (OSError, ssl.SSLError):
                return False
        return h.wait_until(live, timeout) is True

    def _wait_index_loaded(self, timeout):
        ctx = client_context(self.cafile)

        def loaded():
            try:
                resp = tls_request(self.port, ctx, "GET", "/readyz")[0]
            except (OSError, ssl.SSLError):
                return False
            return resp.status == 200 or b"loading" not in (resp.body or b"")
        h.wait_until(loaded, timeout)
