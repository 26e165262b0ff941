"""The provider's "Koppelingen en berichten" page and the coordinator's email choices in a real
browser. Starts logeerd on the Drenthe demo data with LOGEER_WEBHOOK_ALLOW_PRIVATE=1 (the
receivers run on this machine), a webhook key and a 3-second limit after which an endpoint that
only fails is switched off. Makes, through the API: a pool of Zorggroep Esdorp, and a
colleague's endpoint ("Oud systeem") pointing at a receiver that always fails; and a second
server without LOGEER_WEBHOOK_ALLOW_PRIVATE, as in production, on a database of its own. Then runs
tests/browser/koppelingen.test.mjs (Debian's Chromium through playwright-core, axe-core).

Afterwards proves from the receiver's side what the page did: the endpoint added by keyboard got
the capacity change, signed so that the standardwebhooks package verifies it with the secret
the page showed once; the redelivery from the log came again with the same webhook-id; the
email choice switched off on the page is off in the API; and the coordinator's weekly digest
is off.

Runs in the normal build only (as test_board_browser). A missing Chromium, Node.js or npm
package is a failure, never a skip: deploy/install-deps.sh installs them."""

import json
import os
import shutil
import tempfile

import browser
import harness as h
import test_notifications as tn

SCRIPT = "koppelingen.test.mjs"
ESDORP = "planner@esdorp.demo.logeer.nl"
COORDINATOR = "aanjager@demo.logeer.nl"
ENV = {**tn.FAST, "LOGEER_WEBHOOK_ALLOW_PRIVATE": "1", "LOGEER_WEBHOOK_DISABLE_AFTER_S": "3"}


def test_koppelingen_and_email_choices_in_chromium():
    if not browser.tools_ready():
        return
    url = h.migrated_database(seed=True)
    good = tn.WebhookReceiver()
    broken = tn.WebhookReceiver(fail_first=10 ** 6)
    secrets_file = os.path.join(tempfile.mkdtemp(prefix="logeer-koppel-"), "secrets.json")
    try:
        srv = h.Server(url, env=ENV)
        colleague = srv.login(ESDORP)
        provider = h.DEMO_PROVIDER_IDS[ESDORP]
        pool = h.make_pool(srv, url, colleague, provider, 2, tn.day(url, 10), tn.day(url, 30),
                           name="Koppeltest logeerkamers")
        # Past the pool's own capacity event, so the endpoints get only what the test makes.
        h.wait_until(lambda: h.scalar(url, "SELECT c.event_id >= (SELECT max(id) FROM events) "
                                           "FROM notify_cursor c") == "t", tn.WAIT_S)
        old = tn.register(srv, colleague, broken.url, ["capacity.changed"],
                          description="Oud systeem")
        if not h.check("set-up: a colleague's endpoint to a receiver that always fails",
                       old.status == 201, repr(old)):
            return
        # An endpoint switched off long ago with 45 messages in its log (30 sent, 15 failed,
        # an hour apart), for the log's pages and its filter. It listens for an event this
        # test never makes: a switched-off endpoint still collects messages for later.
        archive = tn.register(srv, colleague, "http://127.0.0.1:9/archief", ["stay.completed"],
                              description="Archief")
        off = srv.request("PATCH", f"/v1/webhook-endpoints/{archive.json['id']}",
                          {"enabled": False}, token=colleague,
                          headers={"If-Match": f'"{archive.json["version"]}"'})
        if not h.check("set-up: a switched-off endpoint", off.status == 200, repr(off)):
            return
        # What reached it before it was switched off goes, so that its log is exactly these.
        h.psql(url, f"DELETE FROM notify_messages WHERE recipient = '{archive.json['id']}'")
        h.psql(url, "INSERT INTO notify_messages (event_id, event_type, channel, recipient, "
                    "kind, data, body, state, attempts, last_status, created_at, sent_at) "
                    "SELECT -g, 'capacity.changed', 'webhook', "
                    f"'{archive.json['id']}', 'capacity.changed', '{{}}', '{{}}', "
                    "CASE WHEN g % 3 = 0 THEN 'failed' ELSE 'sent' END::notify_state, "
                    "CASE WHEN g % 3 = 0 THEN 8 ELSE 1 END, "
                    "CASE WHEN g % 3 = 0 THEN 500 ELSE 200 END, now() - g * interval '1 hour', "
                    "CASE WHEN g % 3 = 0 THEN NULL ELSE now() - g * interval '1 hour' END "
                    "FROM generate_series(1, 45) g")
        # A second server as in production (private addresses refused), on its own database
        # so that its worker never tries the receivers on this machine.
        strict = h.Server(h.migrated_database(seed=True), env=tn.FAST)
        env = dict(KOPPEL_STRICT_URL=f"http://127.0.0.1:{strict.port}",
                   LOGEER_URL=f"http://127.0.0.1:{srv.port}", KOPPEL_HOOK_URL=good.url, KOPPEL_OLD_ID=old.json["id"],
                   KOPPEL_ARCHIVE_ID=archive.json["id"],
                   KOPPEL_POOL=pool.id, KOPPEL_DAY=str(tn.day(url, 12)),
                   KOPPEL_DAY_NEXT=str(tn.day(url, 13)),
                   KOPPEL_TOKEN=colleague, KOPPEL_SECRETS=secrets_file)
        browser.run(SCRIPT, env, timeout=1100)

        got, counts = good.snapshot()
        h.check("the receiver added on the page got the capacity change", len(got) >= 1,
                repr(len(got)))
        try:
            with open(secrets_file, encoding="utf-8") as f:
                secrets = json.load(f)
        except (OSError, ValueError):
            secrets = {}
        first = secrets.get("first", "")
        if h.check("the page handed over the secret it showed once", first.startswith("whsec_")):
            verified, failed = tn.verify_signatures(first, got[:1])
            h.check("standardwebhooks verifies the first delivery with that secret",
                    verified == 1, repr(failed))
        h.check("the redelivery from the log came again with the same webhook-id",
                any(n >= 2 for n in counts.values()), repr(counts))
        prefs = srv.get("/v1/me/notifications", token=colleague).json or {}
        on = {p["kind"]: p["enabled"] for p in prefs.get("preferences", [])}
        h.check("new_booking, switched off on the page, is off in the API",
                on.get("new_booking") is False and on.get("request_pending") is True, repr(on))
        coordinator = srv.login(COORDINATOR)
        prefs = srv.get("/v1/me/notifications", token=coordinator).json or {}
        on = {p["kind"]: p["enabled"] for p in prefs.get("preferences", [])}
        h.check_equal("the coordinator's weekly digest, switched off on the dashboard, is off",
                      on.get("weekly_digest"), False)
        strict.stop()
        srv.stop()
    finally:
        good.close()
        broken.close()
        shutil.rmtree(os.path.dirname(secrets_file), ignore_errors=True)


h.main(globals())
