"""A real SMTP server for the notification tests: Debian's aiosmtpd, run by the system Python
(/usr/bin/python3, where python3-aiosmtpd lives) as its own process. Every message received is
written to OUTDIR/<n>.json as {"mail_from", "rcpt_tos", "data"}; the line "listening" on stdout
says it is ready.

usage: smtp_sink.py PORT OUTDIR"""

import json
import os
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, outdir):
        self.outdir = outdir
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        record = {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                  "data": envelope.content.decode("utf-8", "replace")}
        tmp = os.path.join(self.outdir, f".{self.n}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.outdir, f"{self.n:05d}.json"))
        return "250 Message accepted for delivery"


def main():
    port, outdir = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(outdir), hostname="127.0.0.1", port=port)
    controller.start()
    print("listening", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
