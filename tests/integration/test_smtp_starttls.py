"""Email over SMTP with STARTTLS and real TLS: aiosmtpd (tests/integration/smtp_sink.py) offers
STARTTLS with a throwaway certificate (tlsutil.py) and refuses mail before it. With
LOGEER_SMTP_STARTTLS=required and LOGEER_SMTP_CA naming that certificate, the mail arrives over
TLS; with another CA the server's certificate is refused and nothing is sent in the clear (the
message waits, pending, with the reason in its last error)."""

import os
import shutil
import subprocess
import tempfile

import harness as h
import test_notifications as tn
import tlsutil


class TlsSmtpSink(tn.SmtpSink):
    """The same sink, offering STARTTLS with cert and key and refusing mail without it."""

    def __init__(self, cert, key):  # pylint: disable=super-init-not-called
        self.dir = tempfile.mkdtemp(prefix="logeer-smtp-tls-")
        self.port = h.free_port()
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "smtp_sink.py")
        self.proc = subprocess.Popen([tn.SYSTEM_PYTHON, script, str(self.port), self.dir,
                                      cert, key], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening" not in line:
            raise RuntimeError("smtp_sink did not start: " + self.proc.stderr.read())


def request_mail(srv, url):
    """A caregiver's request in an approval pool: a 'request received' email to the caregiver."""
    esdorp = srv.login(tn.ESDORP)
    provider = h.DEMO_PROVIDER_IDS[tn.ESDORP]
    pool = h.make_pool(srv, url, esdorp, provider, 2, tn.day(url, 10), tn.day(url, 30),
                       booking_mode="approval")
    caregiver = h.add_caregivers(url, 1, prefix="tls")[0]
    token = h.login_many(srv, [caregiver])[0]
    stay = tn.request_stay(srv, token, pool.id, tn.day(url, 12), tn.day(url, 14))
    return caregiver, stay


def test_starttls_with_the_right_ca_delivers_over_tls_and_a_wrong_ca_is_refused():
    certdir, cert, key = tlsutil.make_certificate()
    otherdir, other_cert, _ = tlsutil.make_certificate()
    sink = TlsSmtpSink(cert, key)
    try:
        url = h.migrated_database(seed=True)
        env = {**tn.FAST, "LOGEER_SMTP_URL": f"smtp://127.0.0.1:{sink.port}",
               "LOGEER_SMTP_STARTTLS": "required"}
        srv = h.Server(url, env={**env, "LOGEER_SMTP_CA": other_cert})
        caregiver, stay = request_mail(srv, url)
        kind = ("SELECT state || ' ' || attempts || ' ' || coalesce(last_error, '') FROM "
                "notify_messages WHERE kind = 'request_received' "
                f"AND data->>'stay_id' = '{stay.get('id')}'")
        h.check("with a CA that did not sign the server's certificate, the attempt fails",
                h.wait_until(lambda: (h.scalar(url, kind) or "").startswith("pending")
                             and int(h.scalar(url, kind).split(" ")[1]) >= 1
                             and "SMTP" in h.scalar(url, kind), tn.WAIT_S))
        row = h.scalar(url, kind) or ""
        h.check("... naming the certificate problem in its last error",
                "certificate" in row.lower() or "ssl" in row.lower(), row)
        h.check_equal("... and nothing reached the SMTP server", len(sink.messages()), 0)
        srv.stop()

        # The same message, now that the operator names the right CA: delivered over TLS.
        srv = h.Server(url, env={**env, "LOGEER_SMTP_CA": cert,
                                 "LOGEER_NOTIFY_RETRY_BASE_S": "1"})
        h.check("with the right CA the waiting message is delivered",
                h.wait_until(lambda: (h.scalar(url, kind) or "").startswith("sent"),
                             30 * h.SLACK))
        msgs = [r for r in sink.messages() if r["rcpt_tos"] == [caregiver]]
        h.check_equal("the caregiver's email reached the server once", len(msgs), 1)
        if msgs:
            h.check("it came over TLS (STARTTLS), not in the clear",
                    (msgs[0].get("tls") or "").startswith("TLS"), repr(msgs[0].get("tls")))
            h.check_equal("it is the request-received email", msgs[0]["msg"]["Subject"],
                          "Wij hebben uw aanvraag ontvangen")
        h.check("every message that reached the server came over TLS",
                all((r.get("tls") or "").startswith("TLS") for r in sink.messages()))
    finally:
        sink.close()
        shutil.rmtree(certdir, ignore_errors=True)
        shutil.rmtree(otherdir, ignore_errors=True)


if __name__ == "__main__":
    h.main(globals())
