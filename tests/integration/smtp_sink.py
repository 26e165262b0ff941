"""A real SMTP server for the notification tests: Debian's aiosmtpd, run by the system Python
(/usr/bin/python3, where python3-aiosmtpd lives) as its own process. Every message received is
written to OUTDIR/<n>.json as {"mail_from", "rcpt_tos", "data", "tls"}; the line "listening" on
stdout says it is ready. With CERT and KEY it offers STARTTLS with that certificate and refuses
mail before it ("tls" then says the message came over TLS, with which protocol).

usage: smtp_sink.py PORT OUTDIR [CERT KEY]"""

import json
import os
import ssl
import sys
import time

from aiosmtpd.controller import Controller


def tls_version(server):
    """The TLS protocol of the session the message came in ("TLSv1.3"), or None in the clear."""
    transport = getattr(server, "transport", None)
    obj = transport.get_extra_info("ssl_object") if transport else None
    return obj.version() if obj else None


class Sink:
    def __init__(self, outdir):
        self.outdir = outdir
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        record = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                  "data": envelope.content.decode("utf-8", "replace"),
                  "tls": tls_version(server)}
        tmp = os.path.join(self.outdir, f".{self.n}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.outdir, f"{self.n:05d}.json"))
        return "250 Message accepted for delivery"


def main():
    port, outdir = int(sys.argv[1]), sys.argv[2]
    tls = {}
    if len(sys.argv) == 5:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        tls = {"tls_context": ctx, "require_starttls": True}
    controller = Controller(Sink(outdir), hostname="127.0.0.1", port=port, **tls)
    controller.start()
    print("listening", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
